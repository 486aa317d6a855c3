"""Prometheus durations as whole seconds.

Windows are kept as integers so that arithmetic on them (factors, detection times) is exact and
the canonical text form (``30d``, ``1h30m``) is the same every time the same window is rendered.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TOKEN = re.compile(r"(\d+)(w|d|h|m|s)")
_WHOLE = re.compile(r"(?:\d+(?:w|d|h|m|s))+")


class DurationError(ValueError):
    """The text is not a whole-second Prometheus duration."""


def parse_duration(text: str) -> int:
    """Parse ``5m``, ``1h30m``, ``30d`` into seconds; milliseconds and years are refused."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.strip()):
        raise DurationError(
            f"{text!r} is not a duration (use units w, d, h, m, s, e.g. '5m', '1h30m', '30d')"
        )
    seconds = sum(int(n) * UNITS[u] for n, u in _TOKEN.findall(text.strip()))
    if seconds <= 0:
        raise DurationError(f"{text!r} must be longer than zero")
    return seconds


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
