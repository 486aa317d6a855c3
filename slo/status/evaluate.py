"""The figures of every SLO at one instant, each with the reason when it cannot be given.

All queries of one run are evaluated at the same ``time=``, so the figures are one consistent
picture (and equal, to the last bit, to the same series queried directly at that instant).
Burn rates per window are the recorded error ratios divided by the budget, which is how the
rules define them (:func:`slo.rules.promql.burn_rate`); the budget figures are the recorded
``slo:period_burn_rate:ratio`` (used) and ``slo:period_error_budget_remaining:ratio``.

A figure that is missing says why instead of reading 0 or NaN:

- no ``slo:objective:ratio`` at all: the rules are not loaded;
- no ``slo:sli_total:rate5m``: the SLI's counters have no samples yet (no traffic yet);
- a window's ratio missing while traffic exists: no requests in that window (a ratio of
  nothing is not recorded);
- the period's ratio missing on a stepped period: its step group has not run yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from slo.model.durations import format_duration
from slo.model.naming import Naming
from slo.model.windows import BASE_WINDOW
from slo.rules.plan import PERIOD_STEP
from slo.status.api import AMAlert, PromAlert, PrometheusAPI, Sample
from slo.status.targets import Query, Target

GroupKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Figure:
    """A number, or why there is none."""

    value: float | None
    reason: str | None = None

    @staticmethod
    def of(value: float | None, reason: str) -> Figure:
        return Figure(value, None) if value is not None else Figure(None, reason)


@dataclass(frozen=True)
class AlertView:
    name: str
    state: str  # firing / pending (from Prometheus), or firing when only Alertmanager has it
    severity: str
    page: bool
    delivery: str | None = None  # Alertmanager: active / silenced / inhibited / not received
    labels: tuple[tuple[str, str], ...] = ()
    tier: str = ""  # the burn-rate tier (slo_tier), "" for other alerts

    @property
    def title(self) -> str:
        """The alert as a person names it: a burn-rate alert's tier tells its pair."""
        return f"{self.name}[{self.tier}]" if self.tier else self.name


@dataclass(frozen=True)
class SLOStatus:
    target: Target
    group: GroupKey
    sli_5m: Figure
    sli_period: Figure
    budget_used: Figure
    budget_remaining: Figure
    time_left: Figure  # seconds until the budget is spent at the 5m burn rate
    burn_rate: Figure  # over 5m
    burn_rates: tuple[tuple[int, Figure], ...]  # each alert window
    alerts: tuple[AlertView, ...] = field(default=())

    @property
    def name(self) -> str:
        if not self.group:
            return self.target.key
        return self.target.key + "{" + ",".join(f"{k}={v}" for k, v in self.group) + "}"

    @property
    def pages_firing(self) -> int:
        return sum(1 for a in self.alerts if a.page and a.state == "firing")

    def fields(self) -> dict[str, Figure]:
        """Every figure ``--fail-if`` can test, by its name there."""
        out = {
            "budget_remaining": self.budget_remaining,
            "budget_used": self.budget_used,
            "burn_rate": self.burn_rate,
            "sli_5m": self.sli_5m,
            "sli_period": self.sli_period,
            "pages_firing": Figure(float(self.pages_firing)),
        }
        for window, fig in self.burn_rates:
            out[f"burn_rate_{format_duration(window)}"] = fig
        return out


@dataclass(frozen=True)
class Snapshot:
    """Everything one ``slo-gen status`` run saw."""

    at: float
    prometheus: str
    rows: tuple[SLOStatus, ...]
    queries: tuple[Query, ...]
    alertmanager: str | None = None


def _group_labels(target: Target, labels: dict[str, str]) -> GroupKey:
    return tuple((k, labels.get(k, "")) for k in target.slo.group_by)


def _by_group(target: Target, samples: Iterable[Sample]) -> dict[GroupKey, float]:
    return {_group_labels(target, s.labels): s.value for s in samples}


def evaluate(api: PrometheusAPI, targets: list[Target], at: float,
             alertmanager: list[AMAlert] | None = None,
             alerts_api: PrometheusAPI | None = None) -> Snapshot:
    alerts = (alerts_api or api).alerts()
    rows: list[SLOStatus] = []
    queries: list[Query] = []
    for target in targets:
        asked = target.queries()
        queries += asked
        answers = {q.expr: api.query(q.expr, at) for q in asked}
        rows += _rows(target, answers, alerts, alertmanager)
    return Snapshot(at, api.base, tuple(rows), tuple(queries))


