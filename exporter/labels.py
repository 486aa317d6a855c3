"""Bounded label values.

Every label value the exporter writes comes from a bounded set: a flood of random URLs, methods
or exception messages must not create series (each series costs memory here and in Prometheus).
A :class:`LabelLimiter` admits the first ``cap - 1`` distinct values of a label and maps every later
newcomer to ``other``, so a label never holds more than ``cap`` distinct values.
"""

from __future__ import annotations

import threading

OTHER = "other"

#: Methods worth a label value of their own; anything else (``FOO``, ``get``) is ``other``.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}
)

DEFAULT_CAP = 200


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


class Limits:
    """One limiter per label name, shared by every metric that carries the label.

    Sharing matters: ``endpoint`` appears on four metrics, and the cap is about how many distinct
    endpoints exist, not how many each metric has seen.
    """

    def __init__(self, cap: int = DEFAULT_CAP, per_label: dict[str, int] | None = None) -> None:
        self.cap = cap
        self._per_label = dict(per_label or {})
        self._limiters: dict[str, LabelLimiter] = {}
        self._lock = threading.Lock()

    def __getitem__(self, label: str) -> LabelLimiter:
        limiter = self._limiters.get(label)
        if limiter is None:
            with self._lock:
                limiter = self._limiters.get(label)
                if limiter is None:
                    limiter = LabelLimiter(label, self._per_label.get(label, self.cap))
                    self._limiters[label] = limiter
        return limiter
