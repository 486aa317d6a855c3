"""The global view across Prometheus shards: remote_write into VictoriaMetrics, rules in vmalert.

Each Prometheus shard scrapes its share of the demo instances and forwards every sample by
``remote_write`` to one single-node VictoriaMetrics (``/api/v1/write``), tagged with its
``shard`` external label; the shards evaluate no rules. vmalert evaluates the rendered rules
against VictoriaMetrics (``-datasource.url``), writes what the recording rules record and the
``ALERTS`` series back to it (``-remoteWrite.url``), restores alert state from it on a restart
(``-remoteRead.url``) and sends alerts to an Alertmanager when one is given, so the fleet-wide
SLO is computed from every shard's raw counters in one place.

Two delays are part of this design and are set here, not hidden:

- **Data delay** (:data:`DATA_DELAY`): a sample reaches VictoriaMetrics about 1-2 s after its
  scrape (the shard's queue sends once a second, VictoriaMetrics makes new rows searchable
  within a second or two). vmalert evaluates each rule at ``now - DATA_DELAY``
  (``-rule.evalDelay``) and records the result at that timestamp, and VictoriaMetrics answers
  queries for the last ``DATA_DELAY`` from the samples before it (``-search.latencyOffset``),
  so no evaluation reads a window whose last samples are still on their way.
- **Chained rules lag**: a rule that reads another rule's recording of the same group sees the
  recording vmalert wrote in an earlier evaluation, once it has made the round trip through
  ``-remoteWrite.url`` (flushed every :data:`FLUSH_INTERVAL`) into VictoriaMetrics; each link
  of such a chain adds that round trip (docs/engines.md measures it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from demo import engines, procs, promconfig
from demo.promapi import PromAPI, PromError

#: vmalert's -rule.evalDelay and VictoriaMetrics' -search.latencyOffset (see the docstring).
DATA_DELAY = "10s"
#: vmalert's -remoteWrite.flushInterval: how often recorded samples are sent (default 2s).
FLUSH_INTERVAL = "1s"

Spawn = Callable[[str, Sequence[str], Path], procs.Child]


def victoria_metrics_argv(binary: str, data_dir: Path, listen: str) -> list[str]:
    return [
        binary,
        f"-storageDataPath={data_dir}",
        f"-httpListenAddr={listen}",
        "-retentionPeriod=1d",
        f"-search.latencyOffset={DATA_DELAY}",
        "-loggerLevel=WARN",
    ]


def vmalert_argv(binary: str, rule_files: Sequence[Path], datasource: str, listen: str,
                 interval: str, notifier: str | None = None) -> list[str]:
    """vmalert evaluating ``rule_files`` every ``interval`` against ``datasource``."""
    return [
        binary,
        *(f"-rule={Path(f).resolve()}" for f in rule_files),
        f"-datasource.url={datasource}",
        f"-remoteWrite.url={datasource}",
        f"-remoteRead.url={datasource}",
        f"-remoteWrite.flushInterval={FLUSH_INTERVAL}",
        f"-evaluationInterval={interval}",
        f"-rule.evalDelay={DATA_DELAY}",
        f"-httpListenAddr={listen}",
        f"-notifier.url={notifier}" if notifier else "-notifier.blackhole",
        "-loggerLevel=WARN",
    ]


@dataclass
class GlobalView:
    """The running parts: VictoriaMetrics, the Prometheus shards, vmalert."""

    vm_url: str
    vmalert_url: str
    shard_urls: list[str]
    children: list[procs.Child] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        for child in reversed(self.children):
            procs.stop(child, timeout)


def start(spawn: Spawn, workdir: Path, rule_files: Sequence[Path],
          shard_targets: Sequence[Sequence[str]], interval: str, *,
          vm_port: int | None = None, vmalert_port: int | None = None,
          shard_ports: Sequence[int] | None = None, prometheus: engines.Engine | None = None,
          notifier: str | None = None) -> GlobalView:
    """VictoriaMetrics, one Prometheus per entry of ``shard_targets``, then vmalert.

    ``spawn`` starts a child (the caller keeps track of it); ports default to free ones. On a
    failure everything started here is stopped before the error is raised.
    """
    prometheus = prometheus or engines.prometheus()
    vm_engine, vmalert_engine = engines.victoria_metrics(), engines.vmalert()
    vm_port = vm_port or procs.free_port()
    vmalert_port = vmalert_port or procs.free_port()
    shard_ports = list(shard_ports or [procs.free_port() for _ in shard_targets])
    view = GlobalView(f"http://127.0.0.1:{vm_port}", f"http://127.0.0.1:{vmalert_port}",
                      [f"http://127.0.0.1:{p}" for p in shard_ports],
                      versions=[e.describe() for e in (prometheus, vm_engine, vmalert_engine)])
    logs = workdir / "logs"
    try:
        vm = spawn("victoria-metrics", victoria_metrics_argv(
            vm_engine.path, workdir / "victoria-metrics-data", f"127.0.0.1:{vm_port}"),
            logs / "victoria-metrics.log")
        view.children.append(vm)
        procs.wait_http(vm, view.vm_url + "/health", timeout=60)
        for n, (targets, port) in enumerate(zip(shard_targets, shard_ports, strict=True), 1):
            name = f"shard-{n}"
            config = workdir / f"prometheus-{name}.yml"
            config.write_text(promconfig.shard_config(
                targets, name, view.vm_url + "/api/v1/write", interval))
            shard = spawn(f"prometheus-{name}", promconfig.argv(
                prometheus.path, config, workdir / f"prometheus-{name}-data",
                f"127.0.0.1:{port}"), logs / f"prometheus-{name}.log")
            view.children.append(shard)
            procs.wait_http(shard, f"http://127.0.0.1:{port}/-/ready", timeout=60)
        # vmalert starts once every shard's samples are queryable (older than DATA_DELAY), so
        # its first evaluation already sees them: no absent-data alert from a cold start.
        wait_for_shards(view, len(shard_ports), timeout=90)
        alert = spawn("vmalert", vmalert_argv(
            vmalert_engine.path, rule_files, view.vm_url, f"127.0.0.1:{vmalert_port}", interval,
            notifier), logs / "vmalert.log")
        view.children.append(alert)
        procs.wait_http(alert, view.vmalert_url + "/-/ready", timeout=60)
    except BaseException:
        view.stop(timeout=5)
        raise
    return view


def shards_seen(vm: PromAPI) -> set[str]:
    """The shards whose scrapes VictoriaMetrics answers for (at ``now - DATA_DELAY``)."""
    label = promconfig.SHARD_LABEL
    return {s["metric"].get(label, "")
            for s in vm.query(f'count by ({label}) (up{{job="{promconfig.JOB}"}})')}


def wait_for_shards(view: GlobalView, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    with PromAPI(view.vm_url) as vm:
        while time.monotonic() < deadline:
            for child in view.children:
                if not child.alive():
                    raise procs.StartError(f"{child.name} exited ({child.popen.returncode}); "
                                           f"log {child.log}:\n{child.log_tail()}")
            try:
                seen = shards_seen(vm)
            except PromError:
                seen = set()
            if len(seen) >= count:
                return
            time.sleep(0.5)
    raise procs.StartError(f"VictoriaMetrics has samples of {len(seen)} of {count} shards after "
                           f"{timeout:g}s ({sorted(seen)}): is remote_write failing? See the "
                           "prometheus-shard-*.log files")
