"""The committed rules/ directory passes the real promtool as it stands."""

from __future__ import annotations

from tests.conftest import ROOT, assert_promtool_passes


def test_committed_rules_pass_promtool_check_and_test(promtool) -> None:
    rules = sorted((ROOT / "rules").glob("*.rules.yml"))
    tests = sorted((ROOT / "rules").glob("*.test.yml"))
    assert rules and tests
    assert_promtool_passes(promtool, rules, tests)
