"""Run the real promtool (``subprocess``, no wrapper library) and report its verdict."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from slo.errors import UserError

INSTALL_HINT = ("promtool not found on PATH: install Debian's prometheus package "
                "(sudo apt-get install prometheus) or a Prometheus release that ships promtool")


@dataclass(frozen=True)
class Result:
    ok: bool
    returncode: int
    output: str


def promtool_path() -> str:
    path = shutil.which("promtool")
    if path is None:
        raise UserError(INSTALL_HINT)
    return path


def check_rules(files: list[str]) -> Result:
    """``promtool check rules --lint=all --lint-fatal``: exit 0 ok, 1 invalid, 3 lint."""
    return _run(["check", "rules", "--lint=all", "--lint-fatal", *files])


def run_rule_tests(files: list[str]) -> Result:
    return _run(["test", "rules", *files])


def _run(args: list[str]) -> Result:
    proc = subprocess.run([promtool_path(), *args], capture_output=True, text=True,
                          check=False)
    return Result(proc.returncode == 0, proc.returncode, (proc.stdout + proc.stderr).strip())
