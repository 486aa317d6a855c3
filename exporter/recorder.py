"""The per-request hot path shared by the ASGI and WSGI middleware.

Everything a finished request touches is looked up once per (endpoint, method, status) and kept
in an :class:`Outcome`: the labelled children of every contract metric and the SLO windows the
request feeds. ``.labels()`` lookups are most of the cost of instrumenting a request; with
outcomes cached, a request costs a dict hit, a few ``inc()`` calls and one ``observe()``.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from exporter.errortypes import ErrorClassifier, status_error_type
from exporter.labels import OTHER, Limits
from exporter.metrics import DURATION, ERRORS, HTTP_REQUESTS, REQUESTS, ContractMetrics
from exporter.slo_collector import SLOTracker
from exporter.windows import RatioWindows

#: Bound on cached outcomes; past it outcomes are built per request (slow but bounded memory).
MAX_OUTCOMES = 10_000


class Outcome:
    """What one kind of finished request records: metric children plus SLO windows."""

    __slots__ = ("error", "events", "hist", "http", "latency", "requests")

    def __init__(self, requests, http, hist, error, events, latency) -> None:
        self.requests = requests
        self.http = http
        self.hist = hist
        self.error = error
        self.events: tuple[tuple[RatioWindows, int, int], ...] = events
        self.latency: tuple[tuple[RatioWindows, float], ...] = latency

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


class RequestRecorder:
    """Builds and caches :class:`Outcome` objects for finished requests."""

    def __init__(
        self,
        metrics: ContractMetrics,
        limits: Limits,
        classify: ErrorClassifier,
        trackers: Sequence[SLOTracker],
        error_statuses: Container[int] = range(500, 600),
    ) -> None:
        self._metrics = metrics
        self._limits = limits
        self._classify = classify
        self._trackers = tuple(trackers)
        self._error_statuses = error_statuses
        #: (endpoint, method, status) -> Outcome; read directly by the middleware.
        self.outcomes: dict[tuple[str | None, str, int], Outcome] = {}
        self._failures: dict[tuple[str | None, str, int, str], Outcome] = {}

    def outcome(self, endpoint: str | None, method: str, status: int) -> Outcome:
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
    ) -> Outcome:
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
    ) -> Outcome:
        m, lim = self._metrics, self._limits
        ep = lim["endpoint"](endpoint or OTHER)
        st = lim["status"](str(status))
        increments: dict[str, dict[str, str]] = {
            REQUESTS: {"endpoint": ep, "method": method},
            HTTP_REQUESTS: {"endpoint": ep, "method": method, "status": st},
            f"{DURATION}_count": {"endpoint": ep, "method": method},
        }
        if error_type is None and status in self._error_statuses:
            error_type = status_error_type(status)
        error = None
        if error_type is not None:
            et = lim["error_type"](error_type)
            error = m.errors.labels(ep, et)
            increments[ERRORS] = {"endpoint": ep, "error_type": et}
        events: list[tuple[RatioWindows, int, int]] = []
        latency: list[tuple[RatioWindows, float]] = []
        for t in self._trackers:
            if t.le is not None:
                if t.latency_applies(increments[REQUESTS]):
                    latency.append((t.windows, t.le))
            else:
                event = t.event(increments)
                if event is not None:
                    events.append((t.windows, *event))
        return Outcome(
            m.requests.labels(ep, method),
            m.http_requests.labels(ep, method, st),
            m.duration.labels(ep, method),
            error,
            tuple(events),
            tuple(latency),
        )

    def precreate(self, endpoint: str, methods: Sequence[str], error_types: Sequence[str]) -> None:
        """Create the series of a known route at zero so ``rate()`` has a baseline."""
        m, lim = self._metrics, self._limits
        ep = lim["endpoint"](endpoint)
        for method in methods:
            m.requests.labels(ep, method)
            m.duration.labels(ep, method)
        for et in error_types:
            m.errors.labels(ep, lim["error_type"](et))
