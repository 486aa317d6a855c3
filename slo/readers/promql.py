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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import promql_parser

from slo.model.placeholders import WINDOWED, Placeholder, expand
from slo.model.selectors import LABEL_NAME, METRIC_NAME, Matcher, Selector
from slo.model.spec import SLI, WINDOW_PLACEHOLDER, EventsSLI, GoodEventsSLI, QuerySLI
from slo.model.synthesis import synthesis_problem
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
    """The query with its window placeholder spelled canonically, checked by the PromQL parser,
    without a trailing ``or on() vector(0)`` (the rules fill in zero errors themselves);
    QueryError if it has no placeholder, uses other Go-template syntax (Sloth renders its
    queries with Go's text/template), is not valid PromQL for every Prometheus the rules are
    tested on, or answers with no input series at all (``absent()``, ``vector(1)``, a number):
    the generated tests could not feed it."""
    # a line break cannot be inside a PromQL string literal, so joining lines keeps meaning
    out = _WINDOW.sub(WINDOW_PLACEHOLDER, re.sub(r"\s*\n\s*", " ", text.strip()))
    if WINDOW_PLACEHOLDER not in out:
        raise QueryError("needs the window placeholder '{{.window}}' where the range goes, "
                         "e.g. rate(x[{{.window}}])")
    rest = out.replace(WINDOW_PLACEHOLDER, "")
    if "{{" in rest or "}}" in rest:
        raise QueryError("only the '{{.window}}' template placeholder is supported")
    _analyse(out)
    out = _without_zero_fallback(out)
    culprit = answers_without_data(_tree(out))
    if culprit is not None:
        raise QueryError(
            f"answers even when no series matches ({culprit}): the generated promtool tests "
            "feed this SLI's recorded rates, and a query that answers without input would "
            "record over them; count the events from the series themselves (slo-gen's rules "
            "already record 0 errors wherever there is traffic, no 'or vector(0)' needed)")
    return out


# ``<query> or vector(0)`` / ``<query> or on() vector(0)`` at the end (Sloth's home-wifi.yml):
# the query before it, when it parses on its own. ``or`` binds loosest, so the last one ends it.
_ZERO_FALLBACK = re.compile(
    r"(?is)^(?P<query>.+?)\s+or\s*(?:on\s*\(\s*\)\s*)?\(?\s*vector\s*\(\s*0*\.?0*\s*\)"
    r"\s*\)?\s*$")


def _without_zero_fallback(text: str) -> str:
    """The query without a trailing ``or on() vector(0)`` (``or vector(0)``): users add it so
    that no error events read as 0, which slo-gen's rules do already (``or 0 * total``, with
    the total's labels). Kept, it answers with no input at all: a generated test's recorded
    input and the rule's own 0 would be two samples of one series at one time."""
    m = _ZERO_FALLBACK.match(text)
    if m is None:
        return text
    tree = _tree(text)
    if not (isinstance(tree, promql_parser.BinaryExpr) and str(tree.op) == "or"
            and _is_zero_vector(tree.rhs) and _on_nothing(tree.modifier)):
        return text
    query = m.group("query").strip()
    try:
        _tree(query)
    except QueryError:
        return text
    return query


def _is_zero_vector(expr: promql_parser.Expr) -> bool:
    while isinstance(expr, promql_parser.ParenExpr):
        expr = expr.expr
    return (isinstance(expr, promql_parser.Call) and expr.func.name == "vector"
            and isinstance(expr.args[0], promql_parser.NumberLiteral)
            and expr.args[0].val == 0)


def _on_nothing(modifier: promql_parser.BinModifier | None) -> bool:
    """No matching clause, or ``on()``: the fallback stands in only when the query is empty."""
    if modifier is None or modifier.matching is None:
        return True
    return (modifier.matching.type == promql_parser.LabelModifierType.Include
            and not list(modifier.matching.labels))


def _tree(template_text: str) -> promql_parser.Expr:
    return _parse(template_text.replace(WINDOW_PLACEHOLDER, WINDOW_STAND_IN), template_text)


# Functions that answer with no input series at all (their arguments, if any, are scalars or
# are what they test for absence).
_ANSWERING = frozenset({"vector", "absent", "absent_over_time", "time", "pi", "scalar"})
# Date functions default to ``vector(time())`` when called without an argument.
_DATE = frozenset({"minute", "hour", "day_of_week", "day_of_month", "day_of_year",
                   "days_in_month", "month", "year"})


