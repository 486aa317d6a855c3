"""Synthetic counter series for promtool tests, built from the SLI's own selectors.

The generated tests feed the rules through the same selectors a real Prometheus would match,
so a selector typo or a wrong matcher shows up as a failing test, not as silence in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from slo.errors import UserError
from slo.model.numbers import format_number, quantize
from slo.model.selectors import Matcher, Selector
from slo.model.spec import SLI, EventsSLI, GoodEventsSLI, LatencySLI, PromQLSLI
from slo.model.synthesis import Unsolvable, pair_labels, solve
from slo.rules import promql


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
    UserError at ``where`` when no label values can be found for them (the readers refuse
    such an SLI first, naming their own field: :func:`slo.model.synthesis.synthesis_problem`)."""
    if isinstance(sli, PromQLSLI):
        raise ValueError("an SLI written as PromQL has no selectors: use recorded_feeds")
    try:
        return _feeds(sli, group)
    except Unsolvable as exc:
        raise UserError(f"{where}: {exc}") from None


def _feeds(sli: SLI, group: dict[str, str]) -> list[Feed]:
    if isinstance(sli, GoodEventsSLI):
        return _pair(sli.good, sli.total, "good", group)
    if isinstance(sli, LatencySLI):
        base = sli.histogram
        labels = solve([base.matchers], []) | group
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
    """A series for the part (errors or good events) and one for the rest or the total."""
    labels = pair_labels(part, total, "error" if share == "errors" else "good")
    rest = "total" if labels.other_is_total else ("good" if share == "errors" else "errors")
    return [Feed(_series(part.metric, labels.part | group), share),
            Feed(_series(total.metric, labels.other | group), rest)]


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
