"""The burn-rate plan of one SLO: which windows to record and each pair's threshold.

The step between the validated model and the rules: it decides nothing about PromQL, only the
numbers (windows, factors, thresholds) every later step reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from slo.model import burnrate
from slo.model.placeholders import parse_placeholders
from slo.model.spec import SLO, BurnWindow
from slo.rules.promql import BASE_WINDOW, PERIOD_STEP


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
    # seconds between the pre-summed rates the period ratio adds up; None: read the 5m rates
    period_step: int | None

    @property
    def budget(self) -> Decimal:
        return self.slo.error_budget


# A period at least this long is computed from per-step sums: trailing by one step (15 minutes)
# is then at most 1% of it. Shorter periods (test specs with minutes-long windows) read the
# 5m rates directly and stay current at every evaluation.
MIN_STEPPED_PERIOD = 86400


def period_step(slo: SLO, step: int = PERIOD_STEP) -> int | None:
    """Pre-summed steps only where no burn-rate pair reads the period's ratio, so those stay
    exact to the evaluation; a step of 0 turns them off."""
    alert_windows = {w for x in slo.alerting.windows for w in (x.long, x.short)}
    if step and slo.period >= MIN_STEPPED_PERIOD and slo.period not in alert_windows:
        return step
    return None


def plan(slo: SLO, step: int = PERIOD_STEP) -> Plan:
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
        period_step(slo, step),
    )
