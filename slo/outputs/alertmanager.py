"""An Alertmanager configuration from the built rules, and the tests that prove it routes and
inhibits as intended.

Built as typed data first (:class:`AlertmanagerConfig`), laid out as YAML only at the end:

- **route tree**: one route per service, matched on the names of the alerts its rules emit
  (dependency alerts aggregate their labels away, so a service label cannot find them all),
  grouped by the SLO's identity labels alone (the spec's extra alerts carry them too), so one
  incident is one notification per receiver, later changes updates of it; under it one route
  per ``severity``
  value to that severity's receiver, with its timings. Alerts of other systems fall through to
  the root receiver.
- **inhibit_rules**, per SLO with ``equal`` on its identity labels (and ``group_by``
  dimensions), whatever the naming: a firing page tier inhibits the SLO's ticket tiers; a
  faster page tier (higher factor; on a tie, the shorter window) inhibits the slower ones;
  per service, the runbook's P1 (``priority: P1``) inhibits its ``severity: warning`` alerts;
  then the spec's own inhibitions.
- **tests**: for every alert the rules can emit (with the labels it carries when it fires), the
  receiver it must reach; for every inhibition, a case where it holds next to a target it must
  leave alone (another SLO, another value of an ``equal`` label), and a case where its source
  resolves. Expectations come from the typed matchers (:meth:`Matcher.matches`), evaluated
  over every rule, so the real Alertmanager is checked against what the generator meant.

Receivers only get a webhook URL: ``--webhook-url`` (``{receiver}`` is replaced by the
receiver's name) or a loopback placeholder that reaches nothing. No key, token or password is
ever rendered; a URL carrying a password is refused.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import PurePath
from urllib.parse import urlsplit

from slo.errors import UserError
from slo.model.alertmanager import (
    DEFAULT_RECEIVER,
    PAGE_TIMINGS,
    AlertmanagerSpec,
    Inhibition,
    Matcher,
    Timings,
    one_of,
)
from slo.model.durations import format_duration
from slo.model.naming import Naming
from slo.outputs.formats import sources
from slo.outputs.templates import render_template
from slo.outputs.writer import Rendered
from slo.outputs.yamldump import to_yaml
from slo.rules import promql
from slo.rules.model import Alert, ServiceRules, SLORules
from slo.testgen.scenarios import infer_labels

PLACEHOLDER_URL = "http://127.0.0.1:9/slo-gen-placeholder/{receiver}"
ROOT_RECEIVER = DEFAULT_RECEIVER
P1 = ("priority", "P1")
WARNING = "warning"
Labels = tuple[tuple[str, str], ...]
Mapping = dict[str, object]


@dataclass(frozen=True)
class Route:
    matchers: tuple[Matcher, ...]
    receiver: str
    group_by: tuple[str, ...] = ()
    timings: Timings | None = None
    routes: tuple[Route, ...] = ()

    def as_dict(self) -> Mapping:
        out: Mapping = {"receiver": self.receiver}
        if self.matchers:
            out["matchers"] = [m.render() for m in self.matchers]
        if self.group_by:
            out["group_by"] = list(self.group_by)
        if self.timings is not None:
            out["group_wait"] = format_duration(self.timings.group_wait)
            out["group_interval"] = format_duration(self.timings.group_interval)
            out["repeat_interval"] = format_duration(self.timings.repeat_interval)
        if self.routes:
            out["routes"] = [r.as_dict() for r in self.routes]
        return out

    def receiver_for(self, labels: dict[str, str]) -> str | None:
        """The receiver Alertmanager picks (first matching child, depth first), or None when
        this route does not match."""
        if not all(m.matches(labels) for m in self.matchers):
            return None
        for child in self.routes:
            got = child.receiver_for(labels)
            if got is not None:
                return got
        return self.receiver


def inhibition_dict(rule: Inhibition) -> Mapping:
    out: Mapping = {"source_matchers": [m.render() for m in rule.source],
                    "target_matchers": [m.render() for m in rule.target]}
    if rule.equal:
        out["equal"] = list(rule.equal)
    return out


def inhibits(rule: Inhibition, source: dict[str, str], target: dict[str, str]) -> bool:
    """Alertmanager's rule: the source matches, the target matches, the ``equal`` labels have
    the same value on both (a label missing on both is equal); an alert never inhibits itself,
    and when the target matches the source side too, a source that matches the target side
    does not count (so two alerts of one rule cannot inhibit each other)."""
    if source == target or not all(m.matches(target) for m in rule.target):
        return False
    if not all(m.matches(source) for m in rule.source):
        return False
    if all(m.matches(target) for m in rule.source) and all(m.matches(source)
                                                            for m in rule.target):
        return False
    return all(source.get(lb, "") == target.get(lb, "") for lb in rule.equal)


def inhibitors(rules: tuple[Inhibition, ...], firing: list[dict[str, str]],
               target: dict[str, str]) -> tuple[int, ...]:
    """Which of the ``firing`` alerts Alertmanager may name in ``target``'s ``inhibitedBy``:
    it takes the first rule (in order) that inhibits the target, and any source of it."""
    for rule in rules:
        found = tuple(i for i, src in enumerate(firing) if src and inhibits(rule, src, target))
        if found:
            return found
    return ()


@dataclass(frozen=True)
class EmittedAlert:
    """An alert the rules can emit, with the labels it carries when it fires."""

    what: str  # e.g. "requests-availability page tier page-1h"
    labels: Labels
    kind: str = "extra"  # page, ticket, absent or extra (slo.rules.model.AlertKind)

    @property
    def as_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class CaseAlert:
    """One alert a case posts, and which of the case's alerts (by index) Alertmanager may name
    as what inhibits it: while every alert fires, and after the case's source resolved."""

    what: str
    labels: Labels
    inhibited_by: tuple[int, ...]
    after_resolve: tuple[int, ...] = ()


