"""Rendered files: one YAML document each, deterministic bytes, written atomically.

Everything is rendered in memory first; files are then written to temporary names beside their
targets and renamed into place, so a failed run leaves either the old files or the new ones,
never half of one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from slo.errors import UserError


@dataclass(frozen=True)
class Rendered:
    name: str  # file name inside the output directory
    text: str
    # For a rule file: its groups as a plain Prometheus rule file, which promtool checks
    # whatever the wrapper (PrometheusRule, Mimir namespace, Thanos). None: not a rule file.
    check_text: str | None = None


def write_atomically(directory: Path, files: list[Rendered]) -> list[Path]:
    """Write every file or none: temporaries first, then renames."""
    try:
        return _write(directory, files)
    except OSError as exc:
        raise UserError(f"{exc.filename or directory}: cannot write: {exc.strerror or exc}"
                        ) from None


def _write(directory: Path, files: list[Rendered]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for f in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(f.text)
            staged.append((tmp, directory / f.name))
        written = []
        for tmp, target in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            written.append(target)
        return written
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
