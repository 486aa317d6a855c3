"""The fleet success rate Prometheus records equals the truth of the traffic sent.

Two instances get the same known sequence (request i goes to instance i % 2): every fifth pair
is an audio message while the audio processor fails every call (``--fault
audio_processor:error_rate=1``), so exactly 20% of requests fail; 404s and 422s are in the mix
and must count as successes. No other request reaches the apps (readiness is checked on the
metrics port and by TCP), so the counters hold exactly this traffic.

Exact counters through the whole pipeline (exporter -> scrape -> PromQL) must match the tally
to the request; the recorded ratios, which go through ``rate()``, within a tolerance: rate's
extrapolation scales an instance's error and total series alike (same scrape timestamps, error
series pre-created at zero), so the ratio is exact up to the window cutting into the batch.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import pytest

from demo import traffic
from tests.e2e.e2e_fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

PAIRS = 150
RATE = 40.0  # requests per second: the batch takes about 7.5 s, inside the 20 s window
OK_KINDS = ("text", "get_reservation", "booking_text", "missing_reservation", "bad_webhook",
            "create_reservation", "synthetic", "status_receipt", "health")


def batch() -> list[traffic.Planned]:
    rng = random.Random(7)
    ok = itertools.cycle(OK_KINDS)
    out = []
    for pair in range(PAIRS):
        kind = "audio" if pair % 5 == 0 else next(ok)
        out += [traffic.make(kind, rng), traffic.make(kind, rng)]
    return out


@pytest.fixture(scope="module")
def fleet(fleet_factory, e2e_rules) -> Fleet:
    return fleet_factory(e2e_rules, ["--fault", "audio_processor:error_rate=1"])


def test_fleet_success_rate_equals_truth(fleet: Fleet) -> None:
    prom = fleet.prom
    assert prom.scalar("sum(orchestrator_requests_total)") == 0, "the apps saw other traffic"
    tally = asyncio.run(traffic.send(fleet.urls, batch(), RATE))
    sent_at = time.time()
    total, failed = tally.total, tally.server_errors
    assert tally.unanswered == 0, tally.summary()
    assert total == 2 * PAIRS
    assert failed == 2 * len(range(0, PAIRS, 5)), tally.summary()
    assert tally.by_kind["bad_webhook"] == {422: tally.by_kind["bad_webhook"].total()}
    truth = failed / total

    # Exact counters, summed across both instances by Prometheus.
    wait_for("Prometheus to scrape every request",
             lambda: prom.scalar("sum(orchestrator_requests_total)") == total, timeout=30)
    assert prom.scalar("sum(orchestrator_errors_total)") == failed
    assert prom.scalar('sum(http_requests_total{status=~"5.."})') == failed
    assert prom.scalar('sum(orchestrator_errors_total{error_type="upstream_error"})') == failed
    assert prom.scalar("sum(audio_processor_errors_total)") == failed

    # The recorded ratios, evaluated a few seconds after the last request (every scrape in).
    at = sent_at + 4
    wait_for("the evaluation after the batch", lambda: time.time() > at + 1, timeout=10)

    def value(expr: str) -> float:
        result = prom._get("/api/v1/query", query=expr, time=f"{at:.3f}")["result"]
        assert len(result) == 1, f"{expr}: {result}"
        return float(result[0]["value"][1])

    assert value("orchestrator_success_rate_5m") == pytest.approx(100 * (1 - truth), abs=2)
    for window in ("2m", "4m", "5m"):
        assert value(f"slo:sli_error:ratio_rate{window}") == pytest.approx(truth, abs=0.02), window
    assert value("orchestrator_burn_rate_fast") == pytest.approx(truth / 0.005, rel=0.1)
    used = value("orchestrator_error_budget_used_ratio_30m")
    assert 0 < used == pytest.approx(truth / 0.005, rel=0.25)


def test_in_process_view_matches_each_instance(fleet: Fleet) -> None:
    """Each instance's own SLO series (the per-process view) saw its half: 20% errors too."""
    values = prom_values = fleet.prom.values(
        'orchestrator_slo_success_ratio{slo="requests-availability",window="5m"}')
    assert len(prom_values) == 2
    for v in values:
        assert v == pytest.approx(0.8, abs=1e-9)
