"""Synthetic counter series for promtool tests, built from the SLI's own selectors.

The generated tests feed the rules through the same selectors a real Prometheus would match,
so a selector typo or a wrong matcher shows up as a failing test, not as silence in production.
"""

from __future__ import annotations

import itertools
import re
import re._constants as re_constants  # type: ignore[import-not-found]  # no stubs
import re._parser as re_parser  # type: ignore[import-not-found]  # parsed regexes
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from slo.errors import UserError
from slo.model.numbers import format_number, quantize
from slo.model.selectors import Matcher, Selector
from slo.model.spec import SLI, EventsSLI, GoodEventsSLI, LatencySLI, PromQLSLI
from slo.rules import promql

GENERIC_VALUES = ("", "synthetic", "500", "200", "5xx", "error", "ok", "0")
MAX_COMBINATIONS = 4096


@dataclass(frozen=True)
class Segment:
    """``minutes`` minutes of ``total`` events per minute, ``errors`` of them errors.

    ``reset`` restarts the counters at zero first, as a restarted process would.
    """

    minutes: int
    total: Decimal
    errors: Decimal
    reset: bool = False


@dataclass(frozen=True)
class Feed:
    """One input series and how much of each minute's traffic it counts."""

    selector_text: str
    share: str  # "total", "errors" or "good"
    per_second: bool = False  # a gauge of events per second, not a counter


def can_synthesize(sli: SLI) -> bool:
    """Whether raw input series can be made for the SLI: not when it is arbitrary PromQL."""
    return not isinstance(sli, PromQLSLI)


def recorded_feeds(labels: dict[str, str]) -> list[Feed]:
    """For an SLI written as PromQL, whose raw series cannot be derived from the query: feed the
    5-minute rates the rules would record from it. The query finds no input and records
    nothing, so these samples stand in for it and every later rule reads them as usual."""
    return [Feed(_series(promql.ERRORS_RATE, labels), "errors", per_second=True),
            Feed(_series(promql.TOTAL_RATE, labels), "total", per_second=True)]


def feeds(sli: SLI, group: dict[str, str], where: str) -> list[Feed]:
    """Input series whose sums through the SLI's selectors give exactly total and error events;
    UserError at ``where`` when no label values can be found for them."""
    if isinstance(sli, PromQLSLI):
        raise ValueError("an SLI written as PromQL has no selectors: use recorded_feeds")
    try:
        return _feeds(sli, group)
    except _Unsolvable as exc:
        raise UserError(f"{where}: {exc}") from None


def synthesis_problem(sli: SLI) -> str | None:
    """Why no input can be synthesized for the SLI's selectors, or None when it can: the
    readers ask at validation time, so ``validate`` refuses what ``render`` would."""
    if isinstance(sli, PromQLSLI):
        return None
    try:
        _feeds(sli, {})
    except _Unsolvable as exc:
        return str(exc)
    return None


class _Unsolvable(ValueError):
    """No label values make a series match the selectors it must and none it must not."""


def _feeds(sli: SLI, group: dict[str, str]) -> list[Feed]:
    if isinstance(sli, GoodEventsSLI):
        return _pair(sli.good, sli.total, "good", group)
    if isinstance(sli, LatencySLI):
        base = sli.histogram
        labels = _solve([base.matchers], []) | group
        good = {**labels, "le": sli.le_label}
        inf = {**labels, "le": "+Inf"}
        return [
            Feed(_series(base.metric + "_bucket", good), "good"),
            Feed(_series(base.metric + "_bucket", inf), "total"),
            Feed(_series(base.metric + "_count", labels), "total"),
        ]
    assert isinstance(sli, EventsSLI)
    return _pair(sli.errors, sli.total, "errors", group)


