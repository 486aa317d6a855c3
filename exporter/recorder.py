"""The per-request hot path shared by the ASGI and WSGI middleware.

Everything a finished request touches is looked up once per (endpoint, method, status) and kept
in an outcome: the labelled children of every contract metric and the SLO windows the request
feeds. ``.labels()`` lookups are most of the cost of instrumenting a request; with outcomes
cached, a request costs a dict hit and one ``record()`` call.

The next largest cost is locking: ``Counter.inc`` and ``Histogram.observe`` take one mutex per
value touched (the request counter, the status counter, the histogram's sum and bucket, the
error counter) and each SLO window takes its own, five or six acquisitions per request. In a
single process the request metrics' values are born guarded by the one lock the SLO windows
use (:mod:`exporter.fastpath`), and :class:`SharedLockOutcome` takes it once and bumps the
plain floats inside. The values' own ``inc()``/``get()`` take that same lock, so anything else
writing to those children and the scrape reading them stay exact. Wherever that is not so
(multiprocess mode's memory-mapped values, a prometheus_client whose layout differs from what
:func:`exporter.fastpath.layout_problem` checks, SLO windows under another lock),
:class:`Outcome` records through the public ``inc()``/``observe()`` instead, with the same
samples.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Container, Sequence
from typing import Any

from prometheus_client import Counter, Histogram

from exporter.errortypes import ErrorClassifier, status_error_type
from exporter.fastpath import shared_values
from exporter.labels import OTHER, Limits
from exporter.metrics import DURATION, ERRORS, HTTP_REQUESTS, REQUESTS, ContractMetrics
from exporter.slo_collector import SLOTracker
from exporter.windows import RatioWindows

#: The order each family's labels are turned into ``other`` past its series budget
#: (:class:`exporter.labels.SeriesBudget`): endpoints first (methods and statuses are few and
#: the SLOs read statuses), the error type before the endpoint (per-route error ratios stay).
REQUEST_FOLD = (0, 1)
HTTP_FOLD = (0, 1, 2)
ERROR_FOLD = (1, 0)

#: Bound on cached outcomes; past it outcomes are built per request (slow but bounded memory).
MAX_OUTCOMES = 10_000

Events = tuple[tuple[RatioWindows, int, int], ...]
Latency = tuple[tuple[RatioWindows, float], ...]


class Outcome:
    """What one kind of finished request records, through the metrics' public API."""

    __slots__ = ("error", "events", "hist", "http", "latency", "requests")

    def __init__(self, requests: Counter, http: Counter, hist: Histogram, error: Counter | None,
                 events: Events, latency: Latency) -> None:
        self.requests = requests
        self.http = http
        self.hist = hist
        self.error = error
        self.events = events
        self.latency = latency

    def record(self, duration: float, now: float) -> None:
        self.requests.inc()
        self.http.inc()
        self.hist.observe(duration)
        if self.error is not None:
            self.error.inc()
        for windows, total, errors in self.events:
            windows.add(now, total, errors)
        for windows, le in self.latency:
            windows.add(now, 1, 1 if duration > le else 0)


class SharedLockOutcome:
    """The same effect as :class:`Outcome`, under one acquisition of the shared ``lock``.

    ``requests``, ``http``, ``error``, ``sum`` and ``buckets`` are ``MutexValue`` objects whose
    own lock is ``lock`` (checked by :func:`exporter.fastpath.shared_values`); every window in
    ``events``/``latency`` is guarded by ``lock`` too.
    """

    __slots__ = ("bounds", "buckets", "error", "events", "http", "latency", "lock", "requests",
                 "sum")

    def __init__(self, lock: threading.Lock, requests: Any, http: Any, hist: Any, error: Any,
                 events: Events, latency: Latency) -> None:
        self.lock = lock
        self.requests = requests._value
        self.http = http._value
        self.sum = hist._sum
        self.bounds = tuple(hist._upper_bounds)  # ends with +Inf: every duration has a bucket
        self.buckets = tuple(hist._buckets)
        self.error = None if error is None else error._value
        self.events = events
        self.latency = latency

    def record(self, duration: float, now: float) -> None:
        # Histogram.observe counts into the first bucket with duration <= bound.
        bucket = self.buckets[bisect_left(self.bounds, duration)]
        # ``with``, not acquire()/try: a signal arriving right after acquire() returns would
        # otherwise leave the lock held forever.
        with self.lock:
            self.requests._value += 1.0
            self.http._value += 1.0
            self.sum._value += duration
            bucket._value += 1.0
            if self.error is not None:
                self.error._value += 1.0
            for windows, total, errors in self.events:
                windows.add_held(now, total, errors)
            for windows, le in self.latency:
                windows.add_held(now, 1, 1 if duration > le else 0)


