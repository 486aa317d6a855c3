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
    alerts = {a.alert: (a.expr, a.for_) for a in slo.alerts}
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


CASES = [
    (("slos", 0, "objective"), 100, "slos[0].objective", "out of range"),
    (("slos", 0, "objective"), 0, "slos[0].objective", "out of range"),
    (("slos", 0, "objective"), "high", "slos[0].objective", "not a number"),
    (("slos", 0, "objective"), True, "slos[0].objective", "must be a number"),
    (("slos", 0, "objectiv"), 99, "slos[0].objectiv", "unknown field"),
    (("slos", 0, "name"), KeyError, "slos[0].name", "is required"),
    (("slos", 0, "name"), "Bad Name", "slos[0].name", "is not an SLO name"),
    (("slos", 0, "period"), "30 days", "slos[0].period", "is not a duration"),
    (("slos", 0, "period"), 30, "slos[0].period", "must be a duration"),
    (("slos", 0, "sli"), {"events": {"errors": "x{", "total": "y"}},
     "slos[0].sli.events.errors", "metric"),
    (("slos", 0, "sli"), {}, "slos[0].sli", "exactly one of"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "60d", "short": "1h",
                                            "budget_consumed": 2}]},
     "slos[0].alerting.windows[0].long", "longer than the SLO period"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "1h", "short": "5m",
                                            "factor": 1000}]},
     "slos[0].alerting.windows[0]", "could never fire"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "1h", "short": "2h",
                                            "factor": 2}]},
     "slos[0].alerting.windows[0].short", "shorter than the long window"),
    (("slos", 0, "alerting"), {"windows": [{"severity": "page", "long": "3m", "short": "1m",
                                            "factor": 2}]},
     "slos[0].alerting.windows[0].short", "at least 2m"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "ratio",
                              "expr": "${error_ratio:1m}"}],
     "slos[0].series[0].expr", "at least 2m"),
    (("slos", 0, "alerting"), {"page": {"labels": {"slo_name": "x"}}},
     "slos[0].alerting.page.labels.slo_name", "cannot be overridden"),
    (("labels",), {"bad-label": "x"}, "labels.bad-label", "not a valid label name"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "ratio", "expr": "${nope:5m}"}],
     "slos[0].series[0].expr", "unknown placeholder"),
    (("slos", 0, "series"), [{"record": "x_ratio", "unit": "furlongs", "expr": "vector(1)"}],
     "slos[0].series[0].unit", "must be one of"),
    (("apiVersion",), "slo-gen/v9", "apiVersion", "not a known spec version"),
    (("slos",), [], "slos", "at least one SLO"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), CASES)
def test_each_mistake_is_one_clear_line(tmp_path: Path, cli, path, value, field, message):
    spec = write(tmp_path / "spec.yaml", _mutate(valid(), path, value))
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {spec}: {field}: ")
    assert message in lines[0]


def test_three_mistakes_give_three_lines(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["objective"] = 120
    doc["slos"][0]["period"] = "forever"
    doc["slos"][0]["colour"] = "blue"
    spec = write(tmp_path / "three.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert {line.split(": ")[2] for line in lines} == {
        "slos[0].objective", "slos[0].period", "slos[0].colour"}


def test_duplicate_slo_across_files(tmp_path: Path, cli) -> None:
    a = write(tmp_path / "a.yaml", valid())
    b = write(tmp_path / "b.yaml", valid())
    result = cli.invoke(main, ["validate", a, b])
    assert result.exit_code == 1
    assert f"{b}: slos[0].name: SLO 'availability' of service 'checkout' is already defined " \
           f"in {a}" in result.stderr


def test_duplicate_yaml_key_and_broken_yaml(tmp_path: Path, cli) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text("apiVersion: slo-gen/v1\nservice: a\nservice: b\nslos: []\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: [unclosed\n")
    result = cli.invoke(main, ["validate", str(dup), str(broken)])
    assert result.exit_code == 1
    assert f"{dup}: not valid YAML: line 3, column 1: duplicate key 'service'" in result.stderr
    assert f"{broken}: not valid YAML: line 2" in result.stderr


def test_missing_file(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "cannot read spec: No such file or directory" in result.stderr


def test_valid_spec_validates(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["validate", write(tmp_path / "ok.yaml", valid())])
    assert result.exit_code == 0, result.output
    assert "1 SLO(s)" in result.output
