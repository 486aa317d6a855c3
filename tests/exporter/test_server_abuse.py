"""The /metrics server under abuse, on 127.0.0.1: slow and many clients, malformed requests,
TLS clients that hang up, long passwords (issue 14, items 1-4 and 6).

Every test is bounded: the limits are set low (fractions of a second) and every socket has a
timeout, so a server that does not enforce a limit fails the test within seconds instead of
hanging it. No test asserts a wall-clock duration (bench/abuse.py measures those).
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from exporter.server import MetricsServer, ServerLimits, make_server, start_server
from exporter.webconfig import BasicAuth, WebConfig, load_web_config

PASSWORD = "s3cret-scrape"
FAST = ServerLimits(header_timeout=0.5, handshake_timeout=0.5, idle_timeout=1.0,
                    write_timeout=2.0, max_connections=16, max_header_bytes=4096)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


def _registry(children: int = 0) -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("probe_total", "a probe", registry=registry).inc()
    big = Counter("big_total", "many children", ["n"], registry=registry)
    for n in range(children):
        big.labels(f"{n:06d}").inc()
    return registry


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    s = start_server("127.0.0.1:0", _registry(), limits=FAST)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[MetricsServer]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  prometheus: {hashed}\n")
    s = start_server("127.0.0.1:0", _registry(), tmp_path / "web.yml", limits=FAST)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def tls_server(tmp_path: Path, cert: tuple[Path, Path]) -> Iterator[MetricsServer]:
    (tmp_path / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {cert[0]}\n  key_file: {cert[1]}\n")
    # a page of about 250 KB: a client that hangs up mid-response breaks the server's write
    s = start_server("127.0.0.1:0", _registry(5000), tmp_path / "web.yml", limits=FAST)
    try:
        yield s
    finally:
        s.stop()


def exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send ``request`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(request)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
    return out


def get(path: str = "/metrics", method: str = "GET", *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode("utf-8")


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def head_and_body(response: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def closed_by_server(c: socket.socket) -> bool:
    """True if the server closes ``c`` before its timeout (reading whatever it sends)."""
    try:
        while c.recv(65536):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


# -- item 1 and 2: basic auth -------------------------------------------------------------------

def _basic(user: str, password: str | bytes) -> str:
    raw = password if isinstance(password, bytes) else password.encode()
    return "Authorization: Basic " + base64.b64encode(user.encode() + b":" + raw).decode()


@pytest.mark.parametrize("header", [
    _basic("mallory", "x" * 100),           # unknown user, password over bcrypt's 72 bytes
    _basic("prometheus", "x" * 100),        # known user, the same
    _basic("prometheus", PASSWORD + "x" * 80),  # the right password and more: still no
    _basic("prometheus", "guess"),
    _basic("mallory", PASSWORD),
    "Authorization: Basic é",               # non-ASCII: b64decode's ValueError
    "Authorization: Basic !!!!",
    "Authorization: Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
    "Authorization: Basic " + base64.b64encode(b"no-colon").decode(),
    "Authorization: Bearer abc",
    "Authorization: Basic",
])
def test_every_auth_failure_is_the_same_401(auth_server: MetricsServer, header: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "exporter")
    response = exchange(auth_server.port, get("/metrics", "GET", header))
    reference = exchange(auth_server.port, get("/metrics", "GET"))
    assert status(response) == status(reference) == 401
    assert head_and_body(response)[1] == head_and_body(reference)[1] == b"Unauthorized\n"
    assert [r for r in caplog.records if r.levelno > logging.DEBUG or r.exc_info] == []


def test_the_right_password_still_works(auth_server: MetricsServer) -> None:
    response = exchange(auth_server.port, get("/metrics", "GET", _basic("prometheus", PASSWORD)))
    assert status(response) == 200 and b"probe_total 1.0" in response


def test_dummy_hash_costs_what_the_slowest_user_costs() -> None:
    """An unknown user is checked against a hash of the highest cost among the users, not the
    first user's (a cost-12 user would answer in 300 ms and an unknown one in 1 ms)."""
    cheap = bcrypt.hashpw(b"a", bcrypt.gensalt(rounds=4)).decode()
    dear = bcrypt.hashpw(b"b", bcrypt.gensalt(rounds=6)).decode()
    auth = BasicAuth({"cheap": cheap, "dear": dear})
    assert auth.cost == 6
    assert auth._dummy.startswith(b"$2b$06$")


