"""Burn-rate math against the SRE workbook's formulas and table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slo.model import burnrate
from slo.model.durations import format_duration, parse_duration
from slo.model.numbers import format_number

DAY = 86400


@pytest.mark.parametrize(
    ("period", "expected"),
    [("30d", ["14.4", "6", "3", "1"]), ("28d", ["13.44", "5.6", "2.8", "0.933333333333333"])],
)
def test_default_factors_match_the_workbook(period: str, expected: list[str]) -> None:
    p = parse_duration(period)
    got = [format_number(burnrate.burn_factor(w.budget_percent, p, w.long))
           for w in burnrate.DEFAULT_WINDOWS]
    assert got == expected


def test_thresholds_print_without_float_noise() -> None:
    budget = (Decimal(100) - Decimal("99.5")) / 100
    assert format_number(burnrate.error_threshold(Decimal("14.4"), budget)) == "0.072"
    assert 14.4 * (1 - 0.995) != 0.072  # what a float pipeline would have printed


periods = st.integers(min_value=60, max_value=90 * 24 * 60).map(lambda m: m * 60)
shares = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)
objectives = st.decimals(min_value=Decimal("50"), max_value=Decimal("99.999"), places=3)


@given(period=periods, share=shares, data=st.data())
def test_factor_spends_the_stated_share_in_the_long_window(period, share, data) -> None:
    long = data.draw(st.integers(min_value=60, max_value=period))
    factor = burnrate.burn_factor(share, period, long)
    consumed = burnrate.budget_consumed(factor, long, period)
    assert abs(consumed - share / 100) <= Decimal("1e-12") * max(1, share)


@given(period=periods, share=shares, objective=objectives, data=st.data())
def test_detection_time_follows_the_workbook(period, share, objective, data) -> None:
    long = data.draw(st.integers(min_value=60, max_value=period))
    budget = (100 - objective) / 100
    factor = burnrate.burn_factor(share, period, long)
    threshold = burnrate.error_threshold(factor, budget)
    ratio = data.draw(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4))
    t = burnrate.detection_seconds(factor, budget, long, ratio)
    if ratio < threshold:
        assert t is None
        return
    assert t is not None and 0 < t <= long
    # workbook: detection time = threshold x long window / error ratio; at that moment the
    # budget consumed is the pair's share, whatever the error ratio.
    spent = ratio * t / (budget * period)
    assert abs(spent - factor * long / period) <= Decimal("1e-9")


@given(objective=objectives, factor=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(500),
                                                places=1))
def test_can_fire_means_threshold_below_one(objective, factor) -> None:
    budget = (100 - objective) / 100
    assert burnrate.can_fire(factor, budget) == (factor * budget < 1)


@given(objective=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99.999"), places=3))
def test_budget_prints_exactly(objective) -> None:
    budget = (100 - objective) / 100
    text = format_number(budget)
    assert Decimal(text) == budget
    assert "e" not in text.lower() and len(text) <= 8


@given(st.integers(min_value=1, max_value=400 * DAY))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
