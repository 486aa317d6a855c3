"""Ring-buffer windows and the in-process SLO series against a straightforward reference."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from exporter.slo_collector import SLOSet
from exporter.windows import LADDER, RatioWindows, resolution_for
from slo.model.durations import format_duration
from slo.model.windows import slo_windows
from slo.readers.load import load_default, load_texts

DEFAULT_WINDOWS = (300, 1800, 3600, 7200, 21600, 86400, 259200, 2592000)


def reference(events, windows: RatioWindows, now: float) -> dict[int, tuple[int, int]]:
    """Plain recount: events whose bucket lies within the window's last n buckets."""
    out = {}
    for w in windows.windows:
        res = windows.resolution(w)
        n = math.ceil(w / res)
        last = int(now // res)
        total = errors = 0
        for t, tot, err in events:
            if last - n < int(t // res) <= last and t <= now:
                total += tot
                errors += err
        out[w] = (total, errors)
    return out


gaps = st.one_of(st.just(0.0), st.floats(0, 3), st.floats(0, 900), st.floats(0, 4 * 86400))
steps = st.lists(
    st.tuples(st.sampled_from(["event", "event", "event", "query"]), gaps, st.booleans(),
              st.integers(1, 5)),
    max_size=80,
)


def check_against_reference(steps, start, windows):
    ring = RatioWindows(windows)
    events = []
    now = start
    for kind, gap, failed, count in steps:
        now += gap
        if kind == "event":
            errors = count if failed else 0
            ring.add(now, count, errors)
            events.append((now, count, errors))
        else:
            assert ring.sums(now) == reference(events, ring, now)
    assert ring.sums(now) == reference(events, ring, now)
    later = now + max(windows) + 3600
    assert all(v == (0, 0) for v in ring.sums(later).values())


@settings(max_examples=100, deadline=None)
@given(steps=steps, start=st.floats(0, 1e6))
def test_default_windows_match_reference(steps, start):
    check_against_reference(steps, start, DEFAULT_WINDOWS)


@settings(max_examples=10, deadline=None)
@given(steps=steps, start=st.floats(0, 1e6),
       windows=st.lists(st.integers(1, 40 * 86400), min_size=1, max_size=2))
def test_odd_windows_match_reference(steps, start, windows):
    check_against_reference(steps, start, windows)


def test_resolutions_and_bounded_memory():
    ring = RatioWindows(DEFAULT_WINDOWS)
    assert {w: ring.resolution(w) for w in DEFAULT_WINDOWS} == {
        300: 1, 1800: 10, 3600: 60, 7200: 60, 21600: 300, 86400: 300, 259200: 3600,
        2592000: 3600,
    }
    slots = sum(level.size for level in ring._levels.values())
    for i in range(200_000):  # traffic does not change the footprint
        ring.add(i * 0.5, 1, i % 7 == 0)
    assert sum(level.size for level in ring._levels.values()) == slots < 2000
    assert resolution_for(7 * 86400 + 13) in LADDER


SPEC = """
apiVersion: slo-gen/v1
service: s
slos:
  - name: avail
    objective: 99
    period: 7d
    sli:
      events:
        errors: orchestrator_errors_total{endpoint!="/healthz"}
        total: orchestrator_requests_total{endpoint!="/healthz"}
    alerting: {runbook_url: "https://runbooks/x"}
  - name: latency
    objective: 90
    period: 1d
    sli:
      latency:
        histogram: http_request_duration_seconds{method="GET"}
        le: 0.3
    alerting:
      runbook_url: https://runbooks/x
      windows:
        - {severity: page, long: 1h, short: 5m, factor: 5}
  - name: not-ours
    objective: 99
    period: 7d
    sli:
      events:
        errors: nginx_errors_total
        total: nginx_requests_total
    alerting: {runbook_url: "https://runbooks/x"}
"""


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for m in registry.collect() for s in m.samples}


@settings(max_examples=60, deadline=None)
@given(steps=steps)
def test_collector_matches_reference_ratios(steps):
    """success, burn rate and budget remaining agree with a plain recount to 1e-9."""
    now = [5000.0]
    slos = SLOSet(load_default(), clock=lambda: now[0])
    registry = CollectorRegistry()
    registry.register(slos)
    tracker = slos.trackers[0]
    budget = float(tracker.slo.error_budget)
    events = []
    for kind, gap, failed, count in [*steps, ("query", 0.0, False, 1)]:
        now[0] += gap
        if kind == "event":
            tracker.windows.add(now[0], count, count if failed else 0)
            events.append((now[0], count, count if failed else 0))
            continue
        got = samples(registry)
        ref = reference(events, tracker.windows, now[0])
        for w, (total, errors) in ref.items():
            key = (("slo", "requests-availability"), ("window", format_duration(w)))
            if total == 0:
                assert ("orchestrator_slo_success_ratio", key) not in got
                assert ("orchestrator_slo_burn_rate", key) not in got
                continue
            assert abs(got[("orchestrator_slo_success_ratio", key)] - (1 - errors / total)) < 1e-9
            assert abs(got[("orchestrator_slo_burn_rate", key)] - errors / total / budget) < 1e-9
        total, errors = ref[tracker.slo.period]
        remaining = 1 - (errors / total) / budget if total else 1.0
        key = (("slo", "requests-availability"),)
        assert abs(got[("orchestrator_slo_error_budget_remaining_ratio", key)] - remaining) < 1e-9
        assert got[("orchestrator_slo_objective_ratio", key)] == 0.995
        assert not any(math.isnan(v) for v in got.values())


def test_no_data_after_windows_empty():
    now = [100.0]
    slos = SLOSet(load_default(), clock=lambda: now[0])
    registry = CollectorRegistry()
    registry.register(slos)
    t = slos.trackers[0]
    t.windows.add(now[0], 10, 10)
    names = [s.labels.get("window") for m in registry.collect() for s in m.samples
             if s.name == "orchestrator_slo_burn_rate"]
    assert names == [format_duration(w) for w in slo_windows(t.slo)]
    assert registry.get_sample_value("orchestrator_slo_error_budget_remaining_ratio",
                                     {"slo": "requests-availability"}) == 1 - 1 / 0.005
    now[0] += 301  # the 5m window is empty, the rest still hold the burst
    windows = {s.labels["window"] for m in registry.collect() for s in m.samples
               if s.name == "orchestrator_slo_success_ratio"}
    assert "5m" not in windows and "1h" in windows
    now[0] += 31 * 86400
    got = samples(registry)
    assert not any(name in ("orchestrator_slo_success_ratio", "orchestrator_slo_burn_rate")
                   for name, _ in got)
    assert got[("orchestrator_slo_error_budget_remaining_ratio",
                (("slo", "requests-availability"),))] == 1.0


def test_selectors_and_latency_sli_in_process(make_inst, caplog):
    """Matchers on known labels filter events; latency SLI counts requests slower than le."""
    import asyncio

    from exporter import PrometheusMiddleware, TemplateMatcher

    now = [0.0]
    specs = load_texts([("spec.yaml", SPEC)])
    inst = make_inst(specs=specs, clock=lambda: now[0])
    assert [t.slo.name for t in inst.slos.trackers] == ["avail", "latency"]
    assert "not-ours" in caplog.text
    durations = iter([])

    async def app(scope, receive, send):
        now[0] += next(durations)
        status = 500 if scope["path"].endswith("fail") else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def discard(message):
        return None

    mw = PrometheusMiddleware(app, inst, route_resolver=TemplateMatcher(
        ["/healthz", "/fail", "/ok"]))

    async def run(plan):
        nonlocal durations
        durations = iter([d for _, _, d in plan])
        for method, path, _ in plan:
            await mw({"type": "http", "method": method, "path": path}, None, discard)

    asyncio.run(run([
        ("GET", "/healthz", 0.01), ("GET", "/healthz", 0.01),  # excluded from "avail"
        ("GET", "/ok", 0.1), ("GET", "/ok", 0.5), ("POST", "/ok", 0.9),  # POST: not "latency"
        ("GET", "/fail", 0.2),
    ]))
    avail, latency = (t.windows.sums(now[0]) for t in inst.slos.trackers)
    assert avail[300] == (4, 1)
    assert latency[300] == (5, 1)  # GET only; one of 0.01, 0.01, 0.1, 0.5, 0.2 is > 0.3
    assert 0.3 in inst.metrics.duration._upper_bounds  # the threshold is a bucket boundary


def test_promql_slis_from_sloth_are_skipped_not_fatal(caplog):
    """A Sloth spec with hand-written PromQL SLIs: the exporter skips them with a warning (the
    recording rules cover them) instead of failing to start."""
    sloth = """
version: prometheus/v1
service: checkout
slos:
  - name: raw-ratio
    objective: 99
    sli:
      raw:
        error_ratio_query: sum(rate(x_errors[{{.window}}])) / sum(rate(x_total[{{.window}}]))
    alerting: {name: CheckoutRawRatio, page_alert: {disable: true}, ticket_alert: {disable: true}}
"""
    slos = SLOSet(load_texts([("sloth.yaml", sloth)]))
    assert slos.trackers == []
    assert "raw-ratio" in caplog.text
