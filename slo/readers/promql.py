"""PromQL written by users (Sloth, OpenSLO) with a ``{{.window}}`` range placeholder.

The common shape ``sum(rate(selector[{{.window}}]))`` (optionally ``sum by (...)``) is taken
apart into its selector, so such an SLI is an ordinary :class:`slo.spec.EventsSLI`: the rules
are what a native spec gives and the test generator can synthesize input. Anything else stays
a template, rendered as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slo.model.selectors import LABEL_NAME, Selector, SelectorError, parse_selector
from slo.model.spec import SLI, WINDOW_PLACEHOLDER, EventsSLI, GoodEventsSLI, QuerySLI
from slo.readers.common import group_by_labels
from slo.readers.fields import Fields

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_W = re.escape(WINDOW_PLACEHOLDER)
_BY = r"by\s*\(\s*([^()]*?)\s*\)"
_SUM_RATE = re.compile(
    rf"sum\s*(?:{_BY}\s*)?\(\s*rate\s*\(\s*(.+?)\s*\[\s*{_W}\s*\]\s*\)\s*\)\s*(?:{_BY})?")


class QueryError(ValueError):
    """The text is not a PromQL template this tool can render."""


@dataclass(frozen=True)
class SumRate:
    """``sum by (group_by) (rate(selector[{{.window}}]))``."""

    selector: Selector
    group_by: tuple[str, ...]


def template(text: str) -> str:
    """The query with its window placeholder spelled canonically; QueryError if it has none or
    uses other Go-template syntax (Sloth renders its queries with Go's text/template)."""
    # a line break cannot be inside a PromQL string literal, so joining lines keeps meaning
    out = _WINDOW.sub(WINDOW_PLACEHOLDER, re.sub(r"\s*\n\s*", " ", text.strip()))
    if WINDOW_PLACEHOLDER not in out:
        raise QueryError("needs the window placeholder '{{.window}}' where the range goes, "
                         "e.g. rate(x[{{.window}}])")
    if "{{" in out.replace(WINDOW_PLACEHOLDER, "") or "}}" in out.replace(
            WINDOW_PLACEHOLDER, ""):
        raise QueryError("only the '{{.window}}' template placeholder is supported")
    if out.count("(") != out.count(")"):
        raise QueryError("has unbalanced parentheses")
    return out


def sum_rate(text: str) -> SumRate | None:
    """The selector and grouping of a ``sum(rate(selector[{{.window}}]))`` template, or None."""
    m = _SUM_RATE.fullmatch(text)
    if m is None or (m.group(1) is not None and m.group(3) is not None):
        return None
    try:
        selector = parse_selector(m.group(2))
    except SelectorError:
        return None
    by = m.group(1) if m.group(1) is not None else m.group(3)
    labels = tuple(x.strip() for x in by.split(",") if x.strip()) if by else ()
    if not all(LABEL_NAME.fullmatch(x) for x in labels):
        return None
    return SumRate(selector, labels)


def windowed(selector: Selector) -> str:
    """The template a plain counter selector stands for."""
    return f"sum(rate({selector.render()}[{WINDOW_PLACEHOLDER}]))"


def _plain(a: str, b: str) -> tuple[SumRate, SumRate] | None:
    x, y = sum_rate(a), sum_rate(b)
    return (x, y) if x is not None and y is not None and x.group_by == y.group_by else None


def events_sli(fields: Fields, errors: str, total: str, path: str
               ) -> tuple[SLI, tuple[str, ...]]:
    """Selector SLI when both queries are ``sum(rate(selector))`` grouped alike; else PromQL.
    A grouping label the rules cannot use is recorded as a problem at ``path``."""
    pair = _plain(errors, total)
    if pair is None:
        return QuerySLI(errors, total), ()
    return (EventsSLI(pair[0].selector, pair[1].selector),
            group_by_labels(fields, list(pair[0].group_by), path))


def good_events_sli(fields: Fields, good: str, total: str, path: str
                    ) -> tuple[SLI, tuple[str, ...]]:
    """The same for good and total events; as PromQL, errors are ``total - good``."""
    pair = _plain(good, total)
    if pair is None:
        return QuerySLI(f"clamp_min(({total}) - ({good}), 0)", total), ()
    return (GoodEventsSLI(pair[0].selector, pair[1].selector),
            group_by_labels(fields, list(pair[0].group_by), path))
