"""The windows an SLO measures its error ratio over: one definition for the generator's
recorded series and the exporter's in-process windows, so both report the same set.
"""

from __future__ import annotations

from slo.model.placeholders import parse_placeholders
from slo.model.spec import SLO

# Seconds. Every SLO records its 5m error and total rates; longer windows are averaged from
# them, so 5m is always in the set even when no alert reads it.
BASE_WINDOW = 300


def alert_windows(slo: SLO) -> frozenset[int]:
    """Long and short windows of every burn-rate pair."""
    return frozenset(w for pair in slo.alerting.windows for w in (pair.long, pair.short))


def slo_windows(slo: SLO) -> tuple[int, ...]:
    """Every window with an error ratio, ascending: the 5m base, each alert window, the period,
    and every window the spec's extra series and alerts name in a ``${...:W}`` placeholder."""
    windows = {BASE_WINDOW, slo.period, *alert_windows(slo)}
    for text in [s.expr for s in slo.series] + [a.expr for a in slo.alerts]:
        windows.update(p.window for p in parse_placeholders(text) if p.window is not None)
    return tuple(sorted(windows))
