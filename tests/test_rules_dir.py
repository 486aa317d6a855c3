"""The committed rules/ directory passes every supported promtool as it stands, with the same
expectations: the generated tests hold under Prometheus 2's and 3's range semantics alike."""

from __future__ import annotations

from tests.conftest import ROOT, assert_promtool_passes


def test_committed_rules_pass_promtool_check_and_test(every_promtool: str) -> None:
    rules = sorted((ROOT / "rules").glob("*.rules.yml"))
    tests = sorted((ROOT / "rules").glob("*.test.yml"))
    assert rules and tests
    assert_promtool_passes(every_promtool, rules, tests)
