"""A PMS outage pages, and the pages resolve once the PMS is back.

Rules from the minutes-scale test spec (``orchestrator-e2e.yaml``: success rate over 2 min, page
pair 4m/2m at 14.4x). Steady traffic from the real generator runs against both instances; the
outage is injected and cleared through the authenticated admin endpoint, as
``make chaos-orchestrator`` does.
"""

from __future__ import annotations

import pytest

from demo import chaos
from tests.e2e.e2e_fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

RUNBOOK_ALERT = "OrchestratorErrorRateHigh"
PAGE_ALERT = "OrchestratorRequestsAvailabilityErrorBudgetBurnPage"


@pytest.fixture(scope="module")
def fleet(healthy_e2e_fleet: Fleet) -> Fleet:
    return healthy_e2e_fleet


def _firing(fleet: Fleet, *names: str) -> bool:
    states = fleet.prom.alert_states()
    return all(states.get(n) == "firing" for n in names)


def _gone(fleet: Fleet, *names: str) -> bool:
    states = fleet.prom.alert_states()
    return not any(n in states for n in names)


def test_admin_endpoint_needs_the_token(fleet: Fleet) -> None:
    with pytest.raises(chaos.ChaosError, match="401"):
        chaos.inject(fleet.urls, "not-the-token-0000000", {"dependency": "pms", "outage": True})


def test_pms_outage_pages_and_resolves(fleet: Fleet) -> None:
    prom = fleet.prom
    assert _gone(fleet, RUNBOOK_ALERT, PAGE_ALERT), prom.alert_states()

    chaos.inject(fleet.urls, fleet.token, {"dependency": "pms", "outage": True})
    try:
        wait_for(f"{RUNBOOK_ALERT} and {PAGE_ALERT} firing",
                 lambda: _firing(fleet, RUNBOOK_ALERT, PAGE_ALERT), timeout=90)
        assert prom.scalar("max(pms_circuit_breaker_state)") in (1.0, 2.0)  # open / half-open
        by_type = {s["metric"]["error_type"]: float(s["value"][1]) for s in prom.query(
            "sum by (error_type) (rate(orchestrator_errors_total[20s])) > 0")}
        assert {"pms_unavailable", "circuit_open"} & set(by_type), by_type
    finally:
        chaos.clear(fleet.urls, fleet.token)

    wait_for("the alerts to resolve", lambda: _gone(fleet, RUNBOOK_ALERT, PAGE_ALERT),
             timeout=120)
    wait_for("the breaker to close", lambda: prom.scalar("max(pms_circuit_breaker_state)") == 0,
             timeout=60)
