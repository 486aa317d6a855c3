"""OpenSLO v1 alert policies, their conditions and notification targets, as burn-rate tiers.

- ``AlertCondition`` of ``kind: burnrate`` (the default) with ``op: gte``: ``threshold`` is the
  burn factor, ``lookbackWindow`` the long window, the short window is a twelfth of it (the SRE
  workbook's ratio), ``alertAfter`` (default ``0m``) the alert's ``for``, and ``severity``
  ``page`` or ``ticket``.
- ``notificationTargets`` (inline or ``targetRef``): OpenSLO leaves delivery to the consumer.
  Each tier of the policy's conditions carries the ``notification_targets`` annotation (the
  targets' names, as written), so every notification says where it was meant to go; and a
  :class:`Delivery` per severity tells :mod:`.openslo` which receiver ``slo-gen alertmanager``
  should route that severity of the service to (a target's name, where one target serves it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from slo.model import burnrate
from slo.model.durations import format_duration
from slo.model.spec import Alerting, AlertRoute, BurnWindow, error_budget
from slo.readers.common import (
    DEFAULT_ABSENT_FOR,
    burn_windows,
    camel,
    check_factors,
    for_duration,
    never_firing_defaults,
)
from slo.readers.fields import Fields, join
from slo.readers.openslo_objects import (
    OBJECT_NAME,
    OBJECT_NAME_WHAT,
    Catalog,
    object_labels,
    where,
)

SEVERITIES = ("page", "ticket")
SHORT_WINDOW_DIVISOR = 12  # the workbook's 1h/5m, 6h/30m, 1d/2h, 3d/6h
ANY_PERIOD = 10 * 366 * 86400  # a condition checked alone: any lookback fits
TARGETS_ANNOTATION = "notification_targets"


@dataclass(frozen=True)
class Delivery:
    """Where one policy's alerts of one severity should go, and where the policy said it."""

    severity: str
    targets: tuple[str, ...]
    where: str  # "SLO x: spec.alertPolicies[0].spec.notificationTargets"


def read_alerting(f: Fields, value: Any, path: str, catalog: Catalog, base: str,
                  objective: Decimal, period: int, deliveries: list[Delivery]
                  ) -> Alerting | None:
    """The SLO's alerts from its policies; ``deliveries`` gets where each policy's alerts
    should go (its severities and targets)."""
    budget = error_budget(objective)
    absent_for = for_duration(f, DEFAULT_ABSENT_FOR, path) or 0
    routes = {s: AlertRoute(f"{base}ErrorBudgetBurn{camel(s)}", (("severity", s),))
              for s in SEVERITIES}
    absent = AlertRoute(f"{base}SLIAbsent", (("severity", "ticket"),), (), absent_for)
    if value is None:
        defaults = burn_windows(f, None, path, budget, period)
        return None if defaults is None else Alerting(
            "", routes["page"], routes["ticket"], absent, defaults,
            omitted=never_firing_defaults(budget, period))
    policies = [p for i, item in enumerate(f.sequence(value, path) or [])
                if (p := read_policy(f, item, join(path, i), catalog)) is not None]
    windows: list[BurnWindow] = []
    waits: dict[str, tuple[int, str]] = {}
    labels: dict[str, dict[str, str]] = {s: {"severity": s} for s in SEVERITIES}
    for policy in policies:
        severities: list[str] = []
        for cf, cond, cpath in policy.conditions:
            got = read_condition(cf, cond, cpath, period)
            if got is None:
                continue
            window, wait = got
            if policy.targets:
                window = replace(window, annotations=(
                    (TARGETS_ANNOTATION, ", ".join(policy.targets)),))
            windows.append(window)
            severities.append(window.severity)
            labels[window.severity].update(policy.labels)
            first = waits.setdefault(window.severity, (wait, cpath))
            if first[0] != wait:
                cf.fail(join(cpath, "condition.alertAfter"), f"differs from {first[1]}: all "
                        f"{window.severity} conditions of an SLO share one alert and its 'for'")
        if policy.targets:
            deliveries += [Delivery(s, policy.targets, policy.where)
                           for s in dict.fromkeys(severities)]
    checked = check_factors(f, windows, path, budget)
    if checked is None:
        return None
    for s in SEVERITIES:
        routes[s] = AlertRoute(routes[s].name, tuple(sorted(labels[s].items())), (),
                               waits.get(s, (0, ""))[0])
    return Alerting("", routes["page"], routes["ticket"], absent, checked)


