"""Pure ASGI middleware recording the request half of the contract (no framework import).

``app.add_middleware(PrometheusMiddleware, instrumentation=inst)`` for Starlette/FastAPI, or
``PrometheusMiddleware(asgi_app, ...)`` around any ASGI app. Only ``http`` scopes are recorded;
``websocket`` and ``lifespan`` pass through untouched. The request is timed until the app
returns, which for a streaming response is after its last body chunk was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from exporter.exposition import ALLOWED_METHODS, method_not_allowed, render_metrics
from exporter.instrumentation import Instrumentation, default_instrumentation
from exporter.labels import KNOWN_METHODS, OTHER
from exporter.routes import RouteResolver, StarletteRoutes, starlette_templates

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PrometheusMiddleware:
    """Records every HTTP request of the wrapped ASGI app.

    ``route_resolver`` maps the scope to a route template; by default Starlette/FastAPI routes
    are matched (from ``routes_from``, the wrapped app if it has routes, else ``scope["app"]``).
    Exceptions are recorded (as a 500 unless the response had started) and re-raised unchanged.
    """

    def __init__(
        self,
        app: ASGIApp,
        instrumentation: Instrumentation | None = None,
        route_resolver: RouteResolver | None = None,
        routes_from: Any = None,
    ) -> None:
        self.app = app
        self.inst = instrumentation or default_instrumentation()
        if route_resolver is None:
            source = routes_from if routes_from is not None else (
                app if hasattr(app, "routes") else None)
            route_resolver = StarletteRoutes(source)
        self.resolve = route_resolver
        self._outcomes = self.inst.requests.outcomes  # hot path: skip attribute chains
        self._clock = self.inst.clock
        self._started = self.inst.request_started
        self._finished = self.inst.request_finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.resolve(scope)  # before the app: mounts rewrite the shared scope
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = OTHER
        status = 0

        # A coroutine function, not a plain function returning send's awaitable (0.3-0.5 us
        # cheaper): asgiref and other servers' adapters check iscoroutinefunction(send).
        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        clock = self._clock
        self._started(send_status)  # a fresh object per request: its in-flight token
        start = clock()
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            end = clock()
            self._finished(send_status)
            self.inst.requests.failure(endpoint, method, status, exc).record(end - start, end)
            raise
        except BaseException:  # cancelled (client gone, shutdown): not the service's error
            self._finished(send_status)
            raise
        end = clock()
        self._finished(send_status)
        outcome = self._outcomes.get((endpoint, method, status))
        if outcome is None:
            outcome = self.inst.requests.outcome(endpoint, method, status)
        outcome.record(end - start, end)


def instrument_app(app: Any, instrumentation: Instrumentation | None = None,
                   **kwargs: Any) -> Instrumentation:
    """Instrument a Starlette/FastAPI app (``add_middleware``) or a Flask app (``wsgi_app``).

    Also pre-creates the series of every known route at zero. Returns the Instrumentation.
    """
    inst = instrumentation or default_instrumentation()
    if hasattr(app, "url_map") and hasattr(app, "wsgi_app"):
        from exporter.wsgi import instrument_flask

        return instrument_flask(app, inst, **kwargs)
    if not hasattr(app, "add_middleware"):
        raise TypeError("instrument_app needs a Starlette/FastAPI or Flask app; wrap other apps "
                        "in PrometheusMiddleware / WSGIMiddleware")
    app.add_middleware(PrometheusMiddleware, instrumentation=inst, routes_from=app, **kwargs)
    inst.precreate_routes(starlette_templates(app.routes))
    return inst


def metrics_asgi_app(registry: Any = None) -> ASGIApp:
    """An ASGI app serving the registry as the WSGI server does (:mod:`exporter.exposition`:
    format from ``Accept``, ``name[]`` filters, gzip, bounded query strings).

    Rendering and compressing run in a worker thread (``asyncio.to_thread``), never in the
    event loop: a scrape of a large registry would otherwise stall every request in flight.
    """
    from prometheus_client import REGISTRY

    reg = REGISTRY if registry is None else registry

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        accept: list[str] = []
        encoding: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"accept":
                accept.append(value.decode("latin-1"))
            elif name == b"accept-encoding":
                encoding.append(value.decode("latin-1"))
        method = scope.get("method", "GET")
        if method in ALLOWED_METHODS:
            response = await asyncio.to_thread(render_metrics, reg, ", ".join(accept),
                                               ", ".join(encoding),
                                               scope.get("query_string", b""))
        else:
            response = method_not_allowed(method)
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in response.headers]})
        await send({"type": "http.response.body",
                    "body": b"" if method == "HEAD" else response.body})

    return app
