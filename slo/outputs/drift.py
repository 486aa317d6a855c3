"""``slo-gen render --check``: compare what would be rendered with the files on disk.

CI's question is "did someone change the spec without re-rendering, or edit a generated file
by hand?". Rendering happens in memory exactly as for a write; each file is then compared byte
for byte with its counterpart in the output directory, and a stale or missing one gives a
unified diff (``a/`` on disk, ``b/`` as rendered), the form ``git diff`` and code review read.
Nothing is written either way.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from slo.outputs.writer import Rendered


@dataclass(frozen=True)
class Drift:
    path: Path
    reason: str  # "missing" or "stale"
    diff: str  # unified diff from the file on disk to what would be rendered


def drift(directory: Path, files: list[Rendered]) -> list[Drift]:
    """Every rendered file that differs from ``directory/<name>`` or is absent there."""
    found = []
    for f in files:
        path = directory / f.name
        try:
            on_disk: str | None = path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            on_disk = None
        except OSError as exc:
            on_disk = None
            reason = f"unreadable ({exc.strerror or exc})"
            found.append(Drift(path, reason, _diff(path, "", f.text)))
            continue
        if on_disk == f.text:
            continue
        found.append(Drift(path, "missing" if on_disk is None else "stale",
                           _diff(path, on_disk or "", f.text)))
    return found


def _diff(path: Path, old: str, new: str) -> str:
    a, b = (str(path), str(path)) if path.is_absolute() else (f"a/{path}", f"b/{path}")
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=a, tofile=b)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
