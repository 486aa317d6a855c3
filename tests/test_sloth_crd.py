"""Sloth's ``PrometheusServiceLevel`` CRD, read as Sloth's own CRD schema defines it.

The schema is a verbatim copy (tests/fixtures/sloth-crd, see its README). Every field it defines
under ``spec`` is either read (it is in :data:`FULL`, a CRD using every readable field, which
validates) or refused with a named reason (:data:`REFUSED`); a schema field in neither fails
:func:`test_every_schema_field_is_read_or_refused`, so the reader cannot silently fall behind.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo.cli import main
from slo.model.spec import EventsSLI, RatioQuerySLI
from slo.readers.load import load_paths
from tests.conftest import ROOT

SCHEMA = ROOT / "tests" / "fixtures" / "sloth-crd" / "sloth.slok.dev_prometheusservicelevels.yaml"


def _spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(SCHEMA.read_text())
    (version,) = crd["spec"]["versions"]
    assert crd["spec"]["names"]["kind"] == "PrometheusServiceLevel" and version["name"] == "v1"
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]


def schema_fields(node: dict[str, Any], path: str = "spec") -> set[str]:
    """Every property path the schema defines (list items as ``[]``); the keys of free-form
    maps (labels, annotations, plugin config and options) are the user's, not the schema's."""
    out: set[str] = set()
    if node.get("type") == "array":
        return schema_fields(node["items"], f"{path}[]")
    for key, child in node.get("properties", {}).items():
        out.add(f"{path}.{key}")
        out |= schema_fields(child, f"{path}.{key}")
    return out


def doc_fields(value: Any, path: str = "spec") -> set[str]:
    out: set[str] = set()
    if isinstance(value, list):
        for item in value:
            out |= doc_fields(item, f"{path}[]")
    elif isinstance(value, dict) and not path.endswith((".labels", ".annotations")):
        for key, child in value.items():
            out.add(f"{path}.{key}")
            out |= doc_fields(child, f"{path}.{key}")
    return out


ERRORS = 'sum(rate(http_requests_total{job="ledger",code=~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="ledger"}[{{.window}}]))'
# A CRD as Sloth's users write them (k8s-getting-started.yml's shape), using every field slo-gen
# reads: two SLOs so both SLI kinds appear.
FULL: dict[str, Any] = {
    "apiVersion": "sloth.slok.dev/v1",
    "kind": "PrometheusServiceLevel",
    "metadata": {"name": "ledger", "namespace": "monitoring", "labels": {"prometheus": "main"}},
    "spec": {
        "service": "ledger",
        "labels": {"owner": "payments", "tier": "1"},
        "slos": [
            {"name": "requests-availability", "objective": 99.9,
             "description": "Availability of ledger's HTTP API.",
             "labels": {"category": "availability"},
             "sli": {"events": {"errorQuery": ERRORS, "totalQuery": TOTAL}},
             "alerting": {
                 "name": "LedgerHighErrorRate",
                 "labels": {"category": "availability"},
                 "annotations": {"summary": "High error rate on ledger requests"},
                 "pageAlert": {"disable": False, "labels": {"severity": "pageteam"},
                               "annotations": {"runbook": "https://runbooks.example/ledger"}},
                 "ticketAlert": {"disable": False, "labels": {"severity": "slack"},
                                 "annotations": {"channel": "#ledger"}}}},
            {"name": "requests-raw", "objective": 99.5,
             "sli": {"raw": {"errorRatioQuery": f"({ERRORS}) / ({TOTAL})"}},
             "alerting": {"pageAlert": {"disable": True}, "ticketAlert": {"disable": True}}},
        ],
    },
    "status": {"observedGeneration": 3, "processedSLOs": 2, "promOpRulesGenerated": True,
               "promOpRulesGeneratedSLOs": 2},
}

INFO_LABELS = "sloth.dev/contrib/info_labels/v1"
SLO_PLUGIN = (f"Sloth SLO plugin {INFO_LABELS!r} cannot run in slo-gen: put those labels in the "
              "SLO's labels")
# field -> (where it goes, what is added, the problem lines: path and message)
PLUGINS = {"chain": [{"id": INFO_LABELS, "priority": 10, "config": {"labels": {"team": "x"}}}],
           "overridePrevious": True}
REFUSED: dict[str, tuple[str, Any, list[str]]] = {
    "spec.sloPlugins": ("spec.sloPlugins", PLUGINS,
                        [f"spec.sloPlugins.chain[0]: {SLO_PLUGIN}"]),
    "spec.slos[].plugins": ("spec.slos.0.plugins", PLUGINS,
                            [f"spec.slos[0].plugins.chain[0]: {SLO_PLUGIN}"]),
    "spec.slos[].sli.plugin": (
        "spec.slos.0.sli", {"plugin": {"id": "sloth-common/http/availability", "options":
                                       {"job": "ledger"}}},
        ["spec.slos[0].sli.plugin: Sloth SLI plugin 'sloth-common/http/availability' cannot run "
         "in slo-gen (it is Go code that writes the queries): write the queries it makes as "
         "'events' (errorQuery/totalQuery) or 'raw' (errorRatioQuery)"]),
}


def _refused(field: str) -> bool:
    return any(field == r or field.startswith((f"{r}.", f"{r}[")) for r in REFUSED)


def test_every_schema_field_is_read_or_refused() -> None:
    schema = schema_fields(_spec_schema())
    assert "spec.slos[].sli.events.errorQuery" in schema  # the walk sees the camelCase fields
    read = doc_fields(FULL["spec"])
    assert read <= schema, sorted(read - schema)  # FULL uses no field the schema lacks
    left = sorted(f for f in schema - read if not _refused(f))
    assert left == [], f"CRD schema fields neither read nor refused: {left}"


def test_a_crd_with_every_readable_field_validates(tmp_path: Path) -> None:
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump(FULL))
    (spec,) = load_paths([str(path)])
    avail, raw = spec.slos
    assert spec.service == "ledger" and dict(spec.labels) == {"owner": "payments", "tier": "1"}
    assert isinstance(avail.sli, EventsSLI) and isinstance(raw.sli, RatioQuerySLI)
    assert avail.description == "Availability of ledger's HTTP API."
    assert dict(avail.alerting.page.labels)["severity"] == "pageteam"
    assert dict(avail.alerting.ticket.annotations)["channel"] == "#ledger"
    assert dict(avail.alerting.page.annotations)["summary"] == "High error rate on ledger requests"
    assert raw.alerting.windows == ()  # both alerts disabled


def _put(doc: dict[str, Any], where: str, value: Any) -> None:
    *parents, last = where.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = {}
        node[last].update(value)
    else:
        node[last] = value


@pytest.mark.parametrize("field", sorted(REFUSED))
def test_refused_schema_fields_say_why(field: str, tmp_path: Path, cli) -> None:
    where, value, lines = REFUSED[field]
    doc = copy.deepcopy(FULL)
    _put(doc, where, value)
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {path}: {line}" for line in lines]
