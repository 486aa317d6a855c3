"""The WSGI middleware driven through a real Flask app and its test client."""

from __future__ import annotations

import time

import pytest
from flask import Flask, Response, abort

from exporter import TemplateMatcher, WSGIMiddleware, instrument_app


class Boom(Exception):
    pass


def build_flask() -> Flask:
    app = Flask("orchestrator-test")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # production behaviour: Flask answers 500

    @app.get("/reservations/<int:rid>")
    def reservation(rid: int):
        return {"id": rid}

    @app.post("/messages")
    def message():
        return {"queued": True}, 202

    @app.get("/unavailable")
    def unavailable():
        abort(503)

    @app.get("/missing")
    def missing():
        abort(404)

    @app.get("/boom")
    def boom():
        raise Boom("unexpected")

    @app.get("/stream")
    def stream():
        def chunks():
            for _ in range(3):
                time.sleep(0.03)
                yield b"x"
        return Response(chunks())

    return app


class Client:
    """Flask's test client, reading and closing every response as a WSGI server does."""

    def __init__(self, app: Flask) -> None:
        self._client = app.test_client()

    def open(self, method: str, path: str):
        response = self._client.open(path, method=method)
        response.get_data()
        response.close()
        return response

    def get(self, path: str):
        return self.open("GET", path)

    def post(self, path: str):
        return self.open("POST", path)

    def delete(self, path: str):
        return self.open("DELETE", path)


def test_flask_templates_statuses_and_counts(make_inst, value, total):
    app = build_flask()
    instrument_app(app, make_inst(slo_series=False))
    client = Client(app)
    for rid in range(4):
        assert client.get(f"/reservations/{rid}").status_code == 200
    assert client.post("/messages").status_code == 202
    assert client.get("/no/such").status_code == 404
    assert client.get("/missing").status_code == 404
    assert client.delete("/reservations/3").status_code == 405
    assert client.get("/unavailable").status_code == 503
    assert client.get("/boom").status_code == 500

    assert value("orchestrator_requests_total", endpoint="/reservations/<int:rid>",
                 method="GET") == 4
    assert value("http_requests_total", endpoint="/messages", method="POST", status="202") == 1
    assert value("http_requests_total", endpoint="other", method="GET", status="404") == 1
    assert value("http_requests_total", endpoint="/missing", method="GET", status="404") == 1
    assert value("http_requests_total", endpoint="/reservations/<int:rid>", method="DELETE",
                 status="405") == 1
    assert value("orchestrator_errors_total", endpoint="/unavailable", error_type="http_503") == 1
    # Flask turned the exception into a 500 before the middleware saw it.
    assert value("orchestrator_errors_total", endpoint="/boom", error_type="http_500") == 1
    assert total("orchestrator_errors_total") == 2
    assert value("http_request_duration_seconds_count", endpoint="/reservations/<int:rid>",
                 method="GET") == 4
    assert value("http_requests_in_flight") == 0


def test_flask_exception_propagates_unchanged(make_inst, value):
    app = build_flask()
    app.config["PROPAGATE_EXCEPTIONS"] = True
    instrument_app(app, make_inst(slo_series=False))
    with pytest.raises(Boom, match="unexpected"):
        Client(app).get("/boom")
    assert value("orchestrator_errors_total", endpoint="/boom",
                 error_type="unhandled_exception") == 1
    assert value("http_requests_in_flight") == 0


def test_flask_streaming_timed_to_end(make_inst, value):
    app = build_flask()
    instrument_app(app, make_inst(slo_series=False))
    assert Client(app).get("/stream").data == b"xxx"
    assert value("http_request_duration_seconds_sum", endpoint="/stream", method="GET") >= 0.09
    assert value("http_request_duration_seconds_count", endpoint="/stream", method="GET") == 1


def test_plain_wsgi_app_error_during_iteration(make_inst, value):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        raise ConnectionResetError("upstream went away")

    mw = WSGIMiddleware(app, make_inst(slo_series=False),
                        route_resolver=TemplateMatcher(["/feed"]))
    body = mw({"REQUEST_METHOD": "GET", "PATH_INFO": "/feed"}, lambda *a: None)
    with pytest.raises(ConnectionResetError):
        list(body)
    body.close()
    assert value("orchestrator_errors_total", endpoint="/feed", error_type="connection_error") == 1
    assert value("http_requests_total", endpoint="/feed", method="GET", status="200") == 1
    assert value("http_requests_in_flight") == 0
