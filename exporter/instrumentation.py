"""One object owning the whole contract for one registry: metrics, limits, SLO windows.

Middleware, dependency calls and the SLO collector all record through an
:class:`Instrumentation`. Tests make one per ``CollectorRegistry``; applications normally use
:func:`default_instrumentation` (the global registry).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Container, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from exporter import fastpath, multiprocess
from exporter.dependencies import (
    CircuitBreakerListener,
    DependencyCall,
    DependencyRecorder,
    circuit_state_value,
)
from exporter.errortypes import ErrorClassifier, ErrorKey
from exporter.labels import DEFAULT_CAP, DEFAULT_SERIES_CAP, Limits
from exporter.metrics import DEFAULT_BUCKETS, FOLDED, buckets_for, create_metrics
from exporter.recorder import RequestRecorder
from exporter.slo_collector import REQUEST_SOURCE, SLOSet
from slo.model.spec import ServiceSpec

log = logging.getLogger("exporter")

#: error_type values pre-created per known route, so error ratios start at 0, not "no data".
PRECREATED_ERROR_TYPES = ("http_500", "unhandled_exception")


class Instrumentation:
    """The contract registered in ``registry`` and everything that records into it.

    ``specs``: the SLO specs for the in-process series (default: the embedded orchestrator
    spec). ``slo_series=False`` turns those series off; multiprocess mode always does.
    ``label_cap``: distinct values allowed per label (``other`` included); ``label_caps``
    overrides it per label name. ``series_cap``: label combinations allowed per metric family
    (``series_caps`` overrides it per family name); past it new combinations are folded into
    ``other`` and counted in ``slo_exporter_series_folded_total{family}``.
    ``error_statuses``: statuses counted as errors (4xx are the client's by default).
    ``error_types``: exception class (or dotted name) -> ``error_type``.
    ``clock``: seconds, used for durations and SLO windows alike (injectable for tests).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        specs: Iterable[ServiceSpec] | None = None,
        slo_series: bool = True,
        label_cap: int = DEFAULT_CAP,
        label_caps: Mapping[str, int] | None = None,
        series_cap: int = DEFAULT_SERIES_CAP,
        series_caps: Mapping[str, int] | None = None,
        error_statuses: Container[int] = range(500, 600),
        error_types: Mapping[ErrorKey, str] | None = None,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.registry = REGISTRY if registry is None else registry
        self.multiprocess = multiprocess.enabled()
        if slo_series and self.multiprocess:
            log.info("multiprocess mode: in-process SLO series are off (use the recording rules)")
            slo_series = False
        if specs is None and slo_series:
            from slo.readers.load import load_default

            specs = load_default()
        spec_list = list(specs or ())
        self.clock = clock
        # One lock for a request's metric values and SLO windows: a request takes it once.
        lock = threading.Lock()
        self.metrics = create_metrics(self.registry, buckets_for(spec_list, buckets),
                                      *fastpath.metric_classes(lock))
        self.folded = Counter(
            FOLDED, "New label combinations folded into 'other' because their metric family "
            "had used its series budget.", ["family"], registry=self.registry)
        self.limits = Limits(label_cap, dict(label_caps or {}), series_cap, series_caps,
                             on_fold=lambda family: self.folded.labels(family).inc())
        self.classify = ErrorClassifier(error_types)
        self.slos: SLOSet | None = None
        trackers = []
        if slo_series:
            self.slos = SLOSet(spec_list, clock=clock, lock=lock)
            self.registry.register(self.slos)
            trackers = self.slos.trackers
        self.requests = RequestRecorder(
            self.metrics, self.limits, self.classify,
            [t for t in trackers if t.source == REQUEST_SOURCE], error_statuses, lock,
        )
        self.dependencies = DependencyRecorder(
            self.metrics, self.limits, self.classify,
            [t for t in trackers if t.source != REQUEST_SOURCE], clock,
        )
        self.in_flight = self.metrics.in_flight
        # In-flight requests: one process keeps a set of per-request tokens (set.add/discard
        # are atomic under the GIL and cost a fraction of a locked Gauge.inc/dec), read by the
        # gauge at scrape time. Multiprocess gauges live in files, so there it is inc/dec.
        self.request_started: Callable[[object], None]
        self.request_finished: Callable[[object], None]
        if self.multiprocess:
            gauge = self.in_flight
            self.request_started = lambda token: gauge.inc()
            self.request_finished = lambda token: gauge.dec()
        else:
            active: set[object] = set()
            self.in_flight.set_function(lambda: len(active))
            self.request_started = active.add
            self.request_finished = active.discard

    # -- requests -----------------------------------------------------------------------------

    def precreate_routes(
        self,
        routes: Iterable[tuple[str, Iterable[str]]],
        error_types: Iterable[str] = PRECREATED_ERROR_TYPES,
    ) -> None:
        """Create the series of known (template, methods) at zero."""
        ets = tuple(error_types)
        for template, methods in routes:
            # HEAD and OPTIONS are added to every route by the frameworks: skip their clutter.
            chosen = tuple(m for m in methods if m not in ("HEAD", "OPTIONS")) or tuple(methods)
            self.requests.precreate(template, chosen, ets)

    # -- dependencies -------------------------------------------------------------------------

    def dependency(self, name: str, operation: str) -> DependencyCall:
        """Context manager / decorator for one call to ``name`` (``pms``, ``whatsapp``, ...)."""
        return self.dependencies.call(name, operation)

    def declare_operations(
        self, name: str, operations: Iterable[str], error_types: Iterable[str] = ()
    ) -> None:
        """Pre-create a dependency's per-operation series at zero."""
        self.dependencies.declare(name, list(operations), tuple(error_types))

    def set_circuit_breaker_state(self, state: Any) -> None:
        """``closed``/``open``/``half-open`` (or 0/1/2, or a pybreaker state object)."""
        self.metrics.circuit_breaker.set(circuit_state_value(state))

    def circuit_breaker_listener(self) -> CircuitBreakerListener:
        """A pybreaker listener: ``CircuitBreaker(listeners=[inst.circuit_breaker_listener()])``."""
        return CircuitBreakerListener(self.set_circuit_breaker_state)

    def db_connection(self) -> AbstractContextManager[Any]:
        """Context manager (or decorator) counting one checked-out database connection."""
        return self.metrics.db_connections.track_inprogress()

    def set_db_connections(self, count: int) -> None:
        """Set the number of active database connections (e.g. from a pool's stats)."""
        self.metrics.db_connections.set(count)

    # -- exposition ---------------------------------------------------------------------------

    def exposition_registry(self) -> CollectorRegistry:
        """What to serve on /metrics: this registry, or every worker's files in multiprocess."""
        return multiprocess.registry() if self.multiprocess else self.registry


_default: Instrumentation | None = None
_default_lock = threading.Lock()


def default_instrumentation() -> Instrumentation:
    """The process-wide instance on prometheus_client's global registry, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Instrumentation()
        return _default
