"""Shared fixtures for the generator's tests: the real promtool, the repo root, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


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