def _pair(part: Selector, total: Selector, share: str, group: dict[str, str]) -> list[Feed]:
    """Series for a part of the events (errors or good ones) and the total.

    Of two metrics, one series each. Of one metric, the usual shape is a part inside the total
    (``code=~"5.."`` of every code): one series matches both selectors and counts the part, one
    matches only the total and counts the rest. Where no series can match both, the total is a
    series of its own (OpenSLO's README: good ``code=~"2xx|3xx"``, total ``code="total"``):
    one series matches only the part, one only the total."""
    rest = "good" if share == "errors" else "errors"
    if part.metric != total.metric:
        return [Feed(_series(part.metric, _solve([part.matchers], []) | group), share),
                Feed(_series(total.metric, _solve([total.matchers], []) | group), "total")]
    inside = _solve_or_none([part.matchers, total.matchers], [])
    outside = _solve_or_none([total.matchers], [part.matchers])
    if inside is not None and outside is not None:
        return [Feed(_series(total.metric, inside | group), share),
                Feed(_series(total.metric, outside | group), rest)]
    alone = _solve_or_none([part.matchers], [total.matchers])
    if inside is None and alone is not None and outside is not None:
        return [Feed(_series(total.metric, alone | group), share),
                Feed(_series(total.metric, outside | group), "total")]
    what = "error" if share == "errors" else "good"
    p, t = part.render(), total.render()
    if inside is not None:  # every total series is also a part series
        raise _Unsolvable(f"every series of the total {t} also matches the {what} selector {p}: "
                          f"the {what} events would always equal the total; narrow the "
                          f"{what} selector")
    if alone is None:
        raise _Unsolvable(f"no label values match the {what} selector {p}" + _hint(part))
    raise _Unsolvable(f"no label values match the total selector {t}" + _hint(total))


def _hint(selector: Selector) -> str:
    return (": slo-gen tries each '=' and '!=' value, strings matching each regex and a few "
            "common values; a selector that can match nothing counts nothing (check "
            "for contradicting matchers on one label)"
            if selector.matchers else "")


# Scenarios repeat across SLOs of one shape: the same segments give the same notation.
@lru_cache(maxsize=4096)
def gauge_values(segments: tuple[Segment, ...], share: str) -> str:
    """promtool's notation for a per-second rate held for each segment's minutes; sample ``i``
    is minute ``i``'s rate, as a counter's increment at ``i`` is minute ``i``'s events, and
    sample 0 is no traffic, as a counter's first sample counts no events."""
    parts = ["0"]
    for seg in segments:
        rate = _num(quantize(_per_minute(seg, share) / 60))
        parts.append(f"{rate}+0x{seg.minutes - 1}")
    return " ".join(parts)


@lru_cache(maxsize=4096)
def values(segments: tuple[Segment, ...], share: str) -> str:
    """promtool's expanding notation for a counter fed minute by minute."""
    parts = ["0"]
    value = Decimal(0)
    for seg in segments:
        step = _per_minute(seg, share)
        if step != step.to_integral_value():
            raise ValueError(f"counter increments must be whole events, got {step}")
        minutes = seg.minutes
        if seg.reset:
            value = Decimal(0)
            parts.append("0")
            minutes -= 1
        if minutes <= 0:
            continue
        first = value + step
        parts.append(f"{_num(first)}+{_num(step)}x{minutes - 1}")
        value += step * minutes
    return " ".join(parts)


def _per_minute(seg: Segment, share: str) -> Decimal:
    if share == "total":
        return seg.total
    if share == "errors":
        return seg.errors
    return seg.total - seg.errors


def _num(d: Decimal) -> str:
    return format_number(d)


def _series(metric: str, labels: dict[str, str]) -> str:
    return Selector(metric, tuple(Matcher(k, "=", v) for k, v in sorted(labels.items()) if v)
                    ).render()


def _solve(must: list[tuple[Matcher, ...]], must_not: list[tuple[Matcher, ...]]
           ) -> dict[str, str]:
    found = _solve_or_none(must, must_not)
    if found is None:
        shown = " / ".join(",".join(m.render() for m in ms) for ms in must + must_not)
        raise _Unsolvable(f"cannot synthesize promtool test input for matchers {shown}: no "
                          "label values match them (slo-gen tries each '=' and '!=' value, "
                          "strings matching each regex and a few common values)")
    return found


def _solve_or_none(must: list[tuple[Matcher, ...]], must_not: list[tuple[Matcher, ...]]
                   ) -> dict[str, str] | None:
    """Label values satisfying every matcher in ``must`` and failing some matcher of each
    ``must_not`` set; None when none of the candidates does.

    Candidates come in two rounds: the literal values (and GENERIC_VALUES) first, then strings
    made from each regex; a selector the first round solves keeps the values it always got."""
    every = [m for ms in must + must_not for m in ms]
    names = sorted({m.label for m in every})
    for extended in (False, True):
        candidates = [_candidates(name, every, extended) for name in names]
        for combo in itertools.islice(itertools.product(*candidates), MAX_COMBINATIONS):
            labels = dict(zip(names, combo, strict=True))
            if all(_matches(ms, labels) for ms in must) and not any(
                _matches(ms, labels) for ms in must_not
            ):
                return {k: v for k, v in labels.items() if v}
    return None


