"""The period ratio on the real promtool: request-weighted, exact, NaN-free without traffic.

Written by hand (not generated) so it checks the rendered rules against numbers worked out
here, not against the generator's own idea of the truth.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
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


def _run(tmp_path: Path, cli, promtool: str, tests: list[dict],
         edit: Callable[[Path], None] | None = None) -> subprocess.CompletedProcess:
    assert cli.invoke(main, ["render", "--no-check", "-o", str(tmp_path)]).exit_code == 0
    if edit is not None:
        edit(tmp_path / "orchestrator.rules.yml")
    doc = {"rule_files": ["orchestrator.rules.yml"], "evaluation_interval": "1m",
           "tests": tests}
    path = tmp_path / "period.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)


# The SLI's counters appear at 30m (at 0), then 4h busy (30,000 requests/min, 0.1% errors), 1h
# quiet (100/min, 20% errors: a 300x swing), a counter reset, 1h quiet, 4h busy, 30 min idle.
# The counters' true totals: 16,800 errors in 14,412,000 requests.
ERRORS = "_x30 0+30x240 7220+20x59 0 20+20x59 1230+30x239 8400+0x29"
REQUESTS = "_x30 0+30000x240 7200100+100x59 0 100+100x59 36000+30000x239 7206000+0x29"
TRUE_RATIO = "16800 / 14412000"
END = "11h1m"


def _period_group() -> dict:
    rates = " / ".join(f"sum_over_time(slo:sli_{kind}:rate5m{SEL}[30d])"
                       for kind in ("errors", "total"))
    exprs = [
        {"expr": f"abs(1 - slo:sli_error:ratio_rate30d{SEL} / ignoring (slo_window) ({rates}))"
                 " < bool 1e-9",
         "eval_time": END, "exp_samples": [{"labels": _labels(None), "value": 1}]},
        {"expr": f"abs(slo:sli_error:ratio_rate30d{SEL} - {TRUE_RATIO}) / ({TRUE_RATIO})"
                 " < bool 1e-3",
         "eval_time": END, "exp_samples": [{"labels": _labels("30d"), "value": 1}]},
        {"expr": f"abs(avg_over_time(slo:sli_error:ratio_rate5m{SEL}[30d]) - {TRUE_RATIO}) "
                 f"/ ({TRUE_RATIO}) > bool 10",
         "eval_time": END, "exp_samples": [{"labels": _labels("5m"), "value": 1}]},
        # the series appear where the scenario says
        {"expr": "orchestrator_requests_total", "eval_time": "29m", "exp_samples": []},
    ]
    series = [{"series": "orchestrator_requests_total", "values": REQUESTS},
              {"series": "orchestrator_errors_total", "values": ERRORS}]
    return {"name": "period ratio", "interval": "1m", "input_series": series,
            "promql_expr_test": exprs}


def test_period_ratio_is_request_weighted_on_every_engine(
        tmp_path: Path, cli, every_promtool: str) -> None:
    """Exactly (1e-9) the request-weighted ratio of the 5m rate samples the engine recorded,
    within 1e-3 of the counters' totals across a series start, a reset and a 300x swing, where
    a mean of the 5m ratios (Sloth's shape) is more than 10x off."""
    proc = _run(tmp_path, cli, every_promtool, [_period_group()])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_mean_of_ratios_fails_the_same_checks(tmp_path: Path, cli, promtool: str) -> None:
    """The checks can fail: with the period ratio replaced by a mean of the 5m ratios, the
    first two do."""
    def mean_of_ratios(rules: Path) -> None:
        lines = rules.read_text().splitlines(keepends=True)
        (i,) = [n for n, line in enumerate(lines)
                if "sum_over_time(slo:sli_errors:rate5m_sum15m" in line]
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = f"{indent}expr: avg_over_time(slo:sli_error:ratio_rate5m{SEL}[30d])\n"
        rules.write_text("".join(lines))

    proc = _run(tmp_path, cli, promtool, [_period_group()], edit=mean_of_ratios)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr  # promtool 3 writes failures to stderr
    failed = [line.strip() for line in out.splitlines() if line.strip().startswith("expr:")]
    assert len(failed) == 2 and "1e-9" in failed[0] and "1e-3" in failed[1], out


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
