"""A missing figure says why, against a real Prometheus, instead of reading 0 or NaN.

Three setups, each the real thing: a Prometheus without the rules (rules not loaded); one with
the shipped spec's rules but nothing to scrape (no traffic yet); the fleet with traffic and the
period's step sums once an hour (the period step not evaluated yet). A gate that needs a
missing figure exits 2 and names the reason: it never passes on a figure it cannot see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo import procs, promconfig
from demo.promapi import PromAPI
from tests.e2e.e2e_fleet import ROOT, Fleet, spawn, wait_for

pytestmark = pytest.mark.e2e

SLO = "orchestrator/requests-availability"
SEL = 'slo_service="orchestrator",slo_name="requests-availability"'
NOT_LOADED = (f"rules not loaded: no slo:objective:ratio{{{SEL}}} (add the rendered rule file "
              "to Prometheus' rule_files)")
NO_TRAFFIC = (f"no traffic yet: the SLI's counters have no samples (slo:sli_total:rate5m{{{SEL}}}"
              " is absent)")
FIGURES = {"sli_5m", "sli_period", "budget_used", "budget_remaining", "burn_rate",
           *(f"burn_rate_{w}" for w in ("5m", "1h", "2h", "6h", "1d", "3d", "2m"))}


def status(url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run([sys.executable, *procs.SLO_GEN, "status", "--prometheus", url,
                             "--output", "json", *args], capture_output=True, text=True,
                            timeout=60, check=False, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "1"})
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


@pytest.fixture(scope="module")
def lone_prometheus(tmp_path_factory: pytest.TempPathFactory, prometheus_bin: str
                    ) -> Iterator[Callable[[list[Path]], str]]:
    """``start(rules)`` -> the URL of a Prometheus with those rules and no scrape target."""
    started: list[procs.Child] = []

    def start(rules: list[Path]) -> str:
        work = tmp_path_factory.mktemp("lone-prometheus")
        (work / "prometheus.yml").write_text(promconfig.config([], rules, "1s"))
        port = procs.free_port()
        child = spawn("prometheus", promconfig.argv(prometheus_bin, work / "prometheus.yml",
                                                    work / "data", f"127.0.0.1:{port}"),
                      work / "prometheus.log")
        started.append(child)
        url = f"http://127.0.0.1:{port}"
        procs.wait_http(child, url + "/-/ready", timeout=60)
        return url

    yield start
    for child in started:
        procs.stop(child, timeout=5)


def test_rules_not_loaded(lone_prometheus) -> None:
    url = lone_prometheus([])
    code, doc, err = status(url)
    assert (code, err) == (0, "")
    (row,) = doc["slos"]
    assert row["missing"] == {**dict.fromkeys(FIGURES, NOT_LOADED),
                              "time_left_seconds": "the budget remaining is unknown"}
    assert {k: row[k] for k in ("budget_remaining", "budget_used", "burn_rate")} == {
        "budget_remaining": None, "budget_used": None, "burn_rate": None}
    code, _, err = status(url, "--fail-if", "budget_remaining < 0.2")
    assert code == 2
    assert err.splitlines() == [
        f"error: {SLO}: cannot tell whether budget_remaining < 0.2: {NOT_LOADED}"]


def test_no_traffic_yet(lone_prometheus, default_rules) -> None:
    url = lone_prometheus(default_rules)
    with PromAPI(url) as prom:
        wait_for("the rules evaluated", lambda: prom.query(f"slo:objective:ratio{{{SEL}}}"),
                 timeout=30)
    code, doc, err = status(url)
    assert (code, err) == (0, "")
    (row,) = doc["slos"]
    # with no period data the rules define the budget as untouched: 1, recorded
    assert row["budget_remaining"] == 1.0
    assert row["missing"] == {**dict.fromkeys(FIGURES - {"budget_remaining"}, NO_TRAFFIC),
                              "time_left_seconds": NO_TRAFFIC}
    code, _, err = status(url, "--fail-if", "burn_rate > 1")
    assert (code, err.splitlines()) == (2, [
        f"error: {SLO}: cannot tell whether burn_rate > 1: {NO_TRAFFIC}"])


@pytest.fixture(scope="module")
def hourly_step_fleet(fleet_factory, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    out = tmp_path_factory.mktemp("rules-hourly-step")
    result = subprocess.run([sys.executable, *procs.SLO_GEN, "render", "-o", str(out),
                             "--period-step", "1h"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    fleet = fleet_factory(sorted(out.glob("*.rules.yml")))
    fleet.traffic(rate=20, duration=240)
    return fleet


def test_the_period_step_not_evaluated_yet(hourly_step_fleet: Fleet) -> None:
    url = hourly_step_fleet.prom.base
    doc = wait_for("the 5m SLI", lambda: (lambda d: d if d["slos"][0]["sli_5m"] is not None
                                          else None)(status(url)[1]), timeout=60)
    (row,) = doc["slos"]  # type: ignore[index]
    steps = hourly_step_fleet.prom.query(f'{{__name__=~"slo:sli_total:rate5m_sum.+",{SEL}}}',
                                         at=doc["time"])  # type: ignore[index]
    if steps:
        pytest.skip("the hourly step group happened to run within a minute of its start")
    reason = ("the period step has not been evaluated yet (group "
              "slo-orchestrator-requests-availability-period has recorded no step sums; it "
              "runs once a step, 15m unless rendered with another --period-step)")
    assert {k: v for k, v in row["missing"].items() if k in ("sli_period", "budget_used")} == {
        "sli_period": reason, "budget_used": reason}
    assert "sli_5m" not in row["missing"] and "burn_rate" not in row["missing"]
