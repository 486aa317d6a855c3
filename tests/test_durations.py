"""Durations follow Prometheus' grammar (prometheus/common model.ParseDuration) exactly.

Units ``y w d h m s ms``, each at most once, from the largest to the smallest; ``0`` without a
unit; nothing else (no spaces, no signs, no fractions). slo-gen keeps whole seconds, so a
duration that is not a whole number of seconds, or is zero, is refused with its own reason.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slo.model.durations import DurationError, format_duration, parse_duration

# (unit, milliseconds), largest first: Prometheus' unitMap
UNITS = [("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
         ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
MAX_NS = (1 << 63) - 1  # time.Duration's range


@st.composite
def grammatical(draw) -> tuple[str, int]:
    """A string Prometheus' ParseDuration accepts, and its length in milliseconds."""
    chosen = draw(st.lists(st.sampled_from(range(len(UNITS))), min_size=1, max_size=7,
                           unique=True).map(sorted))
    text, ms = "", 0
    for i in chosen:
        unit, size = UNITS[i]
        n = draw(st.integers(0, 10_000))
        text += f"{n:0{draw(st.integers(1, 3))}d}{unit}"  # leading zeros are grammatical too
        ms += n * size
    return text, ms


@given(grammatical())
def test_every_grammatical_duration_parses(case: tuple[str, int]) -> None:
    text, ms = case
    refused = (f"{text!r} is out of range: Prometheus durations end at about 292 years"
               if ms * 1_000_000 > MAX_NS else f"{text!r} must be longer than zero" if ms == 0
               else f"{text!r} is not a whole number of seconds" if ms % 1000 else None)
    if refused:
        with pytest.raises(DurationError) as exc:
            parse_duration(text)
        assert str(exc.value) == refused
    else:
        assert parse_duration(text) == ms // 1000


@given(st.integers(1, MAX_NS // 1_000_000_000))
def test_format_then_parse_round_trips(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert format_duration(parse_duration(text)) == text


@given(grammatical())
def test_parse_then_format_is_canonical(case: tuple[str, int]) -> None:
    text, ms = case
    if ms and not ms % 1000 and ms * 1_000_000 <= MAX_NS:
        canonical = format_duration(parse_duration(text))
        assert parse_duration(canonical) == parse_duration(text)
        assert format_duration(parse_duration(canonical)) == canonical


@given(st.sampled_from(range(len(UNITS))), st.sampled_from(range(len(UNITS))),
       st.integers(1, 99), st.integers(1, 99))
def test_misordered_or_repeated_units_fail(a: int, b: int, x: int, y: int) -> None:
    first, second = sorted((a, b), reverse=True)  # the smaller unit (larger index) first
    text = f"{x}{UNITS[first][0]}{y}{UNITS[second][0]}"
    with pytest.raises(DurationError) as exc:
        parse_duration(text)
    assert str(exc.value) == (f"{text!r} is not a duration: units go from the largest to the "
                              "smallest, each at most once (e.g. '1h30m', not '30m1h')")


@pytest.mark.parametrize(("text", "message"), [
    ("30m1h", "'30m1h' is not a duration: units go from the largest to the smallest, each at "
              "most once (e.g. '1h30m', not '30m1h')"),
    ("5m5m", "'5m5m' is not a duration: units go from the largest to the smallest, each at "
             "most once (e.g. '1h30m', not '30m1h')"),
    ("1s1ms1s", "'1s1ms1s' is not a duration: units go from the largest to the smallest, each "
                "at most once (e.g. '1h30m', not '30m1h')"),
    ("forever", "'forever' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', "
                "'30d')"),
    ("", "'' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    (" 5m", "' 5m' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("5M", "'5M' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("1.5h", "'1.5h' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("-5m", "'-5m' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("5", "'5' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("٥m", "'٥m' is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"),
    ("0", "'0' must be longer than zero"),
    ("0s", "'0s' must be longer than zero"),
    ("1500ms", "'1500ms' is not a whole number of seconds"),
    ("293y", "'293y' is out of range: Prometheus durations end at about 292 years"),
    ("292y53w", "'292y53w' is out of range: Prometheus durations end at about 292 years"),
])
def test_refused_with_reason(text: str, message: str) -> None:
    with pytest.raises(DurationError) as exc:
        parse_duration(text)
    assert str(exc.value) == message


@pytest.mark.parametrize(("text", "seconds"), [
    ("1y", 365 * 86400), ("2w", 14 * 86400), ("1h30m", 5400), ("2000ms", 2), ("1m0s", 60),
    ("1y1w1d1h1m1s1000ms", 365 * 86400 + 8 * 86400 + 3600 + 62), ("007m", 420),
    ("292y", 292 * 365 * 86400),
])
def test_accepted(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
