"""``FIELD OP NUMBER`` conditions on an SLO's live figures.

One grammar for two users: ``slo-gen status --fail-if 'budget_remaining < 0.2'`` (the deploy
gate) and a spec's ``decisions:`` (the runbook's "if error budget > 80%, escalate
immediately", written ``when: budget_used > 0.8``). The fields are the figures
``slo-gen status`` computes from the recorded series; ``burn_rate_<window>`` exists for each
window an alert pair reads.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
_SYNTAX = re.compile(r"\s*([a-z][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*"
                     r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*")
FIXED_FIELDS = ("budget_remaining", "budget_used", "burn_rate", "sli_5m", "sli_period",
                "pages_firing")
BURN_RATE_FIELD = re.compile(r"burn_rate_(\d+[smhdw])+")
EXAMPLE = "'budget_remaining < 0.2' (OP: < <= > >= == !=)"


class ConditionError(ValueError):
    """Not ``FIELD OP NUMBER``; the message says what is wrong."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    number: float
    text: str  # normalised: single spaces

    def holds(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.number)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Decision:
    """The runbook's decision for an SLO, said when its condition holds."""

    when: Condition
    say: str


def parse_condition(text: str) -> Condition:
    """``FIELD OP NUMBER`` with a field of :data:`FIXED_FIELDS` or ``burn_rate_<window>``."""
    m = _SYNTAX.fullmatch(text)
    if m is None:
        raise ConditionError(f"{text!r} is not FIELD OP NUMBER, e.g. {EXAMPLE}")
    name, op, number = m.groups()
    if name not in FIXED_FIELDS and not BURN_RATE_FIELD.fullmatch(name):
        raise ConditionError(f"{text!r}: unknown field {name!r} (one of "
                             f"{', '.join(FIXED_FIELDS)}, burn_rate_<window>)")
    return Condition(name, op, float(number), f"{name} {op} {number}")
