"""Child processes for the stack and the end-to-end tests: start, wait until ready, stop.

Every child runs in its own session (process group), so stopping it also stops anything it
started, and a Ctrl-C meant for the parent does not reach it before the parent decides the
order of shutdown. Output goes to a log file whose tail is shown when a child fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

#: The checkout this demo runs from. The demo is not installed (it is not in the wheel), so
#: children started as ``python -m demo...`` find it through PYTHONPATH, whatever their cwd.
CHECKOUT = Path(__file__).resolve().parent.parent


#: ``slo-gen`` of this checkout (its own ``slo`` package first on the path, whatever the
#: virtualenv's installed copy points at), for the stack and the tests to render with.
SLO_GEN = ("-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'slo-gen'; "
           "from slo.cli import main; sys.exit(main())", str(CHECKOUT))


class StartError(RuntimeError):
    """A child exited or never became ready."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the kernel picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Child:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log``.

    The child's PYTHONPATH starts with :data:`CHECKOUT`, so ``python -m demo`` works in it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(CHECKOUT), child_env.get("PYTHONPATH", "")) if p)
    with open(log, "ab") as out:
        popen = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 env=child_env, cwd=cwd)
    return Child(name, popen, log)


def wait_http(child: Child | None, url: str, timeout: float = 30.0,
              ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200) -> None:
    """Poll ``url`` until ``ok``; fail early (with the log tail) if ``child`` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if child is not None and not child.alive():
                raise StartError(f"{child.name} exited with status {child.popen.returncode}"
                                 f" before {url} answered; log {child.log}:\n{child.log_tail()}")
            try:
                r = client.get(url)
                if ok(r):
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
    name = child.name if child is not None else url
    tail = f"; log {child.log}:\n{child.log_tail()}" if child is not None else ""
    raise StartError(f"{name}: {url} not ready after {timeout:g}s ({last}){tail}")


def stop_group(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL it if still there after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    # A dead leader that is our own child stays a zombie (and keeps the group "alive") until
    # reaped: reap it here; other members of the group still count.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(child: Child, timeout: float = 10.0) -> None:
    """Stop ``child`` and its whole group; reap it."""
    stop_group(child.pid, timeout)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.popen.wait(timeout=timeout)
