"""The period ratio's step sums: when they are used, what ``--period-step`` does, and that the
rules and generated tests stay right for steps that are not whole minutes or are turned off."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.readers.load import load_default
from slo.rules.plan import plan
from tests.conftest import assert_promtool_passes
from tests.specs import valid, write

PERIOD = 'slo:sli_error:ratio_rate30d'


def _groups(tmp_path: Path) -> list[dict]:
    return yaml.safe_load((tmp_path / "orchestrator.rules.yml").read_text())["groups"]


def _period_rule(groups: list[dict]) -> dict:
    return next(r for g in groups for r in g["rules"] if r.get("record") == PERIOD)


@pytest.mark.parametrize("step, name", [("90s", "sum1m30s"), ("0", None)])
def test_period_step_option_renders_rules_and_tests_promtool_passes(
        tmp_path: Path, cli, promtool, step: str, name: str | None) -> None:
    result = cli.invoke(main, ["render", "--period-step", step, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    groups = _groups(tmp_path)
    stepped = [g for g in groups if "interval" in g]
    if name is None:
        assert stepped == []
        assert "avg_over_time(slo:sli_errors:rate5m{" in _period_rule(groups)["expr"]
    else:
        assert [g["interval"] for g in stepped] == ["1m30s"]
        assert [r["record"] for r in stepped[0]["rules"]] == [
            f"slo:sli_errors:rate5m_{name}", f"slo:sli_total:rate5m_{name}"]
        assert f"sum_over_time(slo:sli_errors:rate5m_{name}{{" in _period_rule(groups)["expr"]
    assert_promtool_passes(promtool, [tmp_path / "orchestrator.rules.yml"],
                           [tmp_path / "orchestrator.test.yml"])


@pytest.mark.parametrize("value", ["7x", "2h", "-5m", "1.5m", ""])
def test_bad_period_step_is_a_clean_usage_error(tmp_path: Path, cli, value: str) -> None:
    result = cli.invoke(main, ["render", "--period-step", value, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "--period-step" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_step_sums_only_for_long_periods_no_alert_window_reads() -> None:
    slo = load_default()[0].slos[0]
    assert plan(slo).period_step == 900
    assert plan(slo, 0).period_step is None
    assert plan(slo, 30).period_step == 30


@pytest.mark.parametrize("period, windows, stepped", [
    ("1h", [{"severity": "page", "long": "10m", "short": "2m", "factor": 2}], False),
    ("1d", [{"severity": "page", "long": "1h", "short": "5m", "factor": 2}], True),
    ("7d", [{"severity": "ticket", "long": "7d", "short": "6h", "factor": 1}], False),
])
def test_period_step_decision(tmp_path: Path, cli, period: str, windows: list,
                              stepped: bool) -> None:
    doc = valid()
    doc["slos"][0]["period"] = period
    doc["slos"][0].setdefault("alerting", {})["windows"] = windows
    spec = write(tmp_path / "spec.yaml", doc)
    result = cli.invoke(main, ["render", "--no-check", spec, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load(next((tmp_path / "out").glob("*.rules.yml")).read_text())
    assert any("interval" in g for g in rules["groups"]) is stepped
