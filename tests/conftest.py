"""Shared fixtures for the generator's tests: the real promtool, the repo root, the CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run a real engine (the ``promtool`` fixture) are marked ``engine``, so
    ``make check`` can leave them out and stay inside its minute."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "promtool" in fixtures:
            item.add_marker(pytest.mark.engine)
        if "installed_wheel" in fixtures:  # builds and pip-installs the wheel
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def promtool() -> str:
    """The real promtool; `make test` installs Debian's prometheus package when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make test`, which installs it")
    return path


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def assert_promtool_passes(promtool: str, rules: list[Path], tests: list[Path]) -> None:
    """`promtool check rules --lint=all --lint-fatal` on the rules, `promtool test rules` on the
    tests; the assertion message is promtool's own output."""
    if rules:
        check = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal",
                                *map(str, rules)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    if tests:
        test = subprocess.run([promtool, "test", "rules", *map(str, tests)],
                              capture_output=True, text=True)
        assert test.returncode == 0, test.stdout + test.stderr
