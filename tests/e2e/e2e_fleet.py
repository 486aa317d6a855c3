"""The end-to-end tests' fleet: real demo instances and a real Prometheus on 127.0.0.1.

A fleet is two demo orchestrators and one Prometheus scraping both every second, with rendered
rules evaluated every second, on ports chosen free at run time. A global fleet
(:func:`start_global_fleet`) is the same two instances, each scraped by its own Prometheus
shard that forwards every sample by remote_write to one VictoriaMetrics, where vmalert
evaluates the rules every second (:mod:`demo.globalview`). Every child runs in its own
process group; :data:`CHILDREN` records them all so a session finalizer can stop whatever a
failed fixture left behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from demo import alertmanager as am
from demo import engines, globalview, procs, promconfig
from demo.notifications import Notification, read_log
from demo.promapi import PromAPI

ROOT = Path(__file__).resolve().parents[2]
E2E_SPEC = Path(__file__).with_name("orchestrator-e2e.yaml")
INTERVAL = "1s"

CHILDREN: list[procs.Child] = []  # everything started this session, for the last resort


def spawn(name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
          ) -> procs.Child:
    child = procs.spawn(name, argv, log, env=env, cwd=ROOT)
    CHILDREN.append(child)
    return child


def wait_for(what: str, check: Callable[[], object], timeout: float, interval: float = 0.5
             ) -> object:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and the last value.

    Only a generous upper bound: the tests never assert how fast something happens.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


def wait_tcp(child: procs.Child, port: int, timeout: float = 30.0) -> None:
    """Wait until ``port`` accepts connections, without sending the app a request."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            pytest.fail(f"{child.name} exited ({child.popen.returncode}):\n{child.log_tail()}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{child.name}: port {port} not accepting after {timeout:g}s")


def render(spec: Path | None, out: Path) -> list[Path]:
    """Rules rendered by the real ``slo-gen render`` CLI of this checkout (the embedded spec
    when None).

    The period's step sums run at the fleet's interval: with the default 5m step their group
    would first run up to 5 minutes after Prometheus starts, longer than a test waits.
    """
    args = [sys.executable, *procs.SLO_GEN, "render", *([str(spec)] if spec else []),
            "-o", str(out), "--period-step", INTERVAL]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"slo-gen render failed:\n{result.stderr}"
    rules = sorted(out.glob("*.rules.yml"))
    assert rules, f"slo-gen render wrote no rules into {out}"
    return rules


@dataclass
class Instance:
    """One demo orchestrator process and its fixed ports (kept across restarts)."""

    index: int
    port: int
    metrics_port: int
    log: Path
    token: str
    extra_args: list[str]
    child: procs.Child | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    def start(self) -> None:
        self.child = spawn(f"demo-{self.index}", [
            sys.executable, "-m", "demo", "--port", str(self.port),
            "--metrics-port", str(self.metrics_port), "--instance", f"demo-{self.index}",
            "--seed", str(self.index), "--breaker-recovery-timeout", "1", *self.extra_args,
        ], self.log, env={"DEMO_ADMIN_TOKEN": self.token})
        procs.wait_http(self.child, f"http://{self.target}/healthz")  # not an app request
        wait_tcp(self.child, self.port)

    def kill(self) -> None:
        """A crash: SIGKILL, no clean shutdown."""
        assert self.child is not None
        os.killpg(self.child.pid, signal.SIGKILL)
        self.child.popen.wait(timeout=10)


@dataclass
class Instances:
    """Demo instances, the admin token they share, and the traffic sent to them."""

    instances: list[Instance]
    token: str
    workdir: Path
    extra: list[procs.Child] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [i.url for i in self.instances]

    def traffic(self, rate: float, duration: float, seed: int = 1) -> procs.Child:
        """The real traffic generator against both instances, in the background."""
        args = [sys.executable, "-m", "demo.traffic", "--rate", str(rate),
                "--duration", str(duration), "--seed", str(seed)]
        for url in self.urls:
            args += ["--target", url]
        child = spawn("traffic", args, self.workdir / "traffic.log")
        self.extra.append(child)
        return child

    def stop_instances(self) -> None:
        for child in [i.child for i in self.instances if i.child is not None]:
            procs.stop(child, timeout=5)


@dataclass
class Fleet(Instances):
    prom: PromAPI = field(kw_only=True)
    prom_child: procs.Child = field(kw_only=True)

    def stop(self) -> None:
        for child in self.extra:
            procs.stop(child, timeout=5)
        procs.stop(self.prom_child, timeout=5)
        self.stop_instances()
        self.prom.close()


def _instances(workdir: Path, token: str, demo_args: Sequence[str]) -> list[Instance]:
    return [Instance(i, procs.free_port(), procs.free_port(), workdir / f"demo-{i}.log",
                     token, list(demo_args)) for i in range(2)]


