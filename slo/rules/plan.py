"""The burn-rate plan of one SLO: which windows to record and each pair's threshold.

The step between the validated model and the rules: it decides nothing about PromQL, only the
numbers (windows, factors, thresholds) every later step reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from slo.model import burnrate
from slo.model.spec import SLO, BurnWindow
from slo.model.windows import alert_windows, slo_windows

# Seconds between the pre-summed 5m rates the period ratio adds up. A group that runs once a
# step records them, so a 30-day period reads 2,880 samples per series instead of one per
# evaluation; the period lags by at most a step (BENCHMARKS.md, section 4, measures the cost).
PERIOD_STEP = 900


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
    if step and slo.period >= MIN_STEPPED_PERIOD and slo.period not in alert_windows(slo):
        return step
    return None


def plan(slo: SLO, step: int = PERIOD_STEP, extra_windows: tuple[int, ...] = ()) -> Plan:
    """``extra_windows``: recorded too, though no alert reads them (a naming's dashboard
    windows: ``--sloth-compat`` records Sloth's); those longer than the period are left out."""
    pairs = [Pair(w, burnrate.error_threshold(w.factor, slo.error_budget))
             for w in slo.alerting.windows]
    windows = sorted({*slo_windows(slo), *(w for w in extra_windows if w <= slo.period)})
    return Plan(
        slo,
        tuple(windows),
        tuple(p for p in pairs if p.window.severity == "page"),
        tuple(p for p in pairs if p.window.severity == "ticket"),
        period_step(slo, step),
    )
