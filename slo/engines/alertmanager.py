"""Check and test a rendered Alertmanager configuration with the real amtool and Alertmanager.

- ``amtool check-config`` validates the file (0.25 and 0.33 alike, docs/engines.md section 7);
- every routing case is ``amtool config routes test --verify.receivers=R label="value"...``,
  which exits 1 when the labels reach another receiver;
- amtool cannot test inhibition, so every inhibition case runs against a real Alertmanager on
  127.0.0.1 (clustering off, a scratch storage directory): the case's alerts are posted to
  ``/api/v2/alerts`` and read back until each target's ``status.inhibitedBy`` is what the case
  expects (exactly the source's fingerprint, or nothing); a case whose source resolves then
  posts it with ``endsAt`` in the past and waits for every target to be active again. Each
  case resolves its alerts before the next one starts, so cases cannot inhibit each other.

Debian's Alertmanager exits at start-up without its default template at the fixed path
``/usr/share/prometheus/alertmanager/default.tmpl``; for a binary unpacked elsewhere (``make
engines``), the process runs in a private mount namespace that shows the unpacked template
directory at that path (root only; the host's view is unchanged).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from slo.engines.discovery import Binary, find
from slo.engines.promtool import Result
from slo.errors import UserError

TEMPLATE_DIR = Path("/usr/share/prometheus/alertmanager")
WAIT = 5.0  # seconds a case may take to settle (milliseconds, measured: docs/engines.md)
POLL = 0.05


def amtool(explicit: str | None = None) -> Binary:
    return find("amtool", explicit)


def alertmanager(explicit: str | None = None) -> Binary:
    return find("prometheus-alertmanager", explicit)


# ---------------------------------------------------------------------------------------------
# the test file


@dataclass(frozen=True)
class RouteCase:
    name: str
    labels: dict[str, str]
    receivers: tuple[str, ...]


@dataclass(frozen=True)
class CaseAlert:
    """An alert a case posts; ``inhibited_by``: the indices of the case's alerts Alertmanager
    may name in its ``inhibitedBy`` (empty: it must be active), while all fire and, in
    ``after_resolve``, once the first alert (the source) resolved."""

    what: str
    labels: dict[str, str]
    inhibited_by: tuple[int, ...]
    after_resolve: tuple[int, ...]


@dataclass(frozen=True)
class InhibitionCase:
    name: str
    alerts: tuple[CaseAlert, ...]
    resolve_source: bool


@dataclass(frozen=True)
class TestFile:
    path: Path
    config: Path
    fragment: bool
    receivers: tuple[str, ...]
    routes: tuple[RouteCase, ...]
    inhibitions: tuple[InhibitionCase, ...]


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None


def is_test_file(path: str) -> bool:
    """An Alertmanager test file (``alertmanager_config:`` at the top), not a promtool one."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return False
    return any(line.startswith("alertmanager_config:") for line in head.splitlines())


def read_test_file(path: str) -> TestFile:
    src = Path(path)
    doc = _load(src)
    try:
        return TestFile(
            src, src.parent / str(doc["alertmanager_config"]), bool(doc.get("fragment", False)),
            tuple(doc.get("receivers", ())),
            tuple(RouteCase(str(r["name"]), _strs(r["labels"]), tuple(r["receivers"]))
                  for r in doc.get("routes", [])),
            tuple(InhibitionCase(str(c["name"]),
                                 tuple(CaseAlert(str(t["what"]), _strs(t["labels"]),
                                                 tuple(t["inhibited_by"]),
                                                 tuple(t.get("after_resolve", ())))
                                       for t in c["alerts"]),
                                 bool(c.get("resolve_source", False)))
                  for c in doc.get("inhibitions", [])))
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: not an Alertmanager test file ({exc!r} missing or wrong)"
                        ) from None


def _strs(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


def _config_for_tests(test: TestFile, workdir: Path) -> Path:
    """The configuration itself, or a fragment inside a minimal one (a root route to the
    ``default`` receiver, every receiver the fragment names, webhooks to nowhere)."""
    if not test.config.is_file():
        raise UserError(f"{test.path}: alertmanager_config: {test.config}: no such file")
    if not test.fragment:
        return test.config
    frag = _load(test.config) or {}
    names = list(dict.fromkeys(["default", *test.receivers]))
    doc = {"route": {"receiver": "default", "group_by": ["alertname"],
                     "routes": frag.get("routes", [])},
           "inhibit_rules": frag.get("inhibit_rules", []),
           "receivers": [{"name": n} for n in names]}
    out = workdir / "wrapped-fragment.yml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------------
# amtool


def _amtool(binary: Binary, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary.path, *args], capture_output=True, text=True, check=False,
                          timeout=60)