def _candidates(label: str, matchers: list[Matcher], extended: bool = False) -> list[str]:
    values: list[str] = []
    for m in matchers:
        if m.label != label:
            continue
        if m.op in ("=", "!="):
            values.append(m.value)
        else:
            values.extend(_literals(m.value))
    values.extend(GENERIC_VALUES)
    if extended:
        values.extend(v for m in matchers if m.label == label and m.op in ("=~", "!~")
                      for v in regex_examples(m.value))
    return list(dict.fromkeys(values))


def _literals(regex: str) -> list[str]:
    body = regex[1:-1] if regex.startswith("(") and regex.endswith(")") else regex
    out = [alt for alt in body.split("|") if re.fullmatch(r"[\w./:-]*", alt)]
    # "5.." style: a digit followed by wildcards
    if re.fullmatch(r"\d\.+", body):
        out.append(body[0] + "0" * (len(body) - 1))
    return out


MAX_EXAMPLES = 16


def regex_examples(regex: str) -> list[str]:
    """A few strings the (fully anchored) regex matches, built from its parsed form: each
    alternative, each repeat at its least count and once, the first member of each class.
    Only strings that really match are returned; none for what Python's parser refuses."""
    try:
        tree = re_parser.parse(regex)
    except (re.error, OverflowError, RecursionError):
        return []
    try:
        made = _examples(list(tree))
    except _NoExample:
        return []
    return [s for s in dict.fromkeys(made) if re.fullmatch(regex, s) is not None]


class _NoExample(Exception):
    """A construct the example builder does not handle (a back-reference, a lookaround)."""


_PICKS = "0a_-. A"  # characters tried for '.', a negated class or a category


def _examples(items: list[Any]) -> list[str]:
    out = [""]
    for op, arg in items:
        options = _node(op, arg)
        out = [a + b for a in out for b in options][:MAX_EXAMPLES]
    return out


def _node(op: Any, arg: Any) -> list[str]:
    c = re_constants
    if op is c.LITERAL:
        return [chr(arg)]
    if op is c.NOT_LITERAL:
        return [next(ch for ch in _PICKS if ord(ch) != arg)]
    if op is c.ANY:
        return ["0"]
    if op is c.AT:
        return [""]
    if op is c.IN:
        return [_in_class(arg)]
    if op is c.CATEGORY:
        return [_in_class([(op, arg)])]
    if op is c.BRANCH:
        return [s for alt in arg[1] for s in _examples(list(alt))][:MAX_EXAMPLES]
    if op is c.SUBPATTERN:
        return _examples(list(arg[-1]))
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, _high, body = arg
        inner = _examples(list(body))
        once = inner if low == 0 else []
        return ([s * low for s in inner] + once)[:MAX_EXAMPLES]
    if op is c.ATOMIC_GROUP:
        return _examples(list(arg))
    raise _NoExample(str(op))


def _in_class(items: list[Any]) -> str:
    """A character of a ``[...]`` class (or of a category such as ``\\d``)."""
    c = re_constants
    negated = bool(items) and items[0][0] is c.NEGATE
    members = items[1:] if negated else items

    def inside(ch: str) -> bool:
        return any(_member(op, arg, ch) for op, arg in members)

    if not negated:
        for op, arg in members:
            if op is c.LITERAL:
                return chr(arg)
            if op is c.RANGE:
                return chr(arg[0])
        for ch in _PICKS + "0123456789abcdefghijklmnopqrstuvwxyz":
            if inside(ch):
                return ch
        raise _NoExample("class")
    for ch in _PICKS + "xyz9":
        if not inside(ch):
            return ch
    raise _NoExample("negated class")


def _member(op: Any, arg: Any, ch: str) -> bool:
    c = re_constants
    if op is c.LITERAL:
        return bool(ord(ch) == arg)
    if op is c.RANGE:
        return bool(arg[0] <= ord(ch) <= arg[1])
    if op is c.CATEGORY:
        return re.fullmatch(_CATEGORIES.get(str(arg), r"(?!)"), ch) is not None
    return False


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_WORD": r"\w",
               "CATEGORY_NOT_WORD": r"\W", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S"}


def _matches(matchers: tuple[Matcher, ...], labels: dict[str, str]) -> bool:
    return all(_match(m, labels.get(m.label, "")) for m in matchers)


def _match(m: Matcher, value: str) -> bool:
    # Only regex matchers compile their value: a large spec's '=' values would otherwise
    # churn re's compiled-pattern cache for nothing.
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    return (re.fullmatch(m.value, value) is not None) == (m.op == "=~")
