"""Every PromQL shape the generator emits, in one place, named for what it computes.

How the SLI is measured (rate first, then sum across instances, then divide), how the long
windows and the 30-day period are derived cheaply from the 5-minute recorded counts, and what
happens with no traffic are all decided here and nowhere else.
"""

from __future__ import annotations

from decimal import Decimal

from slo.model.durations import format_duration
from slo.model.numbers import format_number
from slo.model.selectors import Matcher, Selector, quote
from slo.model.spec import SLI, EventsSLI, GoodEventsSLI, LatencySLI, QuerySLI, RatioQuerySLI
from slo.model.windows import BASE_WINDOW

ERRORS_RATE = "slo:sli_errors:rate5m"
TOTAL_RATE = "slo:sli_total:rate5m"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"


def error_ratio_name(window: int) -> str:
    """``slo:sli_error:ratio_rate5m``: Sloth-compatible name of the error ratio over a window."""
    return f"slo:sli_error:ratio_rate{format_duration(window)}"


def series(name: str, identity: dict[str, str]) -> str:
    """A recorded series of one SLO, selected by its identity labels."""
    inner = ",".join(f"{k}={quote(v)}" for k, v in identity.items())
    return f"{name}{{{inner}}}"


def _by(group_by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(group_by)}) " if group_by else "sum"


def _sum_rate(selector: str, group_by: tuple[str, ...], window: int) -> str:
    # rate() per series first, then sum: summing counters first would see an instance's restart
    # as a huge negative step and overstate the rate.
    return f"{_by(group_by)}(rate({selector}[{format_duration(window)}]))"


def total_rate(sli: SLI, group_by: tuple[str, ...], window: int = BASE_WINDOW) -> str:
    """Events per second, summed across instances (a user's query is taken as written).

    A raw error-ratio SLI has no event counts: each evaluation with a ratio counts as one
    event, so long windows weigh every evaluation alike and a missing ratio weighs nothing.
    """
    if isinstance(sli, EventsSLI | GoodEventsSLI):
        return _sum_rate(sli.total.render(), group_by, window)
    if isinstance(sli, LatencySLI):
        return _sum_rate(sli.histogram.with_suffix("_count"), group_by, window)
    if isinstance(sli, QuerySLI):
        return f"({sli.total_at(format_duration(window))})"
    return f"0 * {_ratio_query(sli, window)} + 1"


def error_rate(sli: SLI, group_by: tuple[str, ...], window: int = BASE_WINDOW) -> str:
    """Error events per second; zero (not absent) whenever there is any traffic at all.

    An error counter that has not been created yet would otherwise make the ratio vanish exactly
    when everything is fine; ``or 0 * total`` fills the gap with the right label set.
    """
    if isinstance(sli, RatioQuerySLI):
        return _ratio_query(sli, window)
    total = total_rate(sli, group_by, window)
    if isinstance(sli, EventsSLI):
        errors = _sum_rate(sli.errors.render(), group_by, window)
    elif isinstance(sli, QuerySLI):
        errors = f"({sli.errors_at(format_duration(window))})"
    else:
        good = _sum_rate(_good(sli), group_by, window)
        errors = f"clamp_min({total} - {good}, 0)"
    return f"({errors} or 0 * {total})"


def _ratio_query(sli: RatioQuerySLI, window: int) -> str:
    # ">= 0" drops a NaN ratio (0/0 without traffic), so no NaN reaches the long windows
    return f"(({sli.at(format_duration(window))}) >= 0)"


def _good(sli: LatencySLI | GoodEventsSLI) -> str:
    if isinstance(sli, GoodEventsSLI):
        return sli.good.render()
    hist: Selector = sli.histogram
    return hist.with_suffix("_bucket", (le_matcher(sli.le_label),))


def le_matcher(le: str) -> Matcher:
    """The bucket of a latency threshold, whoever wrote the bound.

    Clients spell a whole-number bound differently (Go ``1``, Python ``1.0``); Prometheus 3
    stores classic histogram bounds normalised (``1.0``) while 2.x keeps the client's text.
    A whole-number bound therefore matches both spellings, any other (``0.5``, ``1e+06``,
    ``+Inf``) is spelled alike everywhere and matches exactly.
    """
    if le.endswith(".0"):
        whole = le[:-2]
        return Matcher("le", "=~", f"{whole}|{whole}\\.0")
    return Matcher("le", "=", le)


def ratio_from_base(identity: dict[str, str]) -> str:
    """Error ratio over 5m from the recorded rates; no traffic gives no sample, never NaN."""
    errors = series(ERRORS_RATE, identity)
    total = series(TOTAL_RATE, identity)
    return f"{errors} / ({total} > 0)"


