"""From a service's typed rules to rendered files in memory: rules and their promtool tests,
or the same rule groups wrapped for the Prometheus Operator, the Mimir/Cortex ruler or Thanos
Ruler. Nothing here touches the disk.

Every format carries the same groups; only the wrapper differs. Each rendered rule file also
carries its groups as a plain Prometheus rule file (``check_text``), so promtool checks every
format without parsing the wrapper back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from slo.errors import UserError
from slo.model.durations import format_duration
from slo.model.naming import NATIVE, Naming
from slo.model.numbers import format_number
from slo.model.spec import ServiceSpec
from slo.outputs.templates import render_template
from slo.outputs.writer import Rendered
from slo.outputs.yamldump import to_yaml
from slo.rules.build import build_services
from slo.rules.duplicates import find_duplicates
from slo.rules.model import Group, ServiceRules
from slo.rules.plan import PERIOD_STEP
from slo.testgen.scenarios import promql_sli_notes, test_file_document

FORMATS = ("prometheus", "prometheus-operator", "mimir", "thanos")
PARTIAL_RESPONSE = ("abort", "warn")
MIMIR_MAX_RULES = 20  # the Mimir ruler's default -ruler.max-rules-per-rule-group


@dataclass(frozen=True)
class Options:
    fmt: str = "prometheus"
    naming: Naming = NATIVE
    namespace: str | None = None  # PrometheusRule metadata.namespace; Mimir namespace
    partial_response: str = "abort"  # Thanos: a rule evaluated on partial data must not page
    period_step: int = PERIOD_STEP  # seconds between the period's step sums; 0: none


def sources(specs: tuple[ServiceSpec, ...]) -> list[str]:
    """Base names only, so the same spec renders the same bytes from any working directory."""
    return list(dict.fromkeys(_base(s.source) for s in specs))


def _base(source: str) -> str:
    return PurePath(source.strip("<>").split()[-1]).name


def notes(specs: tuple[ServiceSpec, ...]) -> list[str]:
    """What the readers assumed, for the rendered file's header (base names, as above)."""
    return list(dict.fromkeys(line for s in specs for line in s.note_lines(_base(s.source))))


def render(specs: list[ServiceSpec], options: Options | None = None) -> list[Rendered]:
    """Every file for every service; raise UserError when rules of two files would clash."""
    opts = options or Options()
    return render_services(build_services(specs, opts.naming, opts.period_step), opts)


def render_services(services: list[ServiceRules], opts: Options) -> list[Rendered]:
    files: list[Rendered] = []
    all_groups: dict[str, tuple[Group, ...]] = {}
    for svc in services:
        rendered = _wrap(svc, opts)
        all_groups[rendered.name] = svc.groups
        files.append(rendered)
        if opts.fmt == "prometheus":
            files.append(_tests(rendered.name, svc, opts))
    problems = find_duplicates(all_groups)
    if problems:
        raise UserError(problems)
    return files


def _plain(groups: tuple[Group, ...] | list[Group]) -> str:
    return to_yaml({"groups": [g.as_dict() for g in groups]})


def _wrap(svc: ServiceRules, opts: Options) -> Rendered:
    fmt, service, srcs = opts.fmt, svc.service, sources(svc.specs)
    said = notes(svc.specs) + omitted_tier_notes(svc)
    if fmt == "prometheus-operator":
        return Rendered(f"{service}.prometheusrule.yml", render_template(
            "prometheus-operator.yml.j2", sources=srcs, notes=said,
            body=to_yaml(operator_object(svc, opts.namespace))), _plain(svc.groups))
    if fmt == "mimir":
        name = f"{service}.mimir.yml"
        groups = [part for g in svc.groups for part in split_group(g, MIMIR_MAX_RULES)]
        body = to_yaml({"namespace": opts.namespace or service,
                        "groups": [g.as_dict() for g in groups]})
        return Rendered(name, render_template(
            "mimir.rules.yml.j2", sources=srcs, notes=said, services=[service], file=name,
            limit=MIMIR_MAX_RULES, body=body), _plain(groups))
    if fmt == "thanos":
        body = to_yaml({"groups": [g.as_dict(partial_response_strategy=opts.partial_response)
                                   for g in svc.groups]})
        return Rendered(f"{service}.thanos.yml", render_template(
            "thanos.rules.yml.j2", sources=srcs, notes=said, services=[service], body=body),
            _plain(svc.groups))
    text = render_template("prometheus.rules.yml.j2", sources=srcs, notes=said,
                           services=[service],
                           test_file=f"{service}.test.yml", body=_plain(svc.groups))
    return Rendered(f"{service}.rules.yml", text, text)


def omitted_tier_notes(svc: ServiceRules) -> list[str]:
    """One sentence per default tier the reader left out because it could never fire, so the
    rule file says why an SLO has fewer alerts than the workbook's four."""
    notes = []
    for r in svc.slos:
        for w in r.slo.alerting.omitted:
            windows = (format_duration(w.long) if w.single else
                       f"{format_duration(w.long)}/{format_duration(w.short)}")
            notes.append(f"{svc.service}/{r.slo.name}: the default {w.severity} tier {w.tier} "
                         f"({windows} at {format_number(w.factor)}x the budget) is left out: "
                         f"{format_number(w.factor)} x budget {format_number(r.slo.error_budget)}"
                         " >= 1, so its threshold is an error ratio of 100% or more and it "
                         "could never fire.")
    return notes


def _tests(rule_file: str, svc: ServiceRules, opts: Options) -> Rendered:
    test_file = f"{svc.service}.test.yml"
    doc = test_file_document(svc, rule_file, opts.naming)
    return Rendered(test_file, render_template(
        "promtool.test.yml.j2", sources=sources(svc.specs), rule_file=rule_file,
        test_file=test_file, promql_slis=promql_sli_notes(svc), body=to_yaml(doc)))


def operator_object(svc: ServiceRules, namespace: str | None) -> dict[str, object]:
    metadata: dict[str, object] = {"name": f"{svc.service}-slos"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/managed-by": "slo-gen", "slo_service": svc.service}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": metadata, "spec": {"groups": [g.as_dict() for g in svc.groups]}}


def split_group(group: Group, limit: int) -> list[Group]:
    """Consecutive slices of at most ``limit`` rules, in order.

    A group's rules are in data-flow order, so every slice's recordings come before the
    slices (and the alerts) reading them; a reader in a later slice sees them one evaluation
    later, as any rule in another group would.
    """
    rules = group.rules
    if len(rules) <= limit:
        return [group]
    count = -(-len(rules) // limit)
    size = -(-len(rules) // count)  # even slices: 26 rules make 13 + 13, not 20 + 6
    return [Group(f"{group.name}-{i + 1}", rules[i * size:(i + 1) * size], group.interval)
            for i in range(count)]
