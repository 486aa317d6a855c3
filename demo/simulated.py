"""Simulated outbound dependencies, each call instrumented with ``inst.dependency(...)``.

A call sleeps a small base latency plus the injected one, then fails as the fault table says:
an outage fails at once with ``<dep>_unavailable``, an error rate fails that share of calls with
``upstream_error``, and a call slower than the dependency's timeout fails with ``timeout``. The
failures are exceptions carrying an ``error_type``, which is how the exporter names them in
``<dep>_errors_total`` and, when a request fails because of them, ``orchestrator_errors_total``.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from demo.breaker import CircuitBreaker
from demo.faults import FaultTable
from exporter import Instrumentation

#: Per dependency: (base latency seconds, timeout seconds, operations).
PROFILES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "pms": (0.004, 2.0, ("get_reservation", "create_reservation", "check_availability")),
    "whatsapp": (0.002, 2.0, ("send_message",)),
    "gmail": (0.003, 2.0, ("send_email",)),
    "database": (0.001, 1.0, ("save_message", "save_reservation", "ping")),
    "audio_processor": (0.005, 3.0, ("transcribe",)),
}

#: error_type values a request can fail with because of a dependency (pre-created per route).
ROUTE_ERROR_TYPES = ("timeout", "upstream_error", "circuit_open",
                     *(f"{n}_unavailable" for n in ("pms", "whatsapp", "gmail", "db", "audio")))


class DependencyFailure(Exception):
    """A simulated dependency failed; ``error_type`` is the bounded class the metrics use."""

    def __init__(self, dependency: str, error_type: str, message: str) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.error_type = error_type


@dataclass
class SimulatedDependency:
    name: str
    inst: Instrumentation
    faults: FaultTable
    rng: random.Random
    breaker: CircuitBreaker | None = None

    async def call(self, operation: str) -> None:
        """One call: counted in ``<dep>_requests_total``; a failure raises DependencyFailure."""
        async with self.inst.dependency(self.name, operation):
            if self.breaker is None:
                await self._attempt(operation)
                return
            self.breaker.before_call()  # CircuitOpenError: counted as error_type circuit_open
            outcome: bool | None = None
            try:
                await self._attempt(operation)
                outcome = False
            except DependencyFailure:
                outcome = True
                raise
            finally:
                if outcome is None:
                    self.breaker.release()
                else:
                    self.breaker.record(outcome)

    async def _attempt(self, operation: str) -> None:
        base, timeout, _ = PROFILES[self.name]
        fault = self.faults.get(self.name)
        if fault.outage:
            raise DependencyFailure(self.name, f"{_short(self.name)}_unavailable",
                                    f"{self.name} is unavailable (injected outage)")
        try:
            async with asyncio.timeout(timeout):
                await asyncio.sleep(base + fault.latency)
        except TimeoutError:
            raise DependencyFailure(self.name, "timeout",
                                    f"{self.name}.{operation} timed out after {timeout}s") from None
        if fault.error_rate and self.rng.random() < fault.error_rate:
            raise DependencyFailure(self.name, "upstream_error",
                                    f"{self.name}.{operation} failed (injected error)")


def _short(name: str) -> str:
    return {"audio_processor": "audio", "database": "db"}.get(name, name)


class Dependencies:
    """The five simulated dependencies of one app, with their series pre-created at zero."""

    def __init__(self, inst: Instrumentation, faults: FaultTable, breaker: CircuitBreaker,
                 seed: int | None = None) -> None:
        rng = random.Random(seed)
        self.pms = SimulatedDependency("pms", inst, faults, rng, breaker)
        self.whatsapp = SimulatedDependency("whatsapp", inst, faults, rng)
        self.gmail = SimulatedDependency("gmail", inst, faults, rng)
        self.database = SimulatedDependency("database", inst, faults, rng)
        self.audio = SimulatedDependency("audio_processor", inst, faults, rng)
        self.inst = inst
        for name, (_, _, operations) in PROFILES.items():
            kinds = ["timeout", "upstream_error", f"{_short(name)}_unavailable"]
            if name == "pms":
                kinds.append("circuit_open")
            inst.declare_operations(name, operations, kinds)

    async def database_call(self, operation: str) -> None:
        """A database call holding a connection, so ``database_connections_active`` moves."""
        with self.inst.db_connection():
            await self.database.call(operation)
