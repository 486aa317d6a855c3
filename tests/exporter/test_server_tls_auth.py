"""The exposition server end to end: real HTTPS requests, basic auth, content negotiation."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import bcrypt
import httpx
import pytest

from exporter import start_server
from exporter.webconfig import BasicAuth

PASSWORD = "s3cret-scrape"


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def tls_server(tmp_path, cert, make_inst):
    inst = make_inst()
    inst.requests.outcome("/reservations/{id}", "GET", 200).record(0.01, 1.0)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    config = tmp_path / "web-config.yml"
    # Relative paths are relative to the config file, as with exporter-toolkit.
    os.symlink(cert[0], tmp_path / "server.crt")
    os.symlink(cert[1], tmp_path / "server.key")
    config.write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        f"basic_auth_users:\n  prometheus: {hashed}\n"
    )
    server = start_server("127.0.0.1:0", inst.exposition_registry(), config)
    try:
        yield server
    finally:
        server.stop()


def test_https_with_basic_auth(tls_server, cert):
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    url = f"https://127.0.0.1:{tls_server.port}"
    with httpx.Client(verify=ctx, timeout=10) as client:
        anonymous = client.get(f"{url}/metrics")
        wrong = client.get(f"{url}/metrics", auth=("prometheus", "guess"))
        unknown = client.get(f"{url}/metrics", auth=("mallory", PASSWORD))
        right = client.get(f"{url}/metrics", auth=("prometheus", PASSWORD))
        again = client.get(f"{url}/metrics", auth=("prometheus", PASSWORD))
        openmetrics = client.get(f"{url}/metrics", auth=("prometheus", PASSWORD),
                                 headers={"Accept": "application/openmetrics-text"})
        health = client.get(f"{url}/healthz", auth=("prometheus", PASSWORD))
    assert anonymous.status_code == wrong.status_code == unknown.status_code == 401
    assert anonymous.content == wrong.content == unknown.content
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert right.status_code == again.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")
    assert ('orchestrator_requests_total{endpoint="/reservations/{id}",method="GET"} 1.0'
            in right.text)
    assert 'orchestrator_slo_objective_ratio{slo="requests-availability"} 0.995' in right.text
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    assert health.status_code == 200 and health.text == "ok\n"


def test_plain_http_to_tls_port_fails(tls_server):
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/metrics", timeout=5)


def test_verified_credentials_are_cached(monkeypatch):
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    auth = BasicAuth({"prom": hashed})
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(1) or real(p, h))
    assert all(auth.check("prom", "pw") for _ in range(5))
    assert len(calls) == 1
    assert not auth.check("prom", "nope") and not auth.check("nobody", "pw")
    assert len(calls) == 3  # unknown users pay a bcrypt check too (no timing oracle)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_plain_http():
    port = _free_port()
    exe = Path(sys.executable).parent / "slo-exporter"
    proc = subprocess.Popen([str(exe), "serve", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200
        assert "orchestrator_slo_objective_ratio" in response.text
        assert "http_requests_in_flight 0.0" in response.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
