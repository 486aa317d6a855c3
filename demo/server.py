"""Run one demo orchestrator: the app with uvicorn, ``/metrics`` on a separate port.

``python -m demo --port 8000 --metrics-port 9464 --admin-token-file var/demo/admin-token``

``/metrics`` is served by the exporter's own server (:func:`exporter.start_server`) on its own
port rather than as an app route, so Prometheus' scrapes are not requests of the orchestrator
(they would dilute the success rate) and scrapes are rendered outside the event loop. Both
bind to 127.0.0.1 by default. SIGINT/SIGTERM stop it cleanly (uvicorn's handlers).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from demo.auth import new_token, read_token, write_token
from demo.breaker import BreakerConfig
from demo.faults import Fault, FaultError, parse_fault_flag

log = logging.getLogger("demo")


def _fault(text: str) -> tuple[str, Fault]:
    try:
        return parse_fault_flag(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo",
                                description="Run the demo orchestrator (one instance).")
    p.add_argument("--host", default="127.0.0.1", help="address of the app and /metrics")
    p.add_argument("--port", type=int, default=8000, help="app port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=9464, help="/metrics port (default 9464)")
    p.add_argument("--web-config", help="exporter-toolkit web config for /metrics (TLS, auth)")
    p.add_argument("--admin-token-file", type=Path,
                   help="file holding the admin bearer token (created 0600 when missing); "
                        "DEMO_ADMIN_TOKEN overrides it")
    p.add_argument("--fault", type=_fault, action="append", default=[],
                   metavar="DEP:SETTINGS",
                   help="inject a fault at start: pms:outage, gmail:error_rate=0.2,latency=0.5")
    p.add_argument("--breaker-failure-threshold", type=float, default=0.5)
    p.add_argument("--breaker-recovery-timeout", type=float, default=30.0)
    p.add_argument("--breaker-half-open-max-calls", type=int, default=3)
    p.add_argument("--seed", type=int, help="seed of the injected error rate's randomness")
    p.add_argument("--instance", default="demo", help="name shown by /health")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _token(path: Path | None) -> str:
    token = read_token(path)
    if token is None:
        token = new_token()
        if path is not None:
            write_token(path, token)
            log.info("admin token written to %s", path)
        else:
            log.warning("no --admin-token-file or DEMO_ADMIN_TOKEN: admin token is %s", token)
    return token


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    from demo.app import DemoSettings, create_app
    from exporter import load_web_config, start_server
    from slo.errors import UserError

    try:
        web_config = load_web_config(args.web_config) if args.web_config else None
    except UserError as exc:  # one line per problem, as slo-exporter prints them
        for problem in exc.problems:
            print(f"demo: {problem}", file=sys.stderr)
        return 1
    try:
        breaker = BreakerConfig(args.breaker_failure_threshold, args.breaker_recovery_timeout,
                                args.breaker_half_open_max_calls)
        settings = DemoSettings(_token(args.admin_token_file), breaker, dict(args.fault),
                                args.seed, args.instance)
        demo = create_app(settings)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    try:
        metrics = start_server(f"{args.host}:{args.metrics_port}",
                               demo.inst.exposition_registry(), web_config)
    except OSError as exc:
        print(f"demo: cannot serve /metrics on {args.host}:{args.metrics_port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    log.info("demo %s: app http://%s:%d  metrics %s/metrics", args.instance, args.host,
             args.port, metrics.url)
    config = uvicorn.Config(demo.app, host=args.host, port=args.port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        metrics.stop()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
