"""A malformed web config: one clear line naming file and field, exit status 1, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from exporter.cli import main

GOOD_HASH = "$2b$04$6It9l.8pXdRqsFfcRDppIO0DdQu7xoSCnFGF7MRkSWbRez98G2mk2"


@pytest.mark.parametrize(("text", "field", "words"), [
    ("basic_auth_users:\n  alice: [oops\n", "line", "invalid YAML"),
    ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice", "bcrypt"),
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: k.pem\n",
     "tls_server_config.cert_file", "file not found"),
    ("tls_server_config:\n  key_file: k.pem\n", "tls_server_config.cert_file", "required"),
    (f"basic_auth_user:\n  alice: {GOOD_HASH}\n", "basic_auth_user", "unknown field"),
    ("- just\n- a list\n", "", "expected a mapping"),
])
def test_bad_web_config_is_one_clear_line(tmp_path, text, field, words):
    config = tmp_path / "web.yml"
    config.write_text(text)
    if "k.pem" in text:
        (tmp_path / "k.pem").write_text("not a key")
    result = CliRunner().invoke(main, ["serve", "--web-config", str(config)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config) in lines[0] and field in lines[0] and words in lines[0]
    assert "Traceback" not in result.output


def test_client_auth_needs_a_ca(tmp_path):
    config = tmp_path / "web.yml"
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("x")
    config.write_text("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n")
    result = CliRunner().invoke(main, ["serve", "--web-config", str(config)])
    assert result.exit_code == 1
    assert "tls_server_config.client_ca_file: required" in result.stderr


def test_unloadable_certificate(tmp_path):
    config = tmp_path / "web.yml"
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("not pem")
    config.write_text("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n")
    result = CliRunner().invoke(main, ["serve", "--web-config", str(config)])
    assert result.exit_code == 1
    assert "tls_server_config.cert_file: cannot load certificate/key" in result.stderr


def test_missing_file_and_bad_listen(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--web-config", str(tmp_path / "none.yml")])
    assert result.exit_code == 1 and "cannot read web config" in result.stderr
    result = CliRunner().invoke(main, ["serve", "--listen", "localhost"])
    assert result.exit_code == 1 and "--listen" in result.stderr
