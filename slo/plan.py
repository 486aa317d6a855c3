"""The burn-rate plan of one SLO: which windows to record and each pair's threshold.

The step between the validated model and the rules: it decides nothing about PromQL, only the
numbers (windows, factors, thresholds) every later step reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from slo import burnrate
from slo.placeholders import parse_placeholders
from slo.promql import BASE_WINDOW
from slo.spec import SLO, BurnWindow


@dataclass(frozen=True)
class Pair:
    window: BurnWindow
    threshold: Decimal  # error ratio, compared with >=


@dataclass(frozen=True)
class Plan:
    slo: SLO
    windows: tuple[int, ...]  # every window with a recorded error ratio, ascending
    page: tuple[Pair, ...]
    ticket: tuple[Pair, ...]

    @property
    def budget(self) -> Decimal:
        return self.slo.error_budget


def plan(slo: SLO) -> Plan:
    windows = {BASE_WINDOW, slo.period}
    for w in slo.alerting.windows:
        windows.update((w.long, w.short))
    for text in [s.expr for s in slo.series] + [a.expr for a in slo.alerts]:
        for p in parse_placeholders(text):
            if p.window is not None:
                windows.add(p.window)
    pairs = [Pair(w, burnrate.error_threshold(w.factor, slo.error_budget))
             for w in slo.alerting.windows]
    return Plan(
        slo,
        tuple(sorted(windows)),
        tuple(p for p in pairs if p.window.severity == "page"),
        tuple(p for p in pairs if p.window.severity == "ticket"),
    )
