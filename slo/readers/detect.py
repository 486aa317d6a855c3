"""Tell spec formats apart by their version key and hand each document to its reader.

- ``apiVersion: slo-gen/v1``: this project's format (:mod:`slo.readers.native`)
- ``version: prometheus/v1``: a Sloth spec; ``apiVersion: sloth.slok.dev/v1``: its CRD
  (:mod:`slo.readers.sloth`)
- ``apiVersion: openslo/v1``: OpenSLO objects (:mod:`slo.readers.openslo`), read after every file so
  references resolve across files; ``openslo/v1alpha`` SLOs, the version Sloth reads
  (:mod:`slo.readers.openslo_v1alpha`), with them

A document that is a list holds one object per item (the form ``oslo validate`` reads); each is
read as if it were a document of its own, and its problems name the item (``[2]: kind``).
"""

from __future__ import annotations

from typing import Any

from slo.errors import Problem
from slo.model.spec import ServiceSpec
from slo.readers import native, openslo, sloth
from slo.readers.fields import Fields
from slo.readers.yamlfile import YAMLProblem, load_yaml_documents

KNOWN = (f"'apiVersion: {native.API_VERSION}', 'version: {sloth.VERSION}' (Sloth), "
         f"'apiVersion: {sloth.CRD_API_VERSION}', 'apiVersion: {openslo.API_VERSION}' or "
         f"'apiVersion: {openslo.V1ALPHA}'")
OPENSLO = (openslo.API_VERSION, openslo.V1ALPHA)


def parse_files(texts: list[tuple[str, str]]) -> tuple[list[ServiceSpec], list[Problem]]:
    """Every spec in every file (YAML documents separated by ``---``), and every problem."""
    specs: list[ServiceSpec] = []
    collectors: list[Fields] = []
    later: list[tuple[Fields, Any]] = []
    for file, text in texts:
        fields = Fields(file)
        collectors.append(fields)
        docs = _documents(fields, text)
        for i, doc in enumerate(docs):
            where = f"document {i + 1}" if len(docs) > 1 else ""
            for f, item in _objects(fields, where, doc):
                kind = detect(item)
                if kind in OPENSLO:
                    later.append((f, item))
                    continue
                spec = _read(f, kind, item)
                if spec is not None:
                    specs.append(spec)
    specs += openslo.read_documents(later)
    problems = [p for fields in collectors for p in fields.problems]
    return specs, list(dict.fromkeys(problems))  # a shared SLI's problem is reported once


def _documents(fields: Fields, text: str) -> list[Any]:
    try:
        docs = load_yaml_documents(text)
    except YAMLProblem as exc:
        fields.fail("", f"not valid YAML: {exc}")
        return []
    if not docs:
        fields.fail("", f"is empty: expected a spec with {KNOWN}")
    return docs


def _objects(fields: Fields, where: str, doc: Any) -> list[tuple[Fields, Any]]:
    """A document, or each item of a document that is a list, with the Fields naming it."""
    if not isinstance(doc, list):
        return [(fields.within(where) if where else fields, doc)]
    if not doc:
        fields.within(where).fail("", "is an empty list: expected OpenSLO objects")
    return [(fields.within(": ".join(p for p in (where, f"[{i}]") if p)), item)
            for i, item in enumerate(doc)]


def _read(fields: Fields, kind: str, doc: Any) -> ServiceSpec | None:
    if kind == native.API_VERSION:
        return native.parse_native(fields, doc)
    if kind == sloth.VERSION:
        return sloth.parse_sloth(fields, doc)
    if kind == sloth.CRD_API_VERSION:
        return sloth.parse_crd(fields, doc)
    fields.fail("version" if isinstance(doc, dict) and "version" in doc else "apiVersion", kind)
    return None


def detect(doc: Any) -> str:
    """The format's version key, or a message saying why the document is not a known format."""
    if not isinstance(doc, dict):
        return f"the document must be a mapping with {KNOWN}"
    api = doc.get("apiVersion")
    if api in (native.API_VERSION, sloth.CRD_API_VERSION, *OPENSLO):
        return str(api)
    if "version" in doc and api is None:
        if doc["version"] == sloth.VERSION:
            return sloth.VERSION
        return (f"Sloth spec version {doc['version']!r} is not supported "
                f"(expected {sloth.VERSION!r})")
    if str(api or "").startswith(("openslo/", "openslo.com/")):  # v2alpha: openslo.com/
        return (f"OpenSLO {api!r} is not supported (expected {openslo.API_VERSION!r} or "
                f"{openslo.V1ALPHA!r})")
    return f"{api!r} is not a known spec version: expected {KNOWN}"