def answers_without_data(expr: promql_parser.Expr) -> str | None:
    """What makes the expression answer on an empty database (``vector(0)``, ``absent()``, a
    number), or None when every answer needs an input series. Comparisons are taken as
    keeping what they compare: this errs on the side of refusing."""
    if isinstance(expr, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return "a constant"
    if isinstance(expr, promql_parser.VectorSelector | promql_parser.MatrixSelector):
        return None
    if isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr
                  | promql_parser.SubqueryExpr | promql_parser.AggregateExpr):
        return answers_without_data(expr.expr)
    if isinstance(expr, promql_parser.Call):
        name = expr.func.name
        if name in _ANSWERING or (name in _DATE and not expr.args):
            return f"{name}()"
        inputs = [a for a in expr.args if not _is_scalar(a)]
        if not inputs:
            return f"{name}() of constants"
        for arg in inputs:
            culprit = answers_without_data(arg)
            if culprit is not None:
                return culprit
        return None
    if isinstance(expr, promql_parser.BinaryExpr):
        lhs, rhs = answers_without_data(expr.lhs), answers_without_data(expr.rhs)
        op = str(expr.op)
        if op == "or":
            return lhs or rhs
        if op == "unless":
            return lhs
        left_number, right_number = _is_scalar(expr.lhs), _is_scalar(expr.rhs)
        if left_number and right_number:
            return "a constant"
        if right_number:  # a vector and a number answer where the vector does
            return lhs
        if left_number:
            return rhs
        return lhs if lhs is not None and rhs is not None else None  # both must match
    return None


def _is_scalar(expr: promql_parser.Expr) -> bool:
    """A number-valued expression (no labels): a literal, scalar(), time(), pi(), or
    arithmetic of those."""
    while isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        expr = expr.expr
    if isinstance(expr, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return True
    if isinstance(expr, promql_parser.Call):
        return expr.func.name in ("scalar", "time", "pi")
    if isinstance(expr, promql_parser.BinaryExpr):
        return _is_scalar(expr.lhs) and _is_scalar(expr.rhs)
    return False


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
        tree = _parse_muted(promql) if _PANICKY.search(promql) else promql_parser.parse(promql)
        unsupported = _unsupported(tree)
        if unsupported is None:
            return tree
        reason = unsupported
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


# Functions promql-parser knows that the promtool this project checks and tests with does not
# take as they are (measured on promtool 3.5.3, 2.53.3 and 2.42.0): experimental ones, which
# need a feature flag Prometheus is rarely run with; ones newer than Prometheus 3.5; and ones
# Prometheus 2.42 lacks (the rules' tests run on it too).
_EXPERIMENTAL = frozenset({"double_exponential_smoothing", "info", "mad_over_time",
                           "sort_by_label", "sort_by_label_desc", "ts_of_max_over_time",
                           "ts_of_min_over_time", "ts_of_last_over_time", "limitk",
                           "limit_ratio"})
_AFTER_3_5 = frozenset({"first_over_time", "ts_of_first_over_time"})
_AFTER_2_42 = {"histogram_avg": "histogram_sum(x) / histogram_count(x)",
               "histogram_stddev": "", "histogram_stdvar": ""}


def _unsupported(tree: promql_parser.Expr) -> str | None:
    """Why promtool would refuse a function of a parsed expression, or None."""
    for name in _function_names(tree):
        if name in _EXPERIMENTAL:
            return (f"'{name}' is an experimental Prometheus function: promtool check rules "
                    "(and Prometheus without --enable-feature=promql-experimental-functions) "
                    "refuses it")
        if name in _AFTER_3_5:
            return f"unknown function with name '{name}' (not in Prometheus 3.5)"
        if name in _AFTER_2_42:
            instead = _AFTER_2_42[name]
            return (f"'{name}' needs Prometheus 2.50 or later, and slo-gen's rules are checked "
                    "and tested down to Prometheus 2.42" + (f": use {instead}" if instead
                                                            else ""))
    return None


def _function_names(expr: promql_parser.Expr) -> Iterator[str]:
    """Every function and aggregation named in the expression, outermost first."""
    if isinstance(expr, promql_parser.Call):
        yield expr.func.name
        for arg in expr.args:
            yield from _function_names(arg)
    elif isinstance(expr, promql_parser.AggregateExpr):
        yield str(expr.op)
        if expr.param is not None:
            yield from _function_names(expr.param)
        yield from _function_names(expr.expr)
    elif isinstance(expr, promql_parser.BinaryExpr):
        yield from _function_names(expr.lhs)
        yield from _function_names(expr.rhs)
    elif isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr
                    | promql_parser.SubqueryExpr):
        yield from _function_names(expr.expr)
    elif isinstance(expr, promql_parser.MatrixSelector):
        return


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
    sli = EventsSLI(pair[0].selector, pair[1].selector)
    return sli, _synthesizable(fields, sli, pair[0].group_by, path)


def good_events_sli(fields: Fields, good: str, total: str, path: str
                    ) -> tuple[SLI, tuple[str, ...]]:
    """The same for good and total events; as PromQL, errors are ``total - good``."""
    pair = _plain(good, total)
    if pair is None:
        return QuerySLI(f"clamp_min(({total}) - ({good}), 0)", total), ()
    sli = GoodEventsSLI(pair[0].selector, pair[1].selector)
    return sli, _synthesizable(fields, sli, pair[0].group_by, path)


def _synthesizable(fields: Fields, sli: SLI, group_by: tuple[str, ...], path: str
                   ) -> tuple[str, ...]:
    """The grouping labels, after recording a problem at ``path`` when the test generator could
    not make input series for the selectors: ``validate`` refuses what ``render`` would."""
    problem = synthesis_problem(sli)
    if problem is not None:
        fields.fail(path, problem)
    return group_by_labels(fields, list(group_by), path)
