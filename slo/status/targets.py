"""What to ask Prometheus about each SLO: the recorded series its rules write, by name.

Names and selectors come from the rule stage (:mod:`slo.rules.promql`), windows and thresholds
from the SLO's plan (:mod:`slo.rules.plan`) and the label names from the naming in use
(:mod:`slo.model.naming`), so status reads exactly what ``slo-gen render`` recorded, under
slo-gen's names or Sloth's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from slo.model.durations import format_duration
from slo.model.naming import Naming
from slo.model.selectors import quote
from slo.model.spec import SLO, ServiceSpec
from slo.model.windows import BASE_WINDOW
from slo.rules import promql
from slo.rules.plan import PERIOD_STEP, Pair, Plan, plan


@dataclass(frozen=True)
class Query:
    """One PromQL query and what its answer is used for (both shown on the status page)."""

    purpose: str
    expr: str


@dataclass(frozen=True)
class Tier:
    """One burn-rate alert tier: its windows and the error ratio at which it fires."""

    name: str  # the alert's tier label, e.g. page-1h
    severity: str
    long: int
    short: int  # == long for a single-window tier
    factor: Decimal
    threshold: Decimal  # error ratio, compared with >=

    @property
    def windows(self) -> str:
        if self.short == self.long:
            return format_duration(self.long)
        return f"{format_duration(self.long)}/{format_duration(self.short)}"


@dataclass(frozen=True)
class Target:
    """One SLO as status sees it: its spec, plan and the series that describe it."""

    service: str
    slo: SLO
    plan: Plan
    naming: Naming

    @property
    def key(self) -> str:
        return f"{self.service}/{self.slo.name}"

    @property
    def identity(self) -> dict[str, str]:
        return self.naming.identity(self.service, self.slo.name)

    @property
    def budget(self) -> Decimal:
        return self.slo.error_budget

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return tuple(_tier(p) for p in (*self.plan.page, *self.plan.ticket))

    @property
    def alert_windows(self) -> tuple[int, ...]:
        """Every window a burn-rate pair reads, ascending: one ``burn_rate_<w>`` each."""
        return tuple(sorted({w for t in self.tiers for w in (t.long, t.short)}))

    @property
    def page_alerts(self) -> frozenset[str]:
        return frozenset({self.slo.alerting.page.name})

    @property
    def extra_alerts(self) -> frozenset[str]:
        """The spec's own alerts (the runbook's): they carry no SLO labels, so go by name."""
        return frozenset(a.alert for a in self.slo.alerts)

    def select(self, name: str) -> str:
        return promql.series(name, self.identity)

    def ratio(self, window: int) -> str:
        return self.select(promql.error_ratio_name(window))

    @property
    def objective_series(self) -> str:
        return self.select(promql.OBJECTIVE)

    @property
    def total_rate(self) -> str:
        return self.select(promql.TOTAL_RATE)

    @property
    def budget_used(self) -> str:
        return self.select(promql.PERIOD_BURN)

    @property
    def budget_remaining(self) -> str:
        return self.select(promql.BUDGET_REMAINING)

    @property
    def current_burn(self) -> str:
        return self.select(promql.CURRENT_BURN)

    def step_sums(self) -> str | None:
        """Any step sum of the total rate (whatever ``--period-step`` rendered it with)."""
        if self.plan.period_step is None:
            return None
        inner = ",".join(f"{k}={quote(v)}" for k, v in self.identity.items())
        return f'{{__name__=~"{promql.TOTAL_RATE}_sum.+",{inner}}}'

    def burn_rate(self, window: int) -> str:
        """The burn rate over ``window`` as the rules define it: the error ratio / budget."""
        return promql.burn_rate(self.ratio(window), self.budget)

    def queries(self) -> list[Query]:
        """Every instant query status sends for this SLO, in the order the figures appear."""
        out = [
            Query("rules loaded (the objective)", self.objective_series),
            Query("traffic (requests/s over 5m)", self.total_rate),
            Query("SLI over 5m: 1 - error ratio", self.ratio(BASE_WINDOW)),
            Query(f"SLI over the period ({format_duration(self.slo.period)}): 1 - error ratio",
                  self.ratio(self.slo.period)),
            Query("error budget used (period burn rate)", self.budget_used),
            Query("error budget remaining", self.budget_remaining),
            Query("burn rate over 5m", self.current_burn),
        ]
        out += [Query(f"error ratio over {format_duration(w)} (burn rate = ratio / "
                      f"{self.budget})", self.ratio(w))
                for w in self.alert_windows if w != BASE_WINDOW]
        steps = self.step_sums()
        if steps:
            out.append(Query("the period's step sums exist", steps))
        return out


def _tier(p: Pair) -> Tier:
    w = p.window
    return Tier(w.tier, w.severity, w.long, w.short, w.factor, p.threshold)


def targets(specs: list[ServiceSpec], naming: Naming, step: int = PERIOD_STEP) -> list[Target]:
    return [Target(spec.service, slo, plan(slo, step), naming)
            for spec in specs for slo in spec.slos]
