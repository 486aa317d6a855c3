"""Bounded label values and bounded series.

Every label value the exporter writes comes from a bounded set: a flood of random URLs, methods
or exception messages must not create series (each series costs memory here and in Prometheus).
A :class:`LabelLimiter` admits the first ``cap - 1`` distinct values of a label and maps every later
newcomer to ``other``, so a label never holds more than ``cap`` distinct values.

Caps per label are not enough on their own: combinations multiply (200 operations x 200
error types is 40,000 series of one family). A :class:`SeriesBudget` bounds the label
combinations of one metric family: past its budget a new combination has its labels turned
into ``other`` one by one, in the family's fold order, until it matches a series that exists
(the all-``other`` one always does). Every family has its own budget, so a noisy dependency
cannot use up the requests' room, and every fold is counted
(``slo_exporter_series_folded_total{family}``) so an operator sees it happen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

OTHER = "other"

#: Methods worth a label value of their own; anything else (``FOO``, ``get``) is ``other``.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}
)

DEFAULT_CAP = 200
#: Label combinations (children; a histogram child's buckets count once) per metric family.
DEFAULT_SERIES_CAP = 500


class LabelLimiter:
    """Admits at most ``cap`` distinct values for one label (``other`` included).

    Lookups of admitted values are a dict hit; only newcomers take the lock, so the hot path
    stays lock free and the cap holds exactly under concurrency.
    """

    def __init__(self, name: str, cap: int = DEFAULT_CAP) -> None:
        if cap < 2:
            raise ValueError(f"label cap for {name!r} must be at least 2 (one value plus 'other')")
        self.name = name
        self.cap = cap
        self._admitted: dict[str, str] = {OTHER: OTHER}
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """The value itself if admitted (or admissible), else ``other``."""
        hit = self._admitted.get(value)
        if hit is not None:
            return hit
        with self._lock:
            if value in self._admitted:
                return value
            if len(self._admitted) >= self.cap:
                return OTHER
            self._admitted[value] = value
            return value

    def values(self) -> frozenset[str]:
        """Values admitted so far (for tests and debugging)."""
        return frozenset(self._admitted)


class SeriesBudget:
    """Admits at most ``cap`` label combinations for one metric family (all-``other`` included).

    ``fold`` lists the label positions in the order they are turned into ``other`` once the
    budget is spent: a newcomer ``(a, b)`` with fold ``(1, 0)`` becomes ``(a, other)`` if that
    series exists or fits, else ``(other, other)``. A tenth of the budget is kept for those
    partly folded combinations, so new combinations as written get ``cap - cap // 10``.
    Admitted combinations are a dict hit; folded ones are not remembered (the recorders cache
    their outcomes, bounded).
    """

    def __init__(self, family: str, fold: Sequence[int], cap: int = DEFAULT_SERIES_CAP,
                 on_fold: Callable[[str], None] | None = None) -> None:
        if cap < 2:
            raise ValueError(f"series cap for {family!r} must be at least 2 (one combination "
                             "plus the all-'other' one)")
        self.family = family
        self.cap = cap
        self.fold = tuple(fold)
        self.folded = 0
        self._on_fold = on_fold
        self._others = tuple(OTHER for _ in self.fold)
        self._plain = cap - (cap // 10 if len(self.fold) > 1 else 0)
        self._admitted: dict[tuple[str, ...], tuple[str, ...]] = {self._others: self._others}
        self._lock = threading.Lock()

    def __call__(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """``values`` if admitted (or admissible), else its folded form."""
        hit = self._admitted.get(values)
        if hit is not None:
            return hit
        with self._lock:
            if values in self._admitted:
                return values
            if len(self._admitted) < self._plain:
                self._admitted[values] = values
                return values
            self.folded += 1
            candidate = list(values)
            for position in self.fold:
                candidate[position] = OTHER
                folded = tuple(candidate)
                if folded in self._admitted:
                    break
                if len(self._admitted) < self.cap:
                    self._admitted[folded] = folded
                    break
            else:  # unreachable: the all-other combination is admitted from the start
                folded = self._others
        if self._on_fold is not None:
            self._on_fold(self.family)
        return folded

    def combinations(self) -> frozenset[tuple[str, ...]]:
        """Combinations admitted so far (for tests and debugging)."""
        return frozenset(self._admitted)


class Limits:
    """One limiter per label name, shared by every metric that carries the label, and one
    series budget per metric family.

    Sharing matters: ``endpoint`` appears on four metrics, and the cap is about how many distinct
    endpoints exist, not how many each metric has seen. A limiter's name may be scoped
    (``pms_adapter:operation``); ``per_label`` overrides by the full name, then by the label
    name after the colon.
    """

    def __init__(self, cap: int = DEFAULT_CAP, per_label: dict[str, int] | None = None,
                 series_cap: int = DEFAULT_SERIES_CAP,
                 per_family: Mapping[str, int] | None = None,
                 on_fold: Callable[[str], None] | None = None) -> None:
        self.cap = cap
        self._per_label = dict(per_label or {})
        self._limiters: dict[str, LabelLimiter] = {}
        self._lock = threading.Lock()
        self.series_cap = series_cap
        self._per_family = dict(per_family or {})
        self._budgets: dict[str, SeriesBudget] = {}
        self.on_fold = on_fold

    def _folded(self, family: str) -> None:
        if self.on_fold is not None:
            self.on_fold(family)

    def series(self, family: str, fold: Sequence[int]) -> SeriesBudget:
        """The budget of ``family`` (made on first use with ``fold`` as its fold order)."""
        budget = self._budgets.get(family)
        if budget is None:
            with self._lock:
                budget = self._budgets.get(family)
                if budget is None:
                    budget = SeriesBudget(family, fold,
                                          self._per_family.get(family, self.series_cap),
                                          self._folded)
                    self._budgets[family] = budget
        return budget

    def __getitem__(self, label: str) -> LabelLimiter:
        limiter = self._limiters.get(label)
        if limiter is None:
            with self._lock:
                limiter = self._limiters.get(label)
                if limiter is None:
                    cap = self._per_label.get(label)
                    if cap is None:
                        cap = self._per_label.get(label.rpartition(":")[2], self.cap)
                    limiter = LabelLimiter(label, cap)
                    self._limiters[label] = limiter
        return limiter
