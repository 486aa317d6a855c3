"""``slo-gen status`` on the global view: series from VictoriaMetrics, alerts from vmalert.

The same e2e spec as ``test_e2e_status.py``, evaluated by vmalert against VictoriaMetrics fed
by two Prometheus shards (:mod:`demo.globalview`). vmalert stamps what it records 10 s behind
the clock and samples keep arriving for instants just past, so status is asked about an instant
a minute ago (``--time``) and the recorded series are queried directly at that same instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from demo import chaos, procs
from tests.e2e.e2e_fleet import E2E_SPEC, ROOT, GlobalFleet, wait_for

pytestmark = pytest.mark.e2e

SLO = "orchestrator/requests-availability"
IDENT = '{slo_service="orchestrator",slo_name="requests-availability"}'
GATE = ("--fail-if", "budget_remaining < 0.2", "--fail-if", "pages_firing > 0")
SETTLED = 60.0  # seconds in the past: every sample for that instant has arrived


def status(fleet: GlobalFleet, *args: str, at: float | None = None
           ) -> tuple[int, dict[str, Any], str]:
    when = ["--time", f"{at:.3f}"] if at is not None else []
    result = subprocess.run(
        [sys.executable, *procs.SLO_GEN, "status", str(E2E_SPEC), "--prometheus", fleet.vm.base,
         "--alerts-api", fleet.vmalert.base, "--output", "json", *when, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"})
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def recorded(fleet: GlobalFleet, expr: str, at: float) -> float | None:
    values = [float(s["value"][1]) for s in fleet.vm.query(expr, at=at)]
    assert len(values) <= 1, (expr, values)
    return values[0] if values else None


@pytest.fixture(scope="module")
def fleet(global_fleet_factory, e2e_rules) -> GlobalFleet:
    fleet = global_fleet_factory(e2e_rules)
    fleet.traffic(rate=30, duration=900)

    def settled() -> bool:
        doc = status(fleet, at=time.time() - SETTLED)[1]
        return bool(doc) and set(doc["slos"][0]["missing"]) == {"time_left_seconds"}

    wait_for("every figure recorded in VictoriaMetrics a minute ago", settled, timeout=240)
    return fleet


def _same_as_recorded(fleet: GlobalFleet, doc: dict[str, Any]) -> None:
    at = doc["time"]
    (row,) = doc["slos"]
    assert row["budget_remaining"] == recorded(
        fleet, f"slo:period_error_budget_remaining:ratio{IDENT}", at)
    assert row["budget_used"] == recorded(fleet, f"slo:period_burn_rate:ratio{IDENT}", at)
    assert row["burn_rate"] == recorded(fleet, f"slo:current_burn_rate:ratio{IDENT}", at)
    ratio_5m = recorded(fleet, f"slo:sli_error:ratio_rate5m{IDENT}", at)
    assert ratio_5m is not None and row["sli_5m"] == 1 - ratio_5m
    assert row["burn_rates"] == {
        w: recorded(fleet, f"slo:sli_error:ratio_rate{w}{IDENT} / 0.005", at)
        for w in ("2m", "4m", "10m")}


def test_healthy_global_view(fleet: GlobalFleet) -> None:
    code, doc, err = status(fleet, *GATE, at=time.time() - SETTLED)
    assert (code, err) == (0, "")
    _same_as_recorded(fleet, doc)


def test_outage_on_one_instance_trips_the_gate(fleet: GlobalFleet) -> None:
    chaos.inject(fleet.urls[:1], fleet.token, {"dependency": "pms", "outage": True})
    try:
        wait_for("a page firing on vmalert",
                 lambda: status(fleet)[1]["slos"][0]["pages_firing"] > 0, timeout=180)
        code, doc, err = status(fleet, *GATE)
        assert code == 1
        (row,) = doc["slos"]
        assert err.splitlines() == [
            f"fail: {SLO}: budget_remaining < 0.2 (it is {row['budget_remaining']:g})",
            f"fail: {SLO}: pages_firing > 0 (it is {row['pages_firing']:g})"]
        _same_as_recorded(fleet, status(fleet, at=time.time() - SETTLED)[1])
    finally:
        chaos.clear(fleet.urls[:1], fleet.token)


def test_stopped_victoriametrics_is_exit_2(fleet: GlobalFleet) -> None:
    (vm,) = [c for c in fleet.view.children if c.name == "victoria-metrics"]
    procs.stop(vm, timeout=10)
    code, doc, err = status(fleet, *GATE)
    assert (code, doc) == (2, {})
    (line,) = err.splitlines()
    assert line.startswith("error: ") and "cannot connect" in line, line
