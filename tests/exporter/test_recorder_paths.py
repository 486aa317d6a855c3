"""The two ways an outcome records: one shared lock (in-process values) or the public API.

Both must leave exactly the same samples behind, and the shared lock must keep outside writers
to the same children exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import threading

from prometheus_client import CollectorRegistry

from exporter import Instrumentation, PrometheusMiddleware, TemplateMatcher, WSGIMiddleware
from exporter import recorder as recorder_module
from exporter.recorder import Outcome, SharedLockOutcome

TEMPLATES = ["/ok", "/missing", "/fail", "/unavailable", "/raise", "/silent"]
STATUS = {"/ok": 200, "/missing": 404, "/fail": 500, "/unavailable": 503}
# Bucket bounds exactly (le is inclusive), between bounds, past the last one, zero.
DURATIONS = [0.005, 0.0051, 0.25, 0.3, 0.2999, 1.0, 20.0, 0.0, 0.1, 0.0049]


def drive(inst: Instrumentation, now: list[float]) -> None:
    """The same requests, with the same durations, through the ASGI middleware."""
    durations = itertools.cycle(DURATIONS)

    async def app(scope, receive, send):
        now[0] += next(durations)
        path = scope["path"]
        if path == "/raise":
            raise TimeoutError("pms took too long")
        if path == "/silent":
            return  # no response at all: counted as a 500
        await send({"type": "http.response.start", "status": STATUS[path], "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def discard(message):
        return None

    mw = PrometheusMiddleware(app, inst, route_resolver=TemplateMatcher(TEMPLATES))

    async def run() -> None:
        for path in TEMPLATES:
            for method in ("GET", "POST", "BREW"):
                for _ in DURATIONS[: 4 if method != "GET" else len(DURATIONS)]:
                    now[0] = float(math.ceil(now[0]))  # whole seconds: 0.25 stays exact
                    scope = {"type": "http", "method": method, "path": path}
                    with contextlib.suppress(TimeoutError):
                        await mw(scope, None, discard)
                now[0] += 7.0  # spread the events over several window buckets

    asyncio.run(run())


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for m in registry.collect() for s in m.samples if not s.name.endswith("_created")}


def test_shared_lock_and_public_api_paths_record_the_same():
    got = {}
    for shared in (True, False):
        now = [1000.0]
        registry = CollectorRegistry()
        inst = Instrumentation(registry, clock=lambda now=now: now[0])
        inst.requests.shared_lock = shared
        drive(inst, now)
        kinds = {type(o) for o in inst.requests.outcomes.values()}
        assert kinds == {SharedLockOutcome if shared else Outcome}
        got[shared] = samples(registry)
    assert got[True] == got[False]
    # The comparison covered the interesting series.
    fast = got[True]
    assert fast[("orchestrator_errors_total",
                 (("endpoint", "/raise"), ("error_type", "timeout")))] > 0
    assert fast[("http_requests_total",
                 (("endpoint", "/silent"), ("method", "other"), ("status", "500")))] == 4
    ok_get = (("endpoint", "/ok"), ("method", "GET"))
    bucket = {le: fast[("http_request_duration_seconds_bucket", (*ok_get[:1], ("le", le),
                                                               *ok_get[1:]))]
              for le in ("0.1", "0.25", "1.0", "+Inf")}
    # 0.25 is counted in le="0.25" (bounds are inclusive); 20 s only in +Inf.
    assert bucket == {"0.1": 5, "0.25": 6, "1.0": 9, "+Inf": 10}
    assert any(name == "orchestrator_slo_success_ratio" for name, _ in fast)


def test_unknown_value_class_falls_back_to_the_public_api(monkeypatch, registry, value):
    monkeypatch.setattr(recorder_module._values, "MutexValue", type("Other", (), {}))
    inst = Instrumentation(registry)
    outcome = inst.requests.outcome("/x", "GET", 503)
    assert type(outcome) is Outcome
    outcome.record(0.01, 1.0)
    assert value("orchestrator_errors_total", endpoint="/x", error_type="http_503") == 1
    assert value("http_request_duration_seconds_bucket", endpoint="/x", method="GET",
                 le="0.01") == 1


def test_outcome_values_take_the_shared_lock(make_inst):
    inst = make_inst()
    outcome = inst.requests.outcome("/x", "GET", 500)
    assert type(outcome) is SharedLockOutcome
    m = inst.metrics
    children = [m.requests.labels("/x", "GET"), m.http_requests.labels("/x", "GET", "500"),
                m.errors.labels("/x", "http_500")]
    hist = m.duration.labels("/x", "GET")
    values = [c._value for c in children] + [hist._sum, *hist._buckets]
    assert all(v._lock is inst.requests.lock for v in values)
    assert all(t.windows.lock is inst.requests.lock for t in inst.slos.trackers)


def test_outside_writers_to_the_same_children_stay_exact(make_inst, value, fast_switching):
    """Middleware threads and threads calling the public inc()/observe() on the same children."""
    inst = make_inst()

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"x"]

    mw = WSGIMiddleware(app, inst, route_resolver=TemplateMatcher(["/ok"]))
    for _ in mw({"REQUEST_METHOD": "GET", "PATH_INFO": "/ok"}, lambda *a: None):
        pass  # builds the outcome: its values now take the shared lock
    counter = inst.metrics.requests.labels("/ok", "GET")
    hist = inst.metrics.duration.labels("/ok", "GET")
    per_thread = 5_000

    def requests() -> None:
        for _ in range(per_thread):
            body = mw({"REQUEST_METHOD": "GET", "PATH_INFO": "/ok"}, lambda *a: None)
            for _ in body:
                pass
            body.close()

    def outside() -> None:
        for _ in range(per_thread):
            counter.inc()
            hist.observe(0.001)

    pool = [threading.Thread(target=f) for f in (requests, outside) * 4]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    n = 1 + 4 * per_thread
    assert value("orchestrator_requests_total", endpoint="/ok", method="GET") == n + 4 * per_thread
    assert value("http_request_duration_seconds_count", endpoint="/ok",
                 method="GET") == n + 4 * per_thread
    assert value("http_requests_total", endpoint="/ok", method="GET", status="200") == n
    assert inst.slos.trackers[0].windows.sums()[300] == (n, 0)
