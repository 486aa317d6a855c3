"""``make chaos-orchestrator``: inject a dependency fault into the running demo, for a while.

By default a PMS outage for 180 seconds, long enough on the stack's rules (5-minute success
rate below 95% for 1 minute) for ``OrchestratorErrorRateHigh`` and the fast-burn page to fire;
the fault is then cleared (also on Ctrl-C), because a chaos experiment must end by itself.
``--duration 0`` leaves the fault in place; ``--clear`` removes every fault.

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
        stopping: list[int] = []  # a flag: Event.set() in a signal handler can deadlock
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        deadline = time.monotonic() + args.duration
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)
        clear(st.app_urls, token)
        print("chaos: fault cleared; alerts resolve as the windows recover")
        return 0
    except ChaosError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
