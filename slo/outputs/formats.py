"""From validated specs to rendered files in memory: rules and their promtool tests, or the
same rule groups wrapped for the Prometheus Operator, the Mimir/Cortex ruler or Thanos Ruler.
Nothing here touches the disk.

Every format carries the same groups; only the wrapper differs. :func:`plain_groups` undoes the
wrapper so each format can be checked by promtool as plain Prometheus rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from slo.errors import UserError
from slo.model.naming import NATIVE, Naming
from slo.model.spec import ServiceSpec
from slo.outputs.writer import Rendered, render_template
from slo.outputs.yamldump import to_yaml
from slo.rules.build import groups_per_slo
from slo.rules.duplicates import find_duplicates
from slo.rules.promql import PERIOD_STEP
from slo.testgen.scenarios import test_document, test_notes

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


def by_service(specs: list[ServiceSpec]) -> dict[str, list[ServiceSpec]]:
    """Specs grouped by service in order of first appearance: one output file per service."""
    out: dict[str, list[ServiceSpec]] = {}
    for spec in specs:
        out.setdefault(spec.service, []).append(spec)
    return out


def _sources(specs: list[ServiceSpec]) -> list[str]:
    # Base names only, so the same spec renders the same bytes from any working directory.
    return list(dict.fromkeys(PurePath(s.source.strip("<>").split()[-1]).name for s in specs))


def _rule_document(per_slo: list[list[dict[str, Any]]]) -> dict:
    return {"groups": [g for groups in per_slo for g in groups]}


def render(specs: list[ServiceSpec], options: Options | None = None) -> list[Rendered]:
    """Every file for every service; raise UserError when rules of two files would clash."""
    opts = options or Options()
    files: list[Rendered] = []
    all_groups: dict[str, list[dict[str, Any]]] = {}
    for service, group in by_service(specs).items():
        sources = _sources(group)
        per_slo = groups_per_slo(group, opts.naming, opts.period_step)
        rules = _rule_document(per_slo)
        rendered = _wrap(service, sources, rules, opts)
        all_groups[rendered.name] = rules["groups"]
        files.append(rendered)
        if opts.fmt == "prometheus":
            files.append(_tests(rendered.name, service, sources, group, opts, per_slo))
    problems = find_duplicates(all_groups)
    if problems:
        raise UserError(problems)
    return files


def _wrap(service: str, sources: list[str], rules: dict, opts: Options) -> Rendered:
    fmt = opts.fmt
    if fmt == "prometheus-operator":
        return Rendered(f"{service}.prometheusrule.yml", render_template(
            "prometheus-operator.yml.j2", sources=sources,
            body=to_yaml(operator_object(service, rules, opts.namespace))))
    if fmt == "mimir":
        name = f"{service}.mimir.yml"
        return Rendered(name, render_template(
            "mimir.rules.yml.j2", sources=sources, services=[service], file=name,
            limit=MIMIR_MAX_RULES, body=to_yaml(mimir_namespace(service, rules, opts.namespace))))
    if fmt == "thanos":
        return Rendered(f"{service}.thanos.yml", render_template(
            "thanos.rules.yml.j2", sources=sources, services=[service],
            body=to_yaml(thanos_groups(rules, opts.partial_response))))
    rule_file = f"{service}.rules.yml"
    return Rendered(rule_file, render_template(
        "prometheus.rules.yml.j2", sources=sources, services=[service],
        test_file=f"{service}.test.yml", body=to_yaml(rules)))


def _tests(rule_file: str, service: str, sources: list[str], specs: list[ServiceSpec],
           opts: Options, per_slo: list[list[dict[str, Any]]]) -> Rendered:
    test_file = f"{service}.test.yml"
    doc = test_document(specs, rule_file, per_slo, opts.naming, opts.period_step)
    return Rendered(test_file, render_template(
        "promtool.test.yml.j2", sources=sources, rule_file=rule_file, test_file=test_file,
        notes=test_notes(specs), body=to_yaml(doc)))


def operator_object(service: str, rules: dict, namespace: str | None) -> dict:
    metadata: dict = {"name": f"{service}-slos"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/managed-by": "slo-gen", "slo_service": service}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": metadata, "spec": rules}


def mimir_namespace(service: str, rules: dict, namespace: str | None) -> dict:
    """mimirtool's rule file: a namespace and its groups, each within the ruler's limit."""
    groups = [part for g in rules["groups"] for part in split_group(g, MIMIR_MAX_RULES)]
    return {"namespace": namespace or service, "groups": groups}


def split_group(group: dict, limit: int) -> list[dict]:
    """Consecutive slices of at most ``limit`` rules, in order.

    A group's rules are in data-flow order, so every slice's recordings come before the
    slices (and the alerts) reading them; a reader in a later slice sees them one evaluation
    later, as any rule in another group would.
    """
    rules = group["rules"]
    if len(rules) <= limit:
        return [group]
    count = -(-len(rules) // limit)
    size = -(-len(rules) // count)  # even slices: 26 rules make 13 + 13, not 20 + 6
    return [{**group, "name": f"{group['name']}-{i + 1}", "rules": rules[i * size:(i + 1) * size]}
            for i in range(count)]


def thanos_groups(rules: dict, strategy: str) -> dict:
    return {"groups": [{"name": g["name"], "partial_response_strategy": strategy,
                        **{k: v for k, v in g.items() if k != "name"}} for g in rules["groups"]]}


def plain_groups(fmt: str, f: Rendered) -> str | None:
    """The file's rule groups as a plain Prometheus rule file, or None for a test file."""
    if f.name.endswith(".test.yml"):
        return None
    if fmt == "prometheus":
        return f.text
    doc = yaml.safe_load(f.text)
    if fmt == "prometheus-operator":
        doc = doc["spec"]
    groups = [{k: v for k, v in g.items() if k != "partial_response_strategy"}
              for g in doc["groups"]]
    return to_yaml({"groups": groups})
