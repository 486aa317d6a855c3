"""web-config mistakes an operator can make (issue 14, item 5): each is one line naming the
field, exit status 1, at start-up, never a hang, a traceback or a server failing per request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "1",
         "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


def serve(config: Path) -> list[str]:
    """``slo-exporter serve`` with ``config``; its stderr lines (it must refuse to start)."""
    result = CliRunner().invoke(main, ["serve", "--web-config", str(config),
                                       "--listen", "nowhere"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    return result.stderr.strip().splitlines()


@pytest.mark.parametrize(("headers", "field", "problem"), [
    ("Connection: close", "Connection", "this header cannot be set here (exporter-toolkit "
     "allows Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
     "X-XSS-Protection, Content-Security-Policy)"),
    ("Transfer-Encoding: chunked", "Transfer-Encoding", "this header cannot be set here"),
    ("Content-Length: '5'", "Content-Length", "this header cannot be set here"),
    ("X-Frame-Options: allowall", "X-Frame-Options", "must be one of deny, sameorigin, got "
     "'allowall'"),
    ('Content-Security-Policy: "default-src \'self\'\\r\\nSet-Cookie: a=b"',
     "Content-Security-Policy", "a header value must be non-empty printable text on one line "
     "(no CR, LF or other control characters)"),
    ('X-XSS-Protection: ""', "X-XSS-Protection", "a header value must be non-empty"),
])
def test_bad_headers_are_refused_at_start(tmp_path: Path, headers: str, field: str,
                                          problem: str) -> None:
    config = tmp_path / "web.yml"
    config.write_text(f"http_server_config:\n  headers:\n    {headers}\n")
    lines = serve(config)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"slo-exporter: {config}: http_server_config.headers.{field}: "
                               f"{problem}")


def test_min_version_above_max_version(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    config = tmp_path / "web.yml"
    config.write_text(f"tls_server_config:\n  cert_file: {cert[0]}\n  key_file: {cert[1]}\n"
                      "  min_version: TLS13\n  max_version: TLS12\n")
    assert serve(config) == [f"slo-exporter: {config}: tls_server_config.max_version: TLS12 "
                             "is below min_version TLS13: no handshake could succeed"]


def test_a_bad_client_ca_file_is_named_as_such(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    config = tmp_path / "web.yml"
    config.write_text(f"tls_server_config:\n  cert_file: {cert[0]}\n  key_file: {cert[1]}\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n")
    lines = serve(config)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"slo-exporter: {config}: tls_server_config.client_ca_file: "
                               "cannot load CA certificates: ")


def _serve_subprocess(config: str) -> subprocess.CompletedProcess[str]:
    """In a subprocess with a timeout: a FIFO that hangs the reader fails the test, not the
    test run."""
    code = "from exporter.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-c", code, "serve", "--web-config", config,
                           "--listen", "nowhere"], capture_output=True, text=True, timeout=30,
                          env=env)


def test_a_fifo_or_a_device_as_the_web_config(tmp_path: Path) -> None:
    fifo = tmp_path / "web.yml"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        proc = _serve_subprocess(path)
        assert proc.returncode == 1
        assert proc.stderr.splitlines() == [
            f"slo-exporter: {path}: cannot read web config: not a regular file"]


def test_a_fifo_as_a_certificate(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    os.mkfifo(tmp_path / "cert.pem")
    config = tmp_path / "web.yml"
    config.write_text(f"tls_server_config:\n  cert_file: cert.pem\n  key_file: {cert[1]}\n")
    proc = _serve_subprocess(str(config))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"slo-exporter: {config}: tls_server_config.cert_file: not a regular file: "
        f"{tmp_path / 'cert.pem'}"]


def test_an_oversized_web_config(tmp_path: Path) -> None:
    config = tmp_path / "web.yml"
    with config.open("wb") as f:
        f.truncate(2 * 1024 * 1024)  # sparse: 2 MiB of nothing
    assert serve(config) == [f"slo-exporter: {config}: cannot read web config: 2097152 bytes, "
                             "more than the 1048576 allowed"]
