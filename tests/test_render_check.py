"""``slo-gen render --check`` (drift in CI) and the repository's pre-commit hooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slo.cli import main
from tests.conftest import ROOT


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def test_check_passes_on_the_committed_rules_and_writes_nothing(cli) -> None:
    before = _snapshot(ROOT / "rules")
    result = cli.invoke(main, ["render", "--check", "-o", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"ok: 2 file(s) in {ROOT / 'rules'} match the spec\n"
    assert _snapshot(ROOT / "rules") == before


def test_one_changed_byte_is_a_diff_and_exit_1(tmp_path: Path, cli) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    target = rules / "orchestrator.rules.yml"
    text = target.read_bytes()
    at = text.index(b"vector(0.995)") + len(b"vector(0.99")
    target.write_bytes(text[:at] + b"4" + text[at + 1:])  # 0.995 -> 0.994
    before = _snapshot(rules)
    result = cli.invoke(main, ["render", "--check", "-o", str(rules)])
    assert result.exit_code == 1
    assert _snapshot(rules) == before
    diff = result.stdout.splitlines()
    assert diff[:2] == [f"--- {target}", f"+++ {target}"]
    assert [line for line in diff[2:] if line[:1] in "+-"] == [
        "-    expr: vector(0.994)", "+    expr: vector(0.995)"]
    assert result.stderr.splitlines() == [
        f"error: {target}: stale: run `slo-gen render -o {rules}` and commit the result"]


def test_missing_files_are_drift_and_nothing_is_created(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["render", "--check", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'out' / name}: missing: run `slo-gen render -o {tmp_path / 'out'}`"
        " and commit the result" for name in ("orchestrator.rules.yml", "orchestrator.test.yml")]
    assert result.stdout.count(f"+++ {tmp_path / 'out'}") == 2


def test_check_needs_a_directory(cli) -> None:
    result = cli.invoke(main, ["render", "--check", "-o", "-"])
    assert result.exit_code == 1
    assert result.stderr == ("error: --check compares with files on disk: give a directory "
                             "with -o\n")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example"})


@pytest.mark.slow
def test_pre_commit_hooks_run_from_this_repository(tmp_path: Path) -> None:
    """``pre-commit try-repo`` installs this checkout (uncommitted changes included) in its own
    virtualenv, as a user's ``repos:`` entry would, and runs both hooks in a project that
    keeps the default spec's rules: both pass, then a hand-edited rule fails the drift hook."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        pytest.fail("pre-commit is not installed: it is in the project's test extra")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "rules", project / "rules")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "rules")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def run(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(pre_commit), "try-repo", str(ROOT), hook, "--all-files"],
                              cwd=project, env=env, capture_output=True, text=True,
                              timeout=900)

    for hook in ("slo-gen-validate", "slo-gen-check"):
        ok = run(hook)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "Passed" in ok.stdout, ok.stdout
    rule_file = project / "rules" / "orchestrator.rules.yml"
    rule_file.write_text(rule_file.read_text().replace("vector(0.995)", "vector(0.994)"))
    _git(project, "commit", "-q", "-am", "hand edit")
    stale = run("slo-gen-check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "-    expr: vector(0.994)\n+    expr: vector(0.995)\n" in stale.stdout, stale.stdout
    assert "stale: run `slo-gen render -o rules`" in stale.stdout


def test_the_documented_ci_job_validates_checks_drift_and_runs_check_and_test() -> None:
    """docs/ci.md's GitHub Actions job is valid YAML and runs, in order, the four steps."""
    import re

    import yaml

    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    (workflow,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "jobs:" in b]
    doc = yaml.safe_load(workflow)
    (job,) = doc["jobs"].values()
    runs = [step["run"].split()[:3] for step in job["steps"] if "run" in step
            and step["run"].startswith("slo-gen")]
    assert runs == [["slo-gen", "validate", "slo/orchestrator.yaml"],
                    ["slo-gen", "render", "slo/orchestrator.yaml"],
                    ["slo-gen", "check", "rules/*.rules.yml"],
                    ["slo-gen", "test", "rules/*.test.yml"]]
    assert any("--check" in step.get("run", "") for step in job["steps"])
