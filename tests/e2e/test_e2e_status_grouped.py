"""An SLO with ``group_by``: one status row per group value, each equal to its own series.

The e2e spec with ``group_by: [instance]`` (the scrape target's label), two demo instances and
traffic: status gives one row per instance, each row's figures are that instance's recorded
series at the same instant, and the page links to each row's own detail page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo import procs
from tests.e2e import browser
from tests.e2e.e2e_fleet import E2E_SPEC, ROOT, Fleet, render, spawn, wait_for

pytestmark = pytest.mark.e2e

IDENT = 'slo_service="orchestrator",slo_name="requests-availability"'


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory, fleet_factory) -> tuple[Fleet, Path]:
    work = tmp_path_factory.mktemp("grouped")
    doc = yaml.safe_load(E2E_SPEC.read_text())
    doc["slos"][0]["group_by"] = ["instance"]
    spec = work / "grouped.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    fleet = fleet_factory(render(spec, work / "rules"))
    fleet.traffic(rate=20, duration=240)
    return fleet, spec


def status(fleet: Fleet, spec: Path) -> dict[str, Any]:
    result = subprocess.run([sys.executable, *procs.SLO_GEN, "status", str(spec),
                             "--prometheus", fleet.prom.base, "--output", "json"],
                            capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_one_row_per_instance_each_its_own_series(grouped) -> None:
    fleet, spec = grouped
    targets = sorted(i.target for i in fleet.instances)
    doc = wait_for("a row per instance with its 5m SLI", lambda: (lambda d: d if sorted(
        r["group"].get("instance") for r in d["slos"] if r["sli_5m"] is not None) == targets
        else None)(status(fleet, spec)), timeout=90)
    at = doc["time"]  # type: ignore[index]
    rows = {r["group"]["instance"]: r for r in doc["slos"]}  # type: ignore[index]
    assert sorted(rows) == targets
    for instance, row in rows.items():
        sel = f'{{{IDENT},instance="{instance}"}}'

        def one(expr: str, at: float = at) -> float:
            (sample,) = fleet.prom.query(expr, at=at)
            return float(sample["value"][1])

        assert row["budget_remaining"] == one(f"slo:period_error_budget_remaining:ratio{sel}")
        assert row["budget_used"] == one(f"slo:period_burn_rate:ratio{sel}")
        assert row["burn_rate"] == one(f"slo:current_burn_rate:ratio{sel}")
        assert row["sli_5m"] == 1 - one(f"slo:sli_error:ratio_rate5m{sel}")


def test_the_page_links_each_group_to_its_own_detail(grouped, tmp_path: Path) -> None:
    fleet, spec = grouped
    port = procs.free_port()
    child = spawn("slo-gen serve grouped", [
        sys.executable, *procs.SLO_GEN, "serve", str(spec), "--prometheus", fleet.prom.base,
        "--listen", f"127.0.0.1:{port}"], tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        procs.wait_http(child, base + "/healthz")
        elements = browser.parse(browser.dom(base + "/"))
        links = sorted(e.attrs["href"] for e in elements
                       if e.tag == "a" and e.attrs.get("href", "").startswith("/slo/"))
        assert links == [
            "/slo/orchestrator/requests-availability?group=" + urllib.parse.quote(
                f"instance={i.target}", safe="") for i in sorted(
                fleet.instances, key=lambda i: i.target)]
        for link in links:
            page = browser.parse(browser.dom(base + link))
            (card,) = browser.find(page, "card")
            instance = urllib.parse.unquote(link.split("group=")[1]).split("=", 1)[1]
            assert card.attrs["data-slo"] == (
                f"orchestrator/requests-availability{{instance={instance}}}")
        with urllib.request.urlopen(base + "/slo/orchestrator/nope", timeout=10) as r:
            pytest.fail(f"an unknown SLO answered {r.status}")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    finally:
        procs.stop(child, timeout=5)
