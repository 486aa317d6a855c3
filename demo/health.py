"""``make health``: is the demo stack up? One line per check, exit 1 if any failed.

Checks, for the stack described by ``var/demo/state.json`` (or the default ports): each demo
instance answers ``/health``, its ``/metrics`` serves the contract, Prometheus is ready, has
the rules loaded, and sees every demo scrape target ``up`` in ``/api/v1/targets``. For the
global view (``make run RUN_ARGS='--engine victoriametrics'``): every Prometheus shard is
ready, scrapes its target and has no rules, VictoriaMetrics holds samples of every shard, and
vmalert has the rules loaded. The runbook
runs this during triage, so a failure names what is down and what to look at.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from demo import globalview, promconfig, state
from demo.promapi import PromAPI, PromError


def checks(st: state.StackState) -> Iterator[tuple[bool, str]]:
    """(ok, message) per check."""
    with httpx.Client(timeout=3.0, trust_env=False) as client:
        for url in st.app_urls:
            try:
                r = client.get(url + "/health")
                ok = r.status_code == 200 and r.json().get("status") == "ok"
                yield ok, f"demo {url}/health: HTTP {r.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                yield False, f"demo {url}/health: not answering ({type(exc).__name__})"
        for url in st.metrics_urls:
            try:
                r = client.get(url)
                ok = r.status_code == 200 and "orchestrator_requests_total" in r.text
                yield ok, (f"metrics {url}: HTTP {r.status_code}" if ok else
                           f"metrics {url}: HTTP {r.status_code}, no orchestrator_requests_total")
            except httpx.HTTPError as exc:
                yield False, f"metrics {url}: not answering ({type(exc).__name__})"
    if st.engine == "victoriametrics":
        yield from _global_view(st)
        return
    with PromAPI(st.prometheus_url, timeout=3.0) as prom:
        if not prom.ready():
            yield False, f"prometheus {st.prometheus_url}: not ready (is `make run` running?)"
            return
        yield True, f"prometheus {st.prometheus_url}: ready"
        try:
            rules = prom.rules()
            yield bool(rules), f"prometheus rules: {len(rules)} loaded"
            targets = [t for t in prom.targets() if t["labels"].get("job") == promconfig.JOB]
        except PromError as exc:
            yield False, f"prometheus API: {exc}"
            return
        yield from _targets(st.metrics_urls, targets)


def _targets(metrics_urls: list[str], targets: list[dict]) -> Iterator[tuple[bool, str]]:
    by_address = {t["labels"].get("instance"): t for t in targets}
    for url in metrics_urls:
        address = urlsplit(url).netloc
        target = by_address.get(address)
        if target is None:
            yield False, f"scrape target {address}: not in Prometheus' active targets"
        elif target["health"] != "up":
            yield False, (f"scrape target {address}: {target['health']} "
                          f"({target.get('lastError') or 'not scraped yet'})")
        else:
            yield True, f"scrape target {address}: up"


def _global_view(st: state.StackState) -> Iterator[tuple[bool, str]]:
    """The shards scrape (and evaluate nothing), VictoriaMetrics has every shard's samples,
    vmalert has the rules."""
    targets: list[dict] = []
    for n, url in enumerate(st.shard_urls, 1):
        with PromAPI(url, timeout=3.0) as shard:
            if not shard.ready():
                yield False, f"prometheus shard-{n} {url}: not ready"
                continue
            try:
                own = [t for t in shard.targets() if t["labels"].get("job") == promconfig.JOB]
                rules = shard.rules()
            except PromError as exc:
                yield False, f"prometheus shard-{n} API: {exc}"
                continue
            yield not rules, (f"prometheus shard-{n} {url}: ready, {len(own)} target(s)"
                              + (f", but {len(rules)} rules (it should only forward)"
                                 if rules else ""))
            targets += own
    yield from _targets(st.metrics_urls, targets)
    with PromAPI(st.prometheus_url, timeout=3.0) as vm:
        if not vm.ready():
            yield False, f"victoria-metrics {st.prometheus_url}: not ready"
        else:
            try:
                seen = globalview.shards_seen(vm)
                want = {f"shard-{n}" for n in range(1, len(st.shard_urls) + 1)}
                yield seen >= want, (f"victoria-metrics {st.prometheus_url}: samples from "
                                     f"{', '.join(sorted(seen)) or 'no shard'}"
                                     + ("" if seen >= want else
                                        f" (missing {', '.join(sorted(want - seen))}: see the "
                                        "shards' logs for remote_write errors)"))
            except PromError as exc:
                yield False, f"victoria-metrics API: {exc}"
    with PromAPI(st.vmalert_url, timeout=3.0) as vmalert:
        if not vmalert.ready():
            yield False, f"vmalert {st.vmalert_url}: not ready"
            return
        try:
            rules = vmalert.rules()
        except PromError as exc:
            yield False, f"vmalert API: {exc}"
            return
        yield bool(rules), f"vmalert {st.vmalert_url}: {len(rules)} rules loaded"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo.health",
                                description="Check the demo stack started by `make run`.")
    p.add_argument("--state-dir", type=Path, default=state.DEFAULT_DIR,
                   help="where `make run` wrote state.json (default var/demo)")
    p.add_argument("--prometheus-url", help="override Prometheus' URL")
    args = p.parse_args(argv)
    st, found = state.load(args.state_dir)
    if args.prometheus_url:
        st.prometheus_url = args.prometheus_url.rstrip("/")
    if not found:
        print(f"note: no {args.state_dir / state.STATE_FILE}; checking the default ports")
    failed = 0
    for ok, message in checks(st):
        print(f"{'ok  ' if ok else 'FAIL'} {message}", file=sys.stdout if ok else sys.stderr,
              flush=True)
        failed += not ok
    if failed:
        print(f"health: {failed} check(s) failed", file=sys.stderr)
        return 1
    print("health: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
