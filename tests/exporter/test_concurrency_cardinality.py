"""Exact totals under threads and asyncio; bounded series and memory under random traffic."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import string
import threading

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from exporter import PrometheusMiddleware, StarletteRoutes, TemplateMatcher, WSGIMiddleware


def test_threads_give_exact_totals(make_inst, value, fast_switching):
    inst = make_inst()

    def app(environ, start_response):
        failed = environ["PATH_INFO"] == "/fail"
        start_response("500 Internal Server Error" if failed else "200 OK", [])
        return [b"x"]

    mw = WSGIMiddleware(app, inst, route_resolver=TemplateMatcher(["/ok", "/fail"]))
    threads, per_thread = 8, 10_000

    def worker(seed: int) -> None:
        for i in range(per_thread):
            path = "/fail" if (i + seed) % 10 == 0 else "/ok"
            body = mw({"REQUEST_METHOD": "GET", "PATH_INFO": path}, lambda *a: None)
            for _ in body:
                pass
            body.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    n = threads * per_thread
    ok = value("orchestrator_requests_total", endpoint="/ok", method="GET")
    fail = value("orchestrator_requests_total", endpoint="/fail", method="GET")
    assert ok + fail == n and fail == n / 10
    assert value("orchestrator_errors_total", endpoint="/fail", error_type="http_500") == n / 10
    assert value("http_request_duration_seconds_count", endpoint="/ok", method="GET") == ok
    assert value("http_requests_in_flight") == 0
    total, errors = inst.slos.trackers[0].windows.sums()[300]
    assert (total, errors) == (n, n / 10)


def test_asyncio_tasks_give_exact_totals(make_inst, value):
    inst = make_inst()

    async def page(request):
        await asyncio.sleep(0)  # let the other tasks in mid-request
        return PlainTextResponse("ok", status_code=503 if request.path_params["n"] == "0" else 200)

    app = Starlette(routes=[Route("/items/{n}", page)])
    app.add_middleware(PrometheusMiddleware, instrumentation=inst)
    tasks, per_task = 1000, 10

    async def send(message):
        await asyncio.sleep(0)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def one_task(k: int) -> None:
        for i in range(per_task):
            path = f"/items/{(k + i) % 10}"
            scope = {"type": "http", "method": "GET", "path": path, "root_path": "",
                     "query_string": b"", "headers": [], "raw_path": path.encode()}
            await app(scope, receive, send)

    async def main() -> None:
        await asyncio.gather(*(one_task(k) for k in range(tasks)))

    asyncio.run(main())
    n = tasks * per_task
    assert value("orchestrator_requests_total", endpoint="/items/{n}", method="GET") == n
    assert value("http_requests_total", endpoint="/items/{n}", method="GET", status="503") == n / 10
    errors = value("orchestrator_errors_total", endpoint="/items/{n}", error_type="http_503")
    assert errors == n / 10
    assert value("http_requests_in_flight") == 0


def _rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "/-_%", k=size))


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": rng_status(scope), "headers": []})
    await send({"type": "http.response.body", "body": b""})


def rng_status(scope) -> int:
    return 200 + (len(scope["path"]) % 7) * 100 % 400  # a handful of statuses


async def _discard(message):
    return None


def _flood(mw, n: int, rng: random.Random, methods: list[str]) -> None:
    async def run() -> None:
        for _ in range(n):
            if rng.random() < 0.5:
                path = f"/reservations/{rng.randrange(10**9)}"
            else:
                path = "/" + _random_text(rng, rng.randrange(1, 40))
            headers = [(b"x-request-id", _random_text(rng, 16).encode()),
                       (b"user-agent", _random_text(rng, 30).encode())]
            scope = {"type": "http", "method": rng.choice(methods), "path": path,
                     "root_path": "", "headers": headers}
            await mw(scope, None, _discard)

    asyncio.run(run())


@pytest.mark.slow  # a flood of random requests: make test runs it, make check does not
def test_random_paths_and_headers_stay_bounded(make_inst, series):
    inst = make_inst(label_cap=20)
    router = Router(routes=[Route("/reservations/{rid}", _ok), Route("/health", _ok)])
    mw = PrometheusMiddleware(_ok, inst, route_resolver=StarletteRoutes(router))
    rng = random.Random(7)
    methods = ["GET", "POST", "get", "PURGE", *(_random_text(rng, 5) for _ in range(50))]
    _flood(mw, 5_000, rng, methods)  # warm up: caches reach their bounds
    gc.collect()
    before = _rss()
    _flood(mw, 100_000, rng, methods)
    gc.collect()
    growth = _rss() - before
    assert growth < 4 * 1024 * 1024, f"resident memory grew by {growth} bytes"
    labels = series("http_requests_total")
    assert {s["endpoint"] for s in labels} <= {"/reservations/{rid}", "/health", "other"}
    assert {s["method"] for s in labels} <= {"GET", "POST", "other"}
    assert sum(1 for _ in labels) <= 3 * 3 * 20


def test_cap_bounds_a_label_even_with_an_unbounded_resolver(make_inst, series):
    inst = make_inst(label_cap=50)
    mw = PrometheusMiddleware(_ok, inst, route_resolver=lambda scope: scope["path"])
    _flood(mw, 20_000, random.Random(3), ["GET"])
    for name in ("orchestrator_requests_total", "http_requests_total",
                 "http_request_duration_seconds_count", "orchestrator_errors_total"):
        endpoints = {s["endpoint"] for s in series(name)}
        assert len(endpoints) <= 50 and "other" in endpoints
    assert len(inst.limits["endpoint"].values()) == 50
