"""Check everything ``slo-gen serve`` was given, then start the page.

Mistakes are UserErrors (one line each, exit 1, before anything listens): a listen address
that is not HOST:PORT, a web config the exporter would refuse (the same loader), a spec with
no SLOs, or the ``serve`` extra not installed.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.server import parse_listen
from exporter.webconfig import WebConfig, load_web_config
from slo.errors import Problem, UserError
from slo.model.naming import Naming
from slo.model.spec import ServiceSpec
from slo.status.api import Unavailable
from slo.status.run import Sources, check_sources, slo_targets


def launch(specs: list[ServiceSpec], naming: Naming, sources: Sources, listen: str,
           web_config: str | None, refresh: int, say: Callable[[str], None]) -> None:
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise UserError(Problem("--listen", "", str(exc))) from None
    config = load_web_config(web_config) if web_config else WebConfig()
    slo_targets(specs, naming)
    try:
        check_sources(sources)
    except Unavailable as exc:
        raise UserError(str(exc)) from None
    try:
        from slo.serve.app import create_app
        from slo.serve.server import serve
    except ImportError as exc:
        missing = (exc.name or "a module").split(".")[0]
        raise UserError(f"slo-gen serve needs Starlette and uvicorn ({missing} is missing): "
                        "pip install 'orchestrator-slo[serve]'") from None
    app = create_app(specs, naming, sources, config, refresh)
    scheme = "https" if config.tls else "http"
    shown = f"[{host}]" if ":" in host else host
    say(f"slo-gen serve: status page on {scheme}://{shown}:{port}/ reading {sources.prometheus}")
    serve(app, host, port, config)