def start_fleet(workdir: Path, rules: list[Path], prometheus: str,
                demo_args: Sequence[str] = (), alertmanager: str | None = None) -> Fleet:
    """Two demo instances and one Prometheus (1 s scrape and evaluation) with ``rules``,
    sending its alerts to ``alertmanager`` (``host:port``) when given."""
    token = secrets.token_urlsafe(24)
    instances = _instances(workdir, token, demo_args)
    prom_child = None
    try:
        for inst in instances:
            inst.start()
        config = workdir / "prometheus.yml"
        config.write_text(promconfig.config([i.target for i in instances], rules, INTERVAL,
                                            alertmanagers=[alertmanager] if alertmanager
                                            else []))
        prom_port = procs.free_port()
        prom_child = spawn("prometheus", promconfig.argv(
            prometheus, config, workdir / "data", f"127.0.0.1:{prom_port}"),
            workdir / "prometheus.log")
        procs.wait_http(prom_child, f"http://127.0.0.1:{prom_port}/-/ready", timeout=60)
        fleet = Fleet(instances, token, workdir, prom=PromAPI(f"http://127.0.0.1:{prom_port}"),
                      prom_child=prom_child)
    except BaseException:
        for child in [prom_child, *(i.child for i in instances)]:
            if child is not None:
                procs.stop(child, timeout=5)
        raise
    wait_for("both demo targets up", lambda: targets_up(fleet) == 2, timeout=30)
    return fleet


def targets_up(fleet: Fleet) -> int:
    return sum(t["health"] == "up" for t in fleet.prom.targets())


@dataclass
class GlobalFleet(Instances):
    """Two instances, a Prometheus shard each, VictoriaMetrics and vmalert."""

    view: globalview.GlobalView = field(kw_only=True)
    vm: PromAPI = field(kw_only=True)  # VictoriaMetrics' query API
    vmalert: PromAPI = field(kw_only=True)  # vmalert's own API: alerts and rules
    shards: list[PromAPI] = field(kw_only=True)  # shard n scrapes instances[n]

    def stop(self) -> None:
        for child in self.extra:
            procs.stop(child, timeout=5)
        self.view.stop(timeout=5)
        self.stop_instances()
        for api in (self.vm, self.vmalert, *self.shards):
            api.close()


def start_global_fleet(workdir: Path, rules: list[Path], prometheus: engines.Engine,
                       demo_args: Sequence[str] = ()) -> GlobalFleet:
    """Two demo instances, each scraped every second by its own Prometheus shard, remote
    writing to VictoriaMetrics, and vmalert evaluating ``rules`` every second."""
    token = secrets.token_urlsafe(24)
    instances = _instances(workdir, token, demo_args)
    view = None
    try:
        for inst in instances:
            inst.start()
        view = globalview.start(lambda name, argv, log: spawn(name, argv, log), workdir, rules,
                                [[i.target] for i in instances], INTERVAL, prometheus=prometheus)
    except BaseException:
        for child in [i.child for i in instances]:
            if child is not None:
                procs.stop(child, timeout=5)
        raise
    return GlobalFleet(instances, token, workdir, view=view, vm=PromAPI(view.vm_url),
                       vmalert=PromAPI(view.vmalert_url),
                       shards=[PromAPI(u) for u in view.shard_urls])


@dataclass
class Delivery:
    """A real Alertmanager and the demo's webhook receiver (:mod:`demo.notifications`) it posts
    every notification to: what an on-call would get, counted from the receiver's log."""

    address: str  # host:port, for Prometheus' alerting config
    receiver_url: str
    log: Path
    children: list[procs.Child]

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def notifications(self, receiver: str | None = None) -> list[Notification]:
        return [n for n in read_log(self.log) if receiver is None or n.receiver == receiver]

    def alerts(self) -> list[dict[str, object]]:
        """Alertmanager's own view (``/api/v2/alerts``): each alert's labels and status."""
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            r = client.get(self.url + "/api/v2/alerts")
            r.raise_for_status()
            return list(r.json())

    def stop(self) -> None:
        for child in reversed(self.children):
            procs.stop(child, timeout=5)


#: Route timings of the e2e Alertmanager, by receiver: a page is told at once and about every
#: change; tickets and warnings wait 10 s for a page of the same incident to inhibit them
#: (the rendered default waits 5 minutes) and are not looked at again within a test.
E2E_TIMINGS = {
    "page": am.Timings("1s", "1s", "1h"),
    "ticket": am.Timings("10s", "10m", "1h"),
    "default": am.Timings("10s", "10m", "1h"),
}


def alertmanager_config(spec: Path, workdir: Path) -> Callable[[str], str]:
    """``slo-gen alertmanager SPEC --webhook-url URL`` of this checkout, with
    :data:`E2E_TIMINGS` on its routes."""
    def config(webhook_url: str) -> str:
        out = workdir / "rendered" / "alertmanager.yml"
        am.render([str(spec)], out, webhook_url)
        return am.with_timings(out.read_text(), E2E_TIMINGS)
    return config


def start_delivery(workdir: Path, config: Callable[[str], str], binary: str) -> Delivery:
    """The receiver, then Alertmanager with ``config(webhook_url_template)``."""
    workdir.mkdir(parents=True, exist_ok=True)
    recv_port, am_port = procs.free_port(), procs.free_port()
    log = workdir / "notifications.log"
    children: list[procs.Child] = []
    try:
        recv = spawn("notifications", [sys.executable, "-m", "demo.notifications", "--port",
                                       str(recv_port), "--log", str(log)],
                     workdir / "notifications.stdout")
        children.append(recv)
        procs.wait_http(recv, f"http://127.0.0.1:{recv_port}/health")
        config_file = workdir / "alertmanager.yml"
        config_file.write_text(config(f"http://127.0.0.1:{recv_port}/notify/{{receiver}}"))
        children.append(am.start(lambda name, argv, out: spawn(name, argv, out), binary,
                                 config_file, workdir / "alertmanager-data", am_port,
                                 workdir / "alertmanager.log"))
    except BaseException:
        for child in reversed(children):
            procs.stop(child, timeout=5)
        raise
    return Delivery(f"127.0.0.1:{am_port}", f"http://127.0.0.1:{recv_port}", log, children)
