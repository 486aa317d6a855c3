"""``make run`` as a newcomer runs it (bounded, on free ports), with ``make health`` and
``make chaos-orchestrator`` against it, on each engine: one Prometheus, and the global view
(``RUN_ARGS='--engine victoriametrics'``: two instances, a Prometheus shard each,
VictoriaMetrics and vmalert).

The stack renders the shipped spec's rules, starts the demo, the engines and traffic; the
runbook's triage query must return a value, ``make health`` must exit 0, the chaos target must
open the PMS circuit breaker, and SIGTERM must stop every child and remove the state file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo import procs
from demo.promapi import PromAPI
from tests.e2e.e2e_fleet import ROOT, spawn, wait_for

pytestmark = pytest.mark.e2e

# The venv stamp is taken as fresh (-o): the test must not reinstall packages midway.
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _two_free_ports() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (the global view's second instance and shard
    take the next port)."""
    for _ in range(100):
        p = procs.free_port()
        if p < 65535 and not procs.port_in_use(p + 1):
            return p
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module", params=["prometheus", "victoriametrics"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          prometheus_bin: str) -> Iterator[tuple[procs.Child, Path, str]]:
    engine = request.param
    var = tmp_path_factory.mktemp(f"stack-{engine}")
    ports = {"--port": _two_free_ports(), "--metrics-port": _two_free_ports(),
             "--prometheus-port": _two_free_ports(), "--alertmanager-port": procs.free_port(),
             "--notifications-port": procs.free_port(), "--status-port": procs.free_port()}
    if engine == "victoriametrics":
        ports |= {"--victoriametrics-port": procs.free_port(),
                  "--vmalert-port": procs.free_port()}
    args = " ".join(f"{k} {v}" for k, v in ports.items())
    run_args = (f"--var-dir {var} {args} --scrape-interval 1s --rate 20 --duration 300 "
                f"--prometheus {prometheus_bin} --engine {engine}")
    child = spawn("make run", [*MAKE, "run", f"RUN_ARGS={run_args}"], var / "make-run.log")
    pids: dict[str, int] = {}
    try:
        state = var / "state.json"
        wait_for("the stack's state.json", lambda: state.exists() or not child.alive(),
                 timeout=120)
        assert child.alive(), child.log_tail()
        st = json.loads(state.read_text())
        pids = st["pids"]
        assert st["engine"] == engine
        yield child, var, st["prometheus_url"]
    finally:
        procs.stop(child, timeout=20)
        for pid in pids.values():  # only if the stack failed to stop its children
            procs.stop_group(pid, timeout=5)


def test_the_stack_says_which_prometheus_runs(stack: tuple[procs.Child, Path, str],
                                             prometheus_bin: str) -> None:
    child, var, _ = stack
    log = child.log.read_text()
    assert "stack: running prometheus " in log and f"({prometheus_bin})" in log, log[-2000:]
    if json.loads((var / "state.json").read_text())["engine"] == "victoriametrics":
        assert "stack: running victoria-metrics " in log and "stack: running vmalert " in log


def test_alertmanager_and_the_receiver_are_wired(stack: tuple[procs.Child, Path, str]) -> None:
    """The evaluator sends to the stack's Alertmanager, which runs the rendered config."""
    child, var, _ = stack
    st = json.loads((var / "state.json").read_text())
    assert "stack: running alertmanager " in child.log.read_text()
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        assert client.get(st["alertmanager_url"] + "/-/ready").status_code == 200
        assert client.get(st["notifications_url"] + "/notifications").json()[
            "notifications"] == []
        receivers = client.get(st["alertmanager_url"] + "/api/v2/receivers").json()
    assert {r["name"] for r in receivers} == {"page", "ticket", "default"}
    if st["engine"] == "prometheus":
        with PromAPI(st["prometheus_url"]) as prom:
            wait_for("Prometheus to send to the stack's Alertmanager", lambda: [
                u for u in prom.alertmanagers() if u.startswith(st["alertmanager_url"])],
                timeout=30)


def test_the_banner_names_the_status_page_and_it_answers(
        stack: tuple[procs.Child, Path, str]) -> None:
    child, _, prom_url = stack
    wait_for("the banner", lambda: "Ctrl-C stops everything." in child.log.read_text(),
             timeout=60)
    (line,) = [x for x in child.log.read_text().splitlines() if "status page" in x]
    url = line.split()[2]
    assert url.startswith("http://127.0.0.1:"), line
    with httpx.Client(timeout=10, trust_env=False) as client:
        answer = wait_for("the status page's overview", lambda: (lambda r: r.status_code == 200
                          and "requests-availability" in r.text and r)(client.get(url + "/")),
                          timeout=60)
    assert f"read from {prom_url}" in answer.text  # type: ignore[union-attr]


def test_triage_query_returns_a_value(stack: tuple[procs.Child, Path, str]) -> None:
    _, _, prom_url = stack
    with PromAPI(prom_url) as prom:
        value = wait_for("orchestrator_success_rate_5m",
                         lambda: prom.values("orchestrator_success_rate_5m"), timeout=90)
        assert len(value) == 1 and 0 <= value[0] <= 100  # type: ignore[arg-type,index]


def test_make_health_passes(stack: tuple[procs.Child, Path, str]) -> None:
    _, var, _ = stack
    result = subprocess.run([*MAKE, "health", f"HEALTH_ARGS=--state-dir {var}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "health: all checks passed" in result.stdout
    st = json.loads((var / "state.json").read_text())
    assert result.stdout.count("scrape target") == len(st["metrics_urls"])
    if st["engine"] == "victoriametrics":
        assert len(st["metrics_urls"]) == 2
        assert "samples from shard-1, shard-2" in result.stdout, result.stdout
        assert "rules loaded" in result.stdout and "shard-2" in result.stdout


def test_make_chaos_opens_the_breaker(stack: tuple[procs.Child, Path, str]) -> None:
    _, var, prom_url = stack
    result = subprocess.run(
        [*MAKE, "chaos-orchestrator", f"CHAOS_ARGS=--state-dir {var} --duration 0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    with PromAPI(prom_url) as prom:
        n = len(json.loads((var / "state.json").read_text())["app_urls"])
        wait_for("the PMS circuit breaker to open on every instance",
                 lambda: prom.values("pms_circuit_breaker_state") == [1.0] * n, timeout=60)
        wait_for("pms_unavailable errors", lambda: prom.query(
            'sum(rate(orchestrator_errors_total{error_type=~"pms_unavailable|circuit_open"}'
            "[1m])) > 0"), timeout=30)


def test_make_health_fails_without_the_stack(tmp_path: Path) -> None:
    """Nothing on the ports: one FAIL line per check and a non-zero exit."""
    state = {"app_urls": [f"http://127.0.0.1:{procs.free_port()}"],
             "metrics_urls": [f"http://127.0.0.1:{procs.free_port()}/metrics"],
             "prometheus_url": f"http://127.0.0.1:{procs.free_port()}"}
    (tmp_path / "state.json").write_text(json.dumps(state))
    result = subprocess.run([*MAKE, "health", f"HEALTH_ARGS=--state-dir {tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert result.stderr.count("FAIL") == 3, result.stderr


def test_sigterm_stops_everything(stack: tuple[procs.Child, Path, str]) -> None:
    child, var, _ = stack
    pids = json.loads((var / "state.json").read_text())["pids"]
    os.killpg(child.pid, signal.SIGTERM)
    child.popen.wait(timeout=60)
    wait_for("every child of the stack to exit",
             lambda: not any(_pid_alive(p) for p in pids.values()), timeout=30)
    assert not (var / "state.json").exists()
