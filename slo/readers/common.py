"""What the readers share: the SLO head, names, objectives, grouping labels and burn windows.

Each reader (:mod:`.native`, :mod:`.sloth`, :mod:`.openslo`) imports from here and never from
another reader, so a format can change without touching the others.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from slo.model import burnrate
from slo.model.burnrate import MIN_WINDOW
from slo.model.durations import format_duration
from slo.model.naming import RESERVED
from slo.model.numbers import format_number
from slo.model.spec import BurnWindow
from slo.model.synthesis import MIN_TESTABLE
from slo.readers.fields import Fields, join

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Prometheus takes any UTF-8 string as an alert name (``-``, ``.``, spaces: promtool 2.42, 2.53
# and 3.5 check and test such rules alike); only control characters are refused, as no file or
# message could show them.
ALERT_NAME = re.compile(r"[^\x00-\x1f\x7f]+")
SEVERITIES = ("page", "ticket")
DEFAULT_PERIOD = "30d"
DEFAULT_ABSENT_FOR = "10m"


def slo_head(fields: Fields, m: dict[str, Any], path: str
             ) -> tuple[str | None, str, Decimal | None]:
    """Name, description and objective (percent): read alike in this format and Sloth's."""
    name = fields.string(m.get("name"), join(path, "name"), NAME,
                         "an SLO name (lowercase letters, digits, '-' and '_', at most 63)")
    description = ""
    if "description" in m:
        description = fields.text(m["description"], join(path, "description")) or ""
    return name, description, objective_percent(fields, m.get("objective"), join(path, "objective"))


