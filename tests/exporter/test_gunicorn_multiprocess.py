"""A real gunicorn with 2 workers serves the summed counters of both on one /metrics."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

HERE = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def gunicorn(tmp_path):
    if not GUNICORN.exists():
        pytest.fail("gunicorn is not installed in the venv")
    port = _free_port()
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("from exporter.multiprocess import child_exit  # noqa: F401\n")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    proc = subprocess.Popen(
        [str(GUNICORN), "-c", str(conf), "-w", "2", "-b", f"127.0.0.1:{port}",
         "--chdir", str(HERE), "--graceful-timeout", "2", "gunicorn_app:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode())
            try:
                return httpx.get(f"{url}/metrics", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait(up)
        yield url, multiproc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _metric(text: str, line_start: str) -> float:
    match = re.search(rf"^{re.escape(line_start)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.mark.slow
def test_two_workers_one_summed_metrics(gunicorn):
    url, multiproc = gunicorn

    def hit(i: int) -> str:
        with httpx.Client(timeout=10) as client:  # a fresh connection per request
            return client.get(f"{url}/work/{i}").text

    pids: set[str] = set()
    sent = 0
    with ThreadPoolExecutor(max_workers=6) as pool:
        while len(pids) < 2 or sent < 60:
            assert sent < 600, "gunicorn never used its second worker"
            pids.update(pool.map(hit, range(sent, sent + 30)))
            sent += 30
    assert len(pids) == 2
    counter_files = {p.name for p in multiproc.glob("counter_*.db")}
    assert {f"counter_{pid}.db" for pid in pids} <= counter_files

    line = 'orchestrator_requests_total{endpoint="/work/{n}",method="GET"}'
    for _ in range(4):  # whichever worker answers, the sum is the same
        text = httpx.get(f"{url}/metrics", timeout=10).text
        assert _metric(text, line) == sent
        assert _metric(text, 'http_requests_total{endpoint="/work/{n}",method="GET",'
                             'status="200"}') == sent
        assert _metric(text, "http_requests_in_flight") == 0
        assert "orchestrator_slo_" not in text  # off in multiprocess mode

    # name[]: from prometheus-client 0.25 on, the registry can ask collectors that describe no
    # families (MultiProcessCollector) too; before, the filter cannot find their families.
    r = httpx.get(f"{url}/metrics", params={"name[]": "orchestrator_requests_total"},
                  headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    if Version(version("prometheus-client")) >= Version("0.25"):
        assert _metric(r.text, line) == sent and "http_requests_total" not in r.text
    else:
        assert r.text == ""

    # A worker dies: gunicorn's child_exit hook drops its live gauges, its counts stay.
    victim = sorted(pids)[0]
    assert (multiproc / f"gauge_livesum_{victim}.db").exists()
    os.kill(int(victim), signal.SIGKILL)
    _wait(lambda: not (multiproc / f"gauge_livesum_{victim}.db").exists())
    text = _wait(lambda: (t := httpx.get(f"{url}/metrics", timeout=10).text) and t)
    assert _metric(text, line) == sent
