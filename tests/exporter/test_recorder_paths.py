"""The two ways an outcome records: one shared lock (in-process values) or the public API.

Both must leave exactly the same samples behind, and the shared lock must keep outside writers
to the same children exact. Any prometheus_client layout other than the one
:mod:`exporter.fastpath` checks for must take the public API, exactly too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, values

from exporter import (
    Instrumentation,
    PrometheusMiddleware,
    TemplateMatcher,
    WSGIMiddleware,
    fastpath,
)
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


def serve(mw: WSGIMiddleware, path: str) -> None:
    body = mw({"REQUEST_METHOD": "GET", "PATH_INFO": path}, lambda *a: None)
    for _ in body:
        pass
    body.close()


def hammer(inst: Instrumentation, value, per_thread: int) -> None:
    """Middleware threads and threads calling the public inc()/observe() on the same children
    at once; every count must come out exact, whichever way the outcomes record. ``inst`` runs
    on a stopped clock (:func:`stopped`), so every request lasts 0 s."""

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"x"]

    mw = WSGIMiddleware(app, inst, route_resolver=TemplateMatcher(["/ok"]))
    serve(mw, "/ok")  # builds the outcome
    counter = inst.metrics.requests.labels("/ok", "GET")
    hist = inst.metrics.duration.labels("/ok", "GET")

    def requests() -> None:
        for _ in range(per_thread):
            serve(mw, "/ok")

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
    assert value("http_request_duration_seconds_bucket", endpoint="/ok", method="GET",
                 le="0.005") == n + 4 * per_thread  # 0 s requests, 1 ms observations
    assert value("http_requests_total", endpoint="/ok", method="GET", status="200") == n
    assert inst.slos.trackers[0].windows.sums()[300] == (n, 0)


def stopped() -> float:
    return 1000.0


def test_outside_writers_to_the_same_children_stay_exact(make_inst, value, fast_switching):
    inst = make_inst(clock=stopped)
    assert type(inst.requests.outcome("/ok", "GET", 200)) is SharedLockOutcome
    hammer(inst, value, 5_000)


class ForeignValue(values.MutexValue):
    """A value class the exporter does not know (as a future release might bring)."""


class RenamedValue:
    """A value laid out differently: a lock and a float under other names."""

    _multiprocess = False

    def __init__(self, *args, **kwargs) -> None:
        self._total = 0.0
        self._exemplar = None
        self._mutex = threading.Lock()

    def inc(self, amount):
        with self._mutex:
            self._total += amount

    def set(self, value, timestamp=None):
        with self._mutex:
            self._total = value

    def set_exemplar(self, exemplar):
        self._exemplar = exemplar

    def get(self):
        with self._mutex:
            return self._total

    def get_exemplar(self):
        return self._exemplar


def _foreign_class(monkeypatch) -> None:
    monkeypatch.setattr(values, "ValueClass", ForeignValue)


def _reentrant_lock(monkeypatch) -> None:  # prometheus_client 0.21.0
    monkeypatch.setattr(values, "Lock", threading.RLock)


def _renamed_attributes(monkeypatch) -> None:
    monkeypatch.setattr(values, "MutexValue", RenamedValue)
    monkeypatch.setattr(values, "ValueClass", RenamedValue)


def _no_mutex_value(monkeypatch) -> None:
    monkeypatch.delattr(values, "MutexValue")


@pytest.mark.parametrize(("change", "problem"), [
    (_foreign_class, "not the in-process MutexValue"),
    (_reentrant_lock, "MutexValue's lock is RLock, not threading.Lock"),
    (_renamed_attributes, "MutexValue.inc does not use _lock and _value"),
    (_no_mutex_value, "prometheus_client.values has no MutexValue"),
])
def test_an_unknown_layout_records_through_the_public_api_exactly(
    monkeypatch, make_inst, value, fast_switching, change, problem
):
    change(monkeypatch)
    assert problem in (fastpath.layout_problem() or "")
    inst = make_inst(clock=stopped)
    assert type(inst.metrics.requests) is Counter and type(inst.metrics.duration) is Histogram
    outcome = inst.requests.outcome("/x", "GET", 503)
    assert type(outcome) is Outcome
    outcome.record(0.01, 1.0)
    assert value("orchestrator_errors_total", endpoint="/x", error_type="http_503") == 1
    assert value("http_request_duration_seconds_bucket", endpoint="/x", method="GET",
                 le="0.01") == 1
    assert type(inst.requests.outcome("/ok", "GET", 200)) is Outcome
    hammer(inst, value, 2_000)


def test_this_client_has_the_layout_the_fast_path_expects(make_inst):
    """Every prometheus_client the pin admits (make client-compat runs both ends) takes it."""
    assert fastpath.layout_problem() is None
    inst = make_inst()
    assert type(inst.metrics.requests) is not Counter
    assert isinstance(inst.metrics.requests, Counter)


def test_a_child_laid_out_differently_is_not_taken_for_a_shared_one(make_inst):
    inst = make_inst()
    hist = inst.metrics.duration.labels("/x", "GET")
    counter = inst.metrics.requests.labels("/x", "GET")
    lock = inst.requests.lock
    assert fastpath.shared_values([counter, hist], lock) is not None
    assert fastpath.shared_values([counter, hist], threading.Lock()) is None
    hist._buckets = tuple(hist._buckets)  # not the list the scrape reads
    assert fastpath.shared_values([hist], lock) is None
    assert fastpath.shared_values([inst.metrics.in_flight], lock) is None  # a gauge


def test_a_writer_that_read_the_lock_before_the_outcome_existed_is_not_overtaken(make_inst,
                                                                                    value):
    """The interleaving that makes swapping a live child's lock unsafe, step by step.

    An outside writer runs ``MutexValue.inc``: it reads ``self._lock``, acquires it, reads the
    float, and writes it back plus one. Here it reads the lock before the request path builds
    its outcome for the same child, and is inside when a request records. Had building the
    outcome replaced the lock (even while holding the old one, which the writer did not hold
    yet), the request would record under the new lock while the writer holds the old, and the
    writer's write-back would erase the request's increment: 1 instead of 2.
    """
    inst = make_inst()
    child = inst.metrics.requests.labels("/x", "GET")
    lock = child._value._lock  # what the writer's `with self._lock:` has read
    outcome = inst.requests.outcome("/x", "GET", 200)
    assert type(outcome) is SharedLockOutcome
    inside, recorded = threading.Event(), threading.Event()

    def writer() -> None:
        with lock:
            seen = child._value._value
            inside.set()
            recorded.wait(0.5)  # a request that can overtake the writer records now
            child._value._value = seen + 1.0

    def request() -> None:
        outcome.record(0.01, 1.0)
        recorded.set()

    w = threading.Thread(target=writer)
    w.start()
    assert inside.wait(5)
    r = threading.Thread(target=request)
    r.start()
    w.join()
    r.join()
    assert value("orchestrator_requests_total", endpoint="/x", method="GET") == 2
    assert value("http_requests_total", endpoint="/x", method="GET", status="200") == 1


def test_children_born_while_requests_and_writers_race_for_them_stay_exact(make_inst, value,
                                                                           fast_switching):
    """Hundreds of new children, each first touched by whichever thread gets there: requests
    (building outcomes) and outside writers at once. No increment may be lost. (Under the GIL
    a lost update needs a thread switch inside a few bytecodes, so this rarely catches a racy
    swap; the step-by-step test above pins that interleaving down.)"""
    endpoints = [f"/e{i}" for i in range(250)]
    inst = make_inst(label_caps={"endpoint": 1000})

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"x"]

    mw = WSGIMiddleware(app, inst, route_resolver=TemplateMatcher(endpoints))
    rounds = 4

    def requests(order: list[str]) -> None:
        for _ in range(rounds):
            for ep in order:
                serve(mw, ep)

    def outside(order: list[str]) -> None:
        for _ in range(rounds):
            for ep in order:
                inst.metrics.requests.labels(ep, "GET").inc()

    orders = [endpoints, endpoints[::-1], endpoints[1::2] + endpoints[::2]]
    pool = [threading.Thread(target=f, args=(o,)) for o in orders for f in (requests, outside)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    got = {ep: value("orchestrator_requests_total", endpoint=ep, method="GET") for ep in endpoints}
    assert got == dict.fromkeys(endpoints, 2.0 * len(orders) * rounds)
    assert all(type(o) is SharedLockOutcome for o in inst.requests.outcomes.values())
