"""``--fail-if 'FIELD OP NUMBER'``: the deploy gate's conditions, checked against the SLOs.

The grammar is :mod:`slo.model.conditions` (shared with a spec's ``decisions:``); here a
``burn_rate_<window>`` must also name a window some SLO's alert pair reads, so a typo never
passes a gate by matching nothing.
"""

from __future__ import annotations

from slo.errors import UserError
from slo.model.conditions import FIXED_FIELDS, Condition, ConditionError, parse_condition
from slo.model.durations import format_duration
from slo.status.targets import Target


def known_fields(targets: list[Target]) -> set[str]:
    windows = {w for t in targets for w in t.alert_windows}
    return {*FIXED_FIELDS, *(f"burn_rate_{format_duration(w)}" for w in windows)}


def parse_fail_if(texts: tuple[str, ...], targets: list[Target]) -> list[Condition]:
    known = known_fields(targets)
    out = []
    for text in texts:
        try:
            condition = parse_condition(text)
        except ConditionError as exc:
            raise UserError(f"--fail-if {exc}") from None
        if condition.field not in known:
            raise UserError(f"--fail-if {text!r}: no SLO has the field {condition.field!r} "
                            f"(known: {', '.join(sorted(known))})")
        out.append(condition)
    return out
