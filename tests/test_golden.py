"""Every rendered output matches its committed golden file byte for byte (``make golden``)."""

from __future__ import annotations

import difflib
from pathlib import Path

from slo.outputs.formats import Options, render
from slo.readers.load import load_paths
from tests.conftest import assert_promtool_passes
from tests.golden_files import FORMATS, GOLDEN, SPECS, render_all


def test_golden_files_are_current() -> None:
    rendered = render_all()
    committed = {str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8")
                 for p in GOLDEN.rglob("*") if p.is_file()}
    assert sorted(committed) == sorted(rendered), "run `make golden`: files added or removed"
    stale = [rel for rel in rendered if committed[rel] != rendered[rel]]
    diff = "".join(line for rel in stale[:3] for line in difflib.unified_diff(
        committed[rel].splitlines(True), rendered[rel].splitlines(True),
        f"golden/{rel}", f"rendered/{rel}", n=1))
    assert not stale, f"stale golden files (run `make golden`): {stale}\n{diff[:4000]}"


# Whose generated tests run on every engine: the shipped spec, the minute-scale e2e spec and a
# latency SLI (Prometheus 3 stores classic histogram bounds normalised). The Sloth and OpenSLO
# fixtures' tests run on the default engine in their own test modules.
MATRIX = ("orchestrator", "orchestrator-e2e", "checkout-latency")


def test_every_golden_rule_file_passes_every_engine(every_promtool: str, tmp_path: Path) -> None:
    """Every format's groups (as the format's own check hands them to promtool) pass the lint,
    and the generated tests pass with the same expectations, on every supported Prometheus."""
    rules = []
    for stem, spec in SPECS.items():
        for fmt in FORMATS:
            for f in render(load_paths([str(spec)]), Options(fmt)):
                if f.check_text is not None:
                    path = tmp_path / stem / fmt / f.name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(f.check_text, encoding="utf-8")
                    rules.append(path)
    tests = [GOLDEN / stem / "prometheus-native" / f for stem in MATRIX
             for f in sorted(p.name for p in (GOLDEN / stem / "prometheus-native").glob(
                 "*.test.yml"))]
    assert len(rules) == len(FORMATS) * len(SPECS) and len(tests) == len(MATRIX)
    assert_promtool_passes(every_promtool, rules, tests)
