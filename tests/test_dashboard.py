"""`slo-gen dashboard`: a Grafana dashboard per service whose every query parses (checked by
promtool as a recording rule) and reads only series the rendered rules record."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")


def _queries(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _rendered(cli, tmp_path: Path, specs: list[str], compat: bool) -> tuple[dict, list[dict]]:
    flags = ["--sloth-compat"] if compat else []
    board = tmp_path / "board.json"
    result = cli.invoke(main, ["dashboard", *specs, *flags, "-o", str(board)])
    assert result.exit_code == 0, result.output
    result = cli.invoke(main, ["render", *specs, *flags, "-o", "-"])
    assert result.exit_code == 0, result.output
    rules = [r for g in yaml.safe_load(result.stdout)["groups"] for r in g["rules"]]
    return json.loads(board.read_text()), rules


@pytest.mark.parametrize(("specs", "compat"), [
    ([], False),
    ([str(FIXTURES / "sloth-checkout.yml")], True),
    ([str(FIXTURES / "openslo-checkout.yaml")], False),
])
def test_every_query_parses_and_reads_recorded_series(specs, compat, tmp_path: Path, cli,
                                                      promtool) -> None:
    board, rules = _rendered(cli, tmp_path, specs, compat)
    queries = _queries(board)
    assert queries
    wrapped = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard_query_{i}", "expr": q} for i, q in enumerate(queries)]}]}
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump(wrapped))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    recorded = {r["record"] for r in rules if "record" in r}
    alerts = {r["alert"] for r in rules if "alert" in r}
    for q in queries:
        names = NAME.findall(q)
        assert names, q
        for name in names:
            if name == "ALERTS":
                wanted = re.search(r'alertname=~"([^"]*)"', q).group(1).replace("\\", "")
                assert set(wanted.split("|")) <= alerts, q
            else:
                assert name in recorded, f"{name} is not recorded by the rules: {q}"


def test_dashboard_shows_each_pair_against_its_factor(tmp_path: Path, cli) -> None:
    board, _ = _rendered(cli, tmp_path, [], False)
    assert board["title"] == "SLOs: orchestrator" and board["uid"] == "slo-gen-orchestrator"
    burn = [p for p in board["panels"] if p["title"].startswith(("Page burn", "Ticket burn"))]
    assert [p["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] for p in burn] == [
        14.4, 6, 40, 6, 3, 1]
    assert [p["title"] for p in burn] == [
        "Page burn rate 1h/5m (tier page-1h, alert at 14.4x)",
        "Page burn rate 6h/5m (tier page-6h, alert at 6x)",
        "Page burn rate 2m (tier page-outage, alert at 40x)",
        "Page burn rate 2m (tier page-fast, alert at 6x)",
        "Ticket burn rate 1d/2h (tier ticket-1d, alert at 3x)",
        "Ticket burn rate 3d/6h (tier ticket-3d, alert at 1x)"]
    titles = [p["title"] for p in board["panels"]]
    assert "Error budget remaining over the period" in titles and "Firing alerts" in titles
    ids = [p["id"] for p in board["panels"]]
    assert ids == list(range(1, len(ids) + 1))


def test_dashboard_is_deterministic_and_one_file_per_service(tmp_path: Path, cli) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli.invoke(main, ["dashboard", "-o", str(a)]).exit_code == 0
    assert cli.invoke(main, ["dashboard", "-o", str(b)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    two = [str(FIXTURES / "sloth-checkout.yml"), str(ROOT / "slo" / "specs" /
                                                     "orchestrator.yaml")]
    result = cli.invoke(main, ["dashboard", *two, "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1 and "give a directory" in result.stderr
    out = tmp_path / "boards"
    assert cli.invoke(main, ["dashboard", *two, "-o", str(out)]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkout.dashboard.json",
                                                     "orchestrator.dashboard.json"]
