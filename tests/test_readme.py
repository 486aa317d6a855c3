"""Every `$ command` in the README's console blocks runs, and the output it shows is true.

`make run` and `make test` are the README's other commands: CI runs `make test`, and the
end-to-end tests run the stack `make run` starts.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _commands() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ ` line of the README."""
    found: list[tuple[str, list[str]]] = []
    for block in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:].split("  #")[0].strip(), []))
            elif found and line.strip() and not line.startswith("make "):
                found[-1][1].append(line)
    return found


COMMANDS = _commands()


def test_readme_has_commands() -> None:
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command(command: str, expected: list[str], tmp_path: Path, promtool) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "tests" / "fixtures", tmp_path / "tests" / "fixtures")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    argv = shlex.split(command)
    if argv[:2] in (["slo-gen", "check"], ["slo-gen", "test"]):
        subprocess.run(["slo-gen", "render", "-o", "out"], cwd=tmp_path, env=env, check=True,
                       capture_output=True)
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    shown_errors = expected and all(line.startswith("error: ") for line in expected)
    assert proc.returncode == (1 if shown_errors else 0), proc.stdout + proc.stderr
    if expected:
        got = (proc.stderr if shown_errors else proc.stdout).strip().splitlines()
        assert got == expected
