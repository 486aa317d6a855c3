"""Killing and restarting one instance (a counter reset) raises no alert and no negative rate.

The killed instance comes back on the same ports with every counter at zero. ``rate()`` per
series handles the reset, and the rules sum after ``rate()``, so nothing may go negative, the
success rate must stay within 0..100 and no alert may even go pending, while the real traffic
generator keeps sending (requests to the dead instance fail on the client side and are not the
service's errors). Prometheus sends to a real Alertmanager: its webhook receiver gets nothing.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.e2e_fleet import Delivery, Fleet, wait_for

pytestmark = pytest.mark.e2e

NEVER_NEGATIVE = (
    "slo:sli_errors:rate5m", "slo:sli_total:rate5m", "slo:sli_error:ratio_rate2m",
    "slo:sli_error:ratio_rate4m", "slo:sli_error:ratio_rate5m", "orchestrator_burn_rate_fast",
    "orchestrator_error_budget_used_ratio_30m", "rate(orchestrator_requests_total[1m])",
    "rate(http_requests_total[1m])", "rate(orchestrator_errors_total[1m])",
)


@pytest.fixture(scope="module")
def fleet(healthy_e2e_fleet: Fleet) -> Fleet:
    return healthy_e2e_fleet


def test_restart_is_not_an_outage(fleet: Fleet, e2e_delivery: Delivery) -> None:
    prom = fleet.prom
    victim = fleet.instances[0]
    before = prom.scalar(f'sum(orchestrator_requests_total{{instance="{victim.target}"}})')
    assert before is not None and before > 0
    started = time.time()

    victim.kill()
    time.sleep(2)
    victim.start()
    resets = f'sum(resets(orchestrator_requests_total{{instance="{victim.target}"}}[1m]))'
    wait_for("the restarted instance to be scraped with reset counters",
             lambda: (prom.scalar(resets) or 0) > 0, timeout=30)

    # Watch for a while after the restart: every alert stays inactive.
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        assert prom.alerts() == [], prom.alerts()
        time.sleep(1)

    span = f"{int(time.time() - started) + 5}s"
    for expr in NEVER_NEGATIVE:
        low = prom.values(f"min_over_time(({expr})[{span}:1s])")
        assert low, f"{expr}: no data"
        assert min(low) >= 0, f"{expr} went negative: {low}"
    success = prom.values(f"min_over_time(orchestrator_success_rate_5m[{span}])")
    assert success and min(success) >= 99.9, success  # healthy traffic: no false dip
    assert max(prom.values(f"max_over_time(orchestrator_success_rate_5m[{span}])")) <= 100
    assert e2e_delivery.alerts() == []
    assert e2e_delivery.notifications() == []  # the on-call heard nothing
