"""Prometheus durations as whole seconds.

The grammar is Prometheus' own (``model.ParseDuration`` in prometheus/common): digits and a
unit, units ``y w d h m s ms`` each at most once and from the largest to the smallest (``1h30m``,
never ``30m1h`` nor ``5m5m``), ``0`` without a unit, nothing else (no spaces, signs or
fractions), and at most what Go's ``time.Duration`` holds (about 292 years). Prometheus
refuses the rest, so slo-gen does too, at validation time.

Windows are kept as integers so that arithmetic on them (factors, detection times) is exact and
the canonical text form (``30d``, ``1h30m``) is the same every time the same window is rendered;
a duration that is not a whole number of seconds (``1500ms``) is refused.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Prometheus' units in milliseconds, largest first (its unitMap); [0-9], not \d: Python's \d
# also matches other scripts' digits, which Go's ParseUint refuses
_GRAMMAR_MS: dict[str, int] = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000,
                               "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_GRAMMAR = re.compile("".join(f"(?:([0-9]+){u})?" for u in _GRAMMAR_MS))
_TOKENS = re.compile(r"(?:[0-9]+(?:ms|[ywdhms]))+")  # known units, in any order
_MAX_NS = (1 << 63) - 1  # time.Duration
HINT = "(use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"


class DurationError(ValueError):
    """The text is not a whole-second Prometheus duration."""


def parse_duration(text: str) -> int:
    """Parse ``5m``, ``1h30m``, ``30d`` into seconds, as Prometheus parses them; raise
    DurationError for what Prometheus refuses, and for zero and fractions of a second."""
    if not isinstance(text, str):
        raise DurationError(f"{text!r} is not a duration {HINT}")
    ms = 0 if text == "0" else _milliseconds(text)
    if ms == 0:
        raise DurationError(f"{text!r} must be longer than zero")
    if ms % 1000:
        raise DurationError(f"{text!r} is not a whole number of seconds")
    return ms // 1000


def _milliseconds(text: str) -> int:
    m = _GRAMMAR.fullmatch(text) if text else None
    if m is None:
        if _TOKENS.fullmatch(text):
            raise DurationError(f"{text!r} is not a duration: units go from the largest to the "
                                "smallest, each at most once (e.g. '1h30m', not '30m1h')")
        raise DurationError(f"{text!r} is not a duration {HINT}")
    ns = 0
    for digits, size in zip(m.groups(), _GRAMMAR_MS.values(), strict=True):
        if digits is not None:
            ns += int(digits) * size * 1_000_000
            if ns > _MAX_NS:  # Prometheus checks each unit and the sum: the same bound
                raise DurationError(f"{text!r} is out of range: Prometheus durations end at "
                                    "about 292 years")
    return ns // 1_000_000


@lru_cache(maxsize=4096)  # a large spec prints the same few windows many thousand times
def format_duration(seconds: int) -> str:
    """Canonical text: the largest units first, ``7d`` rather than ``1w`` (as Prometheus prints)."""
    if seconds <= 0:
        raise DurationError(f"duration must be positive, got {seconds}")
    parts = []
    rest = seconds
    for unit in ("d", "h", "m", "s"):
        size = UNITS[unit]
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)
