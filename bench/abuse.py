"""Abuse benchmark of the /metrics server (issue 14): not part of ``make test``.

``python -m bench.abuse [--root DIR] [--quick]`` serves a populated registry from ``DIR``'s
exporter (default: this checkout) in a child process on 127.0.0.1 and measures, from this
process:

- scrape latency (median of 15, with the count that failed) while N slow clients hold
  connections, each sending a header line a second and never finishing;
- the server's threads while those N clients are connected;
- the connect rate: 300 connections opened back to back, each then sending a scrape, the time
  until every answer arrived (or the count that got none within 10 s);
- the server's resident memory while 40 clients each send 100 header lines of 60 KiB and
  never finish the request.

Run it once with ``--root`` at a checkout of the old server (``git worktree add /tmp/before
<commit>``) and once without, for the before/after figures. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVE = """
import sys
from bench.scrape import populated
from exporter.server import make_server
inst = populated(20, slo_series=True)
server = make_server(f"127.0.0.1:{sys.argv[1]}", inst.registry)
print("ready", flush=True)
server.serve_forever()
"""
REQUEST = b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def scrape(port: int, timeout: float = 10.0) -> float | None:
    """Seconds for one whole scrape on a new connection, None if it failed."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
            c.sendall(REQUEST)
            data = b""
            while chunk := c.recv(65536):
                data += chunk
    except OSError:
        return None
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data[:20]:
        return None
    return time.perf_counter() - start


class SlowClients:
    """``n`` connections that send a request line, then a header line a second, for ever."""

    def __init__(self, port: int, n: int, header_bytes: int = 0, lines: int = 0) -> None:
        self.socks: list[socket.socket] = []
        self._stop = threading.Event()
        for _ in range(n):
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=2)
                c.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n")
                self.socks.append(c)
            except OSError:
                continue
        self._big = [f"X-Big-{i}: {'a' * header_bytes}\r\n".encode() for i in range(lines)]
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        i = 0
        dead: set[int] = set()
        while not self._stop.wait(1.0 if not self._big else 0.05):
            for k, c in enumerate(self.socks):
                if k in dead:
                    continue
                try:
                    line = self._big[i] if i < len(self._big) else f"X-Drip: {i}\r\n".encode()
                    c.sendall(line)  # whole lines: a partial one would be a malformed request
                except OSError:
                    dead.add(k)  # closed by the server (or stuck): leave it
            i += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for c in self.socks:
            c.close()


def connect_burst(port: int, n: int = 300) -> tuple[float, int]:
    """(seconds until every answer arrived, connections without an answer in 10 s)."""
    start = time.perf_counter()
    socks = []
    failed = 0
    for _ in range(n):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(REQUEST)
            socks.append(c)
        except OSError:
            failed += 1
    for c in socks:
        try:
            while c.recv(65536):
                pass
        except OSError:
            failed += 1
        finally:
            c.close()
    return time.perf_counter() - start, failed


def run(root: Path, quick: bool) -> list[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{ROOT}"}
    # cwd: ``python -c`` puts the working directory first on sys.path
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [f"server from {root}"]
    try:
        assert server.stdout is not None
        server.stdout.readline()
        for n in ((0, 50) if quick else (0, 200, 1000)):
            slow = SlowClients(port, n)
            time.sleep(1.5)
            times = [scrape(port) for _ in range(5 if quick else 15)]
            threads = _proc_status(server.pid, "Threads")
            slow.close()
            ok = [t for t in times if t is not None]
            med = f"{statistics.median(ok) * 1000:.1f} ms" if ok else "-"
            lines.append(f"{len(slow.socks):5d} slow clients: scrape median {med}, "
                         f"{len(times) - len(ok)}/{len(times)} failed, server threads {threads}")
            time.sleep(0.5)
        seconds, failed = connect_burst(port, 50 if quick else 300)
        lines.append(f"connect burst of {50 if quick else 300}: {seconds:.2f} s, "
                     f"{failed} without an answer")
        rss_before = _proc_status(server.pid, "VmRSS")
        big = SlowClients(port, 10 if quick else 40, header_bytes=60 * 1024, lines=100)
        peak = rss_before
        for _ in range(40):  # 100 lines at up to 20/s, and a little more
            time.sleep(0.25)
            peak = max(peak, _proc_status(server.pid, "VmRSS"))
        big.close()
        lines.append(f"{len(big.socks)} clients x 100 header lines of 60 KiB: RSS "
                     f"{rss_before // 1024} MB -> peak {peak // 1024} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__)
    p.add_argument("--root", type=Path, default=ROOT,
                   help="checkout whose exporter/ is served (default: this one)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for development")
    args = p.parse_args()
    for line in run(args.root.resolve(), args.quick):
        print(line, flush=True)


if __name__ == "__main__":
    main()
