"""A global view across Prometheus shards: the fleet's SLO from every shard's raw counters.

Two demo instances, each scraped every second by its own Prometheus (3.5 by default), which
evaluates nothing and forwards every sample by ``remote_write`` to one VictoriaMetrics; vmalert
evaluates the e2e spec's rules (``orchestrator-e2e.yaml``) every second against it and
writes what it records back (:mod:`demo.globalview`). Checked through VictoriaMetrics' query
API and vmalert's own alerts API:

- the shards only scrape and forward, and VictoriaMetrics holds exactly the samples each shard
  scraped;
- a restart of one instance (a counter reset on one shard) fires nothing;
- the fleet-wide ``orchestrator_success_rate_5m`` equals what the raw counters of both shards
  give at the instant its input was recorded, and not what either shard alone gives;
- a PMS outage on one instance pages, and the page resolves once the PMS is back.

vmalert evaluates at ``now - DATA_DELAY`` and stamps what it records with that instant, so a
recording can be recomputed from the raw counters afterwards at its own timestamp. A rule
reading another rule of its group sees that rule's result of an earlier evaluation, once it
has made the round trip through VictoriaMetrics (docs/engines.md): the success rate at ``T``
is the ratio recorded a few evaluations before ``T``; the test finds which one and requires the
match to be exact.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
import yaml

from demo import chaos, globalview
from tests.e2e.e2e_fleet import GlobalFleet, wait_for

pytestmark = pytest.mark.e2e

#: vmalert sends its default -datasource.queryStep with every query; ours send the same.
STEP = "5m"
DELAY = float(globalview.DATA_DELAY.removesuffix("s"))
SUCCESS = "orchestrator_success_rate_5m"
#: The success rate from the raw counters over a window, written here, not taken from a rule.
RAW_SUCCESS = ("100 * (1 - sum(rate(orchestrator_errors_total{sel}[{window}]))"
               " / sum(rate(orchestrator_requests_total{sel}[{window}])))")
RUNBOOK_ALERT = "OrchestratorErrorRateHigh"
PAGE_ALERT = "OrchestratorRequestsAvailabilityErrorBudgetBurnPage"


def _records(rules: list[Path]) -> dict[str, str]:
    return {r["record"]: r["expr"] for f in rules
            for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"] if "record" in r}


def _success_window(rules: list[Path]) -> str:
    """The window of the SLI ratio the spec's success rate reads (1m, 2m, ...)."""
    (window,) = re.findall(r"slo:sli_error:ratio_rate(\w+)\{", _records(rules)[SUCCESS])
    return window


@pytest.fixture(scope="module")
def fleet(global_fleet_factory, e2e_rules) -> GlobalFleet:
    fleet = global_fleet_factory(e2e_rules)
    fleet.traffic(rate=30, duration=900)
    wait_for("a fleet success rate of 100 in VictoriaMetrics",
             lambda: fleet.vm.values(SUCCESS) == [100.0], timeout=120)
    wait_for("no alert on vmalert", lambda: fleet.vmalert.alerts() == [], timeout=60)
    return fleet


def _series(samples: list[dict]) -> dict[tuple, float]:
    return {tuple(sorted((k, v) for k, v in s["metric"].items() if k != "shard")):
            float(s["value"][1]) for s in samples}


def test_shards_scrape_and_forward_only(fleet: GlobalFleet, e2e_rules) -> None:
    rendered = [r.get("record") or r["alert"] for f in e2e_rules
                for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in fleet.vmalert.rules()) == sorted(rendered)

    for n, (shard, inst) in enumerate(zip(fleet.shards, fleet.instances, strict=True), 1):
        assert shard.rules() == [] and shard.alerts() == [], f"shard-{n} evaluates rules"
        assert [(t["labels"]["instance"], t["health"]) for t in shard.targets()] == [
            (inst.target, "up")]
    pairs = {(s["metric"]["shard"], s["metric"]["instance"]) for s in fleet.vm.query(
        "count by (shard, instance) (orchestrator_requests_total)")}
    assert pairs == {("shard-1", fleet.instances[0].target),
                     ("shard-2", fleet.instances[1].target)}

    # At an instant older than the data delay, VictoriaMetrics answers every counter series
    # with exactly the sample its shard scraped.
    at = float(int(time.time() - DELAY - 5))
    for n, shard in enumerate(fleet.shards, 1):
        for metric in ("orchestrator_requests_total", "http_requests_total",
                       "orchestrator_errors_total"):
            own = _series(shard.query(metric, at=at))
            forwarded = _series(fleet.vm.query(f'{metric}{{shard="shard-{n}"}}', at=at,
                                               step=STEP))
            assert own and forwarded == own, (n, metric)
        assert sum(_series(shard.query("orchestrator_requests_total", at=at)).values()) > 0


def test_restart_of_one_instance_fires_nothing(fleet: GlobalFleet, e2e_rules) -> None:
    vm = fleet.vm
    victim = fleet.instances[0]
    sel = f'instance="{victim.target}"'
    assert fleet.vmalert.alerts() == []
    started = time.time()

    victim.kill()
    time.sleep(2)
    victim.start()
    wait_for("VictoriaMetrics (and so vmalert) to see the restarted instance's reset",
             lambda: (vm.scalar(f"sum(resets(orchestrator_requests_total{{{sel}}}[1m]))")
                      or 0) > 0, timeout=60)

    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        assert fleet.vmalert.alerts() == [], fleet.vmalert.alerts()
        time.sleep(1)

    span = f"{int(time.time() - started) + 5}s"
    never_negative = [r for r in _records(e2e_rules) if "remaining" not in r]
    never_negative += ["rate(orchestrator_requests_total[1m])",
                       "rate(orchestrator_errors_total[1m])"]
    for expr in never_negative:
        low = vm.values(f"min_over_time(({expr})[{span}:1s])")
        assert low, f"{expr}: no data"
        assert min(low) >= 0, f"{expr} went negative: {low}"
    assert vm.values(f"min_over_time({SUCCESS}[{span}])") == [100.0]


