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
        "exporter": ("slo.rules", "slo.testgen", "slo.outputs", "slo.engines", "slo.cli",
                     "slo.status", "slo.serve"),
        # status reads the plan and the recorded names; it renders and runs nothing
        "slo.status": ("slo.readers", "slo.testgen", "slo.outputs", "slo.engines", "slo.cli",
                       "slo.serve", "exporter", "starlette", "uvicorn", "httpx"),
        "slo.serve": ("slo.readers", "slo.testgen", "slo.engines", "slo.cli"),
    }
    found = {stage: _offenders(graph, stage, forbidden) for stage, forbidden in later.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_serve_shares_only_the_web_config_with_the_exporter() -> None:
    """One web-config loader (and listen-address parser) for both servers, nothing more of
    the exporter: the status page is the generator's, not the exporter's."""
    graph = _imports()
    used = {i for mod, imports in graph.items() if mod.startswith("slo.serve")
            for i in imports if i == "exporter" or i.startswith("exporter.")}
    assert {i.rsplit(".", 1)[0] if i.count(".") > 1 else i for i in used} <= {
        "exporter.webconfig", "exporter.server"}


def test_only_the_serve_app_imports_the_web_framework() -> None:
    """``slo-gen`` (and status) work without the serve extra: Starlette and uvicorn are
    imported by the app modules alone, which the CLI loads only to serve."""
    graph = _imports()
    users = {mod for mod, imports in graph.items() if mod.startswith("slo")
             and any(i.split(".")[0] in ("starlette", "uvicorn") for i in imports)}
    assert users == {"slo.serve.app", "slo.serve.server"}


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
