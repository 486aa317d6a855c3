"""Exact decimal arithmetic for objectives, budgets and factors, printed without float noise.

``1 - 0.995`` in binary floating point is ``0.0050000000000000044``; rules and tests must say
``0.005``. Everything the generator prints goes through :func:`format_number`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache

# 15 significant digits: more than any objective needs, fewer than a double's noise.
_CONTEXT = Context(prec=15, rounding=ROUND_HALF_EVEN)


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Decimal from YAML input; floats go through their shortest repr (``99.5`` not 99.4999...)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def quantize(value: Decimal) -> Decimal:
    """Round to 15 significant digits so repeating fractions (28d / 3d) print the same always."""
    return _CONTEXT.plus(value)


# Equal values print alike, so one cache entry serves ``1``, ``1.0`` and ``Decimal("1.00")``;
# a large spec prints the same few thresholds and factors many thousand times.
@lru_cache(maxsize=4096)
def format_number(value: Decimal | float | int) -> str:
    """Shortest plain text for a number: ``14.4``, ``0.005``, ``1``, ``0.933333333333333``."""
    d = quantize(to_decimal(value)).normalize()
    if d == d.to_integral_value():
        return str(int(d))
    text = format(d, "f")
    return text
