"""Outbound-call instrumentation: context manager and decorator, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from slo.readers.load import load_texts


class PMSUnavailable(Exception):
    pass


def test_sync_and_async_calls(make_inst, value):
    inst = make_inst(slo_series=False, error_types={PMSUnavailable: "pms_unavailable"})

    with inst.dependency("pms", "get_reservation"):
        pass
    with pytest.raises(PMSUnavailable), inst.dependency("pms", "get_reservation"):
        raise PMSUnavailable("503 from PMS")

    @inst.dependency("whatsapp", "send_message")
    async def send(fail: bool) -> str:
        if fail:
            raise TimeoutError
        return "sent"

    @inst.dependency("db", "query")
    def query() -> int:
        raise ConnectionRefusedError

    async def calls() -> None:
        assert await send(False) == "sent"
        with pytest.raises(TimeoutError):
            await send(True)
        async with inst.dependency("gmail", "fetch") as call:
            call.fail("quota_exceeded")  # failed without raising

    asyncio.run(calls())
    with pytest.raises(ConnectionRefusedError):
        query()

    assert value("pms_adapter_requests_total", operation="get_reservation") == 2
    assert value("pms_adapter_errors_total", operation="get_reservation",
                 error_type="pms_unavailable") == 1
    assert value("whatsapp_requests_total", operation="send_message") == 2
    assert value("whatsapp_errors_total", operation="send_message", error_type="timeout") == 1
    assert value("gmail_errors_total", operation="fetch", error_type="quota_exceeded") == 1
    assert value("database_errors_total", operation="query", error_type="connection_refused") == 1
    assert send.__name__ == "send"
    with pytest.raises(ValueError, match="unknown dependency"):
        inst.dependency("redis", "get")


def test_declared_operations_start_at_zero(make_inst, series):
    inst = make_inst(slo_series=False)
    inst.declare_operations("audio", ["transcribe"], ["timeout"])
    assert series("audio_processor_requests_total") == [{"operation": "transcribe"}]
    assert series("audio_processor_errors_total") == [
        {"operation": "transcribe", "error_type": "timeout"}]


def test_circuit_breaker_and_db_connections(make_inst, value):
    inst = make_inst(slo_series=False)
    assert value("pms_circuit_breaker_state") == 0
    inst.set_circuit_breaker_state("open")
    assert value("pms_circuit_breaker_state") == 1

    class State:  # what pybreaker hands its listeners
        name = "half-open"

    inst.circuit_breaker_listener().state_change(None, None, State())
    assert value("pms_circuit_breaker_state") == 2
    inst.set_circuit_breaker_state(0)
    assert value("pms_circuit_breaker_state") == 0
    with pytest.raises(ValueError):
        inst.set_circuit_breaker_state("broken")

    with inst.db_connection(), inst.db_connection():
        assert value("database_connections_active") == 2
    assert value("database_connections_active") == 0
    inst.set_db_connections(7)
    assert value("database_connections_active") == 7


def test_slo_on_dependency_series(make_inst):
    spec = load_texts([("pms.yaml", """
apiVersion: slo-gen/v1
service: orchestrator
slos:
  - name: pms-calls
    objective: 99
    period: 7d
    sli:
      events:
        errors: pms_adapter_errors_total{error_type!="client"}
        total: pms_adapter_requests_total
    alerting: {runbook_url: "https://runbooks/pms"}
""")])
    inst = make_inst(specs=spec, clock=lambda: 50.0)
    for error_type in (None, None, "timeout", "client"):
        with inst.dependency("pms", "get") as call:
            if error_type:
                call.fail(error_type)
    assert inst.slos.trackers[0].windows.sums()[300] == (4, 1)
