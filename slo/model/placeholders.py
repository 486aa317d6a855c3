"""``${...}`` placeholders in the spec's extra series and alerts.

They let a spec name the generator's own series without spelling out recorded names and label
matchers: ``100 * (1 - ${error_ratio:5m})`` is the runbook's success rate in percent.

- ``${error_ratio:W}``  the SLI error ratio over window W (a duration, or ``period``)
- ``${burn_rate:W}``    that ratio divided by the error budget
- ``${error_budget}``   the budget as a ratio (0.005 for 99.5%)
- ``${objective}``      the objective as a ratio (0.995)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from slo.model.burnrate import MIN_WINDOW
from slo.model.durations import DurationError, format_duration, parse_duration

PLACEHOLDER = re.compile(r"\$\{([a-z_]+)(?::([^}]*))?\}")
WINDOWED = frozenset({"error_ratio", "burn_rate"})
PLAIN = frozenset({"error_budget", "objective"})
PERIOD = "period"


@dataclass(frozen=True)
class Placeholder:
    name: str
    window: int | None  # seconds; None for plain placeholders and for ``period``
    is_period: bool = False


class PlaceholderError(ValueError):
    pass


def parse_placeholders(expr: str) -> list[Placeholder]:
    """Every placeholder in ``expr``; raise PlaceholderError on an unknown one or a bad window."""
    found = []
    for m in PLACEHOLDER.finditer(expr):
        found.append(_parse_one(m.group(1), m.group(2)))
    stripped = PLACEHOLDER.sub("", expr)
    if "${" in stripped:
        raise PlaceholderError("unterminated or malformed '${' placeholder")
    return found


def _parse_one(name: str, arg: str | None) -> Placeholder:
    if name in PLAIN:
        if arg is not None:
            raise PlaceholderError(f"${{{name}}} takes no window")
        return Placeholder(name, None)
    if name not in WINDOWED:
        known = ", ".join(sorted(WINDOWED | PLAIN))
        raise PlaceholderError(f"unknown placeholder ${{{name}}} (known: {known})")
    if not arg:
        raise PlaceholderError(f"${{{name}:WINDOW}} needs a window such as 5m or 'period'")
    if arg == PERIOD:
        return Placeholder(name, None, is_period=True)
    try:
        window = parse_duration(arg)
    except DurationError as exc:
        raise PlaceholderError(f"${{{name}:{arg}}}: {exc}") from None
    if window < MIN_WINDOW:
        raise PlaceholderError(f"${{{name}:{arg}}}: windows must be at least "
                               f"{format_duration(MIN_WINDOW)}")
    return Placeholder(name, window)


def expand(expr: str, replace: Callable[[Placeholder], str]) -> str:
    """Replace each placeholder with ``replace(placeholder)``."""
    return PLACEHOLDER.sub(lambda m: replace(_parse_one(m.group(1), m.group(2))), expr)
