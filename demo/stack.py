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

from demo import engines, procs, promconfig, state
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
    p.add_argument("--prometheus", default=None, metavar="PATH",
                   help="the prometheus binary (default: $PROMETHEUS, else Prometheus 3.5 from "
                        "`make engines` (.tools/engines.env), else prometheus on PATH)")
    return p


def render_rules(specs: list[str], out: Path, period_step: str) -> list[Path]:
    """Render with the slo-gen CLI (it also runs ``promtool check``); the rule files written.

    The period's step sums run every ``period_step`` (the demo's evaluation interval), so the
    budget series show up seconds after start rather than up to 5 minutes later.
    """
    script = Path(sys.executable).with_name("slo-gen")
    cmd = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from slo.cli import main; sys.exit(main())"]
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


def _check_ports(args: argparse.Namespace) -> None:
    for flag, port in (("--port", args.port), ("--metrics-port", args.metrics_port),
                       ("--prometheus-port", args.prometheus_port)):
        if procs.port_in_use(port):
            raise procs.StartError(f"port {port} on 127.0.0.1 is taken: choose another with "
                                   f"{flag} (make run RUN_ARGS='{flag} N')")


class Stack:
    """The children of one ``make run``, stopped in reverse order of start."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.var: Path = args.var_dir.resolve()
        self.children: list[procs.Child] = []
        self.app_url = f"http://127.0.0.1:{args.port}"
        self.metrics_url = f"http://127.0.0.1:{args.metrics_port}/metrics"
        self.prom_url = f"http://127.0.0.1:{args.prometheus_port}"

    def start(self) -> None:
        args, var = self.args, self.var
        self.prometheus = engines.prometheus(args.prometheus)
        print(f"stack: running {self.prometheus.describe()}", flush=True)
        _check_ports(args)
        var.mkdir(parents=True, exist_ok=True)
        token_file = var / state.TOKEN_FILE
        if read_token(token_file) is None:
            write_token(token_file, new_token())
        rules = render_rules(args.spec, var / "rules", args.scrape_interval)
        logs = var / "logs"

        demo = self._spawn("demo", [
            sys.executable, "-m", "demo", "--port", str(args.port),
            "--metrics-port", str(args.metrics_port), "--admin-token-file", str(token_file),
            "--instance", "demo-1"], logs / "demo.log")
        procs.wait_http(demo, self.app_url + "/health")

        config_file = var / "prometheus.yml"
        config_file.write_text(promconfig.config([f"127.0.0.1:{args.metrics_port}"], rules,
                                                 args.scrape_interval))
        prom = self._spawn("prometheus", promconfig.argv(
            self.prometheus.path, config_file, var / "data", f"127.0.0.1:{args.prometheus_port}"),
            logs / "prometheus.log")
        procs.wait_http(prom, self.prom_url + "/-/ready", timeout=60)

        if not args.no_traffic:
            self._spawn("traffic", [
                sys.executable, "-m", "demo.traffic", "--target", self.app_url,
                "--rate", str(args.rate), "--duration", str(args.duration or 7 * 86400)],
                logs / "traffic.log")
        state.StackState([self.app_url], [self.metrics_url], self.prom_url, str(token_file),
                         {c.name: c.pid for c in self.children}).save(var)

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
        lines = [
            "",
            "Demo stack is up (127.0.0.1 only):",
            f"  orchestrator   {self.app_url}   (GET /health, POST /webhooks/whatsapp, "
            "GET /reservations/{id})",
            f"  /metrics       {self.metrics_url}",
            f"  Prometheus     {prom}   (alerts: {prom}/alerts, rules: {prom}/rules)",
            f"                 {self.prometheus.describe()}",
            f"  logs, config   {self.var}",
            f"  admin token    {token_file}",
            "",
            "Runbook queries to try (all of them: docs/runbook-queries.md):",
        ]
        lines += [f"  curl -sG {prom}/api/v1/query --data-urlencode 'query={q}'"
                  for q in TRY_QUERIES]
        lines += [
            "",
            "  make health               # demo, Prometheus and the scrape target are up",
            "  make chaos-orchestrator   # PMS outage: OrchestratorErrorRateHigh fires in ~2 min",
            f"  curl -X POST {self.app_url}/admin/circuit-breaker/config "
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
        with PromAPI(stack.prom_url) as prom:
            if not prom.rules():
                print("warning: Prometheus loaded no rules", file=sys.stderr)
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
        print("stopping: traffic, Prometheus, orchestrator", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
