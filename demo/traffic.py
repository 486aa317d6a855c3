"""Steady, bounded traffic against demo instances with the orchestrator's endpoint mix.

``python -m demo.traffic --target http://127.0.0.1:8000 --rate 10 --duration 60``

Requests start on a fixed schedule (``rate`` per second, so a slow answer does not lower the
offered load), are spread round-robin over the targets, and stop after ``--duration`` seconds or
``--requests`` requests, or on Ctrl-C; a summary of statuses per kind is printed at the end. Only
loopback targets are accepted: this is a load generator, not a tool to point at other hosts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

TEXTS = ("Hi, what time is check-in?", "Can I get a late checkout?", "Is breakfast included?",
         "Where can I park?", "Thanks, see you soon!")
BOOKING_TEXTS = ("Do you have a room available next weekend?", "I'd like to book 2 nights",
                 "Is there availability for a suite in May?")


@dataclass(frozen=True)
class Planned:
    """One request to send: ``kind`` names it in the summary."""

    kind: str
    method: str
    path: str
    body: Any = None


def _message(rng: random.Random, kind: str, text: str = "") -> dict[str, Any]:
    msg: dict[str, Any] = {"from": f"34{rng.randrange(10**8, 10**9)}",
                           "id": f"wamid.{rng.getrandbits(48):x}",
                           "timestamp": str(int(time.time())), "type": kind}
    if kind == "text":
        msg["text"] = {"body": text}
    else:
        msg["audio"] = {"id": f"media{rng.getrandbits(32)}", "mime_type": "audio/ogg"}
    return webhook_payload([msg])


def webhook_payload(messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None,
                    ) -> dict[str, Any]:
    """A WhatsApp Cloud API notification carrying ``messages`` (and delivery ``statuses``)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "34900000000",
                                          "phone_number_id": "100000000000001"}}
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "200000000000002", "changes": [{"field": "messages",
                                                              "value": value}]}]}


def make(kind: str, rng: random.Random) -> Planned:
    """Build one request of ``kind`` (see :data:`MIX`)."""
    if kind == "text":
        return Planned(kind, "POST", "/webhooks/whatsapp", _message(rng, "text", rng.choice(TEXTS)))
    if kind == "booking_text":
        return Planned(kind, "POST", "/webhooks/whatsapp",
                       _message(rng, "text", rng.choice(BOOKING_TEXTS)))
    if kind == "audio":
        return Planned(kind, "POST", "/webhooks/whatsapp", _message(rng, "audio"))
    if kind == "status_receipt":
        status = {"id": "wamid.x", "status": "delivered", "timestamp": str(int(time.time()))}
        return Planned(kind, "POST", "/webhooks/whatsapp", webhook_payload([], [status]))
    if kind == "synthetic":
        return Planned(kind, "POST", "/webhooks/whatsapp", {"test": "synthetic_transaction"})
    if kind == "bad_webhook":  # a client mistake: 422, not an error of the service
        return Planned(kind, "POST", "/webhooks/whatsapp", {"object": "page", "entry": []})
    if kind == "get_reservation":
        return Planned(kind, "GET", f"/reservations/R{rng.randrange(10**6):06d}")
    if kind == "missing_reservation":  # 404: the client's, not the service's
        return Planned(kind, "GET", f"/reservations/X{rng.randrange(10**6):06d}")
    if kind == "create_reservation":
        day = rng.randrange(1, 20)
        return Planned(kind, "POST", "/reservations", {
            "guest_name": "Ana Garcia", "check_in": f"2030-05-{day:02d}",
            "check_out": f"2030-05-{day + 2:02d}", "room_type": rng.choice(("standard", "suite")),
            "email": "ana@example.com", "phone": "34600000001"})
    if kind == "health":
        return Planned(kind, "GET", "/health")
    raise ValueError(f"unknown request kind {kind!r}")


#: The default mix, as weights: mostly guest messages, then reservation look-ups.
MIX: dict[str, int] = {"text": 34, "booking_text": 14, "audio": 8, "status_receipt": 6,
                       "get_reservation": 20, "missing_reservation": 3, "create_reservation": 8,
                       "synthetic": 2, "bad_webhook": 3, "health": 2}


