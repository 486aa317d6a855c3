"""The committed rules/ directory passes the real promtool as it stands."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_committed_rules_pass_promtool_check_and_test(promtool) -> None:
    rules = sorted(str(p) for p in (ROOT / "rules").glob("*.rules.yml"))
    tests = sorted(str(p) for p in (ROOT / "rules").glob("*.test.yml"))
    assert rules and tests
    check = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal", *rules],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", *tests], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr
