"""A circuit breaker around the PMS: closed, open, half-open, reported as a gauge.

Why the demo has one: the runbook's Scenario A reads ``pms_circuit_breaker_state`` and tells the
on-call to tighten the breaker through ``POST /admin/circuit-breaker/config``. The settings are
the ones that endpoint takes:

- ``failure_threshold``: the share of failed calls (0 < x <= 1) among the last ``window`` calls
  (once at least ``minimum_calls`` were made) that opens the circuit;
- ``recovery_timeout``: seconds the circuit stays open before letting trial calls through;
- ``half_open_max_calls``: trial calls allowed while half-open; that many successes close the
  circuit, any failure opens it again.

Not thread-safe by design: the demo is one asyncio event loop and no method awaits.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitOpenError(Exception):
    """Raised instead of calling the PMS while the circuit is open (or half-open and full)."""

    error_type = "circuit_open"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: float = 0.5
    recovery_timeout: float = 30.0
    half_open_max_calls: int = 3
    window: int = 20
    minimum_calls: int = 5

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class CircuitBreaker:
    """Tracks outcomes and decides whether the next call may go through."""

    def __init__(
        self,
        config: BreakerConfig | None = None,
        on_state: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or BreakerConfig()
        self._on_state = on_state or (lambda state: None)
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=self.config.window)  # True = failure
        self._opened_at = 0.0
        self._trials = 0  # calls let through while half-open
        self._trial_successes = 0
        self.state = CLOSED
        self._on_state(CLOSED)

    def configure(self, config: BreakerConfig) -> None:
        """Apply new settings; the current state and recent outcomes are kept."""
        self.config = config
        self._outcomes = deque(self._outcomes, maxlen=config.window)

    def before_call(self) -> None:
        """Raise CircuitOpenError unless a call may go to the PMS now."""
        if self.state == OPEN:
            if self._clock() - self._opened_at < self.config.recovery_timeout:
                raise CircuitOpenError("PMS circuit breaker is open")
            self._transition(HALF_OPEN)
        if self.state == HALF_OPEN:
            if self._trials >= self.config.half_open_max_calls:
                raise CircuitOpenError("PMS circuit breaker is half-open and its trial calls "
                                       "are in flight")
            self._trials += 1

    def record(self, failed: bool) -> None:
        """The outcome of a call that ``before_call`` let through."""
        if self.state == HALF_OPEN:
            if failed:
                self._open()
                return
            self._trial_successes += 1
            if self._trial_successes >= self.config.half_open_max_calls:
                self._outcomes.clear()
                self._transition(CLOSED)
            return
        if self.state == OPEN:  # a call let through before another one opened the circuit
            return
        self._outcomes.append(failed)
        if len(self._outcomes) >= self.config.minimum_calls:
            ratio = sum(self._outcomes) / len(self._outcomes)
            if ratio >= self.config.failure_threshold:
                self._open()

    def release(self) -> None:
        """A call let through ended without an outcome (cancelled): free its trial slot."""
        if self.state == HALF_OPEN and self._trials > 0:
            self._trials -= 1

    def snapshot(self) -> dict[str, object]:
        return {"state": self.state, "config": self.config.as_dict()}

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._transition(OPEN)

    def _transition(self, state: str) -> None:
        self.state = state
        self._trials = 0
        self._trial_successes = 0
        self._on_state(state)
