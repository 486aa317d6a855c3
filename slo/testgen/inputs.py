"""Synthetic counter series for promtool tests, built from the SLI's own selectors.

The generated tests feed the rules through the same selectors a real Prometheus would match,
so a selector typo or a wrong matcher shows up as a failing test, not as silence in production.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

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
    """Input series whose sums through the SLI's selectors give exactly total and error events."""
    if isinstance(sli, PromQLSLI):
        raise ValueError("an SLI written as PromQL has no selectors: use recorded_feeds")
    if isinstance(sli, GoodEventsSLI):
        return _good_and_total(sli.good, sli.total, group, where)
    if isinstance(sli, LatencySLI):
        base = sli.histogram
        labels = _solve([base.matchers], [], where) | group
        good = {**labels, "le": sli.le_label}
        inf = {**labels, "le": "+Inf"}
        return [
            Feed(_series(base.metric + "_bucket", good), "good"),
            Feed(_series(base.metric + "_bucket", inf), "total"),
            Feed(_series(base.metric + "_count", labels), "total"),
        ]
    assert isinstance(sli, EventsSLI)
    if sli.errors.metric != sli.total.metric:
        err = _solve([sli.errors.matchers], [], where) | group
        tot = _solve([sli.total.matchers], [], where) | group
        return [Feed(_series(sli.errors.metric, err), "errors"),
                Feed(_series(sli.total.metric, tot), "total")]
    # One metric for both: error events must match both selectors, good ones only the total.
    err = _solve([sli.errors.matchers, sli.total.matchers], [], where) | group
    good = _solve([sli.total.matchers], [sli.errors.matchers], where) | group
    return [Feed(_series(sli.total.metric, err), "errors"),
            Feed(_series(sli.total.metric, good), "good")]


def _good_and_total(good: Selector, total: Selector, group: dict[str, str],
                    where: str) -> list[Feed]:
    if good.metric != total.metric:
        return [Feed(_series(good.metric, _solve([good.matchers], [], where) | group), "good"),
                Feed(_series(total.metric, _solve([total.matchers], [], where) | group),
                     "total")]
    # One metric for both: good events match both selectors, bad ones only the total.
    ok = _solve([good.matchers, total.matchers], [], where) | group
    bad = _solve([total.matchers], [good.matchers], where) | group
    return [Feed(_series(total.metric, ok), "good"), Feed(_series(total.metric, bad), "errors")]


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


def _solve(must: list[tuple[Matcher, ...]], must_not: list[tuple[Matcher, ...]],
           where: str) -> dict[str, str]:
    """Label values satisfying every matcher in ``must`` and failing some matcher of each
    ``must_not`` set; raise UserError when no simple value does."""
    every = [m for ms in must + must_not for m in ms]
    names = sorted({m.label for m in every})
    candidates = [_candidates(name, every) for name in names]
    for combo in itertools.islice(itertools.product(*candidates), MAX_COMBINATIONS):
        labels = dict(zip(names, combo, strict=True))
        if all(_matches(ms, labels) for ms in must) and not any(
            _matches(ms, labels) for ms in must_not
        ):
            return {k: v for k, v in labels.items() if v}
    shown = " / ".join(",".join(m.render() for m in ms) for ms in must + must_not)
    raise UserError(f"{where}: cannot synthesize promtool test input for matchers {shown}; "
                    "use '=' matchers or regexes that are alternations of literals")


def _candidates(label: str, matchers: list[Matcher]) -> list[str]:
    values: list[str] = []
    for m in matchers:
        if m.label != label:
            continue
        if m.op in ("=", "!="):
            values.append(m.value)
        else:
            values.extend(_literals(m.value))
    values.extend(GENERIC_VALUES)
    return list(dict.fromkeys(values))


def _literals(regex: str) -> list[str]:
    body = regex[1:-1] if regex.startswith("(") and regex.endswith(")") else regex
    out = [alt for alt in body.split("|") if re.fullmatch(r"[\w./:-]*", alt)]
    # "5.." style: a digit followed by wildcards
    if re.fullmatch(r"\d\.+", body):
        out.append(body[0] + "0" * (len(body) - 1))
    return out


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
