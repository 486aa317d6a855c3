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

The file is read like a spec, by the same strict YAML loader (a key given twice is an error
naming its line) and the same problem collector: every problem is reported as
``file: field: what is wrong`` (a :class:`slo.errors.UserError`), so ``slo-exporter serve``
prints one line per problem and exits 1 without a traceback. exporter-toolkit fields this
server does not implement (inline certificates, cipher suites, ``rate_limit``...) are refused
by name.
"""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from slo.errors import Problem, UserError
from slo.readers.fields import Fields, join, kind
from slo.readers.yamlfile import (
    InputProblem,
    YAMLProblem,
    load_yaml_documents,
    read_text_file,
    regular_file_problem,
)

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
# exporter-toolkit fields (docs/web-configuration.md there) this server does not implement:
# named as such, so a toolkit config is refused with the reason rather than half-applied
_TOOLKIT_TOP = ("rate_limit",)
_TOOLKIT_TLS = ("cert", "key", "client_ca", "client_allowed_sans", "cipher_suites",
                "prefer_server_cipher_suites", "curve_preferences")
_TOOLKIT_HTTP = ("http2",)
#: A web config is a few lines; anything this big is the wrong file.
MAX_WEB_CONFIG_BYTES = 1024 * 1024
#: The response headers exporter-toolkit lets a web config set, with the values it allows
#: (None: any value). Anything else (hop-by-hop headers, Content-Length, Date...) is the
#: server's to set and is refused at start-up.
EXTRA_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
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

    def context(self, with_ca: bool = True) -> ssl.SSLContext:
        """The server's context; ``with_ca=False`` leaves out the client CAs (so start-up can
        tell a bad CA file from a bad certificate)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = TLS_VERSIONS[self.min_version or "TLS12"]
        if self.max_version:
            ctx.maximum_version = TLS_VERSIONS[self.max_version]
        ctx.load_cert_chain(self.cert_file, self.key_file)
        ctx.verify_mode = CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file and with_ca:
            ctx.load_verify_locations(cafile=self.client_ca_file)
        return ctx


