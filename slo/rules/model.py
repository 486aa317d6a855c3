"""Rules as typed data: what the rule builder produces and every later stage reads.

Recording rules, alerts and groups are frozen dataclasses built once per service
(:func:`slo.rules.build.build_service`); the test generator, the dashboard, the duplicate check
and each output format read these objects, and only the output edge turns them into the
mappings of a rule file (:meth:`Group.as_dict`). Labels and annotations are tuples of pairs in
output order, so a rule is hashable and its rendering deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from slo.model.durations import format_duration
from slo.model.spec import SLO, ServiceSpec
from slo.rules.plan import Pair, Plan

Labels = tuple[tuple[str, str], ...]
AlertKind = Literal["page", "ticket", "absent", "extra"]
Mapping = dict[str, object]  # one rule or group as YAML will hold it (the output edge only)


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    labels: Labels = ()

    @property
    def name(self) -> str:
        return self.record

    def as_dict(self) -> Mapping:
        rule: Mapping = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str
    labels: Labels
    annotations: Labels
    for_: int = 0  # seconds
    kind: AlertKind = "extra"
    pairs: tuple[Pair, ...] = ()  # the burn-rate pairs a page or ticket alert fires on

    @property
    def name(self) -> str:
        return self.alert

    def as_dict(self) -> Mapping:
        rule: Mapping = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            rule["for"] = format_duration(self.for_)
        if self.labels:
            rule["labels"] = dict(self.labels)
        if self.annotations:
            rule["annotations"] = dict(self.annotations)
        return rule


Rule = Recording | Alert


@dataclass(frozen=True)
class Group:
    name: str
    rules: tuple[Rule, ...]
    interval: int | None = None  # seconds; None: the engine's global evaluation interval

    def as_dict(self, **extra: object) -> Mapping:
        """The group as a rule file holds it; ``extra`` keys (Thanos' partial response) go
        right after the name."""
        group: Mapping = {"name": self.name, **extra}
        if self.interval is not None:
            group["interval"] = format_duration(self.interval)
        group["rules"] = [r.as_dict() for r in self.rules]
        return group


@dataclass(frozen=True)
class SLORules:
    """One SLO's plan and rule groups: its main group first, then its period-step group."""

    spec: ServiceSpec
    slo: SLO
    index: int  # position in ``spec.slos``, for messages that point into the spec
    plan: Plan
    identity: Labels  # the labels that tell this SLO's series from every other's
    static: Labels  # identity plus the spec's and the SLO's own labels
    groups: tuple[Group, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(r for r in self.groups[0].rules if isinstance(r, Alert))

    def alert(self, kind: AlertKind) -> Alert | None:
        return next((a for a in self.alerts if a.kind == kind), None)

    @property
    def recordings(self) -> tuple[Recording, ...]:
        return tuple(r for g in self.groups for r in g.rules if isinstance(r, Recording))


@dataclass(frozen=True)
class ServiceRules:
    """Every SLO of one service (from one or more spec files), in spec order."""

    service: str
    specs: tuple[ServiceSpec, ...]
    slos: tuple[SLORules, ...] = field(default=())

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(g for s in self.slos for g in s.groups)