def test_only_successful_checks_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    auth = BasicAuth({"prom": hashed})
    calls: list[bytes] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(h) or real(p, h))
    assert all(auth.check("prom", "pw") for _ in range(5))
    assert len(calls) == 1
    assert not any(auth.check("prom", "nope") for _ in range(3))
    assert not auth.check("nobody", "pw") and not auth.check("nobody", "y" * 200)
    assert not auth.check("prom", "pw" + "z" * 100)
    assert len(calls) == 7  # every failure pays one bcrypt check, none is cached


# -- item 3: TLS clients hanging up -------------------------------------------------------------

def test_tls_clients_that_hang_up_leave_no_traceback(
        tls_server: MetricsServer, cert: tuple[Path, Path], capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    for i in range(40):
        with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as c:
            if i % 4 == 1:
                c.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello
            elif i % 4 == 2:
                c.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")  # plain HTTP on the TLS port
            elif i % 4 == 3:  # a whole request, then a reset before the answer is read
                with ctx.wrap_socket(c, server_hostname="127.0.0.1") as t:
                    t.sendall(get())
                    t.recv(1)
                    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.5)  # let the server meet the resets
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as c:
        c.sendall(get())
        response = b""
        while chunk := c.recv(65536):
            response += chunk
    assert status(response) == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert [r for r in caplog.records if r.levelno > logging.DEBUG or r.exc_info] == []