def ratio_over(window: int, identity: dict[str, str]) -> str:
    """Request-weighted error ratio over a long window, from the 5m recorded rates.

    The mean of the error rate divided by the mean of the request rate weighs every request the
    same (a mean of ratios would weigh a quiet night like a busy day), reads one sample per
    evaluation instead of every raw sample of every instance, and never takes ``rate(x[30d])``.
    Spans without traffic contribute zeros, not NaN; a window with no traffic at all is empty.
    """
    w = format_duration(window)
    errors = f"avg_over_time({series(ERRORS_RATE, identity)}[{w}])"
    total = f"avg_over_time({series(TOTAL_RATE, identity)}[{w}])"
    return f"{errors} / ({total} > 0)"


def step_sum_name(rate_name: str, step: int) -> str:
    """``slo:sli_errors:rate5m_sum15m``: the 5m rates summed over each step of this length."""
    return f"{rate_name}_sum{format_duration(step)}"


def step_sum(rate_name: str, identity: dict[str, str], step: int) -> str:
    """The recorded 5m rates of one step added up, for a group evaluated once per step.

    Consecutive steps partition the rate samples (a sample lands in one step's range unless it
    sits exactly on the edge, which groups with different intervals and offsets never share),
    so the period can add these up instead of reading every rate sample again.
    """
    return f"sum_over_time({series(rate_name, identity)}[{format_duration(step)}])"


def period_ratio(window: int, identity: dict[str, str], step: int) -> str:
    """Request-weighted error ratio over the period, from the per-step sums of the 5m rates.

    The same ratio as :func:`ratio_over` (the sample counts cancel in a ratio of sums) at a
    fraction of its cost, trailing by at most one step: a period is days long, a step minutes.
    """
    w = format_duration(window)
    errors = f"sum_over_time({series(step_sum_name(ERRORS_RATE, step), identity)}[{w}])"
    total = f"sum_over_time({series(step_sum_name(TOTAL_RATE, step), identity)}[{w}])"
    return f"{errors} / ({total} > 0)"


def ratio_raw(sli: SLI, group_by: tuple[str, ...], window: int) -> str:
    """Error ratio over a window shorter than the base, straight from the raw counters."""
    if isinstance(sli, RatioQuerySLI):
        return _ratio_query(sli, window)
    total = total_rate(sli, group_by, window)
    return f"{error_rate(sli, group_by, window)} / ({total} > 0)"


def without_window(expr: str, window_label: str) -> str:
    """Drop the window label so series of different windows can be compared and combined."""
    return f"max without ({window_label}) ({expr})"


def burn_rate(ratio_expr: str, budget: Decimal) -> str:
    return f"{ratio_expr} / {format_number(budget)}"


def budget_remaining(identity: dict[str, str]) -> str:
    """1 - period burn rate; a period without any traffic has spent nothing, so it is 1."""
    keys = ", ".join(identity)
    return (f"(1 - {series(PERIOD_BURN, identity)}) "
            f"or on ({keys}) (0 * {series(OBJECTIVE, identity)} + 1)")


def constant(value: Decimal | int) -> str:
    return f"vector({format_number(value)})"


def pair_condition(long: int, short: int, threshold: Decimal, identity: dict[str, str],
                   window_label: str) -> str:
    """Both windows at or above the threshold (``>=`` stated and tested: on the line fires)."""
    t = format_number(threshold)
    return (f"{series(error_ratio_name(long), identity)} >= {t} "
            f"and ignoring ({window_label}) {series(error_ratio_name(short), identity)} >= {t}")


def window_condition(window: int, threshold: Decimal, identity: dict[str, str]) -> str:
    """One window at or above the threshold: a single-window tier (the fast page's)."""
    return f"{series(error_ratio_name(window), identity)} >= {format_number(threshold)}"


def events_guard(min_events: int, window: int, identity: dict[str, str],
                 window_label: str) -> str:
    """At least ``min_events`` events in the window, estimated from the recorded 5m request
    rate (its mean over the window times the window's length): a few requests at night, most
    of them failing, are a ratio far above any threshold but too few to wake anyone."""
    w = format_duration(window)
    return (f" and ignoring ({window_label}) "
            f"avg_over_time({series(TOTAL_RATE, identity)}[{w}]) * {window} >= {min_events}")


def traffic_guard(min_rate: Decimal, identity: dict[str, str], window_label: str) -> str:
    return (f" and ignoring ({window_label}) "
            f"{series(TOTAL_RATE, identity)} >= {format_number(min_rate)}")


def absent_data(sli: SLI) -> str:
    """Fires when the SLI's total events (or, for a raw ratio, the ratio) have no data."""
    if isinstance(sli, EventsSLI | GoodEventsSLI):
        return f"absent({sli.total.render()})"
    if isinstance(sli, LatencySLI):
        return f"absent({sli.histogram.with_suffix('_count')})"
    if isinstance(sli, QuerySLI):
        return f"absent({sli.total_at(format_duration(BASE_WINDOW))})"
    return f"absent({sli.at(format_duration(BASE_WINDOW))})"