class RequestRecorder:
    """Builds and caches the outcomes of finished requests.

    ``lock`` is the one lock the outcomes record under; the trackers' windows must be guarded
    by it too (``SLOSet(..., lock=lock)``), and the metrics' values born under it
    (``create_metrics(..., *fastpath.metric_classes(lock))``), or outcomes take the slower
    per-value locks.
    """

    def __init__(
        self,
        metrics: ContractMetrics,
        limits: Limits,
        classify: ErrorClassifier,
        trackers: Sequence[SLOTracker],
        error_statuses: Container[int] = range(500, 600),
        lock: threading.Lock | None = None,
    ) -> None:
        self._metrics = metrics
        self._limits = limits
        self._classify = classify
        self._trackers = tuple(trackers)
        self._error_statuses = error_statuses
        self.lock = threading.Lock() if lock is None else lock
        #: Whether outcomes may record under :attr:`lock` (else through the public API).
        self.shared_lock = all(t.windows.lock is self.lock for t in self._trackers)
        #: (endpoint, method, status) -> outcome; read directly by the middleware.
        self.outcomes: dict[tuple[str | None, str, int], Outcome | SharedLockOutcome] = {}
        self._failures: dict[tuple[str | None, str, int, str],
                             Outcome | SharedLockOutcome] = {}

    def outcome(
        self, endpoint: str | None, method: str, status: int
    ) -> Outcome | SharedLockOutcome:
        """The outcome of a request that completed with ``status`` (0: no response sent)."""
        key = (endpoint, method, status)
        hit = self.outcomes.get(key)
        if hit is None:
            hit = self._build(endpoint, method, status or 500, None)
            if len(self.outcomes) < MAX_OUTCOMES:
                self.outcomes[key] = hit
        return hit

    def failure(
        self, endpoint: str | None, method: str, status: int, exc: BaseException
    ) -> Outcome | SharedLockOutcome:
        """The outcome of a request whose application raised ``exc``.

        ``status`` is what the client was sent (0 if nothing yet: it will get a 500).
        """
        error_type = self._classify(exc)
        key = (endpoint, method, status, error_type)
        hit = self._failures.get(key)
        if hit is None:
            hit = self._build(endpoint, method, status or 500, error_type)
            if len(self._failures) < MAX_OUTCOMES:
                self._failures[key] = hit
        return hit

    def _build(
        self, endpoint: str | None, method: str, status: int, error_type: str | None
    ) -> Outcome | SharedLockOutcome:
        m, lim = self._metrics, self._limits
        ep = lim["endpoint"](endpoint or OTHER)
        st = lim["status"](str(status))
        r_ep, r_method = lim.series(REQUESTS, REQUEST_FOLD)((ep, method))
        h_ep, h_method, h_st = lim.series(HTTP_REQUESTS, HTTP_FOLD)((ep, method, st))
        d_ep, d_method = lim.series(DURATION, REQUEST_FOLD)((ep, method))
        increments: dict[str, dict[str, str]] = {
            REQUESTS: {"endpoint": r_ep, "method": r_method},
            HTTP_REQUESTS: {"endpoint": h_ep, "method": h_method, "status": h_st},
            f"{DURATION}_count": {"endpoint": d_ep, "method": d_method},
        }
        if error_type is None and status in self._error_statuses:
            error_type = status_error_type(status)
        error = None
        if error_type is not None:
            e_ep, et = lim.series(ERRORS, ERROR_FOLD)((ep, lim["error_type"](error_type)))
            error = m.errors.labels(e_ep, et)
            increments[ERRORS] = {"endpoint": e_ep, "error_type": et}
        events: list[tuple[RatioWindows, int, int]] = []
        latency: list[tuple[RatioWindows, float]] = []
        for t in self._trackers:
            if t.le is not None:
                if t.latency_applies(increments[f"{DURATION}_count"]):
                    latency.append((t.windows, t.le))
            else:
                event = t.event(increments)
                if event is not None:
                    events.append((t.windows, *event))
        children = (m.requests.labels(r_ep, r_method),
                    m.http_requests.labels(h_ep, h_method, h_st),
                    m.duration.labels(d_ep, d_method), error)
        # The values were born guarded by self.lock, or never will be: nothing is swapped here
        # (a child in use cannot have its lock replaced safely; see exporter.fastpath).
        if self.shared_lock and shared_values([c for c in children if c is not None],
                                              self.lock) is not None:
            return SharedLockOutcome(self.lock, *children, tuple(events), tuple(latency))
        return Outcome(*children, tuple(events), tuple(latency))

    def precreate(self, endpoint: str, methods: Sequence[str], error_types: Sequence[str]) -> None:
        """Create the series of a known route at zero so ``rate()`` has a baseline."""
        m, lim = self._metrics, self._limits
        ep = lim["endpoint"](endpoint)
        for method in methods:
            m.requests.labels(*lim.series(REQUESTS, REQUEST_FOLD)((ep, method)))
            m.duration.labels(*lim.series(DURATION, REQUEST_FOLD)((ep, method)))
        for et in error_types:
            m.errors.labels(*lim.series(ERRORS, ERROR_FOLD)((ep, lim["error_type"](et))))