@dataclass
class Policy:
    """An alert policy's conditions (the Fields naming each one's problems, its mapping, its
    path), its labels, and the names of its notification targets (and where they are)."""

    conditions: list[tuple[Fields, dict[str, Any], str]]
    labels: dict[str, str]
    targets: tuple[str, ...]
    where: str


def read_policy(f: Fields, value: Any, path: str, catalog: Catalog) -> Policy | None:
    """An inline policy, or the ``AlertPolicy`` document an ``alertPolicyRef`` names (its
    problems are then reported once, at that document)."""
    if isinstance(value, dict) and "alertPolicyRef" in value:
        ref = f.mapping(value, path, required=("alertPolicyRef",))
        doc = catalog.get(f, "AlertPolicy", (ref or {}).get("alertPolicyRef"),
                          join(path, "alertPolicyRef"))
        if doc is None:
            return None
        pf, body, ppath = doc.fields, doc.body, ""
    else:
        inline = f.mapping(value, path, required=("metadata", "spec"),
                           optional=("apiVersion", "kind"))
        if inline is None:
            return None
        pf, body, ppath = f, inline, path
    meta = body["metadata"]
    labels = object_labels(pf, meta.get("labels") if isinstance(meta, dict) else None,
                           join(ppath, "metadata.labels"))
    sp = join(ppath, "spec")
    spec = pf.mapping(body["spec"], sp, required=("conditions",), optional=(
        "description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching",
        "notificationTargets"))
    if spec is None:
        return None
    if spec.get("alertWhenBreaching", True) is not True:
        pf.fail(join(sp, "alertWhenBreaching"), "must be true: a policy that never alerts on "
                "a burning budget maps to no rule")
    tpath = join(sp, "notificationTargets")
    targets = _targets(pf, spec["notificationTargets"], tpath, catalog) \
        if "notificationTargets" in spec else ()
    out = []
    for i, item in enumerate(pf.sequence(spec["conditions"], join(sp, "conditions")) or []):
        cpath = join(join(sp, "conditions"), i)
        if isinstance(item, dict) and "conditionRef" in item:
            ref = pf.mapping(item, cpath, required=("conditionRef",))
            doc = catalog.get(pf, "AlertCondition", (ref or {}).get("conditionRef"),
                              join(cpath, "conditionRef"))
            if doc is not None:
                out.append((doc.fields, doc.body["spec"], "spec"))
            continue
        inline = pf.mapping(item, cpath, required=("metadata", "spec"),
                            optional=("apiVersion", "kind"))
        if inline is not None:
            out.append((pf, inline["spec"], join(cpath, "spec")))
    return Policy(out, labels, targets or (), where(pf, tpath))


INLINE_TARGET = ("apiVersion", "kind", "metadata", "spec")