@dataclass(frozen=True)
class InhibitionCase:
    name: str
    rule: int  # index in inhibit_rules
    alerts: tuple[CaseAlert, ...]  # the first is the rule's source
    resolve_source: bool = False  # then the source resolves


@dataclass(frozen=True)
class AlertmanagerConfig:
    root: Route
    inhibitions: tuple[Inhibition, ...]
    receivers: tuple[str, ...]
    alerts: tuple[EmittedAlert, ...]
    foreign: EmittedAlert  # an alert of another system: it reaches the root receiver
    cases: tuple[InhibitionCase, ...] = field(default=())
    sources: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# building


def build_config(services: list[ServiceRules], naming: Naming) -> AlertmanagerConfig:
    routes: list[Route] = []
    rules: list[Inhibition] = []
    alerts: list[EmittedAlert] = []
    for svc in services:
        spec = delivery(svc)
        emitted = [e for sr in svc.slos for e in emitted_alerts(sr, naming)]
        alerts += emitted
        routes.append(service_route(svc, spec, emitted, naming))
        for sr in svc.slos:
            rules += slo_inhibitions(sr, naming)
        rules += p1_inhibitions(svc, emitted, naming)
        rules += spec.inhibitions
    root = Route((), ROOT_RECEIVER, ("alertname",), PAGE_TIMINGS, tuple(routes))
    names = [ROOT_RECEIVER]
    _receivers(root, names)
    foreign = EmittedAlert("an alert of another system",
                           (("alertname", "SomeOtherSystemDown"), ("severity", "page")))
    config = AlertmanagerConfig(root, tuple(rules), tuple(dict.fromkeys(names)), tuple(alerts),
                                foreign,
                                sources=tuple(sources(tuple(s for v in services
                                                            for s in v.specs))))
    return replace(config, cases=tuple(inhibition_cases(config, naming)))


def _receivers(route: Route, out: list[str]) -> None:
    out.append(route.receiver)
    for child in route.routes:
        _receivers(child, out)


def delivery(svc: ServiceRules) -> AlertmanagerSpec:
    """The service's ``alertmanager:`` block; two files of one service may not disagree."""
    blocks = {s.alertmanager: s.source for s in svc.specs if s.alertmanager != AlertmanagerSpec()}
    if len(blocks) > 1:
        raise UserError(f"service {svc.service!r}: the alertmanager blocks of "
                        f"{' and '.join(blocks.values())} differ; keep one")
    return next(iter(blocks), AlertmanagerSpec())


