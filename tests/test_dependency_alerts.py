"""Dependency alerts of the shipped spec (the runbook's PMS circuit breaker and each dependency's
error ratio) and the ``test.inputs`` that let an extra alert's generated test feed its own
series."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.readers.load import load_default
from tests.specs import valid, write

DEPENDENCIES = ("pms_adapter", "whatsapp", "gmail", "database", "audio_processor")


def test_shipped_spec_declares_the_dependency_alerts() -> None:
    (spec,) = load_default()
    alerts = {a.alert: a for a in spec.slos[0].alerts}
    breaker = alerts["PmsCircuitBreakerOpen"]
    assert (breaker.expr, breaker.for_, dict(breaker.labels)) == (
        "max(pms_circuit_breaker_state) == 1", 60, {"severity": "page", "component": "pms"})
    assert dict(breaker.annotations)["runbook_url"].endswith("/PMS_CIRCUIT_BREAKER_OPEN.md")
    for prefix, name in zip(DEPENDENCIES, ("PmsAdapter", "Whatsapp", "Gmail", "Database",
                                           "AudioProcessor"), strict=True):
        a = alerts[f"{name}ErrorRateHigh"]
        assert f"rate({prefix}_errors_total[5m])" in a.expr
        assert f"rate({prefix}_requests_total[5m])" in a.expr
        assert dict(a.labels)["severity"] == "ticket"
        assert "runbook_url" in dict(a.annotations)
        assert {i.selector.metric for i in a.test.inputs} == {f"{prefix}_errors_total",
                                                              f"{prefix}_requests_total"}


def test_rendered_alerts_keep_their_own_runbook_and_have_a_test(tmp_path: Path, cli) -> None:
    assert cli.invoke(main, ["render", "--no-check", "-o", str(tmp_path)]).exit_code == 0
    doc = yaml.safe_load((tmp_path / "orchestrator.rules.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}
    assert alerts["PmsCircuitBreakerOpen"]["annotations"]["runbook_url"] == \
        "https://runbooks.example.internal/PMS_CIRCUIT_BREAKER_OPEN.md"
    assert alerts["OrchestratorErrorRateHigh"]["annotations"]["runbook_url"] == \
        "https://runbooks.example.internal/ORCHESTRATOR_HIGH_ERROR_RATE.md"
    tests = yaml.safe_load((tmp_path / "orchestrator.test.yml").read_text(encoding="utf-8"))
    names = [t["name"] for t in tests["tests"]]
    assert ("requests-availability: PmsCircuitBreakerOpen fires when pms_circuit_breaker_state "
            "goes from 0 to 1") in names
    assert ("requests-availability: GmailErrorRateHigh fires when gmail_requests_total goes "
            "from 600 to 600 a minute, gmail_errors_total goes from 0 to 300 a minute") in names
    breaker = next(t for t in tests["tests"] if "PmsCircuitBreakerOpen" in t["name"])
    assert breaker["input_series"] == [{"series": "pms_circuit_breaker_state",
                                        "values": "0x59 1x2"}]


@pytest.mark.parametrize(("old", "new"), [
    ("max(pms_circuit_breaker_state) == 1", "max(pms_circuit_breaker_state) == 2"),
    ("(sum(rate(database_requests_total[5m])) > 0) > 0.1",
     "(sum(rate(database_requests_total[5m])) > 0) > 0.6"),
])
def test_generated_dependency_tests_fail_when_the_alert_is_broken(
        tmp_path: Path, cli, promtool: str, old: str, new: str) -> None:
    assert cli.invoke(main, ["render", "--no-check", "-o", str(tmp_path)]).exit_code == 0
    rules = tmp_path / "orchestrator.rules.yml"
    text = rules.read_text(encoding="utf-8")
    assert text.count(old) == 1
    rules.write_text(text.replace(old, new), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", "orchestrator.test.yml"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    alert = "PmsCircuitBreakerOpen" if "breaker" in old else "DatabaseErrorRateHigh"
    failing = [line for line in (proc.stdout + proc.stderr).splitlines()
               if line.strip().startswith("expr:")]
    assert failing and all(alert in line for line in failing), proc.stdout


def test_bad_test_inputs_are_one_line_each(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["alerts"] = [
        {"alert": "A", "expr": "up == 0",
         "test": {"error_ratio": 1, "inputs": {"up": {"healthy": 1, "trouble": 0}}}},
        {"alert": "B", "expr": "up == 0", "test": {"inputs": {}}},
        {"alert": "C", "expr": "x_total > 1",
         "test": {"inputs": {"x_total": {"healthy": 0.5, "trouble": 2},
                             "up{": {"healthy": 1, "trouble": 0},
                             "up": {"healthy": 1}}}},
    ]
    spec = write(tmp_path / "bad.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    p = f"error: {spec}: slos[0].alerts"
    assert result.stderr.strip().splitlines() == [
        f"{p}[0].test: give either 'error_ratio' (of the SLI) or 'inputs', not both",
        f"{p}[1].test.inputs: must name at least one series",
        f"{p}[2].test.inputs.x_total: a counter's values are whole events per minute, 0 or more",
        f"{p}[2].test.inputs.up{{: 'up{{' is not 'metric' or 'metric{{label=\"value\",...}}'",
        f"{p}[2].test.inputs.up.trouble: is required",
    ]
