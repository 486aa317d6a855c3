"""``--sloth-compat`` records every window Sloth records (5m, 30m, 1h, 2h, 6h, 1d, 3d and the
period), whatever the alerts read: Sloth's dashboards read a 1h or 3d ratio even for an SLO
whose alerts are both disabled (Sloth's no-alerts.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slo.cli import main
from tests.conftest import assert_promtool_passes

NO_ALERTS = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.99
    description: "Availability without alerts: dashboards only."
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting:
      page_alert:
        disable: true
      ticket_alert:
        disable: true
"""
SLOTH_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]


def _windows(path: Path, label: str) -> list[str]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return [r["labels"][label] for g in groups for r in g["rules"]
            if r.get("record") == "slo:sli_error:ratio_rate" + r.get("labels", {}).get(label, "")]


@pytest.mark.parametrize(("flags", "label", "expected"), [
    (["--sloth-compat"], "sloth_window", SLOTH_WINDOWS),
    ([], "slo_window", ["5m", "30d"]),  # slo-gen's own naming records what its rules read
])
def test_windows_recorded_with_both_alerts_disabled(flags, label, expected, tmp_path: Path, cli,
                                                    every_promtool: str) -> None:
    spec = tmp_path / "no-alerts.yml"
    spec.write_text(NO_ALERTS)
    out = tmp_path / "rules"
    result = cli.invoke(main, ["render", *flags, str(spec), "-o", str(out), "--no-check"])
    assert result.exit_code == 0, result.output
    rules = out / "myservice.rules.yml"
    assert _windows(rules, label) == expected
    assert not any(r.get("alert", "").endswith("ErrorBudgetBurn")
                   for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"])
    assert_promtool_passes(every_promtool, [rules], [out / "myservice.test.yml"])
