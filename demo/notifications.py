"""The demo's on-call: a webhook receiver that records what Alertmanager delivers.

``python -m demo.notifications --port 9095 --log var/demo/notifications.log``

Alertmanager's ``webhook_configs`` POST one JSON document per notification (payload version 4:
``receiver``, ``status``, ``groupLabels``, ``alerts[]`` with ``status`` and ``labels``). This
receiver is where a pager or a ticket system would be: it accepts ``POST /notify/{receiver}``
(the URL ``slo-gen alertmanager --webhook-url http://127.0.0.1:9095/notify/{receiver}`` renders
for every receiver) and ``POST /notify``, appends every notification as one JSON line to the log
file (received time, receiver, status, group labels, and per alert its name, status, labels and
summary), and serves the last ones on ``GET /notifications`` (JSON, ``?receiver=page`` filters),
so ``make chaos-orchestrator`` and the e2e tests count deliveries where an on-call would, not in
Prometheus.

Bad input gets a 4xx and is not logged: a body over :data:`MAX_BODY` bytes 413, anything that is
not an Alertmanager notification 422 listing every problem, and a path receiver that differs
from the body's 422 (a miswired URL template must not look like a delivery).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from demo.validation import Invalid

#: Alertmanager caps nothing by default; 100 alerts with their labels and annotations are
#: far below this, and a runaway sender cannot fill the memory of the demo.
MAX_BODY = 1024 * 1024
#: How many notifications ``GET /notifications`` keeps (the log file keeps all of them).
KEEP = 200
STATUSES = ("firing", "resolved")


@dataclass(frozen=True)
class AlertLine:
    """One alert of a notification: what an on-call reads first."""

    alertname: str
    status: str
    labels: dict[str, str]
    summary: str = ""


@dataclass(frozen=True)
class Notification:
    """One POST from Alertmanager, as logged (one JSON line) and served."""

    received_at: str
    receiver: str
    status: str
    group_labels: dict[str, str]
    alerts: list[AlertLine] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        return cls(data["received_at"], data["receiver"], data["status"],
                   dict(data["group_labels"]),
                   [AlertLine(**a) for a in data["alerts"]])

    def firing(self) -> list[str]:
        """``alertname`` (with ``/slo_tier`` when it has one) of each firing alert, sorted."""
        return sorted(_name(a) for a in self.alerts if a.status == "firing")

    def resolved(self) -> list[str]:
        return sorted(_name(a) for a in self.alerts if a.status == "resolved")


def _name(alert: AlertLine) -> str:
    tier = alert.labels.get("slo_tier")
    return f"{alert.alertname}/{tier}" if tier else alert.alertname


def _labels(value: Any, where: str, errors: Invalid) -> dict[str, str] | None:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        errors.add(where, "must be an object of string label values")
        return None
    return dict(value)


def parse(body: Any, now: dt.datetime | None = None) -> Notification:
    """An Alertmanager webhook payload (version 4) -> :class:`Notification`, or
    :class:`~demo.validation.Invalid` naming every bad field."""
    if not isinstance(body, dict):
        raise Invalid([("body", "must be a JSON object (an Alertmanager notification)")])
    errors = Invalid()
    receiver = body.get("receiver")
    if not isinstance(receiver, str) or not receiver:
        errors.add("receiver", "must be a non-empty string")
    status = body.get("status")
    if status not in STATUSES:
        errors.add("status", f"must be one of {', '.join(STATUSES)}")
    group_labels = _labels(body.get("groupLabels", {}), "groupLabels", errors) or {}
    alerts: list[AlertLine] = []
    raw_alerts = body.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        errors.add("alerts", "must be a non-empty list")
        raw_alerts = []
    for i, raw in enumerate(raw_alerts):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            errors.add(where, "must be an object")
            continue
        labels = _labels(raw.get("labels"), f"{where}.labels", errors)
        name = labels.get("alertname") if labels is not None else ""
        if labels is not None and not name:
            errors.add(f"{where}.labels.alertname", "missing")
        annotations = raw.get("annotations", {})
        if not isinstance(annotations, dict):
            errors.add(f"{where}.annotations", "must be an object")
            annotations = {}
        if raw.get("status") not in STATUSES:
            errors.add(f"{where}.status", f"must be one of {', '.join(STATUSES)}")
        summary = annotations.get("summary", "")
        alerts.append(AlertLine(name or "", str(raw.get("status")),
                                {k: v for k, v in sorted((labels or {}).items())
                                 if k != "alertname"},
                                summary if isinstance(summary, str) else ""))
    errors.raise_if_any()
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return Notification(at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        str(receiver), str(status), dict(sorted(group_labels.items())), alerts)


class Recorder:
    """Appends each notification to the log file and keeps the last :data:`KEEP` in memory."""

    def __init__(self, log: Path, keep: int = KEEP) -> None:
        self.log = log
        self._last: deque[Notification] = deque(maxlen=keep)
        self._lock = threading.Lock()
        log.parent.mkdir(parents=True, exist_ok=True)

    def record(self, note: Notification) -> None:
        line = json.dumps(note.to_json(), sort_keys=False, separators=(",", ":")) + "\n"
        with self._lock, open(self.log, "a", encoding="utf-8") as out:
            out.write(line)  # one write per line: a reader never sees half a notification
            self._last.append(note)

    def last(self, receiver: str | None = None, limit: int = KEEP) -> list[Notification]:
        with self._lock:
            notes = [n for n in self._last if receiver is None or n.receiver == receiver]
        return notes[-limit:] if limit > 0 else []


def read_log(path: Path) -> list[Notification]:
    """Every notification in a receiver's log file (empty when there is none yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [Notification.from_json(json.loads(line)) for line in text.splitlines() if line]


