"""The module graph follows the pipeline: read -> model -> plan/rules -> tests -> outputs.

Parsed from the source (``ast``), so a stray import fails here before it grows into a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from exporter.slo_collector import SLOSet
from slo.model.windows import slo_windows
from slo.readers.load import load_default
from slo.rules.plan import plan
from tests.conftest import ROOT

READERS = {"slo.readers.native", "slo.readers.sloth", "slo.readers.openslo"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for pkg in ("slo", "exporter"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            found: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
                    found.update(f"{node.module}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
            graph[_module(path)] = found
    return graph


def _offenders(graph: dict[str, set[str]], sources: str, forbidden: tuple[str, ...]
               ) -> dict[str, list[str]]:
    out = {}
    for mod, imports in graph.items():
        if mod == sources or mod.startswith(sources + "."):
            bad = sorted(i for i in imports if any(i == f or i.startswith(f + ".")
                                                   for f in forbidden))
            if bad:
                out[mod] = bad
    return out


def test_no_reader_imports_another_reader() -> None:
    graph = _imports()
    offenders = {m: sorted(graph[m] & (READERS - {m})) for m in READERS}
    assert {m: v for m, v in offenders.items() if v} == {}


def test_stages_only_import_earlier_stages() -> None:
    graph = _imports()
    later = {
        "slo.model": ("slo.readers", "slo.rules", "slo.testgen", "slo.outputs", "slo.engines",
                      "slo.cli", "exporter"),
        "slo.readers": ("slo.rules", "slo.testgen", "slo.outputs", "slo.engines", "slo.cli",
                        "exporter"),
        "slo.rules": ("slo.readers", "slo.testgen", "slo.outputs", "slo.engines", "slo.cli",
                      "exporter"),
        "slo.testgen": ("slo.readers", "slo.outputs", "slo.engines", "slo.cli", "exporter"),
        "slo.outputs": ("slo.readers", "slo.engines", "slo.cli", "exporter"),
        "slo.engines": ("slo.readers", "slo.rules", "slo.testgen", "slo.outputs", "slo.cli",
                        "exporter"),
        # the exporter shares the spec model (and its loader) with the generator, nothing else
        "exporter": ("slo.rules", "slo.testgen", "slo.outputs", "slo.engines", "slo.cli"),
    }
    found = {stage: _offenders(graph, stage, forbidden) for stage, forbidden in later.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_cli_is_wiring_only() -> None:
    """The CLI builds no PromQL and lays out no YAML: those live in their stages."""
    imports = _imports()["slo.cli"]
    assert not {i for i in imports if i in ("yaml", "jinja2") or i.startswith("slo.rules.promql")}


def test_generator_and_exporter_measure_the_same_windows() -> None:
    """One window set: what the rules record is what the exporter's in-process windows keep."""
    specs = load_default()
    trackers = SLOSet(specs).trackers
    assert trackers
    for tracker in trackers:
        assert tracker.windows.windows == plan(tracker.slo).windows == slo_windows(tracker.slo)
