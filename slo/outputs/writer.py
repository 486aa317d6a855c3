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
from typing import Any

import jinja2

import slo
from slo.errors import UserError


@dataclass(frozen=True)
class Rendered:
    name: str  # file name inside the output directory
    text: str


def templates_dir() -> Path:
    """Templates ship inside the wheel (``slo/templates``); in a checkout they are top-level."""
    packaged = Path(slo.__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(slo.__file__).parent.parent / "templates"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)


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
