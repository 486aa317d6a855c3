"""Pure WSGI middleware recording the request half of the contract (Flask or any WSGI app).

``flask_app.wsgi_app = WSGIMiddleware(flask_app.wsgi_app, inst, WerkzeugRoutes(app.url_map))``,
or :func:`instrument_flask`. The request is timed until the server closes the response
iterable (PEP 3333 requires it to), so streamed bodies are timed to their end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from exporter.instrumentation import Instrumentation, default_instrumentation
from exporter.labels import KNOWN_METHODS, OTHER
from exporter.routes import RouteResolver, WerkzeugRoutes, werkzeug_templates

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIMiddleware:
    """Records every request of the wrapped WSGI app; exceptions are re-raised unchanged."""

    def __init__(
        self,
        app: WSGIApp,
        instrumentation: Instrumentation | None = None,
        route_resolver: RouteResolver | None = None,
    ) -> None:
        self.app = app
        self.inst = instrumentation or default_instrumentation()
        self.resolve: RouteResolver = route_resolver or (lambda environ: None)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        inst = self.inst
        endpoint = self.resolve(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in KNOWN_METHODS:
            method = OTHER
        state = _Request(inst, endpoint, method)

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                state.status = int(status[:3])
            except ValueError:
                state.status = 500
            return start_response(status, headers, exc_info)

        inst.request_started(state)
        state.start = inst.clock()
        try:
            body = self.app(environ, capture)
        except BaseException as exc:
            state.finish(exc)
            raise
        return _Body(body, state)


class _Request:
    __slots__ = ("done", "endpoint", "inst", "method", "start", "status")

    def __init__(self, inst: Instrumentation, endpoint: str | None, method: str) -> None:
        self.inst = inst
        self.endpoint = endpoint
        self.method = method
        self.status = 0
        self.start = 0.0
        self.done = False

    def finish(self, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        inst = self.inst
        end = inst.clock()
        inst.request_finished(self)
        if exc is None:
            outcome = inst.requests.outcome(self.endpoint, self.method, self.status)
        elif isinstance(exc, Exception):
            outcome = inst.requests.failure(self.endpoint, self.method, self.status, exc)
        else:  # GeneratorExit / KeyboardInterrupt: not the service's error
            return
        outcome.record(end - self.start, end)


class _Body:
    """The app's response iterable, finishing the request when exhausted, failed or closed."""

    __slots__ = ("_body", "_state")

    def __init__(self, body: Iterable[bytes], state: _Request) -> None:
        self._body = body
        self._state = state

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except Exception as exc:
            self._state.finish(exc)
            raise
        self._state.finish()  # exhausted: the last chunk is out (close() may come later)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._state.finish()


def instrument_flask(app: Any, instrumentation: Instrumentation | None = None,
                     **kwargs: Any) -> Instrumentation:
    """Wrap ``app.wsgi_app`` with route templates from ``app.url_map``; pre-create series."""
    inst = instrumentation or default_instrumentation()
    kwargs.setdefault("route_resolver", WerkzeugRoutes(app.url_map))
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, inst, **kwargs)
    inst.precreate_routes(werkzeug_templates(app.url_map))
    return inst
