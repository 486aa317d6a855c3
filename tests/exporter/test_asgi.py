"""The ASGI middleware driven through a real FastAPI/Starlette app and its test client."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from exporter import PrometheusMiddleware, TemplateMatcher, instrument_app


class PMSUnavailable(Exception):
    error_type = "pms_unavailable"


class Boom(Exception):
    pass


def build_fastapi() -> FastAPI:
    app = FastAPI()

    @app.get("/reservations/{rid}")
    async def reservation(rid: int) -> dict[str, int]:
        return {"id": rid}

    @app.post("/reservations")
    async def create() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/timeout")
    async def timeout() -> None:
        raise TimeoutError("pms took too long")

    @app.get("/pms")
    async def pms() -> None:
        raise PMSUnavailable("down")

    @app.get("/unavailable")
    async def unavailable() -> None:
        raise HTTPException(503, "maintenance")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418)

    @app.get("/boom")
    async def boom() -> None:
        raise Boom("unexpected")

    sub = Starlette(routes=[Route("/items/{item}", lambda r: PlainTextResponse("item"))])
    app.mount("/api", sub)
    return app


@pytest.fixture
def client_and_inst(make_inst):
    app = build_fastapi()
    inst = instrument_app(app, make_inst())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, inst


def test_route_templates_statuses_and_exact_counts(client_and_inst, value, series, total):
    client, _ = client_and_inst
    for rid in range(5):
        assert client.get(f"/reservations/{rid}").status_code == 200
    assert client.post("/reservations").status_code == 200
    assert client.get("/api/items/7").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    assert client.delete("/reservations/1").status_code == 405

    assert value("orchestrator_requests_total", endpoint="/reservations/{rid}", method="GET") == 5
    assert value("orchestrator_requests_total", endpoint="/reservations", method="POST") == 1
    assert value("orchestrator_requests_total", endpoint="/api/items/{item}", method="GET") == 1
    assert value("orchestrator_requests_total", endpoint="other", method="GET") == 1
    assert value("http_requests_total", endpoint="/reservations/{rid}", method="GET",
                 status="200") == 5
    assert value("http_requests_total", endpoint="other", method="GET", status="404") == 1
    assert value("http_requests_total", endpoint="/reservations/{rid}", method="DELETE",
                 status="405") == 1
    assert value("http_request_duration_seconds_count", endpoint="/reservations/{rid}",
                 method="GET") == 5
    assert value("http_request_duration_seconds_bucket", endpoint="/reservations/{rid}",
                 method="GET", le="+Inf") == 5
    endpoints = {s["endpoint"] for s in series("orchestrator_requests_total")}
    assert not any(e.startswith("/reservations/") and "{" not in e for e in endpoints)
    # 4xx are the client's: no errors recorded at all.
    assert total("orchestrator_errors_total") == 0
    assert value("http_requests_in_flight") == 0


def test_error_types(client_and_inst, value):
    client, _ = client_and_inst
    assert client.get("/timeout").status_code == 500
    assert client.get("/pms").status_code == 500
    assert client.get("/unavailable").status_code == 503
    assert client.get("/boom").status_code == 500
    assert client.get("/teapot").status_code == 418

    assert value("orchestrator_errors_total", endpoint="/timeout", error_type="timeout") == 1
    assert value("orchestrator_errors_total", endpoint="/pms", error_type="pms_unavailable") == 1
    assert value("orchestrator_errors_total", endpoint="/unavailable", error_type="http_503") == 1
    assert value("orchestrator_errors_total", endpoint="/boom",
                 error_type="unhandled_exception") == 1
    assert value("orchestrator_errors_total", endpoint="/teapot", error_type="http_418") == 0
    assert value("http_requests_total", endpoint="/timeout", method="GET", status="500") == 1
    assert value("orchestrator_requests_total", endpoint="/boom", method="GET") == 1


def test_known_series_are_precreated_at_zero(client_and_inst, series):
    precreated = series("orchestrator_requests_total")
    assert {"endpoint": "/reservations/{rid}", "method": "GET"} in precreated
    assert {"endpoint": "/api/items/{item}", "method": "GET"} in precreated
    errors = series("orchestrator_errors_total")
    assert {"endpoint": "/reservations/{rid}", "error_type": "http_500"} in errors


def test_exception_is_reraised_unchanged(make_inst, value):
    app = build_fastapi()
    instrument_app(app, make_inst())
    with TestClient(app) as client, pytest.raises(Boom, match="unexpected"):
        client.get("/boom")
    assert value("orchestrator_errors_total", endpoint="/boom",
                 error_type="unhandled_exception") == 1
    assert value("http_requests_in_flight") == 0


def test_exception_object_identity_through_plain_middleware(make_inst):
    error = Boom("same object")

    async def app(scope, receive, send):
        raise error

    mw = PrometheusMiddleware(app, make_inst(slo_series=False), route_resolver=lambda s: None)
    scope = {"type": "http", "method": "GET", "path": "/"}
    with pytest.raises(Boom) as caught:
        asyncio.run(mw(scope, None, None))
    assert caught.value is error


def test_streaming_response_is_timed_to_its_end(make_inst, value):
    async def chunks():
        for _ in range(3):
            await asyncio.sleep(0.05)
            yield b"chunk"

    app = Starlette(routes=[Route("/stream", lambda r: StreamingResponse(chunks()))])
    instrument_app(app, make_inst(slo_series=False))
    with TestClient(app) as client:
        assert client.get("/stream").content == b"chunk" * 3
    total = value("http_request_duration_seconds_sum", endpoint="/stream", method="GET")
    assert total >= 0.15
    assert value("http_request_duration_seconds_bucket", endpoint="/stream", method="GET",
                 le="0.1") == 0


def test_websocket_and_lifespan_pass_through(make_inst, total):
    events = []

    async def ws(websocket):
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    async def lifespan(app):
        events.append("start")
        yield
        events.append("stop")

    app = Starlette(routes=[WebSocketRoute("/ws", ws)], lifespan=lifespan)
    app.add_middleware(PrometheusMiddleware, instrumentation=make_inst(slo_series=False))
    with TestClient(app) as client, client.websocket_connect("/ws") as conn:
        assert conn.receive_text() == "hi"
    assert events == ["start", "stop"]
    assert total("orchestrator_requests_total") == 0


def test_plain_asgi_app_with_template_matcher(make_inst, value):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = PrometheusMiddleware(app, make_inst(slo_series=False),
                              route_resolver=TemplateMatcher(["/guests/{gid}/messages"]))
    client = TestClient(mw)  # no lifespan: this app only speaks http
    client.get("/guests/12/messages")
    client.get("/guests/12/other")
    client.request("BREW", "/guests/12/messages")
    assert value("orchestrator_requests_total", endpoint="/guests/{gid}/messages",
                 method="GET") == 1
    assert value("orchestrator_requests_total", endpoint="other", method="GET") == 1
    assert value("orchestrator_requests_total", endpoint="/guests/{gid}/messages",
                 method="other") == 1


def test_no_response_sent_counts_as_500(make_inst, value):
    async def app(scope, receive, send):
        return None

    mw = PrometheusMiddleware(app, make_inst(slo_series=False), route_resolver=lambda s: "/x")
    asyncio.run(mw({"type": "http", "method": "GET", "path": "/x"}, None, None))
    assert value("orchestrator_errors_total", endpoint="/x", error_type="http_500") == 1


def test_slo_series_follow_requests(make_inst, registry):
    app = build_fastapi()
    now = [1000.0]
    instrument_app(app, make_inst(clock=lambda: now[0]))
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(9):
            client.get("/reservations/1")
        client.get("/boom")
        client.get("/teapot")  # 4xx: a good event
    get = registry.get_sample_value
    labels = {"slo": "requests-availability", "window": "5m"}
    assert get("orchestrator_slo_success_ratio", labels) == pytest.approx(10 / 11, abs=1e-12)
    assert get("orchestrator_slo_burn_rate", labels) == pytest.approx((1 / 11) / 0.005)
    assert get("orchestrator_slo_objective_ratio", {"slo": "requests-availability"}) == 0.995
    now[0] += 31 * 86400  # every window has emptied: no samples, budget untouched
    assert get("orchestrator_slo_success_ratio", labels) is None
    assert get("orchestrator_slo_error_budget_remaining_ratio",
               {"slo": "requests-availability"}) == 1.0


def test_in_flight_counts_running_requests(make_inst, value):
    seen = []

    async def app(scope, receive, send):
        seen.append(value("http_requests_in_flight"))
        if len(seen) == 1:  # a nested request while the first is still running
            await mw(dict(scope), receive, send)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def discard(message):
        return None

    mw = PrometheusMiddleware(app, make_inst(slo_series=False), route_resolver=lambda s: "/x")
    asyncio.run(mw({"type": "http", "method": "GET", "path": "/x"}, None, discard))
    assert seen == [1, 2]
    assert value("http_requests_in_flight") == 0


def test_failing_server_send_is_recorded_and_reraised(make_inst, value):
    """The app awaits whatever our send returns; the server's error comes through unchanged."""
    error = ConnectionResetError("client went away")

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    async def server_send(message):
        if message["type"] == "http.response.body":
            raise error

    mw = PrometheusMiddleware(app, make_inst(slo_series=False), route_resolver=lambda s: "/x")
    with pytest.raises(ConnectionResetError) as caught:
        asyncio.run(mw({"type": "http", "method": "GET", "path": "/x"}, None, server_send))
    assert caught.value is error
    assert value("http_requests_total", endpoint="/x", method="GET", status="200") == 1
    assert value("orchestrator_errors_total", endpoint="/x", error_type="connection_error") == 1
    assert value("http_requests_in_flight") == 0
