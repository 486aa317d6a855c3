"""Fixtures for the exporter tests: one fresh CollectorRegistry per test."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from exporter import Instrumentation


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def make_inst(registry: CollectorRegistry) -> Callable[..., Instrumentation]:
    """Build the Instrumentation under test on this test's registry."""

    def make(**kwargs: Any) -> Instrumentation:
        return Instrumentation(registry, **kwargs)

    return make


@pytest.fixture
def value(registry: CollectorRegistry) -> Callable[..., float]:
    """``value("orchestrator_requests_total", endpoint="/x", method="GET")``; 0 when absent."""

    def get(name: str, **labels: str) -> float:
        v = registry.get_sample_value(name, labels)
        return 0.0 if v is None else v

    return get


@pytest.fixture
def series(registry: CollectorRegistry) -> Callable[[str], list[dict[str, str]]]:
    """``series("orchestrator_requests_total")``: label sets of every sample of that name."""

    def get(name: str) -> list[dict[str, str]]:
        return [s.labels for m in registry.collect() for s in m.samples if s.name == name]

    return get


@pytest.fixture
def total(registry: CollectorRegistry) -> Callable[[str], float]:
    """Sum of every sample called ``name``, whatever its labels."""

    def get(name: str) -> float:
        return sum(s.value for m in registry.collect() for s in m.samples if s.name == name)

    return get


@pytest.fixture
def fast_switching():
    """Switch threads far more often than the default 5 ms, so races would show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)