def camel(name: str) -> str:
    """``requests-availability`` -> ``RequestsAvailability``, for default alert names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def objective_percent(fields: Fields, value: Any, path: str) -> Decimal | None:
    """An objective in percent, 0 < x < 100 (Sloth's unit too; OpenSLO's target is a ratio)."""
    d = fields.number(value, path)
    if d is None:
        return None
    if not Decimal(0) < d < Decimal(100):
        fields.fail(path, f"{value!r} is out of range: an objective is a percent, 0 < x < 100")
        return None
    return testable_objective(fields, d, path)


def testable_objective(fields: Fields, percent: Decimal, path: str) -> Decimal | None:
    """``percent``, or None with the problem when its error budget is below what a generated
    test can feed (slo.model.synthesis.MIN_TESTABLE): refused here, naming the field, rather
    than by the test generator at render, which knows no field paths."""
    if (100 - percent) / 100 < MIN_TESTABLE:
        top = format_number(100 - 100 * MIN_TESTABLE)
        fields.fail(path, f"objective {format_number(percent)}% leaves an error budget below "
                    f"{format_number(MIN_TESTABLE)}, less than the generated tests can feed "
                    f"(they count whole events): use an objective of at most {top}%")
        return None
    return percent


def group_by_labels(fields: Fields, value: Any, path: str) -> tuple[str, ...]:
    items = fields.sequence(value, path) or []
    out = []
    for i, item in enumerate(items):
        label = fields.string(item, join(path, i))
        if label is None:
            continue
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label) or label.startswith("__"):
            fields.fail(join(path, i), f"{label!r} is not a valid label name")
        elif label in RESERVED or label == "le":
            fields.fail(join(path, i), f"cannot group by {label!r}")
        elif label in out:
            fields.fail(join(path, i), f"{label!r} is listed twice")
        else:
            out.append(label)
    return tuple(out)


def for_duration(fields: Fields, value: Any, path: str) -> int | None:
    if value in ("0s", "0m", "0", 0):
        return 0
    return fields.duration(value, path)


def burn_windows(fields: Fields, value: Any, path: str, budget: Decimal,
                 period: int) -> tuple[BurnWindow, ...] | None:
    """The spec's window pairs, or the workbook's defaults (factors from the period) for None.

    A pair the spec lists that could never fire (factor x budget >= 1) is an error at its
    index; a default pair that could not is left out instead, as the user never asked for it
    (:func:`never_firing_defaults` names them, for the rule file's note): an objective of
    93.05% or less over 30 days loses its 1h page tier, not the SLO."""
    if value is None:
        out = _defaults(fields, path, period)
        if out is None:
            return None
        return tuple(w for w in out if burnrate.can_fire(w.factor, budget))
    items = fields.sequence(value, path)
    if items is None:
        return None
    if not items:
        fields.fail(path, "must list at least one window pair")
        return None
    pairs: list[BurnWindow] = []
    for i, item in enumerate(items):
        pair = window_pair(fields, item, join(path, i), period)
        if pair is not None:
            pairs.append(pair)
    if len(pairs) != len(items):
        return None
    return check_factors(fields, pairs, path, budget)


def _defaults(fields: Fields, path: str, period: int) -> list[BurnWindow] | None:
    out: list[BurnWindow] = []
    for i, w in enumerate(burnrate.DEFAULT_WINDOWS):
        factor = burnrate.burn_factor(w.budget_percent, period, w.long)
        if w.long > period:
            fields.fail(path, f"default window {i} ({w.long}s) is longer than the period; "
                        "list windows that fit")
            return None
        out.append(BurnWindow(w.severity, w.long, w.short, factor))
    return out


def never_firing_defaults(budget: Decimal, period: int) -> tuple[BurnWindow, ...]:
    """The default pairs :func:`burn_windows` leaves out for this budget: their threshold is an
    error ratio of 1 or more, so they could never fire."""
    pairs = _defaults(Fields("<defaults>"), "", period) or []
    return tuple(w for w in pairs if not burnrate.can_fire(w.factor, budget))


def window_pair(fields: Fields, value: Any, path: str, period: int) -> BurnWindow | None:
    m = fields.mapping(value, path, required=("severity", "long", "short"),
                       optional=("budget_consumed", "factor", "name"))
    if m is None:
        return None
    severity = m.get("severity")
    if severity not in SEVERITIES:
        fields.fail(join(path, "severity"), f"{severity!r} must be one of {', '.join(SEVERITIES)}")
        severity = None
    long = fields.duration(m.get("long"), join(path, "long"))
    short = fields.duration(m.get("short"), join(path, "short"))
    if ("budget_consumed" in m) == ("factor" in m):
        fields.fail(path, "needs exactly one of 'budget_consumed' (percent) or 'factor'")
        return None
    if long is not None and short is not None:
        if short >= long:
            fields.fail(join(path, "short"), "must be shorter than the long window")
            return None
        if short < burnrate.MIN_WINDOW:
            fields.fail(join(path, "short"), f"must be at least {format_duration(MIN_WINDOW)} "
                        "(rate() needs two samples, and a once-a-minute series has one in "
                        "Prometheus 3's left-open 1m window)")
            return None
        if long > period:
            fields.fail(join(path, "long"), "is longer than the SLO period, which cannot hold it")
            return None
    if severity is None or long is None or short is None:
        return None
    if "factor" in m:
        factor = fields.number(m["factor"], join(path, "factor"))
        if factor is not None and factor <= 0:
            fields.fail(join(path, "factor"), "must be greater than zero")
            return None
    else:
        share = fields.number(m["budget_consumed"], join(path, "budget_consumed"))
        if share is not None and not Decimal(0) < share <= 100:
            fields.fail(join(path, "budget_consumed"), "is a percent of the budget, 0 < x <= 100")
            return None
        factor = None if share is None else burnrate.burn_factor(share, period, long)
    name = ""
    if "name" in m:
        name = fields.string(m["name"], join(path, "name"), NAME,
                             "a tier name (lowercase letters, digits, '-' and '_')") or ""
    if factor is None:
        return None
    return BurnWindow(severity, long, short, factor, name=name)


def check_factors(fields: Fields, windows: list[BurnWindow], path: str,
                   budget: Decimal) -> tuple[BurnWindow, ...] | None:
    ok = True
    for i, w in enumerate(windows):
        if not burnrate.can_fire(w.factor, budget):
            fields.fail(join(path, i), f"burn factor {w.factor} x budget {budget} >= 1: "
                        "this alert could never fire")
            ok = False
    return tuple(windows) if ok else None
