"""Instrumentation of the orchestrator's outbound calls (PMS, WhatsApp, Gmail, DB, audio).

``with inst.dependency("pms", "get_reservation"):`` (or ``async with``, or as a decorator on a
sync or async function) counts ``pms_adapter_requests_total{operation}`` once per call and, when
the call raises, ``pms_adapter_errors_total{operation,error_type}`` with the exception mapped to a
bounded class. Exceptions always propagate unchanged. A call that fails without raising (an
HTTP 503 returned as a value) is marked with ``call.fail("pms_unavailable")``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from exporter.errortypes import ErrorClassifier
from exporter.labels import Limits
from exporter.metrics import CIRCUIT_STATES, ContractMetrics, dependency_prefix
from exporter.slo_collector import SLOTracker
from exporter.windows import RatioWindows

F = TypeVar("F", bound=Callable[..., Any])

_DepOutcome = tuple[Any, Any, tuple[tuple[RatioWindows, int, int], ...]]


class DependencyRecorder:
    """Caches the labelled children (and SLO windows) per (dependency, operation, error)."""

    def __init__(
        self,
        metrics: ContractMetrics,
        limits: Limits,
        classify: ErrorClassifier,
        trackers: list[SLOTracker],
        clock: Callable[[], float],
    ) -> None:
        self._metrics = metrics
        self._limits = limits
        self.classify = classify
        self._trackers = trackers
        self.clock = clock
        self._cache: dict[tuple[str, str, str | None], _DepOutcome] = {}

    def record(self, prefix: str, operation: str, error_type: str | None) -> None:
        key = (prefix, operation, error_type)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._build(prefix, operation, error_type)
            if len(self._cache) < 10_000:
                self._cache[key] = hit
        requests, errors, events = hit
        requests.inc()
        if errors is not None:
            errors.inc()
        if events:
            now = self.clock()
            for windows, total, err in events:
                windows.add(now, total, err)

    def _build(self, prefix: str, operation: str, error_type: str | None) -> _DepOutcome:
        lim = self._limits
        op = lim[f"{prefix}:operation"](operation)
        (r_op,) = lim.series(f"{prefix}_requests_total", (0,))((op,))
        increments: dict[str, dict[str, str]] = {f"{prefix}_requests_total": {"operation": r_op}}
        errors = None
        if error_type is not None:
            e_op, et = self._errors(prefix, op, error_type)
            errors = self._metrics.dep_errors[prefix].labels(e_op, et)
            increments[f"{prefix}_errors_total"] = {"operation": e_op, "error_type": et}
        events = []
        for t in self._trackers:
            if t.source == prefix:
                ev = t.event(increments)
                if ev is not None:
                    events.append((t.windows, *ev))
        return self._metrics.dep_requests[prefix].labels(r_op), errors, tuple(events)

    def _errors(self, prefix: str, op: str, error_type: str) -> tuple[str, str]:
        """(operation, error_type) of a failed call: the error type capped per dependency (a
        noisy dependency cannot spend the requests' or another dependency's values), the pair
        within the family's series budget (error type folded first)."""
        et = self._limits[f"{prefix}:error_type"](error_type)
        e_op, e_et = self._limits.series(f"{prefix}_errors_total", (1, 0))((op, et))
        return e_op, e_et

    def declare(self, name: str, operations: list[str], error_types: tuple[str, ...]) -> None:
        """Pre-create a dependency's series at zero."""
        prefix = dependency_prefix(name)
        for operation in operations:
            op = self._limits[f"{prefix}:operation"](operation)
            self._metrics.dep_requests[prefix].labels(
                *self._limits.series(f"{prefix}_requests_total", (0,))((op,)))
            for et in error_types:
                self._metrics.dep_errors[prefix].labels(*self._errors(prefix, op, et))

    def call(self, name: str, operation: str) -> DependencyCall:
        return DependencyCall(self, dependency_prefix(name), operation)


class DependencyCall:
    """One call to a dependency: a context manager (sync and async) and a decorator."""

    __slots__ = ("_error_type", "_op", "_prefix", "_rec")

    def __init__(self, recorder: DependencyRecorder, prefix: str, operation: str) -> None:
        self._rec = recorder
        self._prefix = prefix
        self._op = operation
        self._error_type: str | None = None

    def fail(self, error_type: str) -> None:
        """Count this call as failed with ``error_type`` although it did not raise."""
        self._error_type = error_type

    def _finish(self, exc: BaseException | None) -> None:
        error_type = self._error_type
        if isinstance(exc, Exception):  # cancellation and exits are not the dependency's fault
            error_type = self._rec.classify(exc)
        self._rec.record(self._prefix, self._op, error_type)

    def __enter__(self) -> DependencyCall:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        self._finish(exc)
        return False

    async def __aenter__(self) -> DependencyCall:
        return self

    async def __aexit__(
        self, exc_type: Any, exc: BaseException | None, tb: Any
    ) -> Literal[False]:
        self._finish(exc)
        return False

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``; every invocation is one call (a fresh DependencyCall)."""
        rec, prefix, op = self._rec, self._prefix, self._op
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with DependencyCall(rec, prefix, op):
                    return await fn(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with DependencyCall(rec, prefix, op):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


def circuit_state_value(state: Any) -> int:
    """0 closed, 1 open, 2 half-open from an int, a name, or an object with ``name``/``state``.

    Accepts pybreaker states (``.name`` is ``"half-open"``) and enums without importing them.
    """
    if isinstance(state, bool):
        raise ValueError(f"not a circuit breaker state: {state!r}")
    if isinstance(state, int):
        if state in (0, 1, 2):
            return state
        raise ValueError(f"circuit breaker state must be 0, 1 or 2, got {state}")
    name = state if isinstance(state, str) else getattr(state, "name", None)
    if name is None:
        name = getattr(state, "state", None)
    if isinstance(name, str):
        value = CIRCUIT_STATES.get(name.strip().lower())
        if value is not None:
            return value
    raise ValueError(f"not a circuit breaker state: {state!r} (closed, open or half-open)")


class CircuitBreakerListener:
    """A pybreaker-compatible listener keeping ``pms_circuit_breaker_state`` current."""

    def __init__(self, setter: Callable[[Any], None]) -> None:
        self._set = setter

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def success(self, cb: Any) -> None:
        pass

    def failure(self, cb: Any, exc: BaseException) -> None:
        pass

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self._set(new_state)
