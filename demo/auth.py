"""Bearer-token protection for the demo's admin endpoints.

The admin endpoints reconfigure the circuit breaker and inject faults: anyone who can reach
them can take the demo down, so they need a secret even on 127.0.0.1. The token comes from
``DEMO_ADMIN_TOKEN`` or a file (the stack writes ``var/demo/admin-token``, mode 0600, and
``make chaos-orchestrator`` reads it back).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_ENV = "DEMO_ADMIN_TOKEN"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def write_token(path: Path, token: str) -> None:
    """Write the token readable by its owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


def read_token(path: Path | None) -> str | None:
    """The token from ``DEMO_ADMIN_TOKEN``, else from ``path`` if it exists."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env
    if path is not None and path.is_file():
        return path.read_text().strip() or None
    return None


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` in constant time."""

    def __init__(self, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the admin token must be at least 16 characters")
        self._expected = f"Bearer {token}".encode()

    def check(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self._expected)