def _known_labels(sr: SLORules, naming: Naming) -> dict[str, dict[str, str]]:
    """Labels of every recorded series an extra alert can read (its result keeps them)."""
    static = dict(sr.static)
    known = {promql.error_ratio_name(w): {**static, naming.window: format_duration(w)}
             for w in sr.plan.windows}
    exprs = {r.record: r.expr for r in sr.recordings if not r.labels}
    for s in sr.slo.series:
        labels = infer_labels(exprs[s.record], known)
        if labels is not None:
            known[s.record] = labels
    return known


def emitted_alerts(sr: SLORules, naming: Naming) -> list[EmittedAlert]:
    """Every alert of one SLO: each burn-rate tier, the absent-data alert, the extra alerts;
    with ``group_by`` dimensions at an example value."""
    known = _known_labels(sr, naming)
    dims = {d: "example" for d in sr.slo.group_by}
    out = []
    for a in sr.alerts:
        labels = {"alertname": a.alert, **dims, **dict(a.labels)}
        if a.kind == "extra":
            inferred = infer_labels(a.expr, known) or {}
            labels = {"alertname": a.alert, **inferred, **dict(a.labels)}
        out.append(EmittedAlert(_what(sr, a), tuple(sorted(labels.items())), a.kind))
    return out


def _what(sr: SLORules, a: Alert) -> str:
    if a.kind in ("page", "ticket") and a.pairs:
        return f"{sr.slo.name}: {a.alert} tier {a.pairs[0].window.tier}"
    return f"{sr.slo.name}: {a.alert}"


def service_route(svc: ServiceRules, spec: AlertmanagerSpec, emitted: list[EmittedAlert],
                  naming: Naming) -> Route:
    names = sorted({e.as_map["alertname"] for e in emitted})
    kinds: dict[str, set[str]] = {}
    for e in emitted:
        if "severity" in e.as_map:
            kinds.setdefault(e.as_map["severity"], set()).add(e.kind)
    children = tuple(_severity_route(spec, value, k) for value, k in kinds.items())
    # one group per SLO (and group_by value): every alert of one incident in one notification
    group_by = tuple(naming.identity(svc.service, "x"))
    return Route((one_of("alertname", names),), spec.default_receiver, group_by,
                 spec.timing(""), children)


def _severity_route(spec: AlertmanagerSpec, value: str, kinds: set[str]) -> Route:
    """A severity value the spec names goes where it says; another one (Sloth's ``pageteam``)
    that only burn-rate pages carry is delivered as a page, one only tickets carry as a
    ticket, anything else to the default receiver."""
    as_ = value
    if value not in dict(spec.receivers):
        as_ = ("page" if kinds == {"page"} else
               "ticket" if kinds <= {"ticket", "absent"} else value)
    timing_key = value if value in dict(spec.timings) else as_
    return Route((Matcher("severity", value),), spec.receiver(as_), (), spec.timing(timing_key))


def _tiers(sr: SLORules, kind: str) -> list[tuple[str, Decimal, int]]:
    return [(p.window.tier, p.window.factor, p.window.long)
            for a in sr.alerts if a.kind == kind for p in a.pairs]


def slo_inhibitions(sr: SLORules, naming: Naming) -> list[Inhibition]:
    ident = dict(sr.identity)
    pin = tuple(Matcher(k, v) for k, v in ident.items())
    equal = (*ident, *sr.slo.group_by)
    pages, tickets = _tiers(sr, "page"), _tiers(sr, "ticket")
    out = []
    if pages and tickets:
        out.append(Inhibition(
            (*pin, one_of(naming.tier, [t[0] for t in pages])),
            (*pin, one_of(naming.tier, [t[0] for t in tickets])), equal,
            f"{sr.slo.name}: a firing page tier inhibits the SLO's ticket tiers (the ticket "
            "says the same, later)"))
    ordered = sorted(pages, key=lambda t: (-t[1], t[2]))
    for i, (tier, factor, long) in enumerate(ordered):
        slower = [t[0] for t in ordered[i + 1:] if (t[1], -t[2]) < (factor, -long)]
        if slower:
            out.append(Inhibition(
                (*pin, Matcher(naming.tier, tier)), (*pin, one_of(naming.tier, slower)), equal,
                f"{sr.slo.name}: page tier {tier} ({factor}x) inhibits the slower page tiers "
                "(one page per incident, the fastest)"))
    return out


