"""The demo's endpoints under abuse (issue 14, items 7-9): bad input is the client's (4xx),
never an SLO error, and never read past the body limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.app import MAX_BODY, DemoSettings, create_app
from demo.breaker import BreakerConfig
from demo.server import main

TOKEN = "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def demo() -> Any:
    return create_app(DemoSettings(TOKEN, BreakerConfig(recovery_timeout=60), seed=1))


def call(demo: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=demo.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            return await client.request(method, path, **kwargs)
    return asyncio.run(go())


def errors(demo: Any) -> float:
    """Every orchestrator_errors_total sample added up (the SLO's bad events)."""
    total = 0.0
    for metric in demo.inst.registry.collect():
        for s in metric.samples:
            if s.name == "orchestrator_errors_total":
                total += s.value
    return total


@pytest.mark.parametrize(("path", "headers"), [
    ("/webhooks/whatsapp", {}),
    ("/reservations", {}),
    ("/admin/faults", AUTH),
    ("/admin/circuit-breaker/config", AUTH),
])
def test_deeply_nested_json_is_a_422_not_an_slo_error(demo: Any, path: str,
                                                      headers: dict[str, str]) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    r = call(demo, "POST", path, content=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["problems"] == [{"field": "body", "message": "JSON nested too deeply"}]
    assert errors(demo) == 0


def test_a_chunked_body_is_read_up_to_the_limit_only(demo: Any) -> None:
    """No Content-Length to refuse it by: the app stops reading at MAX_BODY, so the rest of a
    32 MiB body is never pulled from the client (a 300 MB one took the process to 620 MB)."""
    sent = 0
    chunk = b" " * 65536

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 32 * 1024 * 1024:
            sent += len(chunk)
            yield chunk

    r = call(demo, "POST", "/webhooks/whatsapp", content=body())
    assert r.status_code == 413
    assert r.json()["problems"] == [{"field": "body", "message": f"larger than {MAX_BODY} bytes"}]
    assert sent <= MAX_BODY + 2 * len(chunk)
    assert errors(demo) == 0


def test_a_declared_oversized_body_is_refused_unread(demo: Any) -> None:
    r = call(demo, "POST", "/reservations", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413 and errors(demo) == 0


def test_a_bad_web_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users:\n  alice: plaintext\n")
    token = tmp_path / "token"
    token.write_text(TOKEN)
    assert main(["--web-config", str(config), "--admin-token-file", str(token),
                 "--metrics-port", "0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"demo: {config}: basic_auth_users.alice: expected a bcrypt hash ($2a$, $2b$ or $2y$), "
        "e.g. from: htpasswd -nBC 10 '' | tr -d ':\\n'"]
