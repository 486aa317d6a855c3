"""The exposition server: /metrics (text or OpenMetrics by Accept) and /healthz.

One asyncio event loop (in its own thread for :func:`start_server`) holds the connections and
parses HTTP/1.1 with h11; scrapes are rendered by a small pool of threads, never in the
application's event loop. TLS and basic auth come from an exporter-toolkit style web config
(:mod:`exporter.webconfig`). When basic auth is configured every path needs credentials, as
with the toolkit.

Why not wsgiref's server (the first version): it had a listen backlog of 5, a thread per
connection with no cap, a timeout per read rather than per request (a client sending one
header byte a second held a thread for ever), read up to 100 header lines of 64 KiB each
before the app saw the request, and printed a traceback for every TLS client that hung up.
Idle and slow connections here cost a socket and a small buffer in the loop, not a thread,
and every one of them is bounded by :class:`ServerLimits`:

- at most ``max_connections`` open connections; a new one past the cap evicts the oldest
  connection that is not being answered (idle keep-alive, or still sending its headers), so
  a flood of slow clients cannot lock a scrape out; when every connection is being answered
  the newcomer is closed;
- the TLS handshake must finish within ``handshake_timeout``;
- a request's line and headers must arrive within ``header_timeout`` of the connection (or of
  their first byte on a kept-alive connection), and be at most ``max_header_bytes``
  (431 past it; the buffer never grows beyond it);
- a kept-alive connection may stay idle ``idle_timeout``; a response must be taken by the
  client within ``write_timeout``;
- request bodies are never read (a request with one is answered, then its connection closed).

A client that breaks the rules is dropped with one debug line, never a traceback. Responses
carry no ``Server`` header (as Go's net/http, which exporter-toolkit serves with).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import h11
from prometheus_client import REGISTRY, CollectorRegistry

from exporter.exposition import ALLOWED_METHODS, method_not_allowed, render_metrics
from exporter.webconfig import BasicAuth, WebConfig, load_web_config

log = logging.getLogger("exporter")

DEFAULT_LISTEN = "127.0.0.1:9464"
_UNAUTHORIZED = b"Unauthorized\n"
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class ServerLimits:
    """How much one client may hold of the server (docs/exporter.md, "Limits").

    The defaults fit a /metrics endpoint scraped by a few Prometheus servers: Go's net/http
    allows 1 MiB of headers, but a scrape sends well under 1 KiB, so 16 KiB is plenty. 512
    connections stay well inside the usual 1024 open files, and take a burst of a few hundred
    connections opened at once without evicting any.
    """

    max_connections: int = 512
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 5.0
    handshake_timeout: float = 5.0
    idle_timeout: float = 60.0
    write_timeout: float = 30.0
    backlog: int = 128
    workers: int = 4

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_header_bytes", "backlog", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"server limit {name} must be at least 1")
        for name in ("header_timeout", "handshake_timeout", "idle_timeout", "write_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"server limit {name} must be a positive number of seconds")


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
    basic auth when configured. Both paths answer GET and HEAD, anything else 405."""
    extra = list((headers or {}).items())

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def respond(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, hdrs + extra, exc_info)

        method = environ.get("REQUEST_METHOD", "GET")
        if auth is not None and not auth.check_header(environ.get("HTTP_AUTHORIZATION")):
            respond("401 Unauthorized", [("Content-Type", _TEXT),
                                         ("WWW-Authenticate", 'Basic realm="slo-exporter"'),
                                         ("Content-Length", str(len(_UNAUTHORIZED)))])
            return [] if method == "HEAD" else [_UNAUTHORIZED]
        path = environ.get("PATH_INFO", "")
        if path in ("/metrics", "/healthz"):
            if method not in ALLOWED_METHODS:
                response = method_not_allowed(method)
            elif path == "/metrics":
                response = render_metrics(registry, environ.get("HTTP_ACCEPT"),
                                          environ.get("HTTP_ACCEPT_ENCODING"),
                                          environ.get("QUERY_STRING", ""))
            else:
                respond("200 OK", [("Content-Type", _TEXT), ("Content-Length", "3")])
                return [] if method == "HEAD" else [b"ok\n"]
            respond(f"{response.status} {HTTPStatus(response.status).phrase}",
                    list(response.headers))
            return [] if method == "HEAD" else [response.body]
        body = b"Not Found: try /metrics\n"
        respond("404 Not Found", [("Content-Type", _TEXT), ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    return app


@dataclass
class _Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _call_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> _Reply:
    """Run the WSGI app to completion (in a worker thread)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    try:
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    except Exception:  # the app's bug, not the client's: logged once, answered 500
        log.exception("/metrics app failed")
        return _Reply(500, [("Content-Type", _TEXT)], b"Internal Server Error\n")
    status, headers = started
    return _Reply(int(status.split(" ", 1)[0]), list(headers), body)


def _environ(request: h11.Request, scheme: str, server: tuple[str, int],
             peer: Any) -> dict[str, Any]:
    target = request.target.decode("latin-1")
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method.decode("ascii"),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version.decode('ascii')}",
        "REMOTE_ADDR": str(peer[0]) if isinstance(peer, tuple) else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = text
            continue
        key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class _Dropped(Exception):
    """The client broke a limit or hung up: close its connection, log one debug line."""


@dataclass
class _Conn:
    """One open connection: its transport (for eviction) and whether it waits on the client."""

    writer: asyncio.StreamWriter
    waiting: bool = True


@dataclass
class MetricsServer:
    """A bound server; ``serve_forever()`` serves in this thread, ``stop()`` shuts it down."""

    sock: socket.socket
    app: Callable[..., Iterable[bytes]]
    tls: ssl.SSLContext | None
    limits: ServerLimits = field(default_factory=ServerLimits)
    thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _done: asyncio.Future[None] | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _stopped: bool = False
    _conns: dict[int, _Conn] = field(default_factory=dict)
    _next_id: int = 0

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def host(self) -> str:
        return str(self.sock.getsockname()[0])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections held right now (for tests and the benchmark)."""
        return len(self._conns)

    def serve_forever(self) -> None:
        """Serve until :meth:`stop` (from another thread) or KeyboardInterrupt."""
        loop = asyncio.new_event_loop()
        # A client's failure is never worth a traceback (asyncio logs some of them itself).
        loop.set_exception_handler(
            lambda _loop, context: log.debug("connection failed: %s",
                                             context.get("exception") or context["message"]))
        executor = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="slo-exporter")
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(executor))
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            executor.shutdown(wait=False, cancel_futures=True)
            self.sock.close()

    def stop(self) -> None:
        self._stopped = True
        loop, done = self._loop, self._done
        if loop is not None and done is not None and not loop.is_closed():
            def finish() -> None:
                if not done.done():
                    done.set_result(None)

            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(finish)
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.thread is None or not self.thread.is_alive():
            self.sock.close()

    async def _serve(self, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        server = await asyncio.start_server(
            lambda r, w: self._connection(r, w, executor), sock=self.sock,
            limit=self.limits.max_header_bytes, backlog=self.limits.backlog)
        self._ready.set()
        if self._stopped:
            self._done.set_result(None)
        try:
            await self._done
        finally:
            server.close()
            for conn in list(self._conns.values()):
                conn.writer.transport.abort()

    def _admit(self) -> int | None:
        """A slot for a new connection (evicting the oldest waiting one at the cap), or None."""
        if len(self._conns) >= self.limits.max_connections:
            victim = next((k for k, c in self._conns.items() if c.waiting), None)
            if victim is None:
                return None
            log.debug("connection cap (%d) reached: dropping the oldest idle connection",
                      self.limits.max_connections)
            self._conns.pop(victim).writer.transport.abort()
        self._next_id += 1
        return self._next_id

    def _waiting(self, key: int, waiting: bool) -> None:
        conn = self._conns.get(key)
        if conn is None:
            raise _Dropped("evicted")
        conn.waiting = waiting
        if waiting:  # to the back of the eviction order
            self._conns[key] = self._conns.pop(key)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          executor: ThreadPoolExecutor) -> None:
        peer = writer.get_extra_info("peername")
        key = self._admit()
        if key is None:
            log.debug("connection cap (%d) reached, every connection busy: closing %s",
                      self.limits.max_connections, peer)
            writer.transport.abort()
            return
        self._conns[key] = _Conn(writer)
        raw = writer.transport
        try:
            if self.tls is not None:
                try:
                    await writer.start_tls(self.tls,
                                           ssl_handshake_timeout=self.limits.handshake_timeout)
                finally:
                    # CPython 3.11's StreamWriter.start_tls can leave the writer without a
                    # transport when the client hangs up mid-handshake; its __del__ would then
                    # print a traceback at garbage collection.
                    if writer.transport is None:
                        writer._transport = raw
                        raise _Dropped("client hung up during the TLS handshake")
            await self._requests(key, reader, writer, executor, peer)
        except (_Dropped, OSError, EOFError, TimeoutError, ssl.SSLError,
                h11.ProtocolError) as exc:
            log.debug("connection from %s closed: %s", peer, exc or type(exc).__name__)
        finally:
            self._conns.pop(key, None)
            writer.transport.abort()

    async def _requests(self, key: int, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter, executor: ThreadPoolExecutor,
                        peer: Any) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        server_address = self.sock.getsockname()[:2]
        # the first request's headers are due from the accept; later ones from their first byte
        deadline: float | None = loop.time() + limits.header_timeout
        while True:
            self._waiting(key, True)
            try:
                event = await self._next_request(conn, reader, deadline)
            except h11.RemoteProtocolError as exc:
                await self._send_error(conn, writer, exc.error_status_hint, str(exc))
                return
            if not isinstance(event, h11.Request):
                return  # the client closed the connection
            self._waiting(key, False)
            # GET and HEAD have no body; one that has a body is answered, then closed
            has_body = not isinstance(conn.next_event(), h11.EndOfMessage)
            environ = _environ(event, self.scheme, server_address, peer)
            reply = await loop.run_in_executor(executor, _call_app, self.app, environ)
            headers = [*reply.headers, ("Date", formatdate(usegmt=True))]
            if has_body or self._stopped:
                headers.append(("Connection", "close"))
            out = conn.send(h11.Response(status_code=reply.status, headers=headers,
                                         reason=_phrase(reply.status)))
            if event.method != b"HEAD":
                out += conn.send(h11.Data(data=reply.body))
            out += conn.send(h11.EndOfMessage())
            writer.write(out)
            await asyncio.wait_for(writer.drain(), limits.write_timeout)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
            deadline = None  # idle until the next request's first byte

    async def _next_request(self, conn: h11.Connection, reader: asyncio.StreamReader,
                            deadline: float | None) -> Any:
        """The next h11 event: a Request, or ConnectionClosed. ``deadline`` (loop time) bounds
        the wait for the whole request line and headers; None: the connection is idle, and
        the deadline starts with the first byte."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        received = len(conn.trailing_data[0])
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if received > limits.max_header_bytes:  # h11 checks only what it buffers
                raise h11.RemoteProtocolError("request line and headers too long",
                                              error_status_hint=431)
            if deadline is None and conn.trailing_data[0]:
                deadline = loop.time() + limits.header_timeout
            if deadline is None:
                timeout, what = limits.idle_timeout, "idle timeout"
            else:
                timeout, what = deadline - loop.time(), "headers not received in time"
            if timeout <= 0:
                raise _Dropped(what)
            try:
                # never more than one byte past the limit: the check above then answers 431
                want = max(1, limits.max_header_bytes + 1 - received)
                data = await asyncio.wait_for(reader.read(want), timeout)
            except TimeoutError:
                raise _Dropped(what) from None
            received += len(data)
            conn.receive_data(data)
            if data and deadline is None:
                deadline = loop.time() + limits.header_timeout

    async def _send_error(self, conn: h11.Connection, writer: asyncio.StreamWriter,
                          status: int, why: str) -> None:
        log.debug("bad request: %s", why)
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"{HTTPStatus(status).phrase}\n".encode()
        out = conn.send(h11.Response(status_code=status, reason=_phrase(status), headers=[
            ("Content-Type", _TEXT), ("Content-Length", str(len(body))),
            ("Connection", "close"), ("Date", formatdate(usegmt=True))]))
        out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        writer.write(out)
        await asyncio.wait_for(writer.drain(), self.limits.write_timeout)


def _phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


def make_server(
    listen: str = DEFAULT_LISTEN,
    registry: CollectorRegistry | None = None,
    web_config: WebConfig | str | Path | None = None,
    limits: ServerLimits | None = None,
) -> MetricsServer:
    """Bind the server (not yet serving). ``web_config`` is a path or a loaded WebConfig."""
    if isinstance(web_config, str | Path):
        web_config = load_web_config(web_config)
    config = web_config or WebConfig()
    limits = limits or ServerLimits()
    host, port = parse_listen(listen)
    app = metrics_wsgi_app(REGISTRY if registry is None else registry, config.auth(),
                           dict(config.headers))
    tls = config.tls.context() if config.tls is not None else None
    return MetricsServer(_bind(host, port, limits.backlog), app, tls, limits)


def start_server(
    listen: str = DEFAULT_LISTEN,
    registry: CollectorRegistry | None = None,
    web_config: WebConfig | str | Path | None = None,
    limits: ServerLimits | None = None,
) -> MetricsServer:
    """Serve in a daemon thread (the library call); returns the running server."""
    server = make_server(listen, registry, web_config, limits)
    server.thread = threading.Thread(target=server.serve_forever,
                                     name="slo-exporter-metrics", daemon=True)
    server.thread.start()
    server._ready.wait(timeout=10)
    return server
