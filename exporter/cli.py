"""``slo-exporter``: serve /metrics for the registry (and optionally an instrumented ASGI app).

User mistakes (bad web config, bad spec, bad listen address) print one line per problem on
stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from slo.errors import Problem, UserError

log = logging.getLogger("exporter")


def _fail(error: UserError) -> None:
    for problem in error.problems:
        click.echo(f"slo-exporter: {problem}", err=True)
    sys.exit(1)


def _load_app(target: str) -> Any:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise UserError(Problem("--app", "", f"{target!r} must be MODULE:ATTRIBUTE"))
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(Problem("--app", "", f"cannot load {target!r}: {exc}")) from None


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Orchestrator SLO exporter."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--spec", "specs", multiple=True, type=click.Path(dir_okay=False),
              help="SLO spec file(s) for the in-process SLO series (default: embedded spec).")
@click.option("--listen", default="127.0.0.1:9464", show_default=True,
              help="Address of the /metrics server.")
@click.option("--web-config", type=click.Path(dir_okay=False),
              help="exporter-toolkit style web config: TLS and basic auth.")
@click.option("--app", "app_target", metavar="MODULE:ATTR",
              help="An ASGI app to instrument and run with uvicorn (needs uvicorn).")
@click.option("--app-listen", default="127.0.0.1:8000", show_default=True,
              help="Address the --app is served on.")
@click.option("--no-slo-series", is_flag=True, help="Do not expose in-process SLO series.")
@click.option("--max-connections", type=click.IntRange(min=1), default=512, show_default=True,
              help="Open connections to /metrics at most (past it the oldest idle one goes).")
@click.option("--max-header-bytes", type=click.IntRange(min=1024), default=16384,
              show_default=True, help="Request line and headers at most (431 past it).")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Seconds for a request's line and headers to arrive.")
def serve(specs: tuple[str, ...], listen: str, web_config: str | None, app_target: str | None,
          app_listen: str, no_slo_series: bool, max_connections: int, max_header_bytes: int,
          header_timeout: float) -> None:
    """Serve /metrics and /healthz until interrupted."""
    from exporter.instrumentation import Instrumentation
    from exporter.server import ServerLimits, make_server, parse_listen, start_server
    from exporter.webconfig import load_web_config

    limits = ServerLimits(max_connections=max_connections, max_header_bytes=max_header_bytes,
                          header_timeout=header_timeout)
    try:
        config = load_web_config(web_config) if web_config else None
        for label, address in (("--listen", listen), ("--app-listen", app_listen)):
            try:
                parse_listen(address)
            except ValueError as exc:
                raise UserError(Problem(label, "", str(exc))) from None
        loaded = None
        if specs:
            from slo.readers.load import load_paths

            loaded = load_paths(list(specs))
        inst = Instrumentation(specs=loaded, slo_series=not no_slo_series)
        app = _load_app(app_target) if app_target else None
    except UserError as exc:
        _fail(exc)
        return
    registry = inst.exposition_registry()
    try:
        if app is None:
            server = make_server(listen, registry, config, limits)
            log.info("serving metrics on %s/metrics", server.url)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.stop()
            return
        server = start_server(listen, registry, config, limits)
    except OSError as exc:
        _fail(UserError(Problem("--listen", "", f"cannot listen on {listen}: {exc.strerror}")))
        return
    log.info("serving metrics on %s/metrics", server.url)
    try:
        _run_app(app, inst, app_listen)
    finally:
        server.stop()


def _run_app(app: Any, inst: Any, app_listen: str) -> None:
    from exporter.asgi import PrometheusMiddleware, instrument_app
    from exporter.server import parse_listen

    try:
        import uvicorn
    except ImportError:
        _fail(UserError(Problem("--app", "", "uvicorn is not installed (pip install uvicorn)")))
        return
    if hasattr(app, "add_middleware"):
        instrument_app(app, inst)
    else:
        app = PrometheusMiddleware(app, inst)
    host, port = parse_listen(app_listen)
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