def test_fleet_success_rate_is_both_shards_raw_counters(fleet: GlobalFleet, e2e_rules) -> None:
    """Each recorded sample against the raw counters at the instant of its input.

    Instance 0 (shard-1) fails half of its Gmail calls, instance 1 none, so the fleet's ratio,
    shard-1's and shard-2's differ: a rule reading one shard, or summing ratios, cannot match.
    """
    vm = fleet.vm
    window = _success_window(e2e_rules)
    ratio = f"slo:sli_error:ratio_rate{window}"
    chaos.inject([fleet.urls[0]], fleet.token, {"dependency": "gmail", "error_rate": 0.5})
    try:
        wait_for("the fault's errors in the fleet success rate",
                 lambda: (vm.scalar(SUCCESS) or 100.0) < 100, timeout=90)
        begin = float(int(time.time() - DELAY))
        span = 15
        wait_for("the span to be recorded", lambda: time.time() > begin + span + DELAY + 5,
                 timeout=60)
    finally:
        chaos.clear(fleet.urls, fleet.token)

    ((_, success),) = vm.samples(f"{SUCCESS}[{span}s]", at=begin + span)
    ((_, ratios),) = vm.samples(f"{ratio}[{span + 20}s]", at=begin + span)
    raw: dict[tuple[str, float], float] = {}

    def raw_at(t: float, sel: str = "") -> float:
        if (sel, t) not in raw:
            (sample,) = vm.query(RAW_SUCCESS.replace("{sel}", sel).replace("{window}", window),
                                 at=t, step=STEP)
            assert float(sample["value"][0]) == t
            raw[sel, t] = float(sample["value"][1])
        return raw[sel, t]

    # 1. the ratio vmalert recorded at T is the raw counters' at T, both shards summed
    assert len(ratios) >= span + 10, ratios
    for t, r in ratios:
        assert math.isclose(100 * (1 - r), raw_at(t), rel_tol=1e-9), (t, r, raw_at(t))

    # 2. the success rate at T is 100 * (1 - that ratio) of an evaluation a little earlier
    assert len(success) >= span - 2, success
    lags, same_evaluation = [], 0
    recorded_at = [t for t, _ in ratios]
    for t, v in success:
        assert v < 100, (t, v)
        earlier = [u for u in recorded_at if t - 15 <= u < t]
        matches = [u for u in earlier if math.isclose(v, raw_at(u), rel_tol=1e-9)]
        assert matches, f"success rate {v} at {t}: no raw value at {earlier} matches"
        lags.append(t - max(matches))
        same_evaluation += math.isclose(v, raw_at(t), rel_tol=1e-9)
        for shard in ("shard-1", "shard-2"):
            alone = raw_at(max(matches), f'{{shard="{shard}"}}')
            assert not math.isclose(v, alone, abs_tol=1e-3), (shard, t, v, alone)
    # The chain's lag is real: most samples are not the same evaluation's raw value.
    assert same_evaluation < len(success) / 2, (same_evaluation, lags)
    print(f"success rate lags its ratio by {min(lags):g}-{max(lags):g} s "
          f"({sorted(lags)})")


def _states(fleet: GlobalFleet) -> dict[str, str]:
    return fleet.vmalert.alert_states()


def test_pms_outage_on_one_instance_pages_and_resolves(fleet: GlobalFleet) -> None:
    vm = fleet.vm
    wait_for("no page", lambda: not {RUNBOOK_ALERT, PAGE_ALERT} & set(_states(fleet)),
             timeout=240)
    chaos.inject([fleet.urls[0]], fleet.token, {"dependency": "pms", "outage": True})
    try:
        wait_for(f"{RUNBOOK_ALERT} and {PAGE_ALERT} firing on vmalert",
                 lambda: all(_states(fleet).get(a) == "firing"
                             for a in (RUNBOOK_ALERT, PAGE_ALERT)), timeout=240)
        page = [a for a in fleet.vmalert.alerts() if a["labels"]["alertname"] == PAGE_ALERT]
        assert [a["labels"] for a in page] == [{
            "alertgroup": "slo-orchestrator-requests-availability", "alertname": PAGE_ALERT,
            "severity": "page", "slo_name": "requests-availability",
            "slo_service": "orchestrator", "slo_tier": "page-4m",
            "team": "guest-messaging"}]  # fleet-wide: one
        breaker = {s["metric"]["shard"]: float(s["value"][1]) for s in vm.query(
            "max by (shard) (pms_circuit_breaker_state)")}
        assert breaker["shard-1"] in (1.0, 2.0) and breaker["shard-2"] == 0.0, breaker
        wait_for("vmalert's ALERTS series in VictoriaMetrics", lambda: vm.query(
            f'ALERTS{{alertname="{PAGE_ALERT}",alertstate="firing"}}'), timeout=60)
        assert all(s.alerts() == [] for s in fleet.shards)
    finally:
        chaos.clear(fleet.urls, fleet.token)

    wait_for("the page to resolve",
             lambda: not {RUNBOOK_ALERT, PAGE_ALERT} & set(_states(fleet)), timeout=240)
