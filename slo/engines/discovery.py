"""Which engine binary runs: the one named by flag or environment, else the newest found.

Candidates are every ``promtool`` (or ``vmalert-tool``) on ``PATH`` and those ``make engines``
unpacked into ``.tools/`` of the working directory (a checkout). Versions come
from the binary itself (``promtool --version``) or, for vmalert-tool, which has no version flag,
from the folder Debian's package was unpacked into (``victoria-metrics-1.145.0``).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from slo.errors import UserError

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
HINTS = {
    "promtool": "install Debian's prometheus package (sudo apt-get install prometheus), run "
                "`make engines` in a checkout, or give --promtool PATH",
    "vmalert-tool": "run `make engines` in a checkout (Debian's victoria-metrics package), or "
                    "give --vmalert-tool PATH",
    "amtool": "install Debian's prometheus-alertmanager package, run `make engines` in a "
              "checkout, or give --amtool PATH",
    "prometheus-alertmanager": "install Debian's prometheus-alertmanager package, run `make "
                               "engines` in a checkout, or give --alertmanager PATH",
}
ENV = {"promtool": "PROMTOOL", "vmalert-tool": "VMALERT_TOOL", "amtool": "AMTOOL",
       "prometheus-alertmanager": "ALERTMANAGER"}
VERSION_FLAG = ("promtool", "amtool", "prometheus-alertmanager")  # these print --version


@dataclass(frozen=True, order=True)
class Binary:
    """An engine binary and its version (``(0, 0, 0)`` when it could not be told)."""

    version: tuple[int, int, int]
    path: str
    name: str

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if any(self.version) else "unknown version"

    def describe(self) -> str:
        return f"{self.name} {self.version_text} ({self.path})"


def _tools_dirs() -> list[Path]:
    here = Path.cwd() / ".tools"
    return [here] if here.is_dir() else []


def candidates(name: str) -> list[str]:
    """Every executable ``name`` on PATH and under ``.tools/*/usr/bin``, without repeats."""
    found: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(directory or ".") / name
        if path.is_file() and os.access(path, os.X_OK):
            found.append(str(path.resolve()))
    for tools in _tools_dirs():
        found += sorted(str(p.resolve()) for p in tools.glob(f"*/usr/bin/{name}")
                        if os.access(p, os.X_OK))
    return list(dict.fromkeys(found))


@cache
def inspect(path: str, name: str) -> Binary:
    """The binary at ``path`` with its version; UserError when it cannot run."""
    text = ""
    if name in VERSION_FLAG:
        try:
            proc = subprocess.run([path, "--version"], capture_output=True, text=True,
                                  timeout=30, check=False)
        except OSError as exc:
            raise UserError(f"{path}: cannot run {name}: {exc.strerror or exc}") from None
        text = (proc.stdout + proc.stderr).split("\n", 1)[0]
    else:
        text = " ".join(Path(path).parts[-4:-2])  # .tools/victoria-metrics-1.145.0/usr/bin
    m = _VERSION.search(text)
    version = (int(m[1]), int(m[2]), int(m[3])) if m else (0, 0, 0)
    return Binary(version, path, name)


def find(name: str, explicit: str | None = None) -> Binary:
    """The ``--promtool``/``--vmalert-tool`` path, else ``$PROMTOOL``/``$VMALERT_TOOL``, else
    the newest candidate; UserError with what to install when there is none."""
    given = explicit or os.environ.get(ENV[name])
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UserError(f"{given}: no such executable {name}")
        return inspect(str(path.resolve()), name)
    found = [inspect(p, name) for p in candidates(name)]
    if not found:
        raise UserError(f"{name} not found: {HINTS[name]}")
    return max(found)


def all_versions(name: str) -> list[Binary]:
    """Every candidate, newest first: what the compatibility tests run on."""
    return sorted({inspect(p, name) for p in candidates(name)}, reverse=True)