def plan(count: int | None, seed: int | None = None,
         mix: dict[str, int] = MIX) -> Iterator[Planned]:
    """``count`` requests drawn from ``mix`` (endless when ``count`` is None)."""
    rng = random.Random(seed)
    kinds, weights = list(mix), list(mix.values())
    n = 0
    while count is None or n < count:
        yield make(rng.choices(kinds, weights)[0], rng)
        n += 1


@dataclass
class Tally:
    """Statuses per kind; status 0 is a request that got no answer (connection failed)."""

    by_kind: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, kind: str, status: int) -> None:
        self.by_kind.setdefault(kind, Counter())[status] += 1

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.by_kind.values())

    @property
    def server_errors(self) -> int:
        """What the SLO counts as errors: 5xx answers (4xx are the client's)."""
        return sum(n for c in self.by_kind.values() for s, n in c.items() if s >= 500)

    @property
    def unanswered(self) -> int:
        return sum(c[0] for c in self.by_kind.values())

    def summary(self) -> str:
        lines = [f"{'kind':<22}{'sent':>7}  statuses"]
        for kind, c in sorted(self.by_kind.items()):
            statuses = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(c.items()))
            lines.append(f"{kind:<22}{sum(c.values()):>7}  {statuses}")
        lines.append(f"{'total':<22}{self.total:>7}  5xx: {self.server_errors}, "
                     f"no answer: {self.unanswered}")
        return "\n".join(lines)


def check_loopback(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse anything but a loopback http(s) URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme not in ("http", "https") or not loopback:
        raise ValueError(f"target {url!r} is not an http(s) URL on a loopback address")
    return url.rstrip("/")


async def send(targets: Sequence[str], requests: Iterable[Planned], rate: float,
               duration: float | None = None, stop: asyncio.Event | None = None,
               concurrency: int = 64, timeout: float = 10.0) -> Tally:
    """Send ``requests`` round-robin over ``targets`` at ``rate`` per second; returns the tally.

    Stops when the requests run out, ``duration`` seconds have passed or ``stop`` is set;
    requests already started are awaited (each within ``timeout``).
    """
    stop = stop or asyncio.Event()
    if rate <= 0:
        raise ValueError("rate must be positive")
    bases = [check_loopback(t) for t in targets]
    tally = Tally()
    limit = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = None if duration is None else start + duration
    tasks: set[asyncio.Task[None]] = set()

    async def one(client: httpx.AsyncClient, base: str, req: Planned) -> None:
        try:
            r = await client.request(req.method, base + req.path, json=req.body)
            tally.add(req.kind, r.status_code)
        except httpx.HTTPError:
            tally.add(req.kind, 0)
        finally:
            limit.release()

    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        try:
            for i, req in enumerate(requests):
                due = start + i / rate
                if deadline is not None and due >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, due - loop.time()))
                if stop.is_set():
                    break
                await limit.acquire()
                task = asyncio.create_task(one(client, bases[i % len(bases)], req))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
    return tally


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo.traffic",
                                description="Drive demo instances with steady, bounded traffic.")
    p.add_argument("--target", action="append", default=[],
                   help="base URL of a demo instance (repeat for several; loopback only; "
                        "default http://127.0.0.1:8000)")
    p.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    p.add_argument("--duration", type=float, default=60.0,
                   help="stop after this many seconds (default 60)")
    p.add_argument("--requests", type=int, help="stop after this many requests")
    p.add_argument("--seed", type=int, help="seed of the request mix")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    targets = args.target or ["http://127.0.0.1:8000"]
    try:
        for t in targets:
            check_loopback(t)
    except ValueError as exc:
        print(f"traffic: {exc}", file=sys.stderr)
        return 2
    if args.rate <= 0 or args.duration <= 0:
        print("traffic: --rate and --duration must be positive", file=sys.stderr)
        return 2

    async def run() -> Tally:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # stop scheduling, finish what started
            loop.add_signal_handler(sig, stop.set)
        return await send(targets, plan(args.requests, args.seed), args.rate, args.duration,
                          stop)

    print(f"traffic: {args.rate:g} req/s to {', '.join(targets)} for up to {args.duration:g}s",
          flush=True)
    tally = asyncio.run(run())
    print(tally.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
