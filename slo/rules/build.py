"""Rule groups of every SLO, built once per service as typed data (:mod:`slo.rules.model`).

One group per SLO keeps every alert in the same evaluation as the recordings it reads, so an
alert never lags its inputs by an interval. The order inside a group is the data flow: 5m
counts, window ratios, metadata, the spec's extra series, then alerts. A long period's ratio
reads per-step sums of the 5m rates, recorded by a second group that runs once a step
(``interval:``), which is what makes a 30-day ratio cheap to evaluate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from slo.model.durations import format_duration
from slo.model.naming import NATIVE, Naming
from slo.model.numbers import format_number
from slo.model.placeholders import Placeholder, expand
from slo.model.spec import SLO, AlertRoute, ServiceSpec
from slo.model.windows import BASE_WINDOW
from slo.rules import promql
from slo.rules.model import Alert, Group, Labels, Recording, Rule, ServiceRules, SLORules
from slo.rules.plan import PERIOD_STEP, Pair, Plan, plan


def identity(service: str, slo: SLO, naming: Naming = NATIVE) -> dict[str, str]:
    """The labels that tell one SLO's series from every other's."""
    return naming.identity(service, slo.name)


def static_labels(spec: ServiceSpec, slo: SLO, naming: Naming = NATIVE) -> dict[str, str]:
    """Identity plus the spec's and the SLO's own labels: what every raw-reading rule adds."""
    return {**identity(spec.service, slo, naming), **dict(spec.labels), **dict(slo.labels)}


def escape_template(value: str) -> str:
    """Alert labels are Go templates; user text containing ``{{`` must stay literal."""
    return value.replace("{{", '{{ "{{" }}') if "{{" in value else value


def by_service(specs: list[ServiceSpec]) -> dict[str, list[ServiceSpec]]:
    """Specs grouped by service in order of first appearance: one output file per service."""
    out: dict[str, list[ServiceSpec]] = {}
    for spec in specs:
        out.setdefault(spec.service, []).append(spec)
    return out


def build_services(specs: list[ServiceSpec], naming: Naming = NATIVE,
                   step: int = PERIOD_STEP) -> list[ServiceRules]:
    """Every service's rules, in order of first appearance: the one place plans and groups are
    made; tests, dashboards and output formats all read what this returns."""
    return [ServiceRules(service, tuple(group),
                         tuple(build_slo(spec, i, naming, step) for spec in group
                               for i in range(len(spec.slos))))
            for service, group in by_service(specs).items()]


def build_slo(spec: ServiceSpec, index: int, naming: Naming = NATIVE,
              step: int = PERIOD_STEP) -> SLORules:
    """The SLO's group, then (for a long period) the group recording its per-step sums."""
    slo = spec.slos[index]
    p = plan(slo, step, naming.dashboard_windows)
    ident = identity(spec.service, slo, naming)
    static = static_labels(spec, slo, naming)
    rules: list[Rule] = []
    rules += sli_rules(p, ident, static, naming)
    rules += metadata_rules(p, ident, static, naming)
    rules += extra_series_rules(p, ident)
    rules += alert_rules(p, ident, static, naming)
    groups = [Group(group_name(spec.service, slo), tuple(rules))]
    if p.period_step is not None:
        groups.append(period_step_group(spec, slo, p.period_step, naming))
    return SLORules(spec, slo, index, p, tuple(ident.items()), tuple(static.items()),
                    tuple(groups))


def period_step_group(spec: ServiceSpec, slo: SLO, step: int,
                      naming: Naming = NATIVE) -> Group:
    ident = identity(spec.service, slo, naming)
    rules = tuple(_record(promql.step_sum_name(rate, step), promql.step_sum(rate, ident, step),
                          ident) for rate in (promql.ERRORS_RATE, promql.TOTAL_RATE))
    return Group(f"{group_name(spec.service, slo)}-period", rules, interval=step)


def group_name(service: str, slo: SLO) -> str:
    return f"slo-{service}-{slo.name}"


def sli_rules(p: Plan, ident: dict[str, str], static: dict[str, str],
              naming: Naming = NATIVE) -> list[Rule]:
    """Every recorded series names its SLO in its rule labels too: promtool's lint (rightly)
    calls two rules with the same name and labels duplicates, whatever their expressions."""
    slo = p.slo
    rules: list[Rule] = [
        _record(promql.ERRORS_RATE, promql.error_rate(slo.sli, slo.group_by), static),
        _record(promql.TOTAL_RATE, promql.total_rate(slo.sli, slo.group_by), static),
    ]
    for w in p.windows:
        window_label = {naming.window: format_duration(w)}
        if w < BASE_WINDOW:
            expr = promql.ratio_raw(slo.sli, slo.group_by, w)
            labels = {**static, **window_label}
        elif w == BASE_WINDOW:
            expr, labels = promql.ratio_from_base(ident), {**ident, **window_label}
        elif w == slo.period and p.period_step is not None:
            expr = promql.period_ratio(w, ident, p.period_step)
            labels = {**ident, **window_label}
        else:
            expr, labels = promql.ratio_over(w, ident), {**ident, **window_label}
        rules.append(_record(promql.error_ratio_name(w), expr, labels))
    return rules


def metadata_rules(p: Plan, ident: dict[str, str], static: dict[str, str],
                   naming: Naming = NATIVE) -> list[Rule]:
    """Objective, budget, period and burn rates under Sloth's names (its dashboards read them);
    with a naming that has an info series, also that series (``sloth_slo_info``)."""
    slo = p.slo
    days = Decimal(slo.period) / Decimal(86400)
    current = promql.without_window(promql.series(promql.error_ratio_name(BASE_WINDOW), ident),
                                    naming.window)
    period = promql.without_window(promql.series(promql.error_ratio_name(slo.period), ident),
                                   naming.window)
    info: list[Rule] = []
    if naming.info:
        info = [_record(naming.info, promql.constant(1),
                        {**static, **naming.info_labels(format_number(slo.objective))})]
    return [*info,
        _record(promql.OBJECTIVE, promql.constant(slo.objective_ratio), static),
        _record(promql.ERROR_BUDGET, promql.constant(slo.error_budget), static),
        _record(promql.PERIOD_DAYS, promql.constant(days), static),
        _record(promql.CURRENT_BURN, promql.burn_rate(current, p.budget), ident),
        _record(promql.PERIOD_BURN, promql.burn_rate(period, p.budget), ident),
        _record(promql.BUDGET_REMAINING, promql.budget_remaining(ident), ident),
    ]


def expand_placeholders(expr: str, p: Plan, ident: dict[str, str]) -> str:
    """Turn the spec's ``${...}`` into this SLO's recorded series."""

    def replace(ph: Placeholder) -> str:
        if ph.name == "error_budget":
            return format_number(p.budget)
        if ph.name == "objective":
            return format_number(p.slo.objective_ratio)
        window = p.slo.period if ph.is_period else ph.window
        assert window is not None
        ratio = promql.series(promql.error_ratio_name(window), ident)
        if ph.name == "error_ratio":
            return ratio
        return f"({promql.burn_rate(ratio, p.budget)})"

    return expand(expr, replace)


def extra_series_rules(p: Plan, ident: dict[str, str]) -> list[Rule]:
    return [_record(s.record, expand_placeholders(s.expr, p, ident), {}) for s in p.slo.series]


def alert_rules(p: Plan, ident: dict[str, str], static: dict[str, str],
                naming: Naming = NATIVE) -> list[Rule]:
    """One rule per tier (window pair), page tiers first: each carries its tier label and its
    own ``for``, so each can be delivered, inhibited and tested on its own; the tiers of one
    severity share the alert name, as one alert identity split by ``slo_tier``."""
    slo = p.slo
    rules: list[Rule] = []
    tiers: tuple[tuple[Literal["page", "ticket"], AlertRoute, tuple[Pair, ...]], ...] = (
        ("page", slo.alerting.page, p.page), ("ticket", slo.alerting.ticket, p.ticket))
    for severity, route, pairs in tiers:
        labels = {**static, naming.severity: severity} if naming.severity else static
        for pair in pairs:
            tier = pair.window
            rules.append(Alert(
                route.name, burn_alert_expr(p, pair, ident, naming.window),
                _escaped({**labels, **dict(route.labels), naming.tier: tier.tier,
                          **dict(tier.labels)}),
                _pairs(burn_annotations(p, route, pair)),
                route.for_ if tier.for_ is None else tier.for_, severity, (pair,)))
    rules.append(_alert(slo.alerting.absent, promql.absent_data(slo.sli), static,
                        absent_annotations(p), "absent"))
    # The spec's extra alerts carry the SLO's labels too (identity, spec and SLO labels), so
    # Alertmanager groups, routes and inhibits them with the SLO's burn-rate alerts: one
    # notification per SLO and receiver, whatever alert of it fires first.
    for extra in slo.alerts:
        # the alert's own runbook (a dependency's) wins over the SLO's
        annotations = {"runbook_url": slo.alerting.runbook_url, **dict(extra.annotations)}
        annotations = {k: annotations[k] for k in sorted(annotations, key=_annotation_order)}
        rules.append(Alert(extra.alert, expand_placeholders(extra.expr, p, ident),
                           _escaped({**static, **dict(extra.labels)}),
                           _pairs(_drop_empty(annotations)),
                           extra.for_))
    return rules


def burn_alert_expr(p: Plan, pair: Pair, ident: dict[str, str],
                    window_label: str = NATIVE.window) -> str:
    """The tier's windows at or above its threshold, then its guards (``min_events`` in the
    long window, the spec's ``min_request_rate``)."""
    w = pair.window
    if w.single:
        expr = promql.without_window(promql.window_condition(w.long, pair.threshold, ident),
                                     window_label)
    else:
        expr = promql.without_window(
            promql.pair_condition(w.long, w.short, pair.threshold, ident, window_label),
            window_label)
    if w.min_events:
        expr += promql.events_guard(w.min_events, w.long, ident, window_label)
    if p.slo.alerting.min_request_rate > 0:
        expr += promql.traffic_guard(p.slo.alerting.min_request_rate, ident, window_label)
    return expr


def describe_pair(pair: Pair) -> str:
    w = pair.window
    windows = (f"the {format_duration(w.long)} window held" if w.single else
               f"both the {format_duration(w.long)} and {format_duration(w.short)} windows")
    return (f"{windows} at {format_number(w.factor)}x the budget "
            f"(error ratio >= {_percent(pair.threshold)})")


def _percent(ratio: Decimal) -> str:
    return f"{format_number(ratio * 100)}%"


def burn_annotations(p: Plan, route: AlertRoute, pair: Pair) -> dict[str, str]:
    slo = p.slo
    w = pair.window
    what = "fast" if route is slo.alerting.page else "slowly"
    held = (f" for {format_duration(w.for_ if w.for_ is not None else route.for_)}"
            if w.single else "")
    defaults = {
        "summary": f"{slo.name}: error budget burning {what} "
                   f"(objective {format_number(slo.objective)}% over "
                   f"{format_duration(slo.period)}, tier {w.tier})",
        "description": f"Error ratio over {format_duration(w.long)} is "
                       "{{ $value | humanizePercentage }}. "
                       f"Tier {w.tier} fires on {describe_pair(pair)}{held}; "
                       f"the budget is {_percent(p.budget)}.",
        "runbook_url": slo.alerting.runbook_url,
    }
    return _drop_empty({**defaults, **dict(route.annotations), **dict(w.annotations)})


def absent_annotations(p: Plan) -> dict[str, str]:
    slo = p.slo
    defaults = {
        "summary": f"{slo.name}: SLI data is missing",
        "description": "No samples of the SLI's total-events counter: the SLO cannot be "
                       "measured and its burn-rate alerts cannot fire.",
        "runbook_url": slo.alerting.runbook_url,
    }
    return _drop_empty({**defaults, **dict(slo.alerting.absent.annotations)})


def _annotation_order(key: str) -> tuple[int, str]:
    order = {"summary": 0, "description": 1, "runbook_url": 3}
    return order.get(key, 2), key


def _record(name: str, expr: str, labels: dict[str, str]) -> Recording:
    return Recording(name, expr, _pairs(labels))


def _alert(route: AlertRoute, expr: str, static: dict[str, str], annotations: dict[str, str],
           kind: Literal["page", "ticket", "absent"], pairs: tuple[Pair, ...] = ()) -> Alert:
    return Alert(route.name, expr, _escaped({**static, **dict(route.labels)}),
                 _pairs(annotations), route.for_, kind, pairs)


def _escaped(labels: dict[str, str]) -> Labels:
    return tuple((k, escape_template(v)) for k, v in labels.items())


def _pairs(d: dict[str, str]) -> Labels:
    return tuple(d.items())


def _drop_empty(d: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in d.items() if v}
