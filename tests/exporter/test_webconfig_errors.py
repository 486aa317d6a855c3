"""A malformed web config: one clear line naming file and field, exit status 1, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from exporter.cli import main

GOOD_HASH = "$2b$04$6It9l.8pXdRqsFfcRDppIO0DdQu7xoSCnFGF7MRkSWbRez98G2mk2"


@pytest.mark.parametrize(("text", "field", "words"), [
    ("basic_auth_users:\n  alice: [oops\n", "line 3, column 1", "not valid YAML"),
    ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice", "bcrypt"),
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: k.pem\n",
     "tls_server_config.cert_file", "file not found"),
    ("tls_server_config:\n  key_file: k.pem\n", "tls_server_config.cert_file", "required"),
    (f"basic_auth_user:\n  alice: {GOOD_HASH}\n", "basic_auth_user", "unknown field"),
    ("- just\n- a list\n", "", "must be a mapping of tls_server_config, http_server_config, "
     "basic_auth_users, got a list"),
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


def _serve(tmp_path, text: str, files: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    config = tmp_path / "web.yml"
    config.write_text(text)
    for name in files:
        (tmp_path / name).write_text("x")
    # an address serve refuses, so a config wrongly accepted fails here instead of serving
    result = CliRunner().invoke(main, ["serve", "--web-config", str(config),
                                       "--listen", "nowhere"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    return str(config), result.stderr.strip().splitlines()


def test_duplicate_key_names_file_and_line(tmp_path):
    """The spec loader's strict YAML: a user given twice is refused, not silently the last."""
    config, lines = _serve(tmp_path, f"basic_auth_users:\n  alice: {GOOD_HASH}\n"
                                     f"  bob: {GOOD_HASH}\n  alice: {GOOD_HASH}\n")
    assert lines == [f"slo-exporter: {config}: not valid YAML: line 4, column 3: "
                     "duplicate key 'alice'"]


def test_duplicate_section_names_file_and_line(tmp_path):
    config, lines = _serve(tmp_path, "tls_server_config:\n  cert_file: c.pem\n"
                                     "tls_server_config:\n  key_file: k.pem\n")
    assert lines == [f"slo-exporter: {config}: not valid YAML: line 3, column 1: "
                     "duplicate key 'tls_server_config'"]


def test_unknown_keys_are_named_with_their_path(tmp_path):
    config, lines = _serve(tmp_path, "tls_server_config:\n  cert_file: c.pem\n"
                                     "  key_file: k.pem\n  cert_fil: c.pem\n"
                                     "http_server_config:\n  header: {X-Frame-Options: deny}\n",
                           ("c.pem", "k.pem"))
    assert lines == [
        f"slo-exporter: {config}: tls_server_config.cert_fil: unknown field (allowed here: "
        "cert_file, client_auth_type, client_ca_file, key_file, max_version, min_version)",
        f"slo-exporter: {config}: http_server_config.header: unknown field (allowed here: "
        "headers)",
    ]


def test_toolkit_fields_slo_exporter_lacks_are_named_as_such(tmp_path):
    config, lines = _serve(tmp_path, "tls_server_config:\n  cert_file: c.pem\n"
                                     "  key_file: k.pem\n"
                                     "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
                                     "rate_limit: {interval: 1s, burst: 10}\n",
                           ("c.pem", "k.pem"))
    assert lines == [
        f"slo-exporter: {config}: rate_limit: an exporter-toolkit field slo-exporter does not "
        "support (supported here: basic_auth_users, http_server_config, tls_server_config)",
        f"slo-exporter: {config}: tls_server_config.cipher_suites: an exporter-toolkit field "
        "slo-exporter does not support (supported here: cert_file, client_auth_type, "
        "client_ca_file, key_file, max_version, min_version)",
    ]


def test_every_problem_is_its_own_line(tmp_path):
    config, lines = _serve(tmp_path, "tls_server_config:\n  key_file: 5\n"
                                     "  min_version: TLS9\n"
                                     "basic_auth_users:\n  alice: plaintext\n"
                                     "http_server_config:\n  headers: [X-Frame-Options]\n")
    assert lines == [
        f"slo-exporter: {config}: tls_server_config.cert_file: is required",
        f"slo-exporter: {config}: tls_server_config.key_file: must be a string, got a number",
        f"slo-exporter: {config}: tls_server_config.min_version: unknown TLS version 'TLS9' "
        "(one of TLS10, TLS11, TLS12, TLS13)",
        f"slo-exporter: {config}: basic_auth_users.alice: expected a bcrypt hash ($2a$, $2b$ "
        "or $2y$), e.g. from: htpasswd -nBC 10 '' | tr -d ':\\n'",
        f"slo-exporter: {config}: http_server_config.headers: must be a mapping of header name "
        "to value, got a list",
    ]


def test_more_than_one_document_is_refused(tmp_path):
    config, lines = _serve(tmp_path, f"basic_auth_users:\n  alice: {GOOD_HASH}\n---\n"
                                     "basic_auth_users: {}\n")
    assert lines == [f"slo-exporter: {config}: must be one YAML document, got 2"]


def test_empty_sections_are_absent(tmp_path):
    from exporter.webconfig import WebConfig, load_web_config

    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\nbasic_auth_users:\nhttp_server_config:\n")
    assert load_web_config(config) == WebConfig()
    config.write_text("")
    assert load_web_config(config) == WebConfig()
