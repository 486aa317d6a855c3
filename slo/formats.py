"""Tell spec formats apart by their version key and hand each document to its reader."""

from __future__ import annotations

from typing import Any

from slo.fields import Fields
from slo.native import API_VERSION, parse_native
from slo.spec import ServiceSpec
from slo.yamlio import YAMLProblem, load_yaml_documents


def parse_documents(fields: Fields, text: str) -> list[ServiceSpec]:
    """Every spec in one file (YAML documents separated by ``---``)."""
    try:
        docs = load_yaml_documents(text)
    except YAMLProblem as exc:
        fields.fail("", f"not valid YAML: {exc}")
        return []
    if not docs:
        fields.fail("", "is empty: expected a spec with 'apiVersion: slo-gen/v1'")
        return []
    specs = []
    for doc in docs:
        kind = detect(doc)
        if kind == API_VERSION:
            spec = parse_native(fields, doc)
            if spec is not None:
                specs.append(spec)
        else:
            fields.fail("apiVersion", kind)
    return specs


def detect(doc: Any) -> str:
    """The format's version key, or a message saying why the document is not a known format."""
    if not isinstance(doc, dict):
        return "the document must be a mapping with 'apiVersion: slo-gen/v1'"
    if doc.get("apiVersion") == API_VERSION:
        return API_VERSION
    if "version" in doc and "apiVersion" not in doc:
        return f"Sloth spec version {doc['version']!r} is not supported yet"
    if str(doc.get("apiVersion", "")).startswith("openslo/"):
        return f"OpenSLO {doc['apiVersion']!r} is not supported yet"
    return f"{doc.get('apiVersion')!r} is not a known spec version (expected {API_VERSION!r})"
