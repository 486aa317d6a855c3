"""Prometheus exporter-toolkit style ``web-config.yml``: TLS and basic auth for /metrics.

Supported fields (the toolkit's names and meaning)::

    tls_server_config:
      cert_file: server.crt        # relative paths are relative to the config file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
      client_ca_file: ca.crt
      min_version: TLS12           # TLS10 .. TLS13
      max_version: TLS13
    http_server_config:
      headers: {X-Frame-Options: deny}
    basic_auth_users:
      prometheus: $2y$10$...       # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Every problem is reported as ``file: field: what is wrong`` (a :class:`slo.errors.UserError`),
so ``slo-exporter serve`` prints one line per problem and exits 1 without a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from slo.errors import Problem, UserError

CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
#: Toolkit values Python's ssl module cannot honour (it cannot ask for a certificate without
#: verifying it); refused rather than silently weakened or strengthened.
UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3,
}
_TOP = ("tls_server_config", "http_server_config", "basic_auth_users")
_TLS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
        "max_version")
_HTTP = ("headers",)
_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


class WebConfigError(UserError):
    """The web-config file is malformed; ``problems`` name the file and field."""


@dataclass(frozen=True)
class TLSConfig:
    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str | None = None
    min_version: str | None = None
    max_version: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = TLS_VERSIONS[self.min_version or "TLS12"]
        if self.max_version:
            ctx.maximum_version = TLS_VERSIONS[self.max_version]
        ctx.load_cert_chain(self.cert_file, self.key_file)
        ctx.verify_mode = CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file:
            ctx.load_verify_locations(cafile=self.client_ca_file)
        return ctx


class BasicAuth:
    """Checks ``Authorization: Basic`` headers against bcrypt hashes.

    bcrypt is slow on purpose (tens of ms); Prometheus sends the same credentials every scrape,
    so verified credentials are remembered as a SHA-256 of (user, password, hash) and later
    scrapes cost a hash and a dict lookup. Unknown users still pay one bcrypt check against a
    dummy hash, so timing does not tell which user names exist; both get the same 401.
    """

    def __init__(self, users: Mapping[str, str], cache_size: int = 1024) -> None:
        self._users = {u: h.encode() for u, h in users.items()}
        cost = int(next(iter(self._users.values()))[4:6]) if self._users else 10
        self._dummy = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=cost))
        self._verified: dict[bytes, bool] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def check_header(self, header: str | None) -> bool:
        if not header or header[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and self.check(user, password)

    def check(self, user: str, password: str) -> bool:
        hashed = self._users.get(user)
        if hashed is None:
            bcrypt.checkpw(password.encode(), self._dummy)
            return False
        key = hashlib.sha256(b"\0".join((user.encode(), password.encode(), hashed))).digest()
        if self._verified.get(key):
            return True
        try:
            ok = bcrypt.checkpw(password.encode(), hashed)
        except ValueError:
            ok = False
        if ok:
            with self._lock:
                if len(self._verified) >= self._cache_size:
                    self._verified.clear()
                self._verified[key] = True
        return ok


@dataclass(frozen=True)
class WebConfig:
    tls: TLSConfig | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def auth(self) -> BasicAuth | None:
        return BasicAuth(self.users) if self.users else None


def load_web_config(path: str | Path) -> WebConfig:
    """Read and validate ``path``; raise WebConfigError listing every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WebConfigError(Problem(file, "", f"cannot read web config: {reason}")) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise WebConfigError(Problem(file, where, f"invalid YAML: {reason}")) from None
    return parse_web_config(file, data, Path(path).resolve().parent)


