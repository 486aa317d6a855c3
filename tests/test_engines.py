"""Which engine runs, and how promtool's test format is handed to vmalert-tool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slo.cli import main
from slo.engines import discovery
from slo.engines.vmalert import convert
from slo.errors import UserError
from tests.conftest import ROOT


def test_newest_promtool_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMTOOL", raising=False)
    found = discovery.all_versions("promtool")
    if len(found) < 2:
        pytest.skip("needs the system promtool and `make engines`' newer ones")
    assert discovery.find("promtool") == found[0] == max(found)
    assert found[0].version > found[-1].version


def test_explicit_promtool_wins_and_bad_paths_are_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = shutil.which("promtool")
    assert system is not None
    chosen = discovery.find("promtool", system)
    assert chosen.path == str(Path(system).resolve())
    assert chosen.version[0] >= 2
    monkeypatch.setenv("PROMTOOL", system)
    assert discovery.find("promtool") == chosen
    with pytest.raises(UserError) as err:
        discovery.find("promtool", str(tmp_path / "nope"))
    assert str(err.value) == f"{tmp_path / 'nope'}: no such executable promtool"


def test_no_promtool_anywhere_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("PROMTOOL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(discovery, "_tools_dirs", list)
    with pytest.raises(UserError) as err:
        discovery.find("promtool")
    assert str(err.value) == f"promtool not found: {discovery.HINTS['promtool']}"


def test_test_command_names_the_engine_it_ran(cli) -> None:
    system = shutil.which("promtool")
    assert system is not None
    version = discovery.find("promtool", system).version_text
    result = cli.invoke(main, ["check", "--promtool", system,
                               str(ROOT / "rules" / "orchestrator.rules.yml")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"engine: promtool {version} ({Path(system).resolve()})")


def test_vmalert_conversion() -> None:
    doc = {"rule_files": ["x.rules.yml"], "evaluation_interval": "1m", "tests": [{
        "name": "t", "interval": "1m", "input_series": [],
        "alert_rule_test": [{"eval_time": "5m", "alertname": "Page", "exp_alerts": []}],
        "promql_expr_test": [
            {"expr": 'ALERTS{alertname="Page",alertstate="firing"}', "eval_time": "5m",
             "exp_samples": [{"labels": 'ALERTS{alertname="Page", severity="page"}',
                              "value": 1}]},
            {"expr": "up", "eval_time": "5m", "exp_samples": [{"labels": "up{}", "value": 1}]},
        ]}]}
    out = convert(doc, {"Page": "g1"})
    (test,) = out["tests"]
    assert "promql_expr_test" not in test
    assert test["alert_rule_test"] == [{"eval_time": "5m", "alertname": "Page",
                                        "exp_alerts": [], "groupname": "g1"}]
    assert [s["labels"] for e in test["metricsql_expr_test"] for s in e["exp_samples"]] == [
        'ALERTS{alertgroup="g1", alertname="Page", severity="page"}', "up{}"]
    assert doc["tests"][0]["promql_expr_test"]  # the input is left as it was


def test_committed_rules_pass_under_vmalert_tool(cli, promtool) -> None:
    """The generated tests of the shipped spec pass on VictoriaMetrics' engine too, converted
    as `slo-gen test --engine vmalert` converts them (burn-rate alerts fire and resolve)."""
    vm = discovery.find("vmalert-tool")
    result = cli.invoke(main, ["test", "--engine", "vmalert",
                               str(ROOT / "rules" / "orchestrator.test.yml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"engine: {vm.describe()}"
    assert "SUCCESS" in lines
