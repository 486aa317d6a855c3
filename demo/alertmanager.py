"""A throwaway Alertmanager for the demo stack and the e2e tests: config, command line, start.

The configuration is the one ``slo-gen alertmanager`` renders from the spec, with every
receiver's webhook pointed at the demo's receiver (:mod:`demo.notifications`) through
``--webhook-url http://127.0.0.1:PORT/notify/{receiver}``. :func:`with_timings` then sets the
timings of the routes of given receivers, so the demo and the tests can wait seconds where an
on-call's configuration waits minutes; nothing else of the rendered file changes.

Debian's build (0.25 and 0.33) does not embed its default notification template: it reads it
from the fixed path :data:`SYSTEM_TEMPLATE` and exits at start-up without it (docs/engines.md,
section 7; no flag or working directory changes that path). When that file is missing and the
binary comes from an unpacked package tree that has it (``.tools/alertmanager-*/usr/share/...``),
the process is started in a private mount namespace where an overlay puts the tree's
``usr/share`` over ``/usr/share``: only that process sees the file, the host's ``/usr/share``
is untouched, nothing is hidden. Root gets ``unshare --mount``; anyone else a user namespace
too (``unshare --user --map-root-user --mount``, the same as rootless containers). A binary
with the template embedded (upstream's), or a host that has the file, runs as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from demo import procs

SYSTEM_TEMPLATE = Path("/usr/share/prometheus/alertmanager/default.tmpl")
_TEMPLATE_IN_SHARE = SYSTEM_TEMPLATE.relative_to("/usr/share")

Spawn = Callable[[str, Sequence[str], Path], procs.Child]

# $1: the package tree's usr/share; the rest: Alertmanager's command line. `exec` keeps the
# pid, so stopping the child's process group stops Alertmanager itself.
_OVERLAY = ('mount -t overlay overlay -o "lowerdir=$1:/usr/share" /usr/share && shift && '
            'exec "$@"')


@dataclass(frozen=True)
class Timings:
    """A route's ``group_wait``, ``group_interval`` and ``repeat_interval`` (Alertmanager
    durations such as ``1s``, ``5m``)."""

    group_wait: str
    group_interval: str
    repeat_interval: str


def packaged_share(binary: str) -> Path | None:
    """The ``usr/share`` of the unpacked package ``binary`` comes from, if it has the template."""
    share = Path(binary).resolve().parent.parent / "share"
    return share if (share / _TEMPLATE_IN_SHARE).is_file() else None


def launcher(binary: str, system_template: Path = SYSTEM_TEMPLATE) -> list[str]:
    """What to put before Alertmanager's own arguments (``[binary]`` when nothing is needed)."""
    share = packaged_share(binary)
    if system_template.is_file() or share is None:
        return [binary]
    unshare = shutil.which("unshare")
    if unshare is None:
        raise procs.StartError(f"{binary} needs {system_template}, which is missing, and "
                               "`unshare` (util-linux) is not there to show it the copy in "
                               f"{share}: install util-linux or give another Alertmanager")
    if any(c in str(share) for c in ":,"):
        raise procs.StartError(f"{share}: an overlay mount cannot take a path with ':' or ','")
    ns = (["--mount", "--propagation", "private"] if os.geteuid() == 0
          else ["--user", "--map-root-user", "--mount"])
    return [unshare, *ns, "sh", "-c", _OVERLAY, "sh", str(share), binary]


def argv(binary: str, config_file: Path, storage: Path, listen: str) -> list[str]:
    """Alertmanager on ``listen`` (127.0.0.1:PORT), data in ``storage``, no cluster port."""
    return [
        *launcher(binary),
        f"--config.file={config_file}",
        f"--storage.path={storage}",
        f"--web.listen-address={listen}",
        "--cluster.listen-address=",  # no gossip port on 0.0.0.0:9094 for a single instance
        "--log.level=warn",
    ]


def render(specs: Sequence[str], out: Path, webhook_url: str,
           extra: Sequence[str] = ()) -> None:
    """``slo-gen alertmanager`` of this checkout into ``out``; its error as a StartError."""
    cmd = [sys.executable, *procs.SLO_GEN, "alertmanager", *specs, "-o", str(out),
           "--webhook-url", webhook_url, *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise procs.StartError("slo-gen alertmanager failed:\n"
                               f"{(result.stderr or result.stdout).strip()}")


def _routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    found = [route]
    for child in route.get("routes") or []:
        found += _routes(child)
    return found


def with_timings(config: str, timings: Mapping[str, Timings]) -> str:
    """``config`` with the timings of every route whose receiver is a key of ``timings``
    (the root route included) replaced; a receiver no route uses is an error."""
    doc = yaml.safe_load(config)
    routes = _routes(doc["route"])
    unused = sorted(set(timings) - {r.get("receiver") for r in routes})
    if unused:
        raise ValueError(f"no route sends to receiver(s) {', '.join(unused)}")
    for route in routes:
        t = timings.get(route.get("receiver", ""))
        if t is not None:
            route.update(group_wait=t.group_wait, group_interval=t.group_interval,
                         repeat_interval=t.repeat_interval)
    return yaml.safe_dump(doc, sort_keys=False)


def receivers(config: str) -> list[str]:
    """The receiver names a configuration defines."""
    return [r["name"] for r in yaml.safe_load(config).get("receivers") or []]


def start(spawn: Spawn, binary: str, config_file: Path, storage: Path, port: int,
          log: Path) -> procs.Child:
    """Start Alertmanager and wait until it is ready (``/-/ready``)."""
    child = spawn("alertmanager", argv(binary, config_file, storage, f"127.0.0.1:{port}"), log)
    procs.wait_http(child, f"http://127.0.0.1:{port}/-/ready", timeout=60)
    return child