def p1_inhibitions(svc: ServiceRules, emitted: list[EmittedAlert],
                   naming: Naming) -> list[Inhibition]:
    extras = {a.alert for sr in svc.slos for a in sr.alerts if a.kind == "extra"}
    p1 = [e for e in emitted if e.as_map.get("alertname") in extras
          and e.as_map.get(P1[0]) == P1[1]]
    warnings = [e for e in emitted if e.as_map.get("severity") == WARNING
                and e.as_map.get(P1[0]) != P1[1]]
    if not p1 or not warnings:
        return []
    both = p1 + warnings
    # alert names pin the service; the service label also must agree where every one has it
    equal = (naming.service,) if all(naming.service in e.as_map for e in both) else ()
    return [Inhibition(
        (one_of("alertname", [e.as_map["alertname"] for e in p1]), Matcher(*P1)),
        (one_of("alertname", [e.as_map["alertname"] for e in warnings]),
         Matcher("severity", WARNING)), equal,
        f"{svc.service}: the runbook's P1 inhibits the service's warning-level alerts (they "
        "predict what the P1 says is happening)")]


# ---------------------------------------------------------------------------------------------
# tests


def _other(labels: dict[str, str], label: str) -> dict[str, str]:
    return {**labels, label: f"{labels.get(label, '')}-other"}


def _matching(alerts: tuple[EmittedAlert, ...], matchers: tuple[Matcher, ...]
              ) -> list[EmittedAlert]:
    return [e for e in alerts if all(m.matches(e.as_map) for m in matchers)]


def _synthesized(matchers: tuple[Matcher, ...]) -> dict[str, str] | None:
    """A label set matching ``matchers`` when no emitted alert does (equality and one-of
    alternations only)."""
    out = {}
    for m in matchers:
        if m.op == "=":
            out[m.label] = m.value
        elif m.op == "=~":
            out[m.label] = re.sub(r"\\(.)", r"\1", re.split(r"(?<!\\)\|", m.value)[0])
        else:
            return None
    return out if all(m.matches(out) for m in matchers) else None


def inhibition_cases(config: AlertmanagerConfig, naming: Naming) -> list[InhibitionCase]:
    cases = []
    for index, rule in enumerate(config.inhibitions):
        sources_ = _matching(config.alerts, rule.source)
        source = sources_[0].as_map if sources_ else _synthesized(rule.source)
        if source is None:
            continue
        found = [e for e in _matching(config.alerts, rule.target) if e.as_map != source]
        targets = [(e.as_map, e.what) for e in found]
        if not targets:
            synth = _synthesized(rule.target)
            if synth is None:
                continue
            targets = [(synth, "an alert the target matchers match")]
        targets, negative = _with_negative(config, rule, source, targets, naming)
        if negative is not None:
            targets = [*targets, negative]
        cases.append(_case(config, index, rule, f"inhibit_rules[{index}] holds", source,
                           targets, False))
        held = targets[:-1] if negative is not None else targets
        cases.append(_case(config, index, rule, f"inhibit_rules[{index}] ends when its source "
                           "resolves", source, held, True))
    return cases


Named = tuple[dict[str, str], str]  # labels, and what they stand for in a case


def _with_negative(config: AlertmanagerConfig, rule: Inhibition, source: dict[str, str],
                   targets: list[Named], naming: Naming
                   ) -> tuple[list[Named], Named | None]:
    """An alert the rule must leave alone: a target with another value of an ``equal`` label
    (the SLO's name first), or, for a rule without ``equal``, of a target matcher's label; the
    first such alert that nothing else in the case inhibits either (with every target, else
    with the first one only), so its staying active is this rule's doing."""
    labels = [lb for lb in rule.equal if lb in (naming.slo, naming.id)] + list(rule.equal)
    labels = list(dict.fromkeys(labels or [m.label for m in rule.target]))
    for subset in (targets, targets[:1]):
        firing = [source, *(t for t, _ in subset)]
        for target, _ in subset:
            for label in labels:
                negative = _other(target, label)
                if negative not in firing and not inhibitors(config.inhibitions,
                                                             [*firing, negative], negative):
                    what = (f"the same alert with another {label}" if rule.equal
                            else f"an alert with another {label}")
                    return subset, (negative, what)
    return targets, None