def check_config(path: str, binary: Binary | None = None) -> Result:
    tool = binary or amtool()
    proc = _amtool(tool, ["check-config", path])
    return Result(proc.returncode == 0, proc.returncode, (proc.stdout + proc.stderr).strip(), tool)


def _label_args(labels: dict[str, str]) -> list[str]:
    def q(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"')
    return [f'{k}="{q(v)}"' for k, v in sorted(labels.items())]


def route_failures(config: Path, cases: tuple[RouteCase, ...], tool: Binary) -> list[str]:
    failures = []
    for case in cases:
        proc = _amtool(tool, ["config", "routes", "test", f"--config.file={config}",
                              f"--verify.receivers={','.join(case.receivers)}",
                              *_label_args(case.labels)])
        if proc.returncode != 0:
            got = proc.stdout.strip().splitlines()[:1]
            failures.append(f"route {case.name!r}: expected receiver(s) "
                            f"{','.join(case.receivers)}, amtool says {got[0] if got else '?'}"
                            f" (exit {proc.returncode})")
    return failures


# ---------------------------------------------------------------------------------------------
# a real Alertmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _command(binary: Binary, args: list[str]) -> list[str]:
    """The Alertmanager command line; in a private mount namespace when its default template
    is not at Debian's fixed path but beside the unpacked binary."""
    if (TEMPLATE_DIR / "default.tmpl").is_file():
        return [binary.path, *args]
    unpacked = Path(binary.path).parents[1] / "share" / "prometheus" / "alertmanager"
    if not (unpacked / "default.tmpl").is_file():
        raise UserError(f"{binary.path}: its default template is neither at {TEMPLATE_DIR} "
                        f"nor at {unpacked}")
    if os.geteuid() != 0 or not TEMPLATE_DIR.parent.is_dir():
        raise UserError(f"{binary.path} needs {TEMPLATE_DIR}/default.tmpl: install Debian's "
                        "prometheus-alertmanager, or run as root (a private mount namespace "
                        f"shows {unpacked} there)")
    script = (f'mount -t tmpfs tmpfs "{TEMPLATE_DIR.parent}" && mkdir "{TEMPLATE_DIR}" && '
              f'mount --bind "{unpacked}" "{TEMPLATE_DIR}" && exec "$0" "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, binary.path,
            *args]


@contextmanager
def running(binary: Binary, config: Path) -> Iterator[str]:
    """An Alertmanager on 127.0.0.1 with ``config``; yields its base URL, stops it after."""
    with tempfile.TemporaryDirectory(prefix="slo-gen-am-") as tmp:
        port = _free_port()
        args = [f"--config.file={config}", f"--storage.path={tmp}",
                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                "--log.level=warn"]
        log = Path(tmp) / "alertmanager.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(_command(binary, args), stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while not _ready(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise UserError(f"{binary.describe()} did not start: "
                                    f"{log.read_text(errors='replace').strip()[-800:]}")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def post_alerts(base: str, alerts: list[dict[str, str]], ends: datetime,
                starts: datetime) -> None:
    body = json.dumps([{"labels": a, "startsAt": _stamp(starts), "endsAt": _stamp(ends)}
                       for a in alerts]).encode()
    req = urllib.request.Request(f"{base}/api/v2/alerts", body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def get_alerts(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=10) as r:
        got: list[dict[str, Any]] = json.load(r)
        return got


def _find(alerts: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any] | None:
    return next((a for a in alerts if a.get("labels") == labels), None)


def _state(alert: dict[str, Any] | None) -> str:
    if alert is None:
        return "absent"
    status = alert.get("status", {})
    by = status.get("inhibitedBy") or []
    return f"{status.get('state')} inhibitedBy={by}"


def _until(check: Callable[[], str | None], settle: float = 0.3) -> str | None:
    """Poll ``check`` (None: as expected, else what is wrong) until it holds twice, ``settle``
    seconds apart; what was last wrong when time runs out."""
    deadline = time.monotonic() + WAIT
    wrong = check()
    while True:
        if wrong is None:
            time.sleep(settle)
            wrong = check()
            if wrong is None:
                return None
        if time.monotonic() > deadline:
            return wrong
        time.sleep(POLL)
        wrong = check()


def _check(base: str, alerts: tuple[CaseAlert, ...], phase: str,
           resolved: bool = False) -> str | None:
    """None when every alert's state is as expected in this phase, else the first that is not."""
    got = get_alerts(base)
    found = [_find(got, a.labels) for a in alerts]
    for i, (want, have) in enumerate(zip(alerts, found, strict=True)):
        if resolved and i == 0:
            continue
        allowed = want.after_resolve if resolved else want.inhibited_by
        fps = {f["fingerprint"] for f in (found[j] for j in allowed) if f is not None}
        if have is None:
            return f"{phase}: {want.what!r} is not in Alertmanager"
        state, by = have["status"]["state"], have["status"].get("inhibitedBy") or []
        if allowed and not (state == "suppressed" and len(by) == 1 and by[0] in fps):
            return (f"{phase}: {want.what!r} expected inhibited by "
                    f"{[alerts[j].what for j in allowed]}, Alertmanager says {_state(have)}")
        if not allowed and (state != "active" or by):
            return f"{phase}: {want.what!r} expected active, Alertmanager says {_state(have)}"
    return None


def inhibition_failure(base: str, case: InhibitionCase) -> str | None:
    """Run one case; None when Alertmanager did what the case expects."""
    now = datetime.now(UTC)
    start, later = now - timedelta(minutes=1), now + timedelta(hours=1)
    everything = [a.labels for a in case.alerts]
    post_alerts(base, everything, later, start)
    try:
        wrong = _until(lambda: _check(base, case.alerts, "while all fire"))
        if wrong is None and case.resolve_source:
            post_alerts(base, everything[:1], datetime.now(UTC) - timedelta(seconds=1), start)
            wrong = _until(lambda: _check(base, case.alerts, "after the source resolved",
                                          resolved=True))
        return wrong
    finally:
        post_alerts(base, everything, datetime.now(UTC) - timedelta(seconds=1), start)
        _until(lambda: next((f"{_state(a)}" for a in get_alerts(base)
                             if a.get("labels") in everything), None), settle=0)


# ---------------------------------------------------------------------------------------------
# the whole file


def check_test_file(path: str, tool: Binary | None = None) -> Result:
    """``amtool check-config`` on the configuration a test file names (a fragment inside the
    minimal configuration the tests run it in)."""
    test = read_test_file(path)
    with tempfile.TemporaryDirectory(prefix="slo-gen-amt-") as tmp:
        return check_config(str(_config_for_tests(test, Path(tmp))), tool)


def run_tests(files: list[str], tool: Binary | None = None, server: Binary | None = None,
              with_server: bool = True) -> Result:
    """Check every test file's configuration, run its routing cases with amtool and, when an
    Alertmanager is found (or given), its inhibition cases on it."""
    tool = tool or amtool()
    lines = [f"engine: {tool.describe()}"]
    if server is None and with_server:
        try:
            server = alertmanager()
            _command(server, [])  # can it start here? (its template, a mount namespace)
        except UserError as exc:
            lines.append(f"note: {exc}; inhibition cases not run")
            server = None
    if server is not None:
        lines.append(f"engine: {server.describe()}")
    ok = True
    for name in files:
        test = read_test_file(name)
        with tempfile.TemporaryDirectory(prefix="slo-gen-amt-") as tmp:
            config = _config_for_tests(test, Path(tmp))
            checked = check_config(str(config), tool)
            if not checked.ok:
                lines.append(f"{name}: amtool check-config FAILED:\n{checked.output}")
                ok = False
                continue
            failures = route_failures(config, test.routes, tool)
            lines.append(f"{name}: routes: {len(test.routes) - len(failures)} passed, "
                         f"{len(failures)} failed")
            lines += [f"  FAILED {f}" for f in failures]
            ok = ok and not failures
            if server is None or not test.inhibitions:
                continue
            bad = []
            with running(server, config) as base:
                for case in test.inhibitions:
                    wrong = inhibition_failure(base, case)
                    if wrong is not None:
                        bad.append(f"inhibition {case.name!r}: {wrong}")
            lines.append(f"{name}: inhibitions: {len(test.inhibitions) - len(bad)} passed, "
                         f"{len(bad)} failed")
            lines += [f"  FAILED {f}" for f in bad]
            ok = ok and not bad
    return Result(ok, 0 if ok else 1, "\n".join(lines), tool)
