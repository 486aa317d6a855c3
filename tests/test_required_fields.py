"""A required field's absence is one line, in every format: leave out any key of the fixtures and
the answer is that key's ``is required`` (or nothing, for an optional key), never a second line
about the same field (``MISSING cannot map``), and never an SLO dropped without a word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slo.errors import SpecError
from slo.readers.load import load_paths
from tests.conftest import ROOT

FIXTURES = [ROOT / "tests" / "fixtures" / name
            for name in ("native-checkout.yaml", "sloth-checkout.yml", "openslo-checkout.yaml")]


def _key_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((*prefix, key))
            out += _key_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _key_paths(item, (*prefix, i))
    return out


def _cases() -> list[tuple[Path, int, tuple]]:
    cases = []
    for fixture in FIXTURES:
        docs = list(yaml.safe_load_all(fixture.read_text()))
        cases += [(fixture, i, path) for i, doc in enumerate(docs) for path in _key_paths(doc)]
    return cases


CASES = _cases()


def _slo_count(path: Path) -> int:
    return sum(len(spec.slos) for spec in load_paths([str(path)]))


def test_there_are_many_cases() -> None:
    assert len(CASES) > 150


@pytest.mark.parametrize(("fixture", "doc", "path"), CASES,
                         ids=[f"{f.name}:{d}:{'.'.join(map(str, p))}" for f, d, p in CASES])
def test_leaving_out_a_key(fixture: Path, doc: int, path: tuple, tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(fixture.read_text()))
    target = docs[doc]
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    spec = tmp_path / fixture.name
    spec.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    try:
        count = _slo_count(spec)
    except SpecError as exc:
        lines = [str(p) for p in exc.problems]
        assert not any("MISSING" in line for line in lines), lines
        assert len(set(lines)) == len(lines), lines
        absent = [line.removesuffix(": is required") for line in lines
                  if line.endswith(": is required")]
        for where in absent:
            about = [line for line in lines
                     if line.startswith((f"{where}:", f"{where}.", f"{where}["))]
            assert about == [f"{where}: is required"], lines
    else:  # an optional key: the same SLOs, none dropped silently
        assert count == _slo_count(fixture)
