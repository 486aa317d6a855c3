"""PromQL written by users, checked with a real PromQL parser (``promql-parser``).

Two kinds of text reach here:

- Sloth and OpenSLO queries, templates holding ``{{.window}}`` where the range goes. The common
  shape ``sum(rate(selector[{{.window}}]))`` (optionally ``sum by (...)``) is taken apart into
  its selector, so such an SLI is an ordinary :class:`slo.model.spec.EventsSLI`: the rules are
  what a native spec gives and the test generator can synthesize input. Anything else stays a
  template, rendered as written.
- This project's own ``series[].expr`` and ``alerts[].expr``, holding ``${...}`` placeholders
  (:mod:`slo.model.placeholders`).

Both are parsed at validation time with a stand-in for each placeholder, so a typo is a problem
naming its field and the parser's reason, not a failed ``promtool check`` later. Each distinct
text is parsed once per process (the parser compiles every regex matcher; a large spec repeats
texts).

The selector of a ``sum(rate(...))`` is rebuilt from the parser's tree as a
:class:`slo.model.selectors.Selector` (metric name, matchers with their unescaped values), not
re-printed from the tree (its printer writes newlines and quotes inside label values raw) nor
sliced out of the text (the tree holds no positions); ``Selector.render`` quotes the values
again, so they round-trip exactly. A metric or label name that needs quoting (Prometheus 3's
UTF-8 names, ``{"my.metric"}``) is valid PromQL but no plain selector here: such a query is
checked and rendered as written.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import promql_parser

from slo.model.placeholders import WINDOWED, Placeholder, expand
from slo.model.selectors import LABEL_NAME, METRIC_NAME, Matcher, Selector
from slo.model.spec import SLI, WINDOW_PLACEHOLDER, EventsSLI, GoodEventsSLI, QuerySLI
from slo.readers.common import group_by_labels
from slo.readers.fields import Fields

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
# What ``{{.window}}`` is replaced with for parsing: a duration nobody writes, so a range that
# parses to it is the placeholder's (and the parser's messages can name the placeholder again).
WINDOW_STAND_IN = "1h2m3s"
_STAND_IN_RANGE = timedelta(hours=1, minutes=2, seconds=3)
# Stand-ins of the spec's placeholders, shaped like what slo.rules.build.expand_placeholders
# puts there: a ratio series is a vector selector, a burn rate a parenthesised division, the
# budget and the objective numbers.
_RATIO_STAND_IN = "slo:sli_error:ratio"
_PLACEHOLDER_STAND_INS = {"error_ratio": _RATIO_STAND_IN,
                          "burn_rate": f"({_RATIO_STAND_IN} / 0.001)"}
_NUMBER_STAND_IN = "0.001"
_OPS = ((promql_parser.MatchOp.Equal, "="), (promql_parser.MatchOp.NotEqual, "!="),
        (promql_parser.MatchOp.Re, "=~"), (promql_parser.MatchOp.NotRe, "!~"))  # unhashable


class QueryError(ValueError):
    """The text is not a PromQL template this tool can render."""


@dataclass(frozen=True)
class SumRate:
    """``sum by (group_by) (rate(selector[{{.window}}]))``."""

    selector: Selector
    group_by: tuple[str, ...]


def template(text: str) -> str:
    """The query with its window placeholder spelled canonically, checked by the PromQL parser;
    QueryError if it has no placeholder, uses other Go-template syntax (Sloth renders its
    queries with Go's text/template) or is not valid PromQL."""
    # a line break cannot be inside a PromQL string literal, so joining lines keeps meaning
    out = _WINDOW.sub(WINDOW_PLACEHOLDER, re.sub(r"\s*\n\s*", " ", text.strip()))
    if WINDOW_PLACEHOLDER not in out:
        raise QueryError("needs the window placeholder '{{.window}}' where the range goes, "
                         "e.g. rate(x[{{.window}}])")
    rest = out.replace(WINDOW_PLACEHOLDER, "")
    if "{{" in rest or "}}" in rest:
        raise QueryError("only the '{{.window}}' template placeholder is supported")
    _analyse(out)
    return out


def sum_rate(text: str) -> SumRate | None:
    """The selector and grouping of a ``sum(rate(selector[{{.window}}]))`` template (as
    :func:`template` returns it), or None for any other query."""
    return _analyse(text)


def check_expr(text: str) -> str:
    """A spec's ``series``/``alerts`` expression, its placeholders already known to be valid:
    the text (stripped) when it parses as PromQL with a stand-in for each placeholder."""
    expr = text.strip()
    _parse(expand(expr, _stand_in), expr)
    return expr


def _stand_in(ph: Placeholder) -> str:
    return _PLACEHOLDER_STAND_INS[ph.name] if ph.name in WINDOWED else _NUMBER_STAND_IN


@lru_cache(maxsize=65536)
def _analyse(text: str) -> SumRate | None:
    """Parse a ``{{.window}}`` template once; its sum-of-rate shape, if it has that shape."""
    tree = _parse(text.replace(WINDOW_PLACEHOLDER, WINDOW_STAND_IN), text)
    if text.count(WINDOW_PLACEHOLDER) != 1:
        return None
    return _sum_rate(tree)


@lru_cache(maxsize=65536)
def _parse(promql: str, shown: str) -> promql_parser.Expr:
    """The parser's tree, or QueryError with its reason on one line (``shown`` is the text as
    written, whose placeholders the reason names instead of their stand-ins)."""
    try:
        return _parse_muted(promql) if _PANICKY.search(promql) else promql_parser.parse(promql)
    except ValueError as exc:
        reason = str(exc)
    except BaseException as exc:  # pyo3's PanicException derives from BaseException only
        if type(exc).__name__ != "PanicException":
            raise
        reason = str(exc)
    reason = " ".join(reason.split()) or "cannot be parsed"
    if WINDOW_PLACEHOLDER in shown:
        reason = reason.replace(WINDOW_STAND_IN, WINDOW_PLACEHOLDER)
    raise QueryError(f"is not valid PromQL: {reason}") from None


# promql-parser 0.12 panics on a number out of a duration's range where a duration goes
# (``offset 1e20``, ``[1e400]``, ``offset inf``), and Rust's panic hook writes the panic (and,
# with RUST_BACKTRACE, a backtrace) to the process' stderr itself. A text holding such a number
# anywhere is parsed with file descriptor 2 muted; the panic is then a reason like any other.
_PANICKY = re.compile(r"(?i)\b(?:inf|nan)\b|[0-9.][e][+-]?[0-9]|[0-9]{12,}")


def _parse_muted(promql: str) -> promql_parser.Expr:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        return promql_parser.parse(promql)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _sum_rate(tree: promql_parser.Expr) -> SumRate | None:
    if not isinstance(tree, promql_parser.AggregateExpr) or str(tree.op) != "sum" \
            or tree.param is not None:
        return None
    group_by: tuple[str, ...] = ()
    if tree.modifier is not None:
        if tree.modifier.type != promql_parser.AggModifierType.By:
            return None  # ``without`` keeps labels the rules cannot name
        group_by = tuple(tree.modifier.labels)
        if not all(LABEL_NAME.fullmatch(label) for label in group_by):
            return None
    call = tree.expr
    if not isinstance(call, promql_parser.Call) or call.func.name != "rate" \
            or len(call.args) != 1:
        return None
    matrix = call.args[0]
    if not isinstance(matrix, promql_parser.MatrixSelector) or matrix.range != _STAND_IN_RANGE:
        return None
    selector = _selector(matrix.vector_selector)
    return None if selector is None else SumRate(selector, group_by)


def _selector(vs: promql_parser.VectorSelector) -> Selector | None:
    """The parsed selector as this project's Selector, or None when it cannot be one (an
    offset or @, ``or`` matchers, a name matched by regex, names that need quoting)."""
    if vs.offset is not None or vs.at is not None or vs.matchers.or_matchers:
        return None
    metric = vs.name
    matchers = []
    for m in vs.matchers.matchers:
        if m.name == "__name__":
            if metric is not None or m.op != promql_parser.MatchOp.Equal:
                return None
            metric = m.value
            continue
        if not LABEL_NAME.fullmatch(m.name) or WINDOW_STAND_IN in m.value:
            return None
        matchers.append(Matcher(m.name, next(text for op, text in _OPS if m.op == op),
                                m.value))
    if metric is None or not METRIC_NAME.fullmatch(metric):
        return None
    return Selector(metric, tuple(matchers))


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
