"""Spec validation: every mistake is one line naming file, field path and problem; exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from slo.cli import main
from slo.readers.load import load_default
from tests.specs import valid, write


def test_default_spec_holds_the_runbook_contract() -> None:
    (spec,) = load_default()
    (slo,) = spec.slos
    assert spec.service == "orchestrator" and str(slo.objective) == "99.5"
    assert slo.period == 30 * 86400
    assert slo.sli.errors.metric == "orchestrator_errors_total"
    assert slo.sli.total.metric == "orchestrator_requests_total"
    records = {s.record: s.unit for s in slo.series}
    assert records == {"orchestrator_success_rate_5m": "percent",
                       "orchestrator_error_budget_used_ratio_30m": "ratio",
                       "orchestrator_burn_rate_fast": "burn_rate"}
    alerts = {a.alert: (a.expr, a.for_) for a in slo.alerts
              if dict(a.labels).get("component") is None}  # the runbook's, not dependencies'
    assert alerts == {
        "OrchestratorErrorRateHigh": ("orchestrator_success_rate_5m < 95", 60),
        "OrchestratorErrorRateIncreasing": ("deriv(orchestrator_success_rate_5m[10m]) < -0.01",
                                            120),
        "OrchestratorErrorBudgetBurning": ("orchestrator_burn_rate_fast > 1.5", 120),
    }


def _mutate(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


HINT = "(use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"
ORDER = "units go from the largest to the smallest, each at most once (e.g. '1h30m', not '30m1h')"
CASES = [
    (("slos", 0, "objective"), 100, "slos[0].objective",
     "100 is out of range: an objective is a percent, 0 < x < 100"),
    (("slos", 0, "objective"), 0, "slos[0].objective",
     "0 is out of range: an objective is a percent, 0 < x < 100"),
    (("slos", 0, "objective"), "high", "slos[0].objective", "'high' is not a number"),
    (("slos", 0, "objective"), True, "slos[0].objective", "must be a number, got a boolean"),
    (("slos", 0, "objectiv"), 99, "slos[0].objectiv", "unknown field (allowed here: alerting, "
     "alerts, decisions, description, group_by, name, objective, period, series, sli)"),
    (("slos", 0, "name"), KeyError, "slos[0].name", "is required"),
    (("slos", 0, "name"), "Bad Name", "slos[0].name",
     "'Bad Name' is not an SLO name (lowercase letters, digits, '-' and '_', at most 63)"),
    (("slos", 0, "period"), "30 days", "slos[0].period", f"'30 days' is not a duration {HINT}"),
    (("slos", 0, "period"), 30, "slos[0].period",
     "must be a duration string like '5m', got a number"),
    (("slos", 0, "period"), "30m1h", "slos[0].period", f"'30m1h' is not a duration: {ORDER}"),
    (("slos", 0, "period"), "5m5m", "slos[0].period", f"'5m5m' is not a duration: {ORDER}"),
    (("slos", 0, "sli"), {"events": {"errors": "x{", "total": "y"}},
     "slos[0].sli.events.errors", "'x{' is not 'metric' or 'metric{label=\"value\",...}'"),
    (("slos", 0, "sli"), {}, "slos[0].sli", "needs exactly one of 'events' or 'latency'"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "60d", "short": "1h",
                                            "budget_consumed": 2}]},
     "slos[0].alerting.windows[0].long", "is longer than the SLO period, which cannot hold it"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "1h", "short": "5m",
                                            "factor": 1000}]},
     "slos[0].alerting.windows[0]", "burn factor 1000 x budget 0.001 >= 1: this alert could "
     "never fire"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "1h", "short": "2h",
                                            "factor": 2}]},
     "slos[0].alerting.windows[0].short", "must be shorter than the long window"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "3m", "short": "1m",
                                            "factor": 2}]},
     "slos[0].alerting.windows[0].short", "must be at least 2m (rate() needs two samples, and a "
     "once-a-minute series has one in Prometheus 3's left-open 1m window)"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "1h30m",
                                            "short": "5m5m", "factor": 2}]},
     "slos[0].alerting.windows[0].short", f"'5m5m' is not a duration: {ORDER}"),
    (("slos", 0, "alerting"), {"windows": [{"long": "1h", "short": "5m", "factor": 2}]},
     "slos[0].alerting.windows[0].severity", "is required"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "ratio",
                              "expr": "${error_ratio:1m}"}],
     "slos[0].series[0].expr", "${error_ratio:1m}: windows must be at least 2m"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "ratio",
                              "expr": "${error_ratio:30m1h}"}],
     "slos[0].series[0].expr", f"${{error_ratio:30m1h}}: '30m1h' is not a duration: {ORDER}"),
    (("slos", 0, "alerting"), {"page": {"labels": {"slo_name": "x"}}},
     "slos[0].alerting.page.labels.slo_name",
     "label 'slo_name' is set by slo-gen and cannot be overridden"),
    (("labels",), {"bad-label": "x"}, "labels.bad-label", "'bad-label' is not a valid label name"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "ratio", "expr": "${nope:5m}"}],
     "slos[0].series[0].expr",
     "unknown placeholder ${nope} (known: burn_rate, error_budget, error_ratio, objective)"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "furlongs", "expr": "vector(1)"}],
     "slos[0].series[0].unit", "'furlongs' must be one of ratio, percent, burn_rate, seconds, "
     "count"),
    (("slos", 0, "series"), [{"record": "x_ratio", "expr": "vector(1)"}],
     "slos[0].series[0].unit", "is required"),
    (("apiVersion",), "slo-gen/v9", "apiVersion", "'slo-gen/v9' is not a known spec version: "
     "expected 'apiVersion: slo-gen/v1', 'version: prometheus/v1' (Sloth), "
     "'apiVersion: sloth.slok.dev/v1', 'apiVersion: openslo/v1' or 'apiVersion: "
     "openslo/v1alpha'"),
    (("slos",), [], "slos", "must list at least one SLO"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), CASES)
def test_each_mistake_is_one_clear_line(tmp_path: Path, cli, path, value, field, message):
    spec = write(tmp_path / "spec.yaml", _mutate(valid(), path, value))
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {spec}: {field}: {message}"]


def test_three_mistakes_give_three_lines(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["objective"] = 120
    doc["slos"][0]["period"] = "forever"
    doc["slos"][0]["colour"] = "blue"
    spec = write(tmp_path / "three.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: slos[0].colour: unknown field (allowed here: alerting, alerts, "
        "decisions, description, group_by, name, objective, period, series, sli)",
        f"error: {spec}: slos[0].objective: 120 is out of range: an objective is a percent, "
        "0 < x < 100",
        f"error: {spec}: slos[0].period: 'forever' is not a duration {HINT}",
    ]


def test_duplicate_slo_across_files(tmp_path: Path, cli) -> None:
    a = write(tmp_path / "a.yaml", valid())
    b = write(tmp_path / "b.yaml", valid())
    result = cli.invoke(main, ["validate", a, b])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {b}: slos[0].name: SLO 'availability' of service 'checkout' is already defined "
        f"in {a}: slos[0].name"]


def test_duplicate_yaml_key_and_broken_yaml(tmp_path: Path, cli) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text("apiVersion: slo-gen/v1\nservice: a\nservice: b\nslos: []\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: [unclosed\n")
    result = cli.invoke(main, ["validate", str(dup), str(broken)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {dup}: not valid YAML: line 3, column 1: duplicate key 'service'",
        f"error: {broken}: not valid YAML: line 2, column 1: did not find expected ',' or ']'"]


def test_missing_file(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope.yaml'}: cannot read spec: No such file or directory"]


def test_valid_spec_validates(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["validate", write(tmp_path / "ok.yaml", valid())])
    assert result.exit_code == 0, result.output
    assert "1 SLO(s)" in result.output
