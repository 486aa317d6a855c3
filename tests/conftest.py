"""Shared fixtures for the generator's tests: the real promtool, the repo root, the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from slo.engines import discovery

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run a real engine (the ``promtool`` fixture) are marked ``engine``, so
    ``make check`` can leave them out and stay inside its minute."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "promtool" in fixtures or "every_promtool" in fixtures:
            item.add_marker(pytest.mark.engine)
        if "installed_wheel" in fixtures:  # builds and pip-installs the wheel
            item.add_marker(pytest.mark.slow)


# Every Prometheus series the rules are proven on; the first is the default engine.
SUPPORTED_PROMETHEUS = ((3, 5), (2, 53), (2, 42))


def _promtool_of(series: tuple[int, int]) -> str:
    for binary in discovery.all_versions("promtool"):
        if binary.version[:2] == series:
            return binary.path
    pytest.fail(f"promtool {series[0]}.{series[1]} not found: `make test` fetches it "
                "(make engines) and installs 2.42 (make promtool)")


@pytest.fixture(scope="session")
def promtool() -> str:
    """The default engine's promtool (3.5 LTS), as ``slo-gen check/test`` pick it."""
    path = _promtool_of(SUPPORTED_PROMETHEUS[0])
    assert discovery.find("promtool").path == path, "slo-gen would pick another promtool"
    return path


@pytest.fixture(scope="session", params=SUPPORTED_PROMETHEUS,
                ids=[f"prometheus-{a}.{b}" for a, b in SUPPORTED_PROMETHEUS])
def every_promtool(request: pytest.FixtureRequest) -> str:
    """Each supported Prometheus' promtool in turn: the compatibility matrix."""
    series: tuple[int, int] = request.param
    return _promtool_of(series)


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
