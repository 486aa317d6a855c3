"""``make chaos-orchestrator``: inject a dependency fault into the running demo, for a while.

By default a PMS outage for 180 seconds, long enough on the stack's rules (5-minute success
rate below 95% for 1 minute) for ``OrchestratorErrorRateHigh`` and the fast-burn page to fire;
the fault is then cleared (also on Ctrl-C), because a chaos experiment must end by itself.
``--duration 0`` leaves the fault in place; ``--clear`` removes every fault.

When the stack runs an Alertmanager, the experiment also shows what the on-call got: every
notification the webhook receiver records while it runs, every alert Alertmanager holds back
(inhibited, with the alert that inhibits it), and after the fault is cleared it waits (up to
``--wait`` seconds) until every page it saw firing has been told resolved.

The admin endpoint needs the bearer token: ``DEMO_ADMIN_TOKEN`` or the file the stack wrote.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from demo import state
from demo.auth import TOKEN_ENV, read_token
from demo.faults import DEPENDENCIES
from demo.notifications import Notification, describe


class ChaosError(RuntimeError):
    pass


def _admin(client: httpx.Client, method: str, url: str, token: str,
           body: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        r = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise ChaosError(f"{url}: not answering ({type(exc).__name__}); is `make run` "
                         "running?") from None
    if r.status_code == 401:
        raise ChaosError(f"{url}: 401, the admin token is wrong (set {TOKEN_ENV} or check "
                         "the token file)")
    if r.status_code != 200:
        raise ChaosError(f"{url}: HTTP {r.status_code}: {r.text.strip()}")
    return dict(r.json())


def inject(app_urls: list[str], token: str, fault: dict[str, Any]) -> None:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        for url in app_urls:
            _admin(client, "POST", url + "/admin/faults", token, fault)


def clear(app_urls: list[str], token: str) -> None:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        for url in app_urls:
            _admin(client, "DELETE", url + "/admin/faults", token)


class Watch:
    """What reached the receiver and what Alertmanager held back, printed once each."""

    def __init__(self, st: state.StackState) -> None:
        self.notifications_url = st.notifications_url
        self.alertmanager_url = st.alertmanager_url
        self.client = httpx.Client(timeout=5.0, trust_env=False)
        # the receiver serves its last notifications: remember which ones were there before
        self.seen = {repr(n) for n in self._get_notes()}
        self.new: list[Notification] = []
        self.held: set[str] = set()

    def _get_notes(self) -> list[Notification]:
        try:
            r = self.client.get(self.notifications_url + "/notifications")
            body = r.json()
        except (httpx.HTTPError, ValueError):
            return []
        return [Notification.from_json(n) for n in body.get("notifications", [])]

    def poll(self) -> None:
        for note in self._get_notes():
            if repr(note) not in self.seen:
                self.seen.add(repr(note))
                print(f"chaos: notification  {describe(note)}", flush=True)
                self.new.append(note)
        try:
            alerts = self.client.get(self.alertmanager_url + "/api/v2/alerts").json()
        except (httpx.HTTPError, ValueError):
            return
        names = {a["fingerprint"]: _alert_name(a["labels"]) for a in alerts}
        for a in alerts:
            by = [names.get(f, f) for f in a["status"]["inhibitedBy"]]
            key = _alert_name(a["labels"])
            if by and key not in self.held:
                self.held.add(key)
                to = ", ".join(r["name"] for r in a["receivers"])
                print(f"chaos: held back     {key} (to {to}): inhibited by {', '.join(by)}",
                      flush=True)

    def pages_resolved(self) -> bool:
        """Every alert the page notifications said fires has since been said resolved."""
        last: dict[str, str] = {}
        for note in self.new:
            for alert in note.alerts:
                if alert.labels.get("severity") == "page":
                    last[f"{alert.alertname}/{alert.labels.get('slo_tier', '')}"] = alert.status
        return bool(last) and all(s == "resolved" for s in last.values())


def _alert_name(labels: dict[str, str]) -> str:
    tier = labels.get("slo_tier")
    return f"{labels['alertname']}/{tier}" if tier else labels["alertname"]


def _wait(seconds: float, stopping: list[int], watch: Watch | None,
          until: Any = None) -> None:
    deadline = time.monotonic() + seconds
    while not stopping and time.monotonic() < deadline:
        if watch is not None:
            watch.poll()
            if until is not None and until():
                return
        time.sleep(1.0 if watch is not None else 0.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo.chaos",
                                description="Inject a dependency fault into the running demo.")
    p.add_argument("--dependency", default="pms", choices=DEPENDENCIES)
    p.add_argument("--outage", action="store_true", help="the dependency is down")
    p.add_argument("--error-rate", type=float, default=0.0, help="share of calls that fail")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    p.add_argument("--duration", type=float, default=180.0,
                   help="seconds before the fault is cleared (0: leave it; default 180)")
    p.add_argument("--clear", action="store_true", help="clear every fault and exit")
    p.add_argument("--wait", type=float, default=900.0,
                   help="after clearing, seconds to wait for the pages' resolved notifications "
                        "(default 900; 0: do not wait)")
    p.add_argument("--state-dir", type=Path, default=state.DEFAULT_DIR)
    args = p.parse_args(argv)
    st, _ = state.load(args.state_dir)
    token = read_token(Path(st.token_file))
    if token is None:
        print(f"chaos: no admin token: set {TOKEN_ENV} or start the stack (`make run`), which "
              f"writes {st.token_file}", file=sys.stderr)
        return 1
    try:
        if args.clear:
            clear(st.app_urls, token)
            print("chaos: every fault cleared")
            return 0
        fault = {"dependency": args.dependency, "outage": args.outage,
                 "error_rate": args.error_rate, "latency": args.latency}
        if not (args.outage or args.error_rate or args.latency):
            p.error("give --outage, --error-rate or --latency (or --clear)")
        inject(st.app_urls, token, fault)
        print(f"chaos: injected {fault} into {', '.join(st.app_urls)}", flush=True)
        if args.duration <= 0:
            print("chaos: left in place; `python -m demo.chaos --clear` removes it")
            return 0
        print(f"chaos: watch {st.alerts_url}; clearing in {args.duration:g}s "
              "(Ctrl-C clears now)", flush=True)
        watch = Watch(st) if st.notifications_url and st.alertmanager_url else None
        if watch is not None:
            print(f"chaos: what the on-call gets: {st.notifications_url}/notifications",
                  flush=True)
        stopping: list[int] = []  # a flag: Event.set() in a signal handler can deadlock
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        _wait(args.duration, stopping, watch)
        clear(st.app_urls, token)
        print("chaos: fault cleared; alerts resolve as the windows recover", flush=True)
        if watch is None or args.wait <= 0:
            return 0
        stopping.clear()
        print(f"chaos: waiting up to {args.wait:g}s for the pages to resolve (Ctrl-C stops "
              "waiting)", flush=True)
        _wait(args.wait, stopping, watch, until=watch.pages_resolved)
        pages = [n for n in watch.new if n.receiver == "page"]
        print(f"chaos: the on-call got {len(watch.new)} notification(s), {len(pages)} to "
              f"page; {len(watch.held)} alert(s) held back by inhibition; "
              f"pages {'all resolved' if watch.pages_resolved() else 'not all resolved yet'}",
              flush=True)
        return 0
    except ChaosError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
