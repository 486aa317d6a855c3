"""Which engine binaries the demo stack and the end-to-end tests run, and their versions.

Prometheus: the path given (``--prometheus PATH``), else ``$PROMETHEUS``, else
``PROMETHEUS_3`` from ``.tools/engines.env`` (Prometheus 3.5, unpacked by ``make engines``),
else ``prometheus`` on PATH (Debian bookworm's 2.42, from ``make promtool``). VictoriaMetrics
and vmalert: the path given, else ``$VICTORIA_METRICS`` / ``$VMALERT``, else
``.tools/engines.env``. Alertmanager: the path given (``--alertmanager PATH``), else
``$ALERTMANAGER``, else ``ALERTMANAGER`` from ``.tools/engines.env`` (Debian sid's 0.33), else
``prometheus-alertmanager`` or ``alertmanager`` on PATH. Whatever runs is printed with its
version, so a log says which engine a result came from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from demo.procs import CHECKOUT, StartError

ENGINES_ENV = CHECKOUT / ".tools" / "engines.env"


@dataclass(frozen=True)
class Engine:
    """An engine binary: ``name`` (prometheus, victoria-metrics, vmalert), path, version."""

    name: str
    path: str
    version: str

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.path})"

    @property
    def major(self) -> int:
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else 0


def tools_env(path: Path = ENGINES_ENV) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``.tools/engines.env`` (empty when ``make engines`` never ran)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out


def _executable(given: str, name: str, hint: str) -> str:
    path = shutil.which(given)
    if path is None:
        raise StartError(f"{given!r}: no such executable {name} ({hint})")
    return str(Path(path).resolve())


@cache
def _prometheus_version(path: str) -> str:
    """``3.5.3+ds1`` from ``prometheus, version 3.5.3+ds1 (branch: ...)``."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                              check=False)
    except OSError as exc:
        raise StartError(f"{path}: cannot run prometheus: {exc.strerror or exc}") from None
    first = (proc.stdout + proc.stderr).split("\n", 1)[0]
    _, sep, rest = first.partition("version ")
    return rest.split(" ", 1)[0] if sep else "unknown version"


def prometheus(explicit: str | None = None) -> Engine:
    """The Prometheus server to run (see the module docstring for the order)."""
    env = tools_env()
    given = explicit or os.environ.get("PROMETHEUS")
    if not given:
        bundled = env.get("PROMETHEUS_3")
        given = bundled if bundled and os.access(bundled, os.X_OK) else "prometheus"
    path = _executable(given, "prometheus", "run `make engines` for Prometheus 3.5 or `make "
                       "promtool` for Debian's 2.42, or give --prometheus PATH")
    return Engine("prometheus", path, _prometheus_version(path))


def alertmanager(explicit: str | None = None) -> Engine:
    """The Alertmanager server to run (see the module docstring for the order)."""
    env = tools_env()
    given = explicit or os.environ.get("ALERTMANAGER")
    if not given:
        bundled = env.get("ALERTMANAGER")
        if bundled and os.access(bundled, os.X_OK):
            given = bundled
        else:
            given = shutil.which("prometheus-alertmanager") or "alertmanager"
    path = _executable(given, "alertmanager", "run `make engines` for Alertmanager 0.33, or "
                       "give --alertmanager PATH or ALERTMANAGER=PATH")
    # ``alertmanager, version 0.33.1 (branch: ...)``: the same first line as Prometheus'
    return Engine("alertmanager", path, _prometheus_version(path))


def _victoria(name: str, env_key: str, explicit: str | None) -> Engine:
    env = tools_env()
    given = explicit or os.environ.get(env_key) or env.get(env_key)
    if not given:
        raise StartError(f"{name} not found: run `make engines` (Debian's victoria-metrics "
                         f"package, unpacked into .tools/) or set {env_key}")
    path = _executable(given, name, f"run `make engines` or set {env_key}")
    # Debian's build prints an empty line for -version: the package's version is recorded.
    version = "unknown version"
    if env.get(env_key) and Path(env[env_key]).resolve() == Path(path):
        version = env.get("VICTORIA_METRICS_VERSION", version)
    else:
        folder = Path(path).parts[-4] if len(Path(path).parts) >= 4 else ""
        if folder.startswith("victoria-metrics-"):
            version = folder.removeprefix("victoria-metrics-")
    return Engine(name, path, version)


def victoria_metrics(explicit: str | None = None) -> Engine:
    """The single-node ``victoria-metrics`` server."""
    return _victoria("victoria-metrics", "VICTORIA_METRICS", explicit)


def vmalert(explicit: str | None = None) -> Engine:
    return _victoria("vmalert", "VMALERT", explicit)
