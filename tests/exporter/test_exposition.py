"""/metrics over ASGI and WSGI: the same negotiation, ``name[]`` filters, gzip and limits.

Every behaviour is checked through both adapters (they share exporter.exposition), called
directly; one test goes through the real server and an HTTP client.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily

from exporter import Instrumentation, metrics_asgi_app, metrics_wsgi_app, start_server
from exporter.exposition import MAX_QUERY_BYTES, MAX_QUERY_FIELDS, gzip_wanted

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
Response = tuple[int, dict[str, str], bytes]
Fetch = Callable[..., Response]


def asgi_fetch(registry: Any) -> Fetch:
    app = metrics_asgi_app(registry)

    def fetch(query: bytes | str = b"", method: str = "GET", **headers: str) -> Response:
        raw = query if isinstance(query, bytes) else query.encode("latin-1")
        scope = {"type": "http", "method": method, "path": "/metrics", "query_string": raw,
                 "headers": [(k.replace("_", "-").lower().encode(), v.encode("latin-1"))
                             for k, v in headers.items()]}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        start, body = sent
        assert body["type"] == "http.response.body"
        return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
                body["body"])

    return fetch


def wsgi_fetch(registry: Any) -> Fetch:
    app = metrics_wsgi_app(registry)

    def fetch(query: bytes | str = b"", method: str = "GET", **headers: str) -> Response:
        text = query.decode("latin-1") if isinstance(query, bytes) else query
        environ = {"REQUEST_METHOD": method, "PATH_INFO": "/metrics", "QUERY_STRING": text,
                   **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
        got: dict[str, Any] = {}

        def start_response(status: str, hdrs: list[tuple[str, str]], exc_info=None) -> None:
            got["status"], got["headers"] = status, hdrs

        body = b"".join(app(environ, start_response))
        code = int(got["status"].split()[0])
        return code, {k.lower(): v for k, v in got["headers"]}, body

    return fetch


@pytest.fixture
def inst(registry: CollectorRegistry) -> Instrumentation:
    """A registry whose exposition is the same from one render to the next (no SLO windows)."""
    inst = Instrumentation(registry, slo_series=False, clock=lambda: 1000.0)
    for status in (200, 200, 503):
        inst.requests.outcome("/reservations/{rid}", "GET", status).record(0.02, 1000.0)
    inst.declare_operations("pms", ["get_reservation"], ["timeout"])
    return inst


@pytest.fixture(params=["asgi", "wsgi"])
def fetch(request: pytest.FixtureRequest, inst: Instrumentation) -> Fetch:
    return {"asgi": asgi_fetch, "wsgi": wsgi_fetch}[request.param](inst.registry)


def families(body: bytes) -> set[str]:
    return {line.split()[2] for line in body.decode().splitlines() if line.startswith("# TYPE ")}


def test_gzip_only_when_asked_and_the_same_exposition(fetch: Fetch) -> None:
    status, headers, plain = fetch()
    assert status == 200 and "content-encoding" not in headers
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) == len(plain)
    assert b'http_requests_total{endpoint="/reservations/{rid}",method="GET",status="503"} 1.0' \
        in plain
    status, headers, packed = fetch(accept_encoding="gzip, deflate")
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(packed) < len(plain)
    assert gzip.decompress(packed) == plain
    # Refused (q=0) or not offered: no gzip.
    for refused in ("gzip;q=0", "deflate, br", "identity"):
        status, headers, body = fetch(accept_encoding=refused)
        assert "content-encoding" not in headers and body == plain


def test_gzip_wanted_reads_quality_values() -> None:
    assert gzip_wanted("gzip") and gzip_wanted("br, GZIP;q=0.5") and gzip_wanted("x-gzip")
    assert not gzip_wanted(None) and not gzip_wanted("") and not gzip_wanted("gzip;q=0")
    assert not gzip_wanted("gzip;q=0.0") and not gzip_wanted("gzip; q=x")
    assert not gzip_wanted("deflate") and not gzip_wanted("gzipped")


def test_name_filters_keep_only_the_named_families(fetch: Fetch) -> None:
    _, _, everything = fetch()
    assert {"http_requests_total", "orchestrator_requests_total",
            "pms_adapter_requests_total"} <= families(everything)
    status, _, body = fetch("name[]=http_requests_total")
    assert status == 200 and families(body) == {"http_requests_total"}
    status, _, body = fetch("name[]=http_requests_total&name[]=pms_adapter_errors_total")
    assert families(body) == {"http_requests_total", "pms_adapter_errors_total"}
    assert b'pms_adapter_errors_total{error_type="timeout",operation="get_reservation"} 0.0' \
        in body
    status, headers, body = fetch("name%5B%5D=orchestrator_requests_total",
                                  accept_encoding="gzip")  # escaped brackets, and gzipped
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert families(gzip.decompress(body)) == {"orchestrator_requests_total"}
    status, _, body = fetch("name[]=no_such_metric")
    assert status == 200 and body == b""
    status, _, body = fetch("other=1&name[]=")  # no name: everything
    assert status == 200 and body == everything


def test_name_filters_reach_the_slo_collector(registry: CollectorRegistry) -> None:
    inst = Instrumentation(registry)
    for fetch in (asgi_fetch(inst.registry), wsgi_fetch(inst.registry)):
        status, _, body = fetch("name[]=orchestrator_slo_objective_ratio")
        assert status == 200 and families(body) == {"orchestrator_slo_objective_ratio"}
        assert b'orchestrator_slo_objective_ratio{slo="requests-availability"} 0.995' in body


def test_openmetrics_is_negotiated(fetch: Fetch) -> None:
    status, headers, body = fetch(accept="application/openmetrics-text; version=1.0.0")
    assert status == 200 and headers["content-type"].startswith(OPENMETRICS)
    assert body.endswith(b"# EOF\n")
    assert b"# TYPE http_requests counter" in body
    status, headers, packed = fetch("name[]=http_requests_total",
                                    accept="application/openmetrics-text; version=1.0.0",
                                    accept_encoding="gzip")
    text = gzip.decompress(packed)
    assert headers["content-type"].startswith(OPENMETRICS) and text.endswith(b"# EOF\n")
    assert {line.split()[2] for line in text.decode().splitlines()
            if line.startswith("# TYPE ")} == {"http_requests"}
    status, headers, body = fetch(accept="text/html,*/*;q=0.8")
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert not body.endswith(b"# EOF\n")


@pytest.mark.parametrize(("query", "status"), [
    (b"name[]=" + b"a" * (MAX_QUERY_BYTES + 1), 414),                    # huge
    (b"x" * 1_000_000, 414),
    (b"&".join([b"name[]=a"] * (MAX_QUERY_FIELDS + 1)), 400),            # many values
    (b"&".join([b"name[]=http_requests_total"] * 300), 400),
    (b"name[]=%ff%fe", 400),                                             # escapes, not UTF-8
    (b"name[]=\xff\xfe", 400),                                           # raw non-ASCII bytes
    (b"name[]=caf\xc3\xa9", 400),                                        # raw UTF-8: unescaped
])
def test_a_hostile_query_string_is_a_4xx(fetch: Fetch, query: bytes, status: int) -> None:
    got, headers, body = fetch(query)
    assert got == status
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert len(body) < 200 and int(headers["content-length"]) == len(body)


@pytest.mark.parametrize("query", [
    b"name[]=%zz&name[]=%",                          # broken escapes are taken literally
    b"name[]=" + b"%41" * 2000,                      # long, but under the bound
    b"&".join(b"name[]=m%d" % i for i in range(MAX_QUERY_FIELDS)),   # as many as allowed
    b"name[]=caf%C3%A9&;;&&==&name[]",
])
def test_an_odd_but_bounded_query_is_answered(fetch: Fetch, query: bytes) -> None:
    status, _, body = fetch(query)
    assert status == 200 and body == b""  # none of these names exists


@pytest.mark.parametrize("accept", [
    "application/openmetrics-text; version=abc",    # prometheus_client 0.26 raises on these
    "text/plain; version=zz",
    ";;;,,,=", "application/openmetrics-text;version", "\x00\xff" * 100,
])
def test_a_hostile_accept_header_gets_a_format_not_a_500(fetch: Fetch, accept: str) -> None:
    status, headers, body = fetch(accept=accept)
    assert status == 200 and b"http_requests_total" in body
    assert headers["content-type"].split(";")[0] in ("text/plain", "application/openmetrics-text")


def test_only_get_and_head(fetch: Fetch) -> None:
    _, get_headers, body = fetch()
    status, headers, head_body = fetch(method="HEAD")
    assert status == 200 and head_body == b""
    assert headers["content-length"] == get_headers["content-length"] == str(len(body))
    status, headers, body = fetch(method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_asgi_renders_off_the_event_loop(registry: CollectorRegistry) -> None:
    threads: list[int] = []

    class Probe:
        def collect(self):
            threads.append(threading.get_ident())
            yield GaugeMetricFamily("probe", "which thread collected", value=1)

    registry.register(Probe())
    loop_thread: list[int] = []
    app = metrics_asgi_app(registry)

    async def scrape() -> bytes:
        loop_thread.append(threading.get_ident())
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "method": "GET", "headers": [], "query_string": b""},
                  None, send)
        return sent[1]["body"]

    threads.clear()
    assert b"probe 1.0" in asyncio.run(scrape())
    assert threads and all(t != loop_thread[0] for t in threads)


def test_the_real_server_serves_gzip_and_filters(registry: CollectorRegistry) -> None:
    Counter("x_requests_total", "x", registry=registry).inc(3)
    Counter("y_requests_total", "y", registry=registry).inc()
    server = start_server("127.0.0.1:0", registry)
    try:
        with httpx.Client(base_url=server.url, timeout=5, trust_env=False) as client:
            r = client.get("/metrics", params={"name[]": "x_requests_total"},
                           headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            assert families(r.content) == {"x_requests_total"}  # httpx decompressed it
            assert "x_requests_total 3.0" in r.text
            r = client.get("/metrics", params={"name[]": ["m"] * 300})
            assert r.status_code == 400
    finally:
        server.stop()