def test_a_stalled_tls_handshake_is_dropped(tls_server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as c:
        assert closed_by_server(c)  # within handshake_timeout (0.5 s), not the socket's 5 s


# -- item 4: connection limits ------------------------------------------------------------------

def test_headers_must_arrive_by_the_deadline(server: MetricsServer) -> None:
    """Slowloris: a header line every 0.1 s keeps every read timeout happy; the request's
    deadline (0.5 s for the whole header block) still closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.1) as c:
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        for i in range(50):  # 5 s of drip at most
            try:
                c.sendall(f"X-Drip-{i}: a\r\n".encode())
                if c.recv(65536) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        else:
            pytest.fail("the server kept a dripping client for 5 s")


def test_an_idle_connection_is_dropped(server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        assert closed_by_server(c)


def test_slow_clients_hold_no_thread_and_cannot_lock_a_scrape_out(server: MetricsServer) -> None:
    """200 connections sending nothing: no thread each, at most max_connections held (the
    oldest waiting ones are evicted), and a scrape still gets through."""
    before = threading.active_count()
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(200)]
    try:
        for c in socks[:20]:
            c.sendall(b"GET /metrics HTTP/1.1\r\n")  # half a request
        response = exchange(server.port, get())
        assert status(response) == 200 and b"probe_total 1.0" in response
        assert server.open_connections <= FAST.max_connections
        assert threading.active_count() <= before + FAST.workers
    finally:
        for c in socks:
            c.close()


def test_headers_are_read_up_to_the_limit_only(server: MetricsServer) -> None:
    big = "X-Big: " + "a" * 8000
    assert status(exchange(server.port, get("/metrics", "GET", big))) == 431
    many = [f"X-{i}: " + "b" * 60 for i in range(100)]
    assert status(exchange(server.port, get("/metrics", "GET", *many))) == 431
    assert status(exchange(server.port, get())) == 200


def test_the_listen_backlog_takes_a_burst_of_connections() -> None:
    """Before serving starts, 100 connects complete in the kernel's accept queue: with the
    old backlog of 5 the seventh one waited for SYN retransmits (and timed out here)."""
    s = make_server("127.0.0.1:0", _registry())
    socks = []
    try:
        for _ in range(100):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=0.5))
    finally:
        for c in socks:
            c.close()
        s.stop()


def test_keep_alive_serves_several_scrapes_on_one_connection(server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        for _ in range(3):
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"probe_total 1.0" not in data:
                chunk = c.recv(65536)
                assert chunk, "closed after one request"
                data += chunk
            assert status(data) == 200


def test_a_request_body_is_not_read_and_its_connection_closes(server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        c.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc")
        response = b""
        while chunk := c.recv(65536):
            response += chunk
    headers, _ = head_and_body(response)
    assert status(response) == 405 and headers["connection"] == "close"


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        ServerLimits(max_connections=0)
    with pytest.raises(ValueError, match="header_timeout"):
        ServerLimits(header_timeout=0)


# -- item 6: HEAD, methods, Server header --------------------------------------------------------

def test_head_is_get_without_a_body(server: MetricsServer) -> None:
    full = exchange(server.port, get("/metrics"))
    head = exchange(server.port, get("/metrics", "HEAD"))
    (get_headers, get_body), (head_headers, head_body) = head_and_body(full), head_and_body(head)
    assert status(head) == 200 and head_body == b""
    assert head_headers["content-length"] == get_headers["content-length"] == str(len(get_body))
    assert head_headers["content-type"] == get_headers["content-type"]
    assert status(exchange(server.port, get("/healthz", "HEAD"))) == 200


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
@pytest.mark.parametrize("method", ["TRACE", "POST", "DELETE", "OPTIONS"])
def test_other_methods_are_405(server: MetricsServer, path: str, method: str) -> None:
    response = exchange(server.port, get(path, method))
    assert status(response) == 405
    assert head_and_body(response)[0]["allow"] == "GET, HEAD"


def test_no_server_header(server: MetricsServer) -> None:
    for path in ("/metrics", "/healthz", "/nope"):
        headers, _ = head_and_body(exchange(server.port, get(path)))
        assert "server" not in headers and "date" in headers


def test_web_config_headers_are_sent(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    Strict-Transport-Security: max-age=31536000\n")
    config = load_web_config(tmp_path / "web.yml")
    assert config == WebConfig(headers={"X-Frame-Options": "deny",
                                        "Strict-Transport-Security": "max-age=31536000"})
    s = start_server("127.0.0.1:0", _registry(), config, limits=FAST)
    try:
        headers, _ = head_and_body(exchange(s.port, get()))
    finally:
        s.stop()
    assert headers["x-frame-options"] == "deny"
    assert headers["strict-transport-security"] == "max-age=31536000"


# -- any bytes at all -----------------------------------------------------------------------------

_TOKENS = st.sampled_from([b"GET", b"HEAD", b"POST", b"TRACE", b"get", b"G\x00T", b"/metrics",
                           b"/healthz", b"/metrics?name[]=probe_total", b"/%ff", b"*",
                           b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/9.9", b" ", b"\r\n",
                           b"\n", b":", b"Host: x", b"Authorization: Basic \xff",
                           b"Content-Length: 5", b"Content-Length: -1",
                           b"Transfer-Encoding: chunked", b"Accept: */*;q=x",
                           b"Accept-Encoding: gzip", b"\x16\x03\x01", b"\xff\xfe"])


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_TOKENS, st.binary(max_size=40)), max_size=30))
def test_any_bytes_get_an_answer_or_a_close_never_a_500(server: MetricsServer,
                                                        parts: list[bytes]) -> None:
    """Whatever a client sends, the server answers 2xx/4xx (or closes), never 500, and keeps
    serving."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        c.sendall(b"".join(parts) + b"\r\n\r\n")
        c.shutdown(socket.SHUT_WR)
        response = b""
        try:
            while chunk := c.recv(65536):
                response += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    if response:
        assert response.startswith(b"HTTP/1.1 "), response[:80]
        assert status(response) < 500, response[:200]
