"""Map exceptions and failed statuses to short, bounded ``error_type`` values.

The runbook groups errors ``by (error_type)`` to find the failing part, so the values must be
few and meaningful (``timeout``, ``pms_unavailable``) rather than exception messages.
Precedence: an ``error_type`` string attribute on the exception (lets an application name its
own failures), then the mapping (walked along the exception's MRO; keys may be classes or
dotted names such as ``"httpx.TimeoutException"`` so optional libraries need not be imported),
then the default.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

UNHANDLED = "unhandled_exception"

ErrorKey = type[BaseException] | str

DEFAULT_MAPPING: dict[ErrorKey, str] = {
    TimeoutError: "timeout",  # asyncio.TimeoutError is the same class since 3.11
    "httpx.TimeoutException": "timeout",
    "requests.exceptions.Timeout": "timeout",
    ConnectionRefusedError: "connection_refused",
    ConnectionError: "connection_error",
    "httpx.ConnectError": "connection_error",
    "requests.exceptions.ConnectionError": "connection_error",
    "pybreaker.CircuitBreakerError": "circuit_open",
}


def status_error_type(status: int) -> str:
    """``http_503`` for a failed response; bounded because statuses are three digits."""
    return f"http_{status}"


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class ErrorClassifier:
    """Callable mapping an exception to its ``error_type``; results are cached per class."""

    def __init__(
        self, mapping: Mapping[ErrorKey, str] | None = None, default: str = UNHANDLED
    ) -> None:
        merged: dict[ErrorKey, str] = dict(DEFAULT_MAPPING)
        merged.update(mapping or {})
        self._by_class = {k: v for k, v in merged.items() if isinstance(k, type)}
        self._by_name = {k: v for k, v in merged.items() if isinstance(k, str)}
        self.default = default
        self._cache: dict[type, str] = {}
        self._lock = threading.Lock()

    def __call__(self, exc: BaseException) -> str:
        own = getattr(exc, "error_type", None)
        if isinstance(own, str) and own:
            return own
        cls = type(exc)
        hit = self._cache.get(cls)
        if hit is None:
            hit = self._lookup(cls)
            with self._lock:
                if len(self._cache) < 1024:  # bounded even with dynamically made classes
                    self._cache[cls] = hit
        return hit

    def _lookup(self, cls: type) -> str:
        for base in cls.__mro__:
            if base in self._by_class:
                return self._by_class[base]
            name = self._by_name.get(_dotted(base))
            if name is not None:
                return name
        return self.default