def parse_web_config(file: str, data: Any, base: Path) -> WebConfig:
    problems: list[Problem] = []

    def bad(where: str, message: str) -> None:
        problems.append(Problem(file, where, message))

    if data is None:
        return WebConfig()
    if not isinstance(data, dict):
        raise WebConfigError(Problem(file, "", "expected a mapping of "
                                     f"{', '.join(_TOP)}, got {type(data).__name__}"))
    for key in data:
        if key not in _TOP:
            bad(str(key), f"unknown field (supported: {', '.join(_TOP)})")
    tls = _parse_tls(data.get("tls_server_config"), base, bad)
    users = _parse_users(data.get("basic_auth_users"), bad)
    headers = _parse_headers(data.get("http_server_config"), bad)
    if problems:
        raise WebConfigError(problems)
    config = WebConfig(tls, users, headers)
    if tls is not None:  # load now so a bad key or cert fails at startup, not at first scrape
        try:
            tls.context()
        except (ssl.SSLError, OSError) as exc:
            raise WebConfigError(Problem(file, "tls_server_config.cert_file",
                                         f"cannot load certificate/key: {exc}")) from None
    return config


def _parse_tls(raw: Any, base: Path, bad: Any) -> TLSConfig | None:
    if raw is None:
        return None
    where = "tls_server_config"
    if not isinstance(raw, dict):
        bad(where, "expected a mapping")
        return None
    for key in raw:
        if key not in _TLS:
            bad(f"{where}.{key}", f"unknown or unsupported field (supported: {', '.join(_TLS)})")
    values: dict[str, str | None] = {}
    for key in _TLS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            bad(f"{where}.{key}", f"expected a string, got {type(value).__name__}")
            value = None
        values[key] = value or None
    for key in ("cert_file", "key_file", "client_ca_file"):
        if values[key]:
            full = base / values[key]  # type: ignore[operator]
            if not full.is_file():
                bad(f"{where}.{key}", f"file not found: {full}")
            values[key] = str(full)
    for key in ("cert_file", "key_file"):
        if not values[key]:
            bad(f"{where}.{key}", "required when tls_server_config is set")
    auth = values["client_auth_type"] or "NoClientCert"
    if auth in UNSUPPORTED_CLIENT_AUTH:
        bad(f"{where}.client_auth_type", f"{auth} is not supported; use NoClientCert, "
                                         "VerifyClientCertIfGiven or RequireAndVerifyClientCert")
    elif auth not in CLIENT_AUTH:
        bad(f"{where}.client_auth_type",
            f"unknown value {auth!r} (one of {', '.join(CLIENT_AUTH)})")
    elif auth != "NoClientCert" and not values["client_ca_file"]:
        bad(f"{where}.client_ca_file", f"required when client_auth_type is {auth}")
    for key in ("min_version", "max_version"):
        if values[key] and values[key] not in TLS_VERSIONS:
            bad(f"{where}.{key}", f"unknown TLS version {values[key]!r} "
                                  f"(one of {', '.join(TLS_VERSIONS)})")
    cert_file, key_file = values["cert_file"], values["key_file"]
    if not (cert_file and key_file):
        return None
    return TLSConfig(cert_file, key_file, auth,
                     values["client_ca_file"], values["min_version"], values["max_version"])


def _parse_users(raw: Any, bad: Any) -> dict[str, str]:
    if raw is None:
        return {}
    where = "basic_auth_users"
    if not isinstance(raw, dict):
        bad(where, "expected a mapping of user name to bcrypt hash")
        return {}
    users: dict[str, str] = {}
    for user, hashed in raw.items():
        if not isinstance(user, str) or not user or ":" in user:
            bad(f"{where}.{user}", "user names must be non-empty strings without ':'")
        elif not isinstance(hashed, str) or not _is_bcrypt(hashed):
            bad(f"{where}.{user}", "expected a bcrypt hash ($2a$, $2b$ or $2y$), "
                                   "e.g. from: htpasswd -nBC 10 '' | tr -d ':\\n'")
        else:
            users[user] = hashed
    return users


def _is_bcrypt(hashed: str) -> bool:
    return _BCRYPT.fullmatch(hashed) is not None


def _parse_headers(raw: Any, bad: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        bad("http_server_config", "expected a mapping")
        return {}
    for key in raw:
        if key not in _HTTP:
            bad(f"http_server_config.{key}",
                f"unknown or unsupported field (supported: {', '.join(_HTTP)})")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        bad("http_server_config.headers", "expected a mapping of header name to string value")
        return {}
    return dict(headers)
