"""From validated specs to rendered files in memory: rules, their promtool tests, or a
PrometheusRule object. Nothing here touches the disk."""

from __future__ import annotations

from pathlib import PurePath

from slo.rules import build_group
from slo.spec import ServiceSpec
from slo.testgen import test_document
from slo.writer import Rendered, render_template, to_yaml

FORMATS = ("prometheus", "prometheus-operator")


def by_service(specs: list[ServiceSpec]) -> dict[str, list[ServiceSpec]]:
    """Specs grouped by service in order of first appearance: one output file per service."""
    out: dict[str, list[ServiceSpec]] = {}
    for spec in specs:
        out.setdefault(spec.service, []).append(spec)
    return out


def _sources(specs: list[ServiceSpec]) -> list[str]:
    # Base names only, so the same spec renders the same bytes from any working directory.
    return list(dict.fromkeys(PurePath(s.source.strip("<>").split()[-1]).name for s in specs))


def rule_document(specs: list[ServiceSpec]) -> dict:
    return {"groups": [build_group(spec, slo) for spec in specs for slo in spec.slos]}


def render(specs: list[ServiceSpec], fmt: str = "prometheus", namespace: str | None = None
           ) -> list[Rendered]:
    files: list[Rendered] = []
    for service, group in by_service(specs).items():
        sources = _sources(group)
        rules = rule_document(group)
        if fmt == "prometheus-operator":
            files.append(Rendered(f"{service}.prometheusrule.yml", render_template(
                "prometheus-operator.yml.j2", sources=sources,
                body=to_yaml(operator_object(service, rules, namespace)))))
            continue
        rule_file, test_file = f"{service}.rules.yml", f"{service}.test.yml"
        files.append(Rendered(rule_file, render_template(
            "prometheus.rules.yml.j2", sources=sources, services=[service], test_file=test_file,
            body=to_yaml(rules))))
        files.append(Rendered(test_file, render_template(
            "promtool.test.yml.j2", sources=sources, rule_file=rule_file, test_file=test_file,
            body=to_yaml(test_document(group, rule_file)))))
    return files


def operator_object(service: str, rules: dict, namespace: str | None) -> dict:
    metadata: dict = {"name": f"{service}-slos"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/managed-by": "slo-gen", "slo_service": service}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": metadata, "spec": rules}
