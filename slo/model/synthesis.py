"""Label values for series that match some selectors and not others.

The test generator feeds the rules through the SLI's own selectors, so it needs, for each input
series it makes, label values that every selector of the series matches and the others do not.
The readers ask the same question at validation time (``validate`` refuses what ``render``
would), so the answer lives here, in the model both stages import.
"""

from __future__ import annotations

import itertools
import re

# The example builder walks Python's own parse of a regex (``re._parser``, private since 3.11;
# ``sre_parse`` before, deprecated). tests/test_testgen_real_shapes.py pins the Python versions
# it was checked on; on any other, or if the module moves, regexes without literal values
# simply get no examples (the generator then tries its generic values only).
try:
    import re._constants as re_constants  # type: ignore[import-not-found]  # no stubs
    import re._parser as re_parser  # type: ignore[import-not-found]  # parsed regexes
except ImportError:  # pragma: no cover - a Python whose re internals moved
    re_constants = re_parser = None
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slo.model.selectors import Matcher, Selector
from slo.model.spec import SLI, EventsSLI, GoodEventsSLI, LatencySLI

GENERIC_VALUES = ("", "synthetic", "500", "200", "5xx", "error", "ok", "0")
# A calm error ratio (half the lowest threshold) is fed as at least CALM_ERRORS whole errors a
# minute: an SLO whose budget is too small for that at the generator's base rate gets busier
# traffic, a power of ten more, up to MAX_RATE, where counters still add up exactly in float64
# (at most MAX_RATE times the longest scenario's minutes, under 2**53) on every engine. So the
# lowest threshold a generated test can feed is MIN_TESTABLE (1e-9), and an objective whose
# error budget is below it cannot be tested at all (the readers refuse it by field).
CALM_ERRORS = 5
MAX_RATE = Decimal(10) ** 10
MIN_TESTABLE = 2 * CALM_ERRORS / MAX_RATE
MAX_COMBINATIONS = 4096


class Unsolvable(ValueError):
    """No label values make a series match the selectors it must and none it must not."""


@dataclass(frozen=True)
class PairLabels:
    """Labels of two input series for a part of the events (errors or good ones) and a total:
    ``part`` counts the part; ``other`` counts the whole total when ``other_is_total``, else
    the rest of it (the total being both series together)."""

    part: dict[str, str]
    other: dict[str, str]
    other_is_total: bool


def pair_labels(part: Selector, total: Selector, what: str) -> PairLabels:
    """Series labels for a part selector and a total selector (``what``: "error" or "good").

    Of two metrics, one series each. Of one metric, the usual shape is a part inside the total
    (``code=~"5.."`` of every code): one series matches both selectors and counts the part, one
    matches only the total and counts the rest. Where no series can match both, the total is a
    series of its own (OpenSLO's README: good ``code=~"2xx|3xx"``, total ``code="total"``):
    one series matches only the part, one only the total. Unsolvable says why neither works."""
    if part.metric != total.metric:
        return PairLabels(solve([part.matchers], []), solve([total.matchers], []), True)
    inside = solve_or_none([part.matchers, total.matchers], [])
    outside = solve_or_none([total.matchers], [part.matchers])
    if inside is not None and outside is not None:
        return PairLabels(inside, outside, False)
    alone = solve_or_none([part.matchers], [total.matchers])
    if inside is None and alone is not None and outside is not None:
        return PairLabels(alone, outside, True)
    p, t = part.render(), total.render()
    if inside is not None:  # every total series is also a part series
        raise Unsolvable(f"every series of the total {t} also matches the {what} selector {p}: "
                         f"the {what} events would always equal the total; narrow the "
                         f"{what} selector")
    if alone is None:
        raise Unsolvable(f"no label values match the {what} selector {p}" + _hint(part))
    raise Unsolvable(f"no label values match the total selector {t}" + _hint(total))


def _hint(selector: Selector) -> str:
    return (": slo-gen tries each '=' and '!=' value, strings matching each regex and a few "
            "common values; a selector that can match nothing counts nothing (check "
            "for contradicting matchers on one label)"
            if selector.matchers else "")


def synthesis_problem(sli: SLI) -> str | None:
    """Why no input series can be made for the SLI's selectors, or None when they can (or
    when the SLI has no selectors: PromQL is fed through its recorded rates)."""
    try:
        if isinstance(sli, EventsSLI):
            pair_labels(sli.errors, sli.total, "error")
        elif isinstance(sli, GoodEventsSLI):
            pair_labels(sli.good, sli.total, "good")
        elif isinstance(sli, LatencySLI):
            solve([sli.histogram.matchers], [])
    except Unsolvable as exc:
        return str(exc)
    return None


def solve(must: list[tuple[Matcher, ...]], must_not: list[tuple[Matcher, ...]]
           ) -> dict[str, str]:
    found = solve_or_none(must, must_not)
    if found is None:
        shown = " / ".join(",".join(m.render() for m in ms) for ms in must + must_not)
        raise Unsolvable(f"cannot synthesize promtool test input for matchers {shown}: no "
                          "label values match them (slo-gen tries each '=' and '!=' value, "
                          "strings matching each regex and a few common values)")
    return found


def solve_or_none(must: list[tuple[Matcher, ...]], must_not: list[tuple[Matcher, ...]]
                   ) -> dict[str, str] | None:
    """Label values satisfying every matcher in ``must`` and failing some matcher of each
    ``must_not`` set; None when none of the candidates does (:func:`solve` raises).

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
    if re_parser is None:
        return []
    try:
        tree = re_parser.parse(regex)
    except (re.error, OverflowError, RecursionError):
        return []
    try:
        made = _examples(list(tree))
    except (_NoExample, AttributeError, TypeError, ValueError):  # an internal's shape changed
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
