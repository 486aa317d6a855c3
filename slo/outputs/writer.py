"""Rendered files: one YAML document each, deterministic bytes, written atomically.

Everything is rendered in memory first; files are then written to temporary names beside their
targets and renamed into place, so a failed run leaves either the old files or the new ones,
never half of one. Every temporary is removed on every failure path: a full disk, a write
error, SIGINT, and SIGTERM/SIGHUP (turned into an exception while files are written, so the
cleanup runs before the process ends with the signal's usual status).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from slo.errors import Problem, UserError


@dataclass(frozen=True)
class Rendered:
    name: str  # file name inside the output directory
    text: str
    # For a rule file: its groups as a plain Prometheus rule file, which promtool checks
    # whatever the wrapper (PrometheusRule, Mimir namespace, Thanos). None: not a rule file.
    check_text: str | None = None


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived while files were written (raised in the main thread)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def write_atomically(directory: Path, files: list[Rendered]) -> list[Path]:
    """Write every file or none: temporaries first, then renames."""
    try:
        with _signals_raise():
            return _write(directory, files)
    except OSError as exc:
        where = exc.filename if exc.filename else str(directory)
        reason = exc.strerror or str(exc)
        raise UserError(Problem(str(where), "", f"cannot write: {reason}")) from None
    except Interrupted as exc:  # cleaned up: now end as the signal would have
        signal.signal(exc.signum, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signum)
        raise


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread only;
    SIGINT already raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)
                if signal.getsignal(s) is signal.SIG_DFL}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _write(directory: Path, files: list[Rendered]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    done = False
    try:
        for f in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".tmp", dir=directory)
            staged.append((tmp, directory / f.name))  # before the write: removed if it fails
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(f.text)
        written = []
        for tmp, target in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            written.append(target)
        done = True
        return written
    finally:
        if not done:
            for tmp, _ in staged:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
