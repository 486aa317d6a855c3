"""What every benchmark shares: result tables, medians, temp dirs, ports and child processes.

Each benchmark returns :class:`Section` objects (plain data) so ``python -m bench`` can print them
and write them to BENCHMARKS.md alike; none of them asserts a time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Table:
    """A markdown table: a header row and rows of already formatted cells."""

    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        widths = [max(len(str(h)), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.header)]
        line = "| " + " | ".join(h.ljust(w) for h, w in zip(self.header, widths, strict=True))
        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
                for r in self.rows]
        return "\n".join([line + " |", sep, *body])


@dataclass
class Section:
    """One benchmark's result: a title, how it was measured, tables and a verdict on targets."""

    title: str
    method: str
    tables: list[tuple[str, Table]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: (target, met, measured) for the summary at the top of BENCHMARKS.md
    targets: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0

    def target(self, what: str, met: bool | None, measured: str) -> None:
        """``met`` None: the run cannot tell (its noise exceeded what it measures)."""
        self.targets.append((what, met, measured))

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", self.method.strip(), ""]
        for caption, table in self.tables:
            if caption:
                parts += [caption, ""]
            parts += [table.markdown(), ""]
        if self.targets:
            parts += ["Targets:", ""]
            parts += [f"- {what}: **{verdict(ok)}** ({measured})" for what, ok, measured
                      in self.targets]
            parts.append("")
        for note in self.notes:
            parts += [note.strip(), ""]
        parts.append(f"_Benchmark wall time: {self.seconds:.0f} s._")
        return "\n".join(parts) + "\n"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def verdict(ok: bool | None) -> str:
    return "INCONCLUSIVE" if ok is None else "met" if ok else "MISSED"


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A scratch directory outside the repository, removed even when the benchmark fails."""
    path = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def child(args: Sequence[str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """Start a process in its own session and always stop it (TERM, then KILL) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


def run(args: Sequence[str], timeout: float = 600, **kwargs: object) -> subprocess.CompletedProcess:
    """Run a command to completion, capturing text output (raises on a non-zero exit)."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          check=True, **kwargs)  # type: ignore[call-overload]


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
