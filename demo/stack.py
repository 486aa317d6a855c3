"""``make run``: the whole demo on 127.0.0.1 — rules, orchestrator, traffic, Prometheus.

Steps: render the rules with ``slo-gen`` (the embedded spec unless ``--spec`` is given), start
one demo orchestrator, write ``var/demo/prometheus.yml`` scraping it every few seconds with the
rendered rules loaded, start Prometheus, start the traffic generator, write
``var/demo/state.json`` for ``make health`` and ``make chaos-orchestrator``, print the URLs and
the runbook queries to try, then wait. Ctrl-C or SIGTERM (or ``--duration``) stops every child,
traffic first and the orchestrator last, and removes the state file.

All ports are options, so the stack runs next to a Prometheus already on 9090 and the e2e tests
can run it on free ports.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from demo import alertmanager as am
from demo import engines, globalview, procs, promconfig, state
from demo.auth import new_token, read_token, write_token
from demo.promapi import PromAPI

#: What the banner suggests trying (the full table is docs/runbook-queries.md).
TRY_QUERIES = (
    "orchestrator_success_rate_5m",
    "orchestrator_error_budget_used_ratio_30m",
    "sum by (endpoint) (rate(orchestrator_errors_total[5m]))",
    "sum by (error_type) (rate(orchestrator_errors_total[5m]))",
    "pms_circuit_breaker_state",
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
)


#: The demo's route timings by receiver: the rendered defaults wait 30 s before a page and 5
#: minutes between its updates, which would make `make chaos-orchestrator` wait up to 10
#: minutes for the resolution; tickets still wait a minute for a page to inhibit them.
DEMO_TIMINGS = {"page": am.Timings("10s", "1m", "4h")}
DEMO_OTHER_TIMINGS = am.Timings("1m", "30m", "1d")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo.stack",
                                description="Run the demo orchestrator, traffic and Prometheus.")
    p.add_argument("--var-dir", type=Path, default=state.DEFAULT_DIR,
                   help="where config, data, logs and state go (default var/demo)")
    p.add_argument("--spec", action="append", default=[],
                   help="SLO spec to render (default: the embedded orchestrator spec)")
    p.add_argument("--port", type=int, default=8000, help="demo app port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=9464, help="demo /metrics port")
    p.add_argument("--prometheus-port", type=int, default=9090, help="Prometheus port")
    p.add_argument("--scrape-interval", default="5s",
                   help="scrape and rule evaluation interval (default 5s)")
    p.add_argument("--rate", type=float, default=5.0, help="traffic, requests per second")
    p.add_argument("--no-traffic", action="store_true", help="do not start the traffic generator")
    p.add_argument("--duration", type=float,
                   help="stop by itself after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--engine", choices=("prometheus", "victoriametrics"), default="prometheus",
                   help="prometheus (default): one Prometheus scrapes and evaluates the rules; "
                        "victoriametrics: the global view, two demo instances (ports N and "
                        "N+1), a Prometheus shard each (--prometheus-port and the next one, "
                        "scrape + remote_write only), VictoriaMetrics and vmalert evaluating "
                        "the rules")
    p.add_argument("--victoriametrics-port", type=int, default=8428,
                   help="VictoriaMetrics port with --engine victoriametrics (default 8428)")
    p.add_argument("--vmalert-port", type=int, default=8880,
                   help="vmalert port with --engine victoriametrics (default 8880)")
    p.add_argument("--alertmanager-port", type=int, default=9093,
                   help="Alertmanager port (default 9093)")
    p.add_argument("--notifications-port", type=int, default=9095,
                   help="port of the webhook receiver Alertmanager delivers to (default 9095)")
    p.add_argument("--alertmanager", default=None, metavar="PATH",
                   help="the Alertmanager binary (default: $ALERTMANAGER, else 0.33 from `make "
                        "engines` (.tools/engines.env), else prometheus-alertmanager on PATH)")
    p.add_argument("--status-port", type=int, default=9099,
                   help="the status page's port (slo-gen serve; default 9099)")
    p.add_argument("--prometheus", default=None, metavar="PATH",
                   help="the prometheus binary (default: $PROMETHEUS, else Prometheus 3.5 from "
                        "`make engines` (.tools/engines.env), else prometheus on PATH)")
    return p


def render_rules(specs: list[str], out: Path, period_step: str) -> list[Path]:
    """Render with the slo-gen CLI (it also runs ``promtool check``); the rule files written.

    The period's step sums run every ``period_step`` (the demo's evaluation interval), so the
    budget series show up seconds after start rather than up to 5 minutes later.
    """
    cmd = [sys.executable, *procs.SLO_GEN]
    if out.exists():
        shutil.rmtree(out)
    result = subprocess.run([*cmd, "render", *specs, "-o", str(out), "--period-step",
                             period_step], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise procs.StartError(f"slo-gen render failed:\n{result.stderr.strip()}")
    rules = sorted(out.glob("*.rules.yml"))
    if not rules:
        raise procs.StartError(f"slo-gen render wrote no rule files into {out}")
    return rules


def _check_ports(stack: Stack) -> None:
    args = stack.args
    n = len(stack.app_urls)
    ports = [("--port", args.port + i) for i in range(n)]
    ports += [("--metrics-port", p) for p in stack.metrics_ports]
    ports += [("--prometheus-port", args.prometheus_port + i) for i in range(n)]
    ports += [("--alertmanager-port", args.alertmanager_port),
              ("--notifications-port", args.notifications_port)]
    ports.append(("--status-port", args.status_port))
    if stack.global_view:
        ports += [("--victoriametrics-port", args.victoriametrics_port),
                  ("--vmalert-port", args.vmalert_port)]
    for flag, port in ports:
        if procs.port_in_use(port):
            raise procs.StartError(f"port {port} on 127.0.0.1 is taken: choose another with "
                                   f"{flag} (make run RUN_ARGS='{flag} N')")


class Stack:
    """The children of one ``make run``, stopped in reverse order of start."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.var: Path = args.var_dir.resolve()
        self.children: list[procs.Child] = []
        self.global_view = args.engine == "victoriametrics"
        n = 2 if self.global_view else 1
        self.app_urls = [f"http://127.0.0.1:{args.port + i}" for i in range(n)]
        self.metrics_ports = [args.metrics_port + i for i in range(n)]
        self.metrics_urls = [f"http://127.0.0.1:{p}/metrics" for p in self.metrics_ports]
        self.shard_urls = ([f"http://127.0.0.1:{args.prometheus_port + i}" for i in range(n)]
                           if self.global_view else [])
        self.vmalert_url = f"http://127.0.0.1:{args.vmalert_port}" if self.global_view else ""
        # where the runbook's queries go: Prometheus, or VictoriaMetrics for the global view
        self.prom_url = (f"http://127.0.0.1:{args.victoriametrics_port}" if self.global_view
                         else f"http://127.0.0.1:{args.prometheus_port}")
        self.am_url = f"http://127.0.0.1:{args.alertmanager_port}"
        self.notifications_url = f"http://127.0.0.1:{args.notifications_port}"
        self.status_url = f"http://127.0.0.1:{args.status_port}"
        self.versions: list[str] = []

    def start(self) -> None:
        args, var = self.args, self.var
        self.prometheus = engines.prometheus(args.prometheus)
        self.alertmanager = engines.alertmanager(args.alertmanager)
        for engine in (self.prometheus, self.alertmanager):
            print(f"stack: running {engine.describe()}", flush=True)
        if self.global_view:
            for engine in (engines.victoria_metrics(), engines.vmalert()):
                print(f"stack: running {engine.describe()}", flush=True)
        _check_ports(self)
        var.mkdir(parents=True, exist_ok=True)
        token_file = var / state.TOKEN_FILE
        if read_token(token_file) is None:
            write_token(token_file, new_token())
        rules = render_rules(args.spec, var / "rules", args.scrape_interval)
        logs = var / "logs"

        for i, (url, metrics_port) in enumerate(zip(self.app_urls, self.metrics_ports,
                                                    strict=True), 1):
            name = "demo" if len(self.app_urls) == 1 else f"demo-{i}"
            demo = self._spawn(name, [
                sys.executable, "-m", "demo", "--port", str(args.port + i - 1),
                "--metrics-port", str(metrics_port), "--admin-token-file", str(token_file),
                "--instance", f"demo-{i}"], logs / f"{name}.log")
            procs.wait_http(demo, url + "/health")
        targets = [f"127.0.0.1:{p}" for p in self.metrics_ports]
        self._start_alertmanager(logs)

        if self.global_view:
            view = globalview.start(
                self._spawn, var, rules, [[t] for t in targets], args.scrape_interval,
                vm_port=args.victoriametrics_port, vmalert_port=args.vmalert_port,
                shard_ports=[args.prometheus_port + i for i in range(len(targets))],
                prometheus=self.prometheus, notifier=self.am_url)
            self.versions = view.versions
        else:
            config_file = var / "prometheus.yml"
            config_file.write_text(promconfig.config(
                targets, rules, args.scrape_interval,
                alertmanagers=[f"127.0.0.1:{args.alertmanager_port}"]))
            prom = self._spawn("prometheus", promconfig.argv(
                self.prometheus.path, config_file, var / "data",
                f"127.0.0.1:{args.prometheus_port}"), logs / "prometheus.log")
            procs.wait_http(prom, self.prom_url + "/-/ready", timeout=60)
            self.versions = [self.prometheus.describe()]
        self.versions.append(self.alertmanager.describe())

        # the status page reads the same API as the runbook's queries; alerts from vmalert in
        # the global view (VictoriaMetrics itself serves no alerts)
        status = self._spawn("status-page", [
            sys.executable, *procs.SLO_GEN, "serve", *args.spec, "--prometheus", self.prom_url,
            *(["--alerts-api", self.vmalert_url] if self.global_view else []),
            "--listen", f"127.0.0.1:{args.status_port}", "--refresh", "10"],
            logs / "status-page.log")
        procs.wait_http(status, self.status_url + "/healthz")

        if not args.no_traffic:
            self._spawn("traffic", [
                sys.executable, "-m", "demo.traffic",
                *(a for url in self.app_urls for a in ("--target", url)),
                "--rate", str(args.rate), "--duration", str(args.duration or 7 * 86400)],
                logs / "traffic.log")
        state.StackState(self.app_urls, self.metrics_urls, self.prom_url, str(token_file),
                         {c.name: c.pid for c in self.children}, engine=args.engine,
                         shard_urls=self.shard_urls, vmalert_url=self.vmalert_url,
                         alertmanager_url=self.am_url,
                         notifications_url=self.notifications_url).save(var)

    def _start_alertmanager(self, logs: Path) -> None:
        """The webhook receiver, then Alertmanager with the spec's rendered configuration."""
        args, var = self.args, self.var
        recv = self._spawn("notifications", [
            sys.executable, "-m", "demo.notifications", "--port", str(args.notifications_port),
            "--log", str(var / "notifications.log")], logs / "notifications.log")
        procs.wait_http(recv, self.notifications_url + "/health")
        # As rendered (with its comments and its routing tests beside it), then with the demo
        # timings for the Alertmanager to run.
        rendered = var / "alertmanager.rendered.yml"
        am.render(args.spec, rendered, f"{self.notifications_url}/notify/{{receiver}}")
        text = rendered.read_text()
        config_file = var / "alertmanager.yml"
        config_file.write_text(
            f"# Written by demo.stack: {rendered.name} (slo-gen alertmanager) with the demo's "
            "route timings (demo.stack.DEMO_TIMINGS).\n" + am.with_timings(text, {
                r: DEMO_TIMINGS.get(r, DEMO_OTHER_TIMINGS) for r in am.receivers(text)}))
        am.start(self._spawn, self.alertmanager.path, config_file, var / "alertmanager",
                 args.alertmanager_port, logs / "alertmanager.log")

    def _spawn(self, name: str, argv: list[str], log: Path) -> procs.Child:
        child = procs.spawn(name, argv, log)
        self.children.append(child)
        return child

    def dead_child(self) -> procs.Child | None:
        for child in self.children:
            if not child.alive() and child.name != "traffic":  # traffic may finish on its own
                return child
        return None

    def stop(self) -> None:
        for child in reversed(self.children):
            procs.stop(child)
        state.remove(self.var)

    def banner(self) -> str:
        token_file = self.var / state.TOKEN_FILE
        prom = self.prom_url
        app = self.app_urls[0]
        lines = ["", "Demo stack is up (127.0.0.1 only):"]
        lines += [f"  orchestrator   {url}   (GET /health, POST /webhooks/whatsapp, "
                  "GET /reservations/{id})" for url in self.app_urls]
        lines += [f"  /metrics       {url}" for url in self.metrics_urls]
        if self.global_view:
            lines += [f"  Prometheus     {url}   shard-{i} (scrapes {self.metrics_urls[i - 1]},"
                      " remote_write only, no rules)"
                      for i, url in enumerate(self.shard_urls, 1)]
            lines += [
                f"  VictoriaMetrics {prom}   (the global view: {prom}/api/v1/query, the "
                "runbook's queries)",
                f"  vmalert        {self.vmalert_url}   (alerts: {self.vmalert_url}/api/v1/"
                f"alerts, UI {self.vmalert_url}/vmalert/groups; evaluates "
                f"{globalview.DATA_DELAY} behind)",
            ]
        else:
            lines.append(f"  Prometheus     {prom}   (alerts: {prom}/alerts, rules: {prom}/rules)")
        lines += [
            f"  Alertmanager   {self.am_url}   (config {self.var / 'alertmanager.yml'}: "
            "slo-gen alertmanager's, demo timings)",
            f"  notifications  {self.notifications_url}/notifications   (what the on-call got;"
            f" log {self.var / 'notifications.log'})",
        ]
        lines.append(f"  status page    {self.status_url}   (slo-gen serve: error budgets, burn "
                     "rates, alerts; also: slo-gen status --prometheus "
                     f"{prom}{' --alerts-api ' + self.vmalert_url if self.global_view else ''})")
        lines += [f"  engine         {v}" for v in self.versions]
        lines += [
            f"  logs, config   {self.var}",
            f"  admin token    {token_file}",
            "",
            "Runbook queries to try (all of them: docs/runbook-queries.md):",
        ]
        lines += [f"  curl -sG {prom}/api/v1/query --data-urlencode 'query={q}'"
                  for q in TRY_QUERIES]
        where = "vmalert" if self.global_view else "Prometheus"
        lines += [
            "",
            f"  make health               # demo, {where} and the scrape targets are up",
            "  make chaos-orchestrator   # PMS outage: OrchestratorErrorRateHigh fires in ~2 min",
            f"  curl -X POST {app}/admin/circuit-breaker/config "
            f"-H \"Authorization: Bearer $(cat {token_file})\" -H 'Content-Type: "
            "application/json' -d '{\"failure_threshold\": 0.3, \"recovery_timeout\": 60, "
            "\"half_open_max_calls\": 5}'",
            "",
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A plain flag, not a threading.Event: Event.set() from a signal handler can deadlock on
    # the Event's lock when the signal lands while the main thread holds it in Event.wait().
    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = Stack(args)
    try:
        stack.start()
        print(stack.banner(), flush=True)
        evaluator = stack.vmalert_url or stack.prom_url
        with PromAPI(evaluator) as prom:
            if not prom.rules():
                print(f"warning: {evaluator} loaded no rules", file=sys.stderr)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stopping and (deadline is None or time.monotonic() < deadline):
            dead = stack.dead_child()
            if dead is not None:
                print(f"stack: {dead.name} exited with status {dead.popen.returncode}; "
                      f"log {dead.log}:\n{dead.log_tail()}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    except procs.StartError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping: " + ", ".join(c.name for c in reversed(stack.children)), flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