def _case(config: AlertmanagerConfig, index: int, rule: Inhibition, name: str,
          source: dict[str, str], targets: list[tuple[dict[str, str], str]],
          resolve: bool) -> InhibitionCase:
    """Expectations follow from every rule of the config over every alert of the case (the
    targets fire too, and may inhibit each other)."""
    firing = [source, *(t for t, _ in targets)]
    whats = ["the source", *(w for _, w in targets)]
    after: list[dict[str, str]] = [{}, *firing[1:]]  # the source resolved: inhibits nothing
    alerts = tuple(
        CaseAlert(whats[i], tuple(sorted(labels.items())),
                  inhibitors(config.inhibitions, firing, labels),
                  inhibitors(config.inhibitions, after, labels) if resolve and i else ())
        for i, labels in enumerate(firing))
    return InhibitionCase(f"{name}: {rule.why or 'declared in the spec'}", index, alerts,
                          resolve)


# ---------------------------------------------------------------------------------------------
# rendering


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 94, break_on_hyphens=False))


def webhook_url(template: str | None, receiver: str) -> str:
    return (template or PLACEHOLDER_URL).replace("{receiver}", receiver)


def check_webhook_url(template: str) -> None:
    """A URL template Alertmanager can call, and no secret in it."""
    parts = urlsplit(template.replace("{receiver}", "r"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--webhook-url {template!r}: must be an http(s) URL")
    if parts.password is not None:
        raise UserError(f"--webhook-url {template!r}: carries a password; keep secrets out of "
                        "the rendered file (Alertmanager's webhook url_file, or a proxy)")


def render_config(config: AlertmanagerConfig, url: str | None, fragment: bool,
                  name: str) -> list[Rendered]:
    """The configuration (or the fragment) named ``name`` and its tests,
    ``<stem>.amtest.yml`` beside it (not ``.test.yml``: that is promtool's, and
    ``promtool test rules rules/*.test.yml`` must not be handed an Alertmanager file)."""
    if url is not None:
        check_webhook_url(url)
    rules = "".join(_comment(r.why) + to_yaml([inhibition_dict(r)]) for r in config.inhibitions)
    receivers = to_yaml({"receivers": [
        {"name": r, "webhook_configs": [{"url": webhook_url(url, r), "send_resolved": True}]}
        for r in config.receivers]})
    if fragment:
        body = to_yaml({"routes": [r.as_dict() for r in config.root.routes]})
    else:
        body = to_yaml({"route": config.root.as_dict()})
    text = render_template("alertmanager.yml.j2", sources=list(config.sources),
                           fragment=fragment, body=body, inhibit_rules=rules,
                           receivers=receivers, receiver_names=list(config.receivers))
    stem = PurePath(name).stem
    tests = render_template("alertmanager.test.yml.j2", sources=list(config.sources),
                            body=to_yaml(test_document(config, name, fragment)))
    return [Rendered(name, text), Rendered(f"{stem}.amtest.yml", tests)]


def _labels(labels: Labels) -> dict[str, str]:
    return dict(labels)


def test_document(config: AlertmanagerConfig, name: str, fragment: bool) -> Mapping:
    routes = [{"name": e.what, "labels": _labels(e.labels),
               "receivers": [config.root.receiver_for(e.as_map) or ROOT_RECEIVER]}
              for e in (*config.alerts, config.foreign)]
    cases = [{"name": c.name, "rule": c.rule,
              "alerts": [{"what": a.what, "labels": _labels(a.labels),
                          "inhibited_by": list(a.inhibited_by),
                          **({"after_resolve": list(a.after_resolve)} if c.resolve_source
                             and i else {})}
                         for i, a in enumerate(c.alerts)],
              **({"resolve_source": True} if c.resolve_source else {})}
             for c in config.cases]
    doc: Mapping = {"alertmanager_config": name}
    if fragment:
        doc["fragment"] = True
        doc["receivers"] = list(config.receivers)
    doc["routes"] = routes
    doc["inhibitions"] = cases
    return doc
