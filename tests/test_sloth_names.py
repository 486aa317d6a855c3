"""Alert names as Prometheus takes them: any UTF-8 text (Sloth's victoria-metrics example names
its alerts ``slo_foo-bar_grpc-latency-percentile-90_fail``). The rendered rules and their
generated tests pass on every supported promtool, and the Alertmanager config's matchers
escape such names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from tests.conftest import assert_promtool_passes

NAMES = ["slo_foo-bar_grpc-latency-percentile-90_fail", "checkout.errors high/ünïcode"]


def _spec(name: str) -> str:
    return f"""\
version: "prometheus/v1"
service: "foo-bar"
labels:
  owner: "myteam"
slos:
  - name: "grpc-availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(grpc_handled_total{{job="foo-bar",grpc_code!="OK"}}[{{{{.window}}}}]))
        total_query: sum(rate(grpc_handled_total{{job="foo-bar"}}[{{{{.window}}}}]))
    alerting:
      name: {json.dumps(name)}
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        labels:
          severity: slack
"""


@pytest.mark.parametrize("name", NAMES)
def test_any_utf8_alert_name_renders_and_tests_on_every_promtool(
        name: str, tmp_path: Path, cli, every_promtool: str) -> None:
    spec = tmp_path / "foo-bar.sloth.yml"
    spec.write_text(_spec(name), encoding="utf-8")
    out = tmp_path / "rules"
    result = cli.invoke(main, ["render", str(spec), "-o", str(out), "--no-check"])
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((out / "foo-bar.rules.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alerts == {name, f"{name}SLIAbsent"}
    tests = (out / "foo-bar.test.yml").read_text(encoding="utf-8")
    assert name in tests
    assert_promtool_passes(every_promtool, [out / "foo-bar.rules.yml"], [out / "foo-bar.test.yml"])


def test_alert_name_with_control_characters_is_one_line(tmp_path: Path, cli) -> None:
    spec = tmp_path / "bad.yml"
    spec.write_text(_spec("Bad\tName"), encoding="utf-8")
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: slos[0].alerting.name: 'Bad\\tName' is not an alert name (any text "
        "without control characters)"]


@pytest.mark.parametrize("name", NAMES)
def test_alertmanager_config_for_such_names_passes_its_tests(name: str, tmp_path: Path,
                                                              cli) -> None:
    spec = tmp_path / "foo-bar.sloth.yml"
    spec.write_text(_spec(name), encoding="utf-8")
    out = tmp_path / "alertmanager.yml"
    result = cli.invoke(main, ["alertmanager", str(spec), "--sloth-compat", "-o", str(out)])
    assert result.exit_code == 0, result.output  # amtool check-config runs before writing
    tests = sorted(tmp_path.glob("*.amtest.yml"))
    assert tests
    result = cli.invoke(main, ["test", *map(str, tests)])
    assert result.exit_code == 0, result.output