def _rows(target: Target, answers: dict[str, list[Sample]], alerts: list[PromAlert],
          am: list[AMAlert] | None) -> list[SLOStatus]:
    def series(expr: str) -> dict[GroupKey, float]:
        return _by_group(target, answers.get(expr, []))

    loaded = bool(answers[target.objective_series])
    total = series(target.total_rate)
    windows = {w: series(target.ratio(w)) for w in
               {BASE_WINDOW, target.slo.period, *target.alert_windows}}
    used, remaining = series(target.budget_used), series(target.budget_remaining)
    current = series(target.current_burn)
    steps_expr = target.step_sums()
    stepped_ran = bool(answers.get(steps_expr, [])) if steps_expr else True
    groups = sorted({*total, *used, *remaining, *(g for w in windows.values() for g in w)})
    if not groups:
        groups = [tuple((k, "") for k in target.slo.group_by)] if target.slo.group_by else [()]
    budget = float(target.budget)
    out = []
    for g in groups:
        def why(window: int, g: GroupKey = g) -> str:
            if not loaded:
                return (f"rules not loaded: no {target.objective_series} (add the rendered "
                        "rule file to Prometheus' rule_files)")
            if g not in total:
                return ("no traffic yet: the SLI's counters have no samples "
                        f"({target.total_rate} is absent)")
            if window == target.slo.period and not stepped_ran:
                return (f"the period step has not been evaluated yet (group "
                        f"slo-{target.service}-{target.slo.name}-period has recorded no step "
                        f"sums; it runs once a step, {format_duration(PERIOD_STEP)} unless "
                        "rendered with another --period-step)")
            return f"no requests in the last {format_duration(window)}"

        ratio_5m = windows[BASE_WINDOW].get(g)
        ratio_period = windows[target.slo.period].get(g)
        burn = current.get(g)
        left = remaining.get(g)
        out.append(SLOStatus(
            target, g,
            sli_5m=Figure.of(None if ratio_5m is None else 1 - ratio_5m, why(BASE_WINDOW)),
            sli_period=Figure.of(None if ratio_period is None else 1 - ratio_period,
                                 why(target.slo.period)),
            budget_used=Figure.of(used.get(g), why(target.slo.period)),
            budget_remaining=Figure.of(left, why(target.slo.period)),
            time_left=_time_left(left, burn, target.slo.period, why(BASE_WINDOW)),
            burn_rate=Figure.of(burn, why(BASE_WINDOW)),
            burn_rates=tuple(
                (w, Figure.of(None if windows[w].get(g) is None else windows[w][g] / budget,
                              why(w)))
                for w in target.alert_windows),
            alerts=tuple(_alerts(target, g, alerts, am)),
        ))
    return out


def _time_left(remaining: float | None, burn: float | None, period: int, reason: str
               ) -> Figure:
    """Seconds until the remaining budget is spent at the 5m burn rate (a burn rate of 1
    spends the whole budget in one period); None (never) while nothing burns."""
    if remaining is None:
        return Figure(None, "the budget remaining is unknown")
    if remaining <= 0:
        return Figure(0.0)
    if burn is None:
        return Figure(None, reason)
    if burn <= 0:
        return Figure(None, "never at the current burn rate (no errors in the last 5m)")
    return Figure(remaining * period / burn)


def _matches(target: Target, group: GroupKey, labels: dict[str, str]) -> bool:
    naming: Naming = target.naming
    mine = (labels.get(naming.service) == target.service
            and labels.get(naming.slo) == target.slo.name)
    if not mine and labels.get("alertname") not in target.extra_alerts:
        return False
    return all(labels.get(k, v) == v for k, v in group if v)


def _is_page(target: Target, labels: dict[str, str]) -> bool:
    severity = labels.get(target.naming.severity or "severity") or labels.get("severity")
    return (labels.get("alertname") in target.page_alerts or severity == "page"
            or labels.get(target.naming.tier, "").startswith("page"))


def _alerts(target: Target, group: GroupKey, alerts: list[PromAlert],
            am: list[AMAlert] | None) -> list[AlertView]:
    out = []
    seen: list[dict[str, str]] = []
    for a in alerts:
        if not _matches(target, group, a.labels):
            continue
        delivery = None
        if am is not None:
            found = [m for m in am if a.labels.items() <= m.labels.items()]
            delivery = found[0].delivery if found else (
                "not received" if a.state == "firing" else None)
            seen += [m.labels for m in found]
        out.append(_view(target, a.labels, a.state, delivery))
    for m in am or []:
        if m.labels not in seen and _matches(target, group, m.labels):
            out.append(_view(target, m.labels, "firing", m.delivery))
    return sorted(out, key=lambda v: (v.state != "firing", not v.page, v.title, v.labels))


def _view(target: Target, labels: dict[str, str], state: str, delivery: str | None
          ) -> AlertView:
    severity = labels.get(target.naming.severity or "severity") or labels.get("severity", "")
    return AlertView(labels.get("alertname", "?"), state, severity, _is_page(target, labels),
                     delivery, tuple(sorted(labels.items())), labels.get(target.naming.tier, ""))
