"""Fixtures for the end-to-end tests (helpers in ``e2e_fleet``).

Each test module gets its own fleet through ``fleet_factory``, so modules do not see each
other's traffic or alerts; the module's finalizer stops it, also when a test fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from demo import engines, procs
from tests.e2e.e2e_fleet import (
    CHILDREN,
    E2E_SPEC,
    Delivery,
    Fleet,
    GlobalFleet,
    alertmanager_config,
    render,
    start_delivery,
    start_fleet,
    start_global_fleet,
    wait_for,
)


@pytest.fixture(scope="session", autouse=True)
def _stop_leftovers() -> Iterator[None]:
    yield
    for child in CHILDREN:
        if child.alive():
            procs.stop(child, timeout=5)


@pytest.fixture(scope="session")
def prometheus_engine(request: pytest.FixtureRequest) -> engines.Engine:
    """The Prometheus the fleets run: ``$PROMETHEUS``, else 3.5 from ``make engines``, else
    ``prometheus`` on PATH (``PROMETHEUS=/usr/bin/prometheus`` runs the suite on 2.42)."""
    try:
        engine = engines.prometheus()
    except procs.StartError as exc:
        pytest.fail(str(exc))
    _announce(request, f"e2e: {engine.describe()}")
    return engine


@pytest.fixture(scope="session")
def prometheus_bin(prometheus_engine: engines.Engine) -> str:
    return prometheus_engine.path


def _announce(request: pytest.FixtureRequest, line: str) -> None:
    """One line on the terminal (also under -q and with output captured)."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def default_rules(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The shipped spec's rules (what `make run` loads)."""
    return render(None, tmp_path_factory.mktemp("rules-default"))


@pytest.fixture(scope="session")
def e2e_rules(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The seconds-scale test spec's rules."""
    return render(E2E_SPEC, tmp_path_factory.mktemp("rules-e2e"))


@pytest.fixture(scope="module")
def fleet_factory(tmp_path_factory: pytest.TempPathFactory, prometheus_bin: str
                  ) -> Iterator[Callable[..., Fleet]]:
    """``fleet_factory(rules, demo_args=[...])`` -> a running Fleet, stopped after the module."""
    started: list[Fleet] = []

    def make(rules: list[Path], demo_args: Sequence[str] = (),
             alertmanager: str | None = None) -> Fleet:
        fleet = start_fleet(tmp_path_factory.mktemp("fleet"), rules, prometheus_bin, demo_args,
                            alertmanager)
        started.append(fleet)
        return fleet

    yield make
    for fleet in started:
        fleet.stop()


@pytest.fixture(scope="session")
def alertmanager_bin(request: pytest.FixtureRequest) -> str:
    """``$ALERTMANAGER``, else 0.33 from ``make engines``, else one on PATH."""
    try:
        engine = engines.alertmanager()
    except procs.StartError as exc:
        pytest.fail(str(exc))
    _announce(request, f"e2e: {engine.describe()}")
    return engine.path


@pytest.fixture(scope="module")
def e2e_delivery(tmp_path_factory: pytest.TempPathFactory, alertmanager_bin: str
                 ) -> Iterator[Delivery]:
    """A real Alertmanager with the configuration ``slo-gen alertmanager`` renders for the
    seconds-scale spec (test timings), delivering to the demo's webhook receiver; one per
    module, so each module counts only its own notifications."""
    workdir = tmp_path_factory.mktemp("delivery")
    try:
        delivery = start_delivery(workdir, alertmanager_config(E2E_SPEC, workdir),
                                  alertmanager_bin)
    except procs.StartError as exc:
        pytest.fail(str(exc))
    yield delivery
    delivery.stop()


@pytest.fixture(scope="module")
def healthy_e2e_fleet(e2e_delivery, fleet_factory, e2e_rules) -> Fleet:
    """Two instances on the seconds-scale rules, 30 requests/s for 4 minutes, and a success
    rate already at 100: the starting point of the alert and restart modules (one per module).
    Prometheus sends its alerts to the module's ``e2e_delivery``."""
    fleet = fleet_factory(e2e_rules, alertmanager=e2e_delivery.address)
    fleet.traffic(rate=30, duration=240)
    wait_for("a healthy success rate",
             lambda: fleet.prom.values("orchestrator_success_rate_5m") == [100.0], timeout=60)
    return fleet


@pytest.fixture(scope="module")
def global_fleet_factory(tmp_path_factory: pytest.TempPathFactory,
                         prometheus_engine: engines.Engine, request: pytest.FixtureRequest
                         ) -> Iterator[Callable[..., GlobalFleet]]:
    """``global_fleet_factory(rules)`` -> two instances, a Prometheus shard each, remote
    writing to VictoriaMetrics, vmalert evaluating ``rules``; stopped after the module."""
    started: list[GlobalFleet] = []

    def make(rules: list[Path], demo_args: Sequence[str] = ()) -> GlobalFleet:
        try:
            fleet = start_global_fleet(tmp_path_factory.mktemp("global"), rules,
                                       prometheus_engine, demo_args)
        except procs.StartError as exc:
            pytest.fail(str(exc))
        started.append(fleet)
        _announce(request, "e2e global view: " + "; ".join(fleet.view.versions))
        return fleet

    yield make
    for fleet in started:
        fleet.stop()