async def _body(request: Request) -> Any:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise _TooLarge
    raw = bytearray()
    async for chunk in request.stream():  # bounded while reading, not after
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _TooLarge
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid([("body", "must be JSON")]) from None


class _TooLarge(Exception):
    pass


def create_app(recorder: Recorder) -> Starlette:
    async def notify(request: Request) -> Response:
        note = parse(await _body(request))
        path_receiver = request.path_params.get("receiver")
        if path_receiver is not None and path_receiver != note.receiver:
            raise Invalid([("receiver", f"the URL names receiver {path_receiver!r}, the body "
                                        f"{note.receiver!r}")])
        recorder.record(note)
        return JSONResponse({"status": "recorded"})

    async def notifications(request: Request) -> Response:
        receiver = request.query_params.get("receiver") or None
        limit_text = request.query_params.get("limit", str(KEEP))
        if not limit_text.isdigit():
            raise Invalid([("limit", "must be a whole number")])
        notes = recorder.last(receiver, int(limit_text))
        return JSONResponse({"log": str(recorder.log),
                             "notifications": [n.to_json() for n in notes]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Invalid)
        return JSONResponse(exc.as_json(), status_code=422)

    async def too_large(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"body larger than {MAX_BODY} bytes"}, status_code=413)

    return Starlette(routes=[
        Route("/notify", notify, methods=["POST"]),
        Route("/notify/{receiver}", notify, methods=["POST"]),
        Route("/notifications", notifications, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ], exception_handlers={Invalid: invalid, _TooLarge: too_large})


def describe(note: Notification) -> str:
    """One line for a terminal: ``10:01:02Z page firing: A/page-1h, B``."""
    parts = []
    if note.firing():
        parts.append("firing " + ", ".join(note.firing()))
    if note.resolved():
        parts.append("resolved " + ", ".join(note.resolved()))
    return f"{note.received_at[11:19]}Z {note.receiver}: {note.status}: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo.notifications",
                                description="Record Alertmanager's webhook notifications.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9095, help="port (default 9095)")
    p.add_argument("--log", type=Path, default=Path("var/demo/notifications.log"),
                   help="JSON-lines log of every notification (default "
                        "var/demo/notifications.log)")
    args = p.parse_args(argv)
    import uvicorn

    app = create_app(Recorder(args.log))
    print(f"notifications: http://{args.host}:{args.port}/notify/{{receiver}} -> {args.log}",
          flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                           log_level="warning", access_log=False,
                                           lifespan="off"))
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
