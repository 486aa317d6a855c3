"""The metric contract with the runbook: names, types, labels, buckets and multiprocess modes.

This is the one place that says what the exporter exposes (docs/design.md, "The metric
contract"). Everything else records into the objects made here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from slo.model.spec import LatencySLI, ServiceSpec

REQUESTS = "orchestrator_requests_total"
ERRORS = "orchestrator_errors_total"
HTTP_REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
IN_FLIGHT = "http_requests_in_flight"
CIRCUIT_BREAKER = "pms_circuit_breaker_state"
DB_CONNECTIONS = "database_connections_active"
#: Counts label combinations folded into "other" past a family's series budget.
FOLDED = "slo_exporter_series_folded_total"

#: Dependency metric prefixes, as the runbook queries them.
DEPENDENCIES = ("pms_adapter", "whatsapp", "gmail", "database", "audio_processor")
#: Short names accepted for convenience.
DEPENDENCY_ALIASES = {"pms": "pms_adapter", "db": "database", "audio": "audio_processor"}

#: prometheus_client's defaults without the sub-5ms and 7.5s buckets nobody queries; the spec's
#: latency thresholds are added so each ``le`` is an exact bucket boundary.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

#: The ``multiprocess_mode`` values ``prometheus_client.Gauge`` accepts.
GaugeMode = Literal["all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum",
                    "mostrecent", "livemostrecent"]

#: How each gauge combines across gunicorn workers in multiprocess mode (ignored otherwise).
#: in-flight and DB connections are per-worker amounts, so live workers' values add up; the
#: breaker is per worker too, and ``livemax`` answers the runbook's question "is any live
#: worker's breaker not closed" (a dead worker's last state must not keep it "open").
GAUGE_MODES: dict[str, GaugeMode] = {
    IN_FLIGHT: "livesum",
    CIRCUIT_BREAKER: "livemax",
    DB_CONNECTIONS: "livesum",
}

CIRCUIT_STATES = {"closed": 0, "open": 1, "half_open": 2, "half-open": 2, "halfopen": 2}


def dependency_prefix(name: str) -> str:
    """``pms`` -> ``pms_adapter``; raises ValueError for a dependency outside the contract."""
    prefix = DEPENDENCY_ALIASES.get(name, name)
    if prefix not in DEPENDENCIES:
        known = ", ".join(DEPENDENCIES)
        raise ValueError(f"unknown dependency {name!r}; expected one of {known}")
    return prefix


def buckets_for(
    specs: Iterable[ServiceSpec], base: Iterable[float] = DEFAULT_BUCKETS
) -> tuple[float, ...]:
    """Histogram buckets: ``base`` plus every latency threshold of the specs, sorted."""
    bounds = {float(b) for b in base}
    for spec in specs:
        for slo in spec.slos:
            if isinstance(slo.sli, LatencySLI) and slo.sli.histogram.metric == DURATION:
                bounds.add(float(slo.sli.le))
    return tuple(sorted(bounds))


@dataclass(frozen=True)
class ContractMetrics:
    """The registered metric families (parents; children are cached by the recorders)."""

    requests: Counter
    errors: Counter
    http_requests: Counter
    duration: Histogram
    in_flight: Gauge
    dep_requests: dict[str, Counter]
    dep_errors: dict[str, Counter]
    circuit_breaker: Gauge
    db_connections: Gauge


def create_metrics(
    registry: CollectorRegistry,
    buckets: Iterable[float] = DEFAULT_BUCKETS,
    counter: type[Counter] = Counter,
    histogram: type[Histogram] = Histogram,
) -> ContractMetrics:
    """Register the whole contract in ``registry`` (once per registry).

    ``counter`` and ``histogram`` are the classes of the request metrics, the ones a request's
    outcome writes: :class:`~exporter.Instrumentation` passes the subclasses of
    :func:`exporter.fastpath.metric_classes`, whose values are born under its shared lock.
    """
    dep_requests = {
        p: Counter(f"{p}_requests_total", f"Calls from the orchestrator to {p}, by operation.",
                   ["operation"], registry=registry)
        for p in DEPENDENCIES
    }
    dep_errors = {
        p: Counter(f"{p}_errors_total", f"Failed calls to {p}, by operation and error class.",
                   ["operation", "error_type"], registry=registry)
        for p in DEPENDENCIES
    }
    return ContractMetrics(
        requests=counter(REQUESTS, "Requests handled by the orchestrator.",
                         ["endpoint", "method"], registry=registry),
        errors=counter(ERRORS, "Requests that failed: 5xx responses or unhandled exceptions.",
                       ["endpoint", "error_type"], registry=registry),
        http_requests=counter(HTTP_REQUESTS, "HTTP requests by route template and status.",
                              ["endpoint", "method", "status"], registry=registry),
        duration=histogram(DURATION, "Request duration to the end of the response body.",
                           ["endpoint", "method"], buckets=tuple(buckets), registry=registry),
        in_flight=Gauge(IN_FLIGHT, "Requests being handled right now.", registry=registry,
                        multiprocess_mode=GAUGE_MODES[IN_FLIGHT]),
        dep_requests=dep_requests,
        dep_errors=dep_errors,
        circuit_breaker=Gauge(CIRCUIT_BREAKER,
                              "PMS circuit breaker: 0 closed, 1 open, 2 half-open.",
                              registry=registry, multiprocess_mode=GAUGE_MODES[CIRCUIT_BREAKER]),
        db_connections=Gauge(DB_CONNECTIONS, "Database connections checked out right now.",
                             registry=registry, multiprocess_mode=GAUGE_MODES[DB_CONNECTIONS]),
    )
