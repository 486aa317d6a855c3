"""The demo orchestrator in-process: validation (422), admin auth (401), faults, breaker.

Fast checks of the demo's own behaviour through real ASGI calls (httpx's ASGI transport); the
end-to-end tests in tests/e2e run it as processes scraped by a real Prometheus.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from demo import traffic
from demo.app import DemoSettings, create_app
from demo.breaker import CLOSED, HALF_OPEN, OPEN, BreakerConfig, CircuitBreaker
from demo.faults import Fault, FaultError, parse_fault_flag

TOKEN = "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def call(demo: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=demo.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            return await client.request(method, path, **kwargs)
    return asyncio.run(go())


@pytest.fixture
def demo() -> Any:
    return create_app(DemoSettings(TOKEN, BreakerConfig(recovery_timeout=60), seed=1))


def sample(demo: Any, name: str, **labels: str) -> float:
    return demo.inst.registry.get_sample_value(name, labels) or 0.0


def test_runbook_synthetic_transaction(demo: Any) -> None:
    r = call(demo, "POST", "/webhooks/whatsapp", json={"test": "synthetic_transaction"})
    assert r.status_code == 200 and r.json()["synthetic"] is True
    assert sample(demo, "database_requests_total", operation="ping") == 1


@pytest.mark.parametrize("kind", ["text", "booking_text", "audio", "status_receipt"])
def test_realistic_webhooks_are_processed(demo: Any, kind: str) -> None:
    r = call(demo, "POST", "/webhooks/whatsapp", json=traffic.make(kind, random.Random(1)).body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [{"test": "other"}, {"object": "page"}, [],
                                  traffic.webhook_payload([{"from": "x", "type": "text"}])])
def test_bad_webhook_bodies_get_422(demo: Any, body: Any) -> None:
    r = call(demo, "POST", "/webhooks/whatsapp", json=body)
    assert r.status_code == 422 and r.json()["problems"]
    assert sample(demo, "orchestrator_errors_total", endpoint="/webhooks/whatsapp",
                  error_type="http_422") == 0  # the client's mistake, not an SLO error


def test_non_json_body_gets_422(demo: Any) -> None:
    r = call(demo, "POST", "/reservations", content=b"{not json")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body"


def test_reservation_validation_names_each_field(demo: Any) -> None:
    r = call(demo, "POST", "/reservations", json={
        "guest_name": "", "check_in": "2030-05-03", "check_out": "2030-05-01",
        "room_type": "castle", "extra": 1})
    fields = {p["field"] for p in r.json()["problems"]}
    assert r.status_code == 422
    assert fields == {"guest_name", "check_out", "room_type", "extra"}


@pytest.mark.parametrize("path,method", [("/admin/circuit-breaker/config", "POST"),
                                         ("/admin/faults", "POST"), ("/admin/faults", "GET"),
                                         ("/admin/faults", "DELETE")])
def test_admin_needs_the_bearer_token(demo: Any, path: str, method: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        r = call(demo, method, path, json={"dependency": "pms"}, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_runbook_breaker_config_is_applied(demo: Any) -> None:
    body = {"failure_threshold": 0.3, "recovery_timeout": 60, "half_open_max_calls": 5}
    r = call(demo, "POST", "/admin/circuit-breaker/config", json=body, headers=AUTH)
    assert r.status_code == 200
    assert demo.breaker.config.failure_threshold == 0.3
    assert demo.breaker.config.half_open_max_calls == 5


@pytest.mark.parametrize("body,field", [
    ({"failure_threshold": 0}, "failure_threshold"),
    ({"failure_threshold": 1.5}, "failure_threshold"),
    ({"failure_threshold": True}, "failure_threshold"),
    ({"recovery_timeout": 0}, "recovery_timeout"),
    ({"recovery_timeout": "60"}, "recovery_timeout"),
    ({"half_open_max_calls": 0}, "half_open_max_calls"),
    ({"half_open_max_calls": 2.5}, "half_open_max_calls"),
    ({"threshold": 0.3}, "threshold"),
    ({}, "body"),
])
def test_bad_breaker_config_gets_a_clear_422(demo: Any, body: dict, field: str) -> None:
    before = demo.breaker.config
    r = call(demo, "POST", "/admin/circuit-breaker/config", json=body, headers=AUTH)
    assert r.status_code == 422
    assert field in {p["field"] for p in r.json()["problems"]}
    assert demo.breaker.config == before


def test_pms_outage_opens_the_breaker_and_names_the_errors(demo: Any) -> None:
    r = call(demo, "POST", "/admin/faults", json={"dependency": "pms", "outage": True},
             headers=AUTH)
    assert r.status_code == 200 and r.json()["faults"]["pms"]["outage"] is True
    statuses = [call(demo, "GET", f"/reservations/R{i}").status_code for i in range(10)]
    assert statuses == [500] * 10
    assert demo.breaker.state == OPEN
    assert sample(demo, "pms_circuit_breaker_state") == 1
    unavailable = sample(demo, "orchestrator_errors_total", endpoint="/reservations/{id}",
                         error_type="pms_unavailable")
    rejected = sample(demo, "orchestrator_errors_total", endpoint="/reservations/{id}",
                      error_type="circuit_open")
    assert unavailable >= 5 and unavailable + rejected == 10
    assert sample(demo, "pms_adapter_errors_total", operation="get_reservation",
                  error_type="circuit_open") == rejected
    assert call(demo, "DELETE", "/admin/faults", headers=AUTH).status_code == 200


def test_bad_fault_gets_422(demo: Any) -> None:
    for body in ({"dependency": "nope"}, {"dependency": "pms", "error_rate": 2},
                 {"dependency": "pms", "outage": "yes"}, {"outage": True}):
        r = call(demo, "POST", "/admin/faults", json=body, headers=AUTH)
        assert r.status_code == 422, body


def test_breaker_cycle() -> None:
    now = [0.0]
    states: list[str] = []
    b = CircuitBreaker(BreakerConfig(0.5, 10, 2, window=4, minimum_calls=4),
                       on_state=states.append, clock=lambda: now[0])
    for failed in (False, True, False, True):
        b.before_call()
        b.record(failed)
    assert b.state == OPEN
    with pytest.raises(Exception, match="open"):
        b.before_call()
    now[0] = 10
    b.before_call()
    b.before_call()
    assert b.state == HALF_OPEN
    with pytest.raises(Exception, match="half-open"):
        b.before_call()  # only two trial calls
    b.record(False)
    b.record(False)
    assert b.state == CLOSED
    assert states == [CLOSED, OPEN, HALF_OPEN, CLOSED]


def test_fault_flags() -> None:
    assert parse_fault_flag("pms:outage") == ("pms", Fault(outage=True))
    assert parse_fault_flag("db:error_rate=0.2,latency=0.5") == (
        "database", Fault(error_rate=0.2, latency=0.5))
    for bad in ("pms", "pms:", "pms:down", "x:outage", "pms:error_rate=2", "pms:latency=a"):
        with pytest.raises(FaultError):
            parse_fault_flag(bad)


def test_traffic_refuses_other_hosts() -> None:
    assert traffic.check_loopback("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert traffic.check_loopback("http://localhost:1") == "http://localhost:1"
    for url in ("http://10.0.0.1:8000", "http://example.com", "ftp://127.0.0.1"):
        with pytest.raises(ValueError):
            traffic.check_loopback(url)
