"""Multi-window multi-burn-rate math from the SRE workbook, exact in Decimal.

A burn rate of 1 spends the error budget exactly over the period. An alert on a window pair
fires when the error ratio over both windows is at least ``factor x budget``, where

    factor = budget share consumed x period / long window

so a 2% share over 1h of a 30d period gives 14.4, and 5% over 6h gives 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from slo.model.durations import parse_duration
from slo.model.numbers import quantize

PERCENT = Decimal(100)
# Shortest window a rule may use: rate() needs two samples, the generated promtool tests (like
# many scrape configs) sample once a minute, and Prometheus 3's windows are left-open, so a
# 1m window holds one such sample and records nothing there: 2m is the shortest a test (and
# a once-a-minute scrape) can prove on Prometheus 2 and 3 alike.
MIN_WINDOW = 120


@dataclass(frozen=True)
class WindowDefault:
    severity: str
    long: int
    short: int
    budget_percent: Decimal


# The workbook's table for a 30-day period; factors follow from any other period.
DEFAULT_WINDOWS: tuple[WindowDefault, ...] = (
    WindowDefault("page", parse_duration("1h"), parse_duration("5m"), Decimal(2)),
    WindowDefault("page", parse_duration("6h"), parse_duration("30m"), Decimal(5)),
    WindowDefault("ticket", parse_duration("1d"), parse_duration("2h"), Decimal(10)),
    WindowDefault("ticket", parse_duration("3d"), parse_duration("6h"), Decimal(10)),
)


def burn_factor(budget_percent: Decimal, period: int, long_window: int) -> Decimal:
    """Burn rate that spends ``budget_percent`` of the budget in ``long_window``."""
    return quantize(budget_percent / PERCENT * Decimal(period) / Decimal(long_window)).normalize()


def error_threshold(factor: Decimal, budget: Decimal) -> Decimal:
    """Error ratio at which a pair with this factor fires (compared with ``>=``)."""
    return quantize(factor * budget)


def budget_consumed(factor: Decimal, window: int, period: int) -> Decimal:
    """Share of the period's budget spent by burning at ``factor`` for ``window`` seconds."""
    return quantize(factor * Decimal(window) / Decimal(period))


def detection_seconds(
    factor: Decimal, budget: Decimal, long_window: int, error_ratio: Decimal
) -> Decimal | None:
    """Seconds from the start of a constant error ratio until the long window reaches the threshold.

    Assumes healthy traffic filled the long window before, as the workbook does; ``None`` when
    the ratio can never reach the threshold. The short window, being shorter, is never later.
    """
    threshold = error_threshold(factor, budget)
    if error_ratio <= 0 or error_ratio < threshold:
        return None
    return quantize(threshold * Decimal(long_window) / error_ratio)


def can_fire(factor: Decimal, budget: Decimal) -> bool:
    """A pair whose threshold is an error ratio of 1 or more can never page anyone."""
    return error_threshold(factor, budget) < 1
