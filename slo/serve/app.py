"""The status page's web app (Starlette): overview, per-SLO detail, health check.

Every request reads Prometheus afresh (the figures of one instant, then the charts' range
queries); nothing is cached, so two tabs never disagree. A Prometheus that cannot be asked
gives a 502 page saying so, never a page of zeros. Basic auth and extra headers come from the
exporter's web-config loader (:mod:`exporter.webconfig`), so one file configures both.
"""

from __future__ import annotations

import math
import time
from functools import cache
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from exporter.webconfig import BasicAuth, WebConfig
from slo.model.durations import format_duration
from slo.model.naming import Naming
from slo.model.spec import ServiceSpec
from slo.outputs.templates import templates_dir
from slo.serve import pages
from slo.status import report
from slo.status.api import PrometheusAPI, Unavailable
from slo.status.run import Sources, snapshot

REFRESH_SECONDS = 30


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(("html.j2", "svg.j2")))
    env.filters.update(percent=report.percent, rate=report.rate, duration=report.duration,
                       utc=report.utc, window=format_duration)
    env.globals.update(state=report.state, decision=report.decision,
                       alert_text=report.alert_text)
    return env


class _Auth:
    """ASGI middleware: every path needs valid basic-auth credentials (as the exporter)."""

    def __init__(self, app: ASGIApp, auth: BasicAuth | None, headers: dict[str, str]) -> None:
        self.app, self.auth = app, auth
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *self.headers]}
            await send(message)

        if self.auth is not None:
            header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
            if not self.auth.check_header(header or None):
                response = PlainTextResponse("Unauthorized\n", status_code=401, headers={
                    "WWW-Authenticate": 'Basic realm="slo-gen serve"'})
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def create_app(specs: list[ServiceSpec], naming: Naming, sources: Sources,
               web_config: WebConfig | None = None, refresh: int = REFRESH_SECONDS) -> ASGIApp:
    api = PrometheusAPI(sources.prometheus)
    prometheus = sources.prometheus

    def instant(request: Request) -> float | None:
        raw = request.query_params.get("time")
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"time={raw!r} is not a unix time in seconds")
        return value

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = environment().get_template(name).render(refresh=refresh, **context)
        return HTMLResponse(html, status_code=status)

    def failed(request: Request, exc: Exception, status: int) -> HTMLResponse:
        return page("serve/error.html.j2", status, error=str(exc), prometheus=prometheus,
                    now=time.time(), url=str(request.url))

    def overview(request: Request) -> Response:
        try:
            snap = snapshot(specs, naming, sources, instant(request))
        except ValueError as exc:
            return failed(request, exc, 400)
        except Unavailable as exc:
            return failed(request, exc, 502)
        return page("serve/overview.html.j2", snap=snap, fixed="time" in request.query_params)

    def detail(request: Request) -> Response:
        service, slo = request.path_params["service"], request.path_params["slo"]
        group = request.query_params.get("group", "")
        range_name = request.query_params.get("range", "6h")
        try:
            snap = snapshot(specs, naming, sources, instant(request))
            row = pages.find_row(snap, service, slo, group)
            if row is None:
                return failed(request, LookupError(f"no SLO {service}/{slo} {group}".strip()),
                              404)
            if pages.range_seconds(range_name, row.target) is None:
                raise ValueError(f"range={range_name!r}: one of 6h, 1d, period")
            shown = pages.detail(api, row, snap.at, range_name)
        except ValueError as exc:
            return failed(request, exc, 400)
        except Unavailable as exc:
            return failed(request, exc, 502)
        return page("serve/detail.html.j2", snap=snap, d=shown, row=row, group=group,
                    fixed="time" in request.query_params)

    def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    app = Starlette(routes=[
        Route("/", overview),
        Route("/slo/{service}/{slo}", detail),
        Route("/healthz", healthz),
    ])
    config = web_config or WebConfig()
    return _Auth(app, config.auth(), dict(config.headers))
