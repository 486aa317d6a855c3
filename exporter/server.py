"""The exposition server: /metrics (text or OpenMetrics by Accept) and /healthz.

A threaded WSGI server from the standard library, so scrapes are rendered in their own thread
and never in the application's event loop. TLS and basic auth come from an exporter-toolkit
style web config (:mod:`exporter.webconfig`). When basic auth is configured every path needs
credentials, as with the toolkit.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry

from exporter.exposition import ALLOWED_METHODS, method_not_allowed, render_metrics
from exporter.webconfig import BasicAuth, WebConfig, load_web_config

log = logging.getLogger("exporter")

DEFAULT_LISTEN = "127.0.0.1:9464"
_UNAUTHORIZED = b"Unauthorized\n"


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (127.0.0.1) -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen address {listen!r} must be HOST:PORT, e.g. {DEFAULT_LISTEN}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def metrics_wsgi_app(
    registry: CollectorRegistry = REGISTRY,
    auth: BasicAuth | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[..., Iterable[bytes]]:
    """WSGI app routing /metrics to :func:`exporter.exposition.render_metrics` (format from
    ``Accept``, ``name[]`` filters, gzip, bounded query strings; the same answer as
    :func:`exporter.asgi.metrics_asgi_app`), /healthz to a plain "ok", the rest to 404, behind
    basic auth when configured."""
    extra = list((headers or {}).items())

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def respond(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, hdrs + extra, exc_info)

        if auth is not None and not auth.check_header(environ.get("HTTP_AUTHORIZATION")):
            respond("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("WWW-Authenticate", 'Basic realm="slo-exporter"')])
            return [_UNAUTHORIZED]
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            method = environ.get("REQUEST_METHOD", "GET")
            if method in ALLOWED_METHODS:
                response = render_metrics(registry, environ.get("HTTP_ACCEPT"),
                                          environ.get("HTTP_ACCEPT_ENCODING"),
                                          environ.get("QUERY_STRING", ""))
            else:
                response = method_not_allowed(method)
            respond(f"{response.status} {HTTPStatus(response.status).phrase}",
                    list(response.headers))
            return [] if method == "HEAD" else [response.body]
        if path == "/healthz":
            respond("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        respond("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found: try /metrics\n"]

    return app


class _Handler(WSGIRequestHandler):
    timeout = 30  # a stalled client (or TLS handshake) cannot hold a thread forever

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, in the request thread, not in accept()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed TLS handshakes (plain HTTP on the TLS port) and dropped connections are the
        # client's problem: one debug line, not a traceback on stderr.
        import sys

        log.debug("connection from %s failed: %s", client_address, sys.exc_info()[1])


def _server_class(host: str) -> type[_Server]:
    if ":" in host:
        class _Server6(_Server):
            address_family = socket.AF_INET6
        return _Server6
    return _Server


@dataclass
class MetricsServer:
    """A running server; ``stop()`` shuts it down and closes the socket."""

    httpd: _Server
    thread: threading.Thread | None
    scheme: str

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


def make_server(
    listen: str = DEFAULT_LISTEN,
    registry: CollectorRegistry | None = None,
    web_config: WebConfig | str | Path | None = None,
) -> MetricsServer:
    """Bind the server (not yet serving). ``web_config`` is a path or a loaded WebConfig."""
    if isinstance(web_config, str | Path):
        web_config = load_web_config(web_config)
    config = web_config or WebConfig()
    host, port = parse_listen(listen)
    app = metrics_wsgi_app(REGISTRY if registry is None else registry, config.auth(),
                           dict(config.headers))
    httpd = _server_class(host)((host, port), _Handler)
    httpd.set_app(app)
    scheme = "http"
    if config.tls is not None:
        httpd.socket = config.tls.context().wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    return MetricsServer(httpd, None, scheme)


def start_server(
    listen: str = DEFAULT_LISTEN,
    registry: CollectorRegistry | None = None,
    web_config: WebConfig | str | Path | None = None,
) -> MetricsServer:
    """Serve in a daemon thread (the library call); returns the running server."""
    server = make_server(listen, registry, web_config)
    server.thread = threading.Thread(target=server.httpd.serve_forever,
                                     name="slo-exporter-metrics", daemon=True)
    server.thread.start()
    return server
