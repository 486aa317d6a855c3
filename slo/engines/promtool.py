"""Run the real promtool (``subprocess``, no wrapper library) and report its verdict."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from slo.engines.discovery import Binary, find


@dataclass(frozen=True)
class Result:
    ok: bool
    returncode: int
    output: str
    engine: Binary


def promtool(explicit: str | None = None) -> Binary:
    return find("promtool", explicit)


def check_rules(files: list[str], binary: Binary | None = None) -> Result:
    """``promtool check rules --lint=all --lint-fatal``: exit 0 ok, 1 invalid, 3 lint."""
    return run(binary or promtool(), ["check", "rules", "--lint=all", "--lint-fatal", *files])


def run_rule_tests(files: list[str], binary: Binary | None = None) -> Result:
    return run(binary or promtool(), ["test", "rules", *files])


def run(binary: Binary, args: list[str]) -> Result:
    proc = subprocess.run([binary.path, *args], capture_output=True, text=True, check=False)
    return Result(proc.returncode == 0, proc.returncode, (proc.stdout + proc.stderr).strip(),
                  binary)
