"""Spec documents for tests, as data: a small valid spec to mutate."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

VALID: dict[str, Any] = {
    "apiVersion": "slo-gen/v1",
    "service": "checkout",
    "labels": {"team": "payments"},
    "slos": [
        {
            "name": "availability",
            "objective": 99.9,
            "sli": {"events": {"errors": 'http_requests_total{status=~"5.."}',
                               "total": "http_requests_total"}},
        }
    ],
}


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def write(path: Path, doc: Any) -> str:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)
