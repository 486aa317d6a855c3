"""The period ratio on the real promtool: request-weighted, exact, NaN-free without traffic.

Written by hand (not generated) so it checks the rendered rules against numbers worked out
here, not against the generator's own idea of the truth.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from slo.cli import main

BUSY, BUSY_ERRORS = 100_000, 100  # per minute: 0.1% errors
QUIET, QUIET_ERRORS = 1_000, 100  # per minute: 10% errors
TRUTH = (BUSY_ERRORS + QUIET_ERRORS) / (BUSY + QUIET)  # equal durations: 0.00198...
SEL = '{slo_service="orchestrator",slo_name="requests-availability"}'


def _counter(segments: list[tuple[int, int]]) -> str:
    """Expanding notation for a counter: (minutes, increment per minute) segments."""
    parts, value = ["0"], 0
    for minutes, step in segments:
        parts.append(f"{value + step}+{step}x{minutes - 1}")
        value += step * minutes
    return " ".join(parts)


def _run(tmp_path: Path, cli, promtool: str, tests: list[dict]) -> subprocess.CompletedProcess:
    assert cli.invoke(main, ["render", "--no-check", "-o", str(tmp_path)]).exit_code == 0
    doc = {"rule_files": ["orchestrator.rules.yml"], "evaluation_interval": "1m",
           "tests": tests}
    path = tmp_path / "period.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)


def test_period_ratio_is_request_weighted_where_a_mean_of_ratios_is_far_off(
        tmp_path: Path, cli, promtool) -> None:
    minutes = 180
    # twenty idle minutes at the end: the last 5m rates, and the 15-minute step sums the period
    # adds up, then cover the tail, so every busy and quiet minute weighs the same
    idle = 20
    series = [
        {"series": "orchestrator_requests_total",
         "values": _counter([(minutes, BUSY), (minutes, QUIET), (idle, 0)])},
        {"series": "orchestrator_errors_total",
         "values": _counter([(minutes, BUSY_ERRORS), (minutes, QUIET_ERRORS), (idle, 0)])},
    ]
    at = f"{2 * minutes + idle}m"
    exprs = [
        # ours: the request-weighted truth, to 1e-9
        {"expr": f"abs(slo:sli_error:ratio_rate30d{SEL} - {TRUTH!r}) / {TRUTH!r} < bool 1e-9",
         "eval_time": at, "exp_samples": [{"labels": _labels("30d"), "value": 1}]},
        # a mean of 5m ratios (Sloth's approach) is off by far more than 10%
        {"expr": f"abs(avg_over_time(slo:sli_error:ratio_rate5m{SEL}[30d]) - {TRUTH!r}) "
                 f"/ {TRUTH!r} > bool 0.1",
         "eval_time": at, "exp_samples": [{"labels": _labels("5m"), "value": 1}]},
    ]
    proc = _run(tmp_path, cli, promtool, [{"name": "uneven", "interval": "1m",
                                           "input_series": series, "promql_expr_test": exprs}])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_hour_without_traffic_leaves_no_nan_and_fires_nothing(
        tmp_path: Path, cli, promtool) -> None:
    series = [
        {"series": "orchestrator_requests_total", "values": _counter([(120, BUSY), (60, 0)])},
        {"series": "orchestrator_errors_total", "values": _counter([(120, 50), (60, 0)])},
    ]
    names = ["slo:sli_errors:rate5m", "slo:sli_total:rate5m", "slo:sli_errors:rate5m_sum15m",
             "slo:sli_total:rate5m_sum15m", "slo:period_burn_rate:ratio",
             "slo:period_error_budget_remaining:ratio", "slo:current_burn_rate:ratio",
             *(f"slo:sli_error:ratio_rate{w}" for w in
               ("5m", "1h", "2h", "6h", "1d", "3d", "30d")),
             "orchestrator_success_rate_5m", "orchestrator_error_budget_used_ratio_30m",
             "orchestrator_burn_rate_fast"]
    exprs = []
    for t in ("150m", "180m"):
        exprs += [{"expr": f"count({n} != {n})", "eval_time": t, "exp_samples": []}
                  for n in names]
        exprs.append({"expr": 'count(ALERTS{alertstate=~"pending|firing"})', "eval_time": t,
                      "exp_samples": []})
    # the period still remembers the two busy hours: 0.05% errors, budget 10% used
    exprs.append({"expr": f"abs(slo:period_error_budget_remaining:ratio{SEL} - 0.9) < bool 1e-9",
                  "eval_time": "180m", "exp_samples": [{"labels": _labels(None), "value": 1}]})
    proc = _run(tmp_path, cli, promtool, [{"name": "quiet hour", "interval": "1m",
                                           "input_series": series, "promql_expr_test": exprs}])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _labels(window: str | None) -> str:
    labels = {"slo_name": "requests-availability", "slo_service": "orchestrator",
              "team": "guest-messaging"}
    if window:
        labels["slo_window"] = window
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