def _targets(f: Fields, value: Any, path: str, catalog: Catalog) -> tuple[str, ...] | None:
    """The names of a policy's notification targets, by ``targetRef`` or inline."""
    items = f.sequence(value, path)
    if items is None:
        return None
    if not items:
        f.fail(path, "must list at least one target (OpenSLO v1 requires one)")
        return None
    names: list[str] = []
    for i, item in enumerate(items):
        p = join(path, i)
        if isinstance(item, dict) and "targetRef" in item:
            if any(k in item for k in INLINE_TARGET):
                f.fail(p, "give either 'targetRef' or an inline AlertNotificationTarget "
                       "(kind, metadata, spec), not both")
                continue
            ref = f.mapping(item, p, required=("targetRef",))
            doc = catalog.get(f, "AlertNotificationTarget", (ref or {}).get("targetRef"),
                              join(p, "targetRef"))
            if doc is not None:
                names.append(doc.name)
            continue
        inline = f.mapping(item, p, required=("metadata", "spec"),
                           optional=("apiVersion", "kind"))
        if inline is None:
            continue
        if inline.get("kind", "AlertNotificationTarget") != "AlertNotificationTarget":
            f.fail(join(p, "kind"), f"{inline['kind']!r} must be AlertNotificationTarget")
        meta = f.mapping(inline["metadata"], join(p, "metadata"), required=("name",),
                         optional=("displayName", "labels", "annotations"))
        name = None if meta is None else f.string(
            meta["name"], join(p, "metadata.name"), OBJECT_NAME, OBJECT_NAME_WHAT)
        if target_spec(f, inline["spec"], join(p, "spec")) and name is not None:
            names.append(name)
    return tuple(dict.fromkeys(names))


def target_spec(f: Fields, value: Any, path: str) -> bool:
    """An AlertNotificationTarget's spec: ``target`` (what kind of target: email, slack, ...)
    is required; it names no Alertmanager integration, so it is only checked."""
    m = f.mapping(value, path, required=("target",), optional=("description",))
    if m is None:
        return False
    return f.text(m["target"], join(path, "target")) is not None


def read_condition(f: Fields, value: Any, path: str, period: int
                   ) -> tuple[BurnWindow, int] | None:
    """A condition as a burn window (page or ticket) and its alert's ``for``, in seconds."""
    m = f.mapping(value, path, required=("severity", "condition"), optional=("description",))
    if m is None:
        return None
    severity = m["severity"]
    if severity not in SEVERITIES:
        f.fail(join(path, "severity"), f"{severity!r} must be one of {', '.join(SEVERITIES)} "
               "(the page and the ticket alert)")
    p = join(path, "condition")
    c = f.mapping(m["condition"], p, required=("op", "threshold", "lookbackWindow"),
                  optional=("kind", "alertAfter"))
    if c is None:
        return None
    c = {"kind": "burnrate", "alertAfter": "0m", **c}  # OpenSLO's defaults
    if c["kind"] != "burnrate":
        f.fail(join(p, "kind"), f"{c['kind']!r} cannot map: only 'burnrate' conditions do")
    if c["op"] != "gte":
        f.fail(join(p, "op"), f"{c['op']!r} cannot map: burn-rate alerts fire when the burn "
               "rate is at or above the threshold ('gte')")
    factor = f.number(c["threshold"], join(p, "threshold"))
    if factor is not None and factor <= 0:
        f.fail(join(p, "threshold"), "must be a burn rate greater than zero")
        factor = None
    long = f.duration(c["lookbackWindow"], join(p, "lookbackWindow"))
    if long is not None and (long % SHORT_WINDOW_DIVISOR or long > period
                             or long // SHORT_WINDOW_DIVISOR < burnrate.MIN_WINDOW):
        shortest = format_duration(burnrate.MIN_WINDOW * SHORT_WINDOW_DIVISOR)
        f.fail(join(p, "lookbackWindow"), f"must fit in the time window, be at least {shortest} "
               f"and divide into {SHORT_WINDOW_DIVISOR} whole seconds (the short window is a "
               f"twelfth of it, at least {format_duration(burnrate.MIN_WINDOW)})")
        long = None
    wait = for_duration(f, c["alertAfter"], join(p, "alertAfter"))
    if severity not in SEVERITIES or factor is None or long is None or wait is None \
            or c["kind"] != "burnrate" or c["op"] != "gte":
        return None
    return BurnWindow(severity, long, long // SHORT_WINDOW_DIVISOR, factor), wait
