"""Sliding-window event counts in bounded memory: the data behind the in-process SLO series.

Each window ``w`` is measured at a resolution ``r`` (a rung of :data:`LADDER` dividing ``w``)
and covers the ``w / r`` most recent buckets of size ``r``, the current partial bucket
included. Sums are exact at bucket granularity; the time span covered lies between ``w - r`` and
``w``. The coarsest rung that still gives at least :data:`MIN_BUCKETS` buckets is used, so the
span is within about 1.7 % of ``w`` while a 30-day window needs only 720 buckets.

Recording is O(1): an event only bumps two integers of the finest bucket. When time moves into
a new finest bucket, the finished one is folded into one slot of each level (a handful of
operations per elapsed bucket, not per event). Slots carry the index of the bucket they hold,
so stale slots are recognised on read instead of being cleared, and no amount of idle time or
traffic changes the memory used.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable

#: Candidate resolutions in seconds; each divides the next, so every fine bucket lies in
#: exactly one bucket of each coarser level.
LADDER: tuple[int, ...] = (1, 10, 60, 300, 3600)
MIN_BUCKETS = 60
MAX_BUCKETS = 20_000


def resolution_for(window: int) -> int:
    """The coarsest ladder rung dividing ``window`` that still gives ``MIN_BUCKETS`` buckets."""
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    fitting = [r for r in LADDER if window % r == 0 and window // r >= MIN_BUCKETS]
    if fitting:
        return max(fitting)
    dividing = [r for r in LADDER if window % r == 0 and window // r <= MAX_BUCKETS]
    if dividing:
        return min(dividing)
    # An odd window longer than MAX_BUCKETS seconds: round up to whole buckets of the coarsest
    # rung that keeps memory bounded.
    return next(r for r in LADDER if math.ceil(window / r) <= MAX_BUCKETS)


class _Level:
    """A ring of ``size`` buckets of ``res`` seconds; slot tags say which bucket a slot holds."""

    __slots__ = ("errors", "res", "size", "tags", "totals")

    def __init__(self, res: int, size: int) -> None:
        self.res = res
        self.size = size
        self.tags = [-1] * size
        self.totals = [0] * size
        self.errors = [0] * size

    def add(self, index: int, total: int, errors: int) -> None:
        slot = index % self.size
        if self.tags[slot] == index:
            self.totals[slot] += total
            self.errors[slot] += errors
        else:
            self.tags[slot] = index
            self.totals[slot] = total
            self.errors[slot] = errors


class RatioWindows:
    """Counts of (total, errors) events over several trailing windows, thread safe."""

    def __init__(
        self,
        windows: Iterable[int],
        clock: Callable[[], float] = time.monotonic,
        lock: threading.Lock | None = None,
    ) -> None:
        self.windows: tuple[int, ...] = tuple(sorted(set(windows)))
        if not self.windows:
            raise ValueError("at least one window is needed")
        self.clock = clock
        self._plan: dict[int, tuple[int, int]] = {}  # window -> (resolution, buckets)
        sizes: dict[int, int] = {}
        for w in self.windows:
            res = resolution_for(w)
            n = math.ceil(w / res)
            self._plan[w] = (res, n)
            sizes[res] = max(sizes.get(res, 0), n)
        self._levels = {res: _Level(res, n) for res, n in sorted(sizes.items())}
        self._base = min(self._levels)
        #: Guards the counts; may be shared with other state recorded in the same breath (the
        #: request recorder updates metric values and windows under one acquisition).
        self.lock = threading.Lock() if lock is None else lock
        self._cur = -1  # index of the open finest bucket
        self._cur_total = 0
        self._cur_errors = 0

    def resolution(self, window: int) -> int:
        """Bucket size used for ``window`` (seconds)."""
        return self._plan[window][0]

    def add(self, now: float, total: int = 1, errors: int = 0) -> None:
        """Count ``total`` events of which ``errors`` failed, at time ``now`` (clock seconds).

        An event stamped slightly before the open bucket (threads racing between reading the
        clock and taking the lock) is counted in the open bucket.
        """
        index = int(now // self._base)
        with self.lock:
            if index > self._cur:
                self._roll(index)
            self._cur_total += total
            self._cur_errors += errors

    def add_held(self, now: float, total: int, errors: int) -> None:
        """:meth:`add` for a caller already holding :attr:`lock`."""
        index = int(now // self._base)
        if index > self._cur:
            self._roll(index)
        self._cur_total += total
        self._cur_errors += errors

    def _roll(self, index: int) -> None:
        if self._cur_total or self._cur_errors:
            start = self._cur * self._base
            for level in self._levels.values():
                level.add(start // level.res, self._cur_total, self._cur_errors)
        self._cur = index
        self._cur_total = 0
        self._cur_errors = 0

    def sums(self, now: float | None = None) -> dict[int, tuple[int, int]]:
        """``{window: (total, errors)}`` for the windows ending at ``now``."""
        if now is None:
            now = self.clock()
        with self.lock:  # copy under the lock, add up outside it
            cur, cur_total, cur_errors = self._cur, self._cur_total, self._cur_errors
            snap = {r: (lv.tags[:], lv.totals[:], lv.errors[:]) for r, lv in self._levels.items()}
        out: dict[int, tuple[int, int]] = {}
        for w, (res, n) in self._plan.items():
            tags, totals, errors = snap[res]
            last = int(now // res)
            first = last - n + 1
            inside = [first <= tag <= last for tag in tags]
            total = sum(t for t, keep in zip(totals, inside, strict=True) if keep)
            err = sum(e for e, keep in zip(errors, inside, strict=True) if keep)
            if cur >= 0 and first <= (cur * self._base) // res <= last:
                total += cur_total
                err += cur_errors
            out[w] = (total, err)
        return out
