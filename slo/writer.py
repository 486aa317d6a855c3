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
import yaml

import slo
from slo.errors import UserError


@dataclass(frozen=True)
class Rendered:
    name: str  # file name inside the output directory
    text: str


# LibYAML's emitter (bundled with PyYAML's wheels) is about eight times faster than the pure
# Python one and gives the same bytes for everything but characters outside the Basic
# Multilingual Plane, which it escapes; either way one installation always renders one spec to
# the same bytes.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Block style for multi-line strings, no line folding, keys in insertion order."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100_000, allow_unicode=True,
                     default_flow_style=False)


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
