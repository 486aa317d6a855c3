"""The objects of OpenSLO v1 files, by kind and name, so references (``indicatorRef``,
``alertPolicyRef``, ``conditionRef``, ``targetRef``) resolve across every file of a run; and
what the OpenSLO readers (:mod:`.openslo`, :mod:`.openslo_alerts`) share about them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slo.model.naming import RESERVED
from slo.readers.fields import Fields, join

#: Names of objects that never reach Prometheus (policies, targets, SLIs, ...): OpenSLO's own
#: examples use CamelCase (``OnCallDevopsMailNotification``); a target's name becomes an
#: Alertmanager receiver's, so the receiver-name rule fits.
OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
OBJECT_NAME_WHAT = "a name (letters, digits, '_', '.' and '-', at most 63)"


@dataclass
class Document:
    """One OpenSLO object; ``fields`` records its problems under ``<kind> <name>``."""

    fields: Fields
    kind: str
    name: str
    body: dict[str, Any]


class Catalog:
    """Every named object of every file, so references resolve across files."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], Document] = {}

    def add(self, doc: Document) -> None:
        key = (doc.kind, doc.name)
        if key in self.objects:
            first = self.objects[key]
            doc.fields.fail("metadata.name", f"{doc.kind} {doc.name!r} is already defined in "
                            f"{first.fields.file}")
        else:
            self.objects[key] = doc

    def get(self, fields: Fields, kind: str, name: Any, path: str) -> Document | None:
        if not isinstance(name, str) or not name:
            fields.fail(path, f"must name a {kind}")
            return None
        found = self.objects.get((kind, name))
        if found is None:
            fields.fail(path, f"no {kind} named {name!r} in the files given")
        return found


def object_labels(f: Fields, value: Any, path: str) -> dict[str, str]:
    """OpenSLO labels; a list of values has no Prometheus label to become."""
    if isinstance(value, dict):
        for key, val in value.items():
            if isinstance(val, list):
                f.fail(join(path, str(key)), "a list of values cannot become a Prometheus "
                       "label: give one string")
                value = {k: v for k, v in value.items() if not isinstance(v, list)}
    return f.labels(value, path, RESERVED)


def where(f: Fields, path: str) -> str:
    """``path`` as a problem there would be located (``SLO x: spec.timeWindow``)."""
    return ": ".join(p for p in (f.prefix, path) if p)
