"""Every rendered output matches its committed golden file byte for byte (``make golden``)."""

from __future__ import annotations

import difflib

from tests.golden_files import GOLDEN, render_all


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
