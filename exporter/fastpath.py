"""Everything the recorder's fast path assumes about prometheus_client's private layout, checked.

Why there is a fast path: ``Counter.inc`` and ``Histogram.observe`` take one mutex per value
they touch, five or six acquisitions per request, about a third of the middleware's cost. The
request metrics' values can instead share one lock with the in-process SLO windows, so that a
request takes it once (:class:`exporter.recorder.SharedLockOutcome`). That means reaching into
prometheus_client's in-process value objects, which are not public API. This module is the one
place that does it, and it does it only where the layout is the one it was written for:

- the process uses the in-process value class ``values.MutexValue`` (not multiprocess mode's
  memory-mapped values), whose float ``_value`` is guarded by ``_lock``, a plain
  ``threading.Lock``: prometheus_client 0.21.0 made that lock an ``RLock`` (0.21.1 went back),
  and a non-reentrant shared lock must not stand in for a lock the client may re-enter;
- ``MutexValue.inc``/``set``/``get`` read and write exactly those two attributes;
- a counter child keeps its value in ``_value``; a histogram child its sum in ``_sum`` and one
  bucket value per bound of ``_upper_bounds`` (ending with +Inf) in ``_buckets``, the values it
  reads when scraped;
- ``labels()`` builds children with ``self.__class__`` and a child's values are made by its
  ``_metric_init``.

:func:`layout_problem` checks all of that at run time (releases 0.20 to 0.26 pass; pyproject
pins that range and ``make client-compat`` runs the exporter tests on both ends). When anything
differs, nothing here touches a value and the recorder records through the public
``inc()``/``observe()`` (:class:`exporter.recorder.Outcome`), with the same samples.

The shared lock is given to a child's values when the child is born, inside its
``_metric_init``, while ``labels()`` is still building it and before it is stored where any
other thread could find it. No writer can be inside, or waiting for, the lock being replaced,
because nobody else has a reference to the value yet. Replacing the lock of a child already in
use could not be made safe: ``with self._lock:`` reads the attribute before acquiring it, so a
writer that read the old lock just before the swap acquires it afterwards and increments
while a request holds the shared lock; holding the old lock during the swap does not stop that
writer (``tests/exporter/test_recorder_paths.py`` has that interleaving as a test).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Histogram
from prometheus_client import values as _values
from prometheus_client.metrics import MetricWrapperBase

log = logging.getLogger("exporter")

LOCK_TYPE = type(threading.Lock())
INF = float("inf")

M = TypeVar("M", bound=MetricWrapperBase)


def _names(function: Any) -> set[str]:
    """Attribute and global names a function's code reads or writes (empty if it has none)."""
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code is not None else set()


def layout_problem() -> str | None:
    """Why the fast path cannot be used with this prometheus_client, or None when it can.

    Checked each time it is called (once per :class:`~exporter.Instrumentation`), so a test can
    change the layout and see the fallback.
    """
    mutex: Any = getattr(_values, "MutexValue", None)
    if mutex is None:
        return "prometheus_client.values has no MutexValue"
    if getattr(_values, "ValueClass", None) is not mutex:
        return ("values are not the in-process MutexValue (multiprocess mode, or a value class "
                f"this exporter does not know: {getattr(_values, 'ValueClass', None)!r})")
    for method in ("inc", "set", "get"):
        if not {"_lock", "_value"} <= _names(getattr(mutex, method, None)):
            return f"MutexValue.{method} does not use _lock and _value"
    try:
        probe = cast(Any, mutex)("counter", "probe", "probe_total", (), (), "")
    except Exception as exc:  # a changed constructor is a changed layout, not an error
        return f"MutexValue cannot be built as expected: {exc!r}"
    if type(getattr(probe, "_lock", None)) is not LOCK_TYPE:
        return (f"MutexValue's lock is {type(getattr(probe, '_lock', None)).__name__}, "
                "not threading.Lock")
    if type(getattr(probe, "_value", None)) is not float:
        return "MutexValue._value is not a float"
    if "__class__" not in _names(MetricWrapperBase.labels):
        return "labels() does not build children with self.__class__"
    if "_metric_init" not in _names(MetricWrapperBase.__init__):
        return "metrics do not build their values in _metric_init"
    if not {"_value"} <= _names(Counter._metric_init) & _names(Counter._child_samples):
        return "Counter does not keep its value in _value"
    hist = _names(Histogram._metric_init) & _names(Histogram._child_samples)
    if not {"_sum", "_buckets", "_upper_bounds"} <= hist:
        return "Histogram does not keep _sum, _buckets and _upper_bounds"
    return None


def _child_values(child: Any) -> list[Any] | None:
    """The value objects of a counter or histogram child laid out as expected, else None."""
    if isinstance(child, Histogram):
        bounds = getattr(child, "_upper_bounds", None)
        buckets = getattr(child, "_buckets", None)
        if (not isinstance(bounds, list) or not isinstance(buckets, list) or not bounds
                or bounds[-1] != INF or len(buckets) != len(bounds)):
            return None
        found = [getattr(child, "_sum", None), *buckets]
    elif isinstance(child, Counter):
        found = [getattr(child, "_value", None)]
    else:
        return None
    mutex = getattr(_values, "MutexValue", None)
    for v in found:
        if (mutex is None or type(v) is not mutex or type(getattr(v, "_value", None)) is not float
                or type(getattr(v, "_lock", None)) is not LOCK_TYPE):
            return None
    return found


def _adopt(child: Any, lock: threading.Lock) -> None:
    """Give every value of a child being born ``lock`` (all of them, or none)."""
    for v in _child_values(child) or ():
        v._lock = lock


def shared_lock_metric(base: type[M], lock: threading.Lock) -> type[M]:
    """A subclass of ``base`` (``Counter`` or ``Histogram``) whose children are born with their
    values guarded by ``lock``; everything else about the metric is ``base``'s.

    Use only when :func:`layout_problem` is None; where the layout is not what it checked,
    children simply keep their own locks and the recorder falls back to the public API.
    """

    init = cast(Any, base)._metric_init  # private, hence untyped; checked by layout_problem

    def _metric_init(self: Any) -> None:
        init(self)
        _adopt(self, lock)

    return type(base.__name__, (base,), {"_metric_init": _metric_init,
                                         "__module__": __name__,
                                         "__doc__": base.__doc__})


def metric_classes(lock: threading.Lock) -> tuple[type[Counter], type[Histogram]]:
    """The request metrics' classes: born under ``lock`` where :func:`layout_problem` finds
    nothing wrong, prometheus_client's own ``Counter`` and ``Histogram`` otherwise."""
    problem = layout_problem()
    if problem is not None:
        log.info("request metrics record through prometheus_client's public API: %s", problem)
        return Counter, Histogram
    return shared_lock_metric(Counter, lock), shared_lock_metric(Histogram, lock)


def shared_values(children: Sequence[Any], lock: threading.Lock) -> list[Any] | None:
    """Every value object of these counter/histogram children if all of them are guarded by
    ``lock`` (born through :func:`shared_lock_metric`), else None: record through the public API.
    """
    found: list[Any] = []
    for child in children:
        values = _child_values(child)
        if values is None or any(v._lock is not lock for v in values):
            return None
        found.extend(values)
    return found
