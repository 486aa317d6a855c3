"""What ``slo-gen status`` prints: a table for people, JSON for scripts, the gate's verdict.

The table is coloured only when asked (a terminal, and ``NO_COLOR`` unset): green within the
objective, yellow once a burn rate is above 1 or a ticket is open, red when the budget is
spent or a page fires. JSON carries the raw floats (``null`` plus a reason when missing), the
instant they were read at, and every query sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from slo.model.conditions import Condition
from slo.model.durations import format_duration
from slo.model.numbers import format_number
from slo.status.evaluate import Figure, SLOStatus, Snapshot


@dataclass(frozen=True)
class Trip:
    row: SLOStatus
    condition: Condition
    value: float


@dataclass(frozen=True)
class Unknown:
    row: SLOStatus
    condition: Condition
    reason: str


def gate(snapshot: Snapshot, conditions: list[Condition]) -> tuple[list[Trip], list[Unknown]]:
    """Which rows trip which condition, and which cannot be told (a figure is missing)."""
    trips, unknown = [], []
    for row in snapshot.rows:
        fields = row.fields()
        for c in conditions:
            fig = fields.get(c.field)
            if fig is None:
                continue  # a burn_rate_<w> this SLO has no pair for
            if fig.value is None:
                unknown.append(Unknown(row, c, fig.reason or "missing"))
            elif c.holds(fig.value):
                trips.append(Trip(row, c, fig.value))
    return trips, unknown


def utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def duration(fig: Figure) -> str:
    if fig.value is None:
        return "never" if fig.reason and fig.reason.startswith("never") else "-"
    seconds = int(fig.value)
    if seconds <= 0:
        return "spent"
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60}m"
    return f"{seconds // 60}m{seconds % 60}s"


def state(row: SLOStatus) -> str:
    """ok / warning / critical: the colour of the row and of its page card."""
    remaining = row.budget_remaining.value
    if row.pages_firing or (remaining is not None and remaining <= 0):
        return "critical"
    burning = [f.value for _, f in row.burn_rates if f.value is not None]
    if any(a.state == "firing" for a in row.alerts) or any(b > 1 for b in burning):
        return "warning"
    return "ok"


COLOURS = {"ok": "green", "warning": "yellow", "critical": "red"}


def decision(row: SLOStatus) -> str | None:
    """The runbook's decision the spec declares for the figures, in words."""
    fields = row.fields()
    for d in row.target.slo.decisions:
        fig = fields.get(d.when.field)
        if fig is not None and fig.value is not None and d.when.holds(fig.value):
            return d.say
    return None


def alert_text(row: SLOStatus) -> str:
    if not row.alerts:
        return "none"
    parts = []
    for a in row.alerts:
        extra = f", {a.delivery}" if a.delivery and a.delivery != "active" else ""
        parts.append(f"{a.title} ({a.state}{extra})")
    return "; ".join(parts)


def table(snapshot: Snapshot, colour: bool) -> str:
    heads = ["SLO", "objective", "period", "SLI 5m", "SLI period", "budget used",
             "remaining", "time left", "burn 5m", "burn rates", "alerts"]
    body = []
    for row in snapshot.rows:
        burns = " ".join(f"{format_duration(w)}={rate(f.value)}" for w, f in row.burn_rates)
        body.append([row.name, f"{format_number(row.target.slo.objective)}%",
                     format_duration(row.target.slo.period), percent(row.sli_5m.value, 3),
                     percent(row.sli_period.value, 3), percent(row.budget_used.value),
                     percent(row.budget_remaining.value), duration(row.time_left),
                     rate(row.burn_rate.value), burns, alert_text(row)])
    widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]
    lines = [f"status at {utc(snapshot.at)} from {snapshot.prometheus}"
             + (f" (alerts also from Alertmanager {snapshot.alertmanager})"
                if snapshot.alertmanager else ""),
             "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for row, cells in zip(snapshot.rows, body, strict=True):
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        lines.append(click.style(text, fg=COLOURS[state(row)]) if colour else text)
    for row in snapshot.rows:
        said = decision(row)
        if said:
            line = f"{row.name}: runbook: {said}"
            lines.append(click.style(line, fg="red", bold=True) if colour else line)
        for name, fig in _missing(row):
            lines.append(f"{row.name}: {name}: {fig.reason}")
    return "\n".join(lines) + "\n"


def _missing(row: SLOStatus) -> list[tuple[str, Figure]]:
    figs = {"sli_5m": row.sli_5m, "sli_period": row.sli_period,
            "budget_used": row.budget_used, "budget_remaining": row.budget_remaining,
            "burn_rate": row.burn_rate,
            **{f"burn_rate_{format_duration(w)}": f for w, f in row.burn_rates}}
    return [(k, f) for k, f in figs.items() if f.value is None and f.reason]


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def as_json(snapshot: Snapshot, trips: list[Trip], unknown: list[Unknown]) -> str:
    rows = []
    for row in snapshot.rows:
        missing = dict((k, f.reason) for k, f in _missing(row))
        if row.time_left.value is None and row.time_left.reason:
            missing["time_left_seconds"] = row.time_left.reason
        rows.append({
            "service": row.target.service,
            "slo": row.target.slo.name,
            "group": dict(row.group),
            "objective": float(row.target.slo.objective_ratio),
            "period": format_duration(row.target.slo.period),
            "state": state(row),
            "sli_5m": _num(row.sli_5m.value),
            "sli_period": _num(row.sli_period.value),
            "budget_used": _num(row.budget_used.value),
            "budget_remaining": _num(row.budget_remaining.value),
            "time_left_seconds": _num(row.time_left.value),
            "burn_rate": _num(row.burn_rate.value),
            "burn_rates": {format_duration(w): _num(f.value) for w, f in row.burn_rates},
            "pages_firing": row.pages_firing,
            "alerts": [{"alertname": a.name, "tier": a.tier or None, "state": a.state,
                        "severity": a.severity, "page": a.page, "delivery": a.delivery,
                        "labels": dict(a.labels)}
                       for a in row.alerts],
            "decision": decision(row),
            "runbook_url": row.target.slo.alerting.runbook_url or None,
            "missing": missing,
        })
    doc = {
        "time": snapshot.at,
        "time_utc": utc(snapshot.at),
        "prometheus": snapshot.prometheus,
        "alertmanager": snapshot.alertmanager,
        "slos": rows,
        "failed": [{"slo": t.row.name, "condition": str(t.condition), "value": t.value}
                   for t in trips],
        "unknown": [{"slo": u.row.name, "condition": str(u.condition), "reason": u.reason}
                    for u in unknown],
        "queries": [{"purpose": q.purpose, "query": q.expr} for q in snapshot.queries],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