class BasicAuth:
    """Checks ``Authorization: Basic`` headers against bcrypt hashes, as exporter-toolkit does.

    bcrypt is slow on purpose (tens of ms at cost 10, four times that per cost step);
    Prometheus sends the same credentials every scrape, so successful checks are remembered as
    a SHA-256 of (user, password, hash) and later scrapes cost a hash and a dict lookup. Only
    successes are cached, so failed guesses cannot fill the cache. Every failure (unknown
    user, wrong or over-long password, malformed header) is the same 401 after one bcrypt
    check: an unknown user is checked against a dummy hash with the highest cost among the
    users, so the time does not tell which user names exist. bcrypt checks run one at a time
    (the toolkit's mutex), so guesses cannot take more than one core.
    """

    #: bcrypt uses the first 72 bytes of a password; bcrypt 5 refuses longer ones
    MAX_PASSWORD = 72

    def __init__(self, users: Mapping[str, str], cache_size: int = 1024) -> None:
        self._users = {u: h.encode() for u, h in users.items()}
        #: the cost the dummy hash is made with (the slowest user's)
        self.cost = max((int(h[4:6]) for h in self._users.values()), default=10)
        self._dummy = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=self.cost))
        self._verified: dict[bytes, bool] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._bcrypt = threading.Lock()

    def check_header(self, header: str | None) -> bool:
        """Whether ``header`` (an ``Authorization`` value) holds valid credentials; anything
        malformed (not Basic, not base64, not UTF-8, no colon) is simply False."""
        if not header or header[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, non-ASCII text, UnicodeDecodeError
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and self.check(user, password)

    def check(self, user: str, password: str) -> bool:
        secret = password.encode("utf-8", "surrogatepass")
        hashed = self._users.get(user)
        key = b""
        if hashed is not None:
            key = hashlib.sha256(b"\0".join((user.encode("utf-8", "surrogatepass"), secret,
                                              hashed))).digest()
            if self._verified.get(key):
                return True
        ok = self._bcrypt_check(secret[:self.MAX_PASSWORD], hashed or self._dummy)
        ok = ok and hashed is not None and len(secret) <= self.MAX_PASSWORD
        if ok:
            with self._lock:
                if len(self._verified) >= self._cache_size:
                    self._verified.clear()
                self._verified[key] = True
        return ok

    def _bcrypt_check(self, secret: bytes, hashed: bytes) -> bool:
        with self._bcrypt:
            try:
                return bcrypt.checkpw(secret, hashed)
            except ValueError:  # a hash bcrypt cannot read (checked at load; never here)
                return False


@dataclass(frozen=True)
class WebConfig:
    tls: TLSConfig | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def auth(self) -> BasicAuth | None:
        return BasicAuth(self.users) if self.users else None


def load_web_config(path: str | Path) -> WebConfig:
    """Read and validate ``path``; raise WebConfigError listing every problem.

    The file is read as strictly as a spec (:mod:`slo.readers.yamlfile`: a key given twice is
    an error with its line, never silently the last one) and its problems are reported the
    same way (:class:`slo.readers.fields.Fields`: file, field path, what is wrong).
    """
    file = str(path)
    try:
        text = read_text_file(path, MAX_WEB_CONFIG_BYTES)
    except InputProblem as exc:
        raise WebConfigError(Problem(file, "", f"cannot read web config: {exc}")) from None
    fields = Fields(file)
    try:
        docs = load_yaml_documents(text)
    except YAMLProblem as exc:
        raise WebConfigError(Problem(file, "", f"not valid YAML: {exc}")) from None
    if len(docs) > 1:
        raise WebConfigError(Problem(file, "", f"must be one YAML document, got {len(docs)}"))
    return parse_web_config(fields, docs[0] if docs else None, Path(path).resolve().parent)


def parse_web_config(fields: Fields, data: Any, base: Path) -> WebConfig:
    """The web config in ``data`` (relative paths from ``base``); WebConfigError listing every
    problem ``fields`` collected."""
    config = _config(fields, data, base)
    if fields.problems:
        raise WebConfigError(fields.problems)
    if config.tls is not None:  # load now so a bad key or cert fails at startup, not at scrape
        try:
            config.tls.context(with_ca=False)
        except (ssl.SSLError, OSError) as exc:
            raise WebConfigError(Problem(fields.file, "tls_server_config.cert_file",
                                         f"cannot load certificate/key: {exc}")) from None
        try:
            config.tls.context()
        except (ssl.SSLError, OSError) as exc:
            raise WebConfigError(Problem(fields.file, "tls_server_config.client_ca_file",
                                         f"cannot load CA certificates: {exc}")) from None
    return config


def _config(fields: Fields, data: Any, base: Path) -> WebConfig:
    if data is None:
        return WebConfig()
    if not isinstance(data, dict):
        fields.fail("", f"must be a mapping of {', '.join(_TOP)}, got {kind(data)}")
        return WebConfig()
    m = _section(fields, data, "", _TOP, _TOOLKIT_TOP)
    tls = _parse_tls(fields, m.get("tls_server_config"), base)
    users = _parse_users(fields, m.get("basic_auth_users"))
    headers = _parse_headers(fields, m.get("http_server_config"))
    return WebConfig(tls, users, headers)


def _section(fields: Fields, value: dict[Any, Any], path: str, supported: tuple[str, ...],
             toolkit_only: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The mapping's keys checked: unknown ones (typos) and exporter-toolkit fields this
    server does not implement are each a problem, never silently ignored."""
    lacks = (f"an exporter-toolkit field slo-exporter does not support (supported here: "
             f"{', '.join(sorted(supported))})")
    return fields.mapping(value, path, required=required,
                          optional=tuple(k for k in supported if k not in required),
                          refused=dict.fromkeys(toolkit_only, lacks)) or {}


def _optional_text(fields: Fields, m: dict[str, Any], key: str, path: str) -> str | None:
    """A string field; absent or empty (``key:`` alone, null) means not set."""
    value = m.get(key)
    if value is None or value == "":
        return None
    return fields.string(value, join(path, key))


def _parse_tls(fields: Fields, raw: Any, base: Path) -> TLSConfig | None:
    if raw is None:
        return None
    where = "tls_server_config"
    if not isinstance(raw, dict):
        fields.fail(where, f"must be a mapping, got {kind(raw)}")
        return None
    m = _section(fields, raw, where, _TLS, _TOOLKIT_TLS, required=("cert_file", "key_file"))
    values = {key: _optional_text(fields, m, key, where) for key in _TLS}
    for key in ("cert_file", "key_file", "client_ca_file"):
        if values[key]:
            full = base / values[key]  # type: ignore[operator]
            problem = regular_file_problem(full)
            if problem:
                fields.fail(join(where, key), f"{problem}: {full}")
            values[key] = str(full)
    auth = values["client_auth_type"] or "NoClientCert"
    if auth in UNSUPPORTED_CLIENT_AUTH:
        fields.fail(join(where, "client_auth_type"), f"{auth} is not supported; use "
                    "NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert")
    elif auth not in CLIENT_AUTH:
        fields.fail(join(where, "client_auth_type"),
                    f"unknown value {auth!r} (one of {', '.join(CLIENT_AUTH)})")
    elif auth != "NoClientCert" and not values["client_ca_file"]:
        fields.fail(join(where, "client_ca_file"), f"required when client_auth_type is {auth}")
    for key in ("min_version", "max_version"):
        if values[key] and values[key] not in TLS_VERSIONS:
            fields.fail(join(where, key), f"unknown TLS version {values[key]!r} "
                        f"(one of {', '.join(TLS_VERSIONS)})")
    low, high = values["min_version"], values["max_version"]
    if low in TLS_VERSIONS and high in TLS_VERSIONS and TLS_VERSIONS[low] > TLS_VERSIONS[high]:
        fields.fail(join(where, "max_version"), f"{high} is below min_version {low}: no "
                    "handshake could succeed")
    cert_file, key_file = values["cert_file"], values["key_file"]
    if not (cert_file and key_file):
        return None
    return TLSConfig(cert_file, key_file, auth,
                     values["client_ca_file"], values["min_version"], values["max_version"])


def _parse_users(fields: Fields, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    where = "basic_auth_users"
    if not isinstance(raw, dict):
        fields.fail(where, f"must be a mapping of user name to bcrypt hash, got {kind(raw)}")
        return {}
    users: dict[str, str] = {}
    for user, hashed in raw.items():
        if not isinstance(user, str) or not user or ":" in user:
            fields.fail(join(where, str(user)), "user names must be non-empty strings without ':'")
        elif not isinstance(hashed, str) or not _is_bcrypt(hashed):
            fields.fail(join(where, user), "expected a bcrypt hash ($2a$, $2b$ or $2y$), "
                        "e.g. from: htpasswd -nBC 10 '' | tr -d ':\\n'")
        else:
            users[user] = hashed
    return users


def _is_bcrypt(hashed: str) -> bool:
    return _BCRYPT.fullmatch(hashed) is not None


def _parse_headers(fields: Fields, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    where = "http_server_config"
    if not isinstance(raw, dict):
        fields.fail(where, f"must be a mapping, got {kind(raw)}")
        return {}
    m = _section(fields, raw, where, _HTTP, _TOOLKIT_HTTP)
    headers = m.get("headers")
    if headers is None:
        return {}
    path = join(where, "headers")
    if not isinstance(headers, dict):
        fields.fail(path, f"must be a mapping of header name to value, got {kind(headers)}")
        return {}
    out: dict[str, str] = {}
    canonical = {k.lower(): k for k in EXTRA_HEADERS}
    for name, value in headers.items():
        known = canonical.get(name.lower()) if isinstance(name, str) else None
        if known is None:
            fields.fail(join(path, str(name)), "this header cannot be set here (exporter-toolkit "
                        f"allows {', '.join(EXTRA_HEADERS)})")
            continue
        text = fields.string(value, join(path, name))
        if text is None:
            continue
        allowed = EXTRA_HEADERS[known]
        if not _HEADER_VALUE.fullmatch(text) or not text.strip():
            fields.fail(join(path, name), "a header value must be non-empty printable text "
                        "on one line (no CR, LF or other control characters)")
        elif allowed is not None and text.lower() not in allowed:
            fields.fail(join(path, name), f"must be one of {', '.join(allowed)}, got {text!r}")
        else:
            out[known] = text
    return out
