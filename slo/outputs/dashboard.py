"""A Grafana dashboard per service, built from the service's rules (their plans), as plain data.

Every query reads only series the rules record (and ``ALERTS`` for the rules' own alerts), so
the dashboard costs Prometheus nothing and shows exactly what the alerts see. Per SLO: the
error ratio over each recorded window against the budget, the budget left over the period,
each burn-rate pair against its alert's factor, and the SLO's firing alerts.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from slo.model.durations import format_duration
from slo.model.numbers import format_number
from slo.rules import promql
from slo.rules.model import ServiceRules, SLORules
from slo.rules.plan import Pair

Panel = dict[str, Any]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 24  # Grafana's grid
HEIGHT = 8
SCHEMA_VERSION = 39


def render_dashboard(svc: ServiceRules) -> str:
    """The dashboard as JSON text, deterministic: the same specs give the same bytes."""
    return json.dumps(dashboard(svc), indent=2, ensure_ascii=False) + "\n"


def dashboard(svc: ServiceRules) -> dict[str, Any]:
    service = svc.service
    panels: list[Panel] = []
    y = 0
    for rules in svc.slos:
        rows = slo_panels(rules)
        for panel in rows:
            panel["id"] = len(panels) + 1
            panels.append(panel)
        y = _layout(rows, y)
    return {
        "title": f"SLOs: {service}",
        "uid": f"slo-gen-{re.sub(r'[^a-zA-Z0-9-]', '-', service)}"[:40],
        "tags": ["slo", "slo-gen"],
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [{"name": "datasource", "label": "Prometheus",
                                 "type": "datasource", "query": "prometheus"}]},
        "annotations": {"list": []},
        "panels": panels,
    }


def slo_panels(rules: SLORules) -> list[Panel]:
    spec, slo, p = rules.spec, rules.slo, rules.plan
    ident = dict(rules.identity)
    title = (f"{spec.service} / {slo.name}: {format_number(slo.objective)}% over "
             f"{format_duration(slo.period)}")
    panels = [{"type": "row", "title": title, "collapsed": False, "panels": []}]
    panels.append(_timeseries(
        "Error ratio by window (dashed: the error budget)",
        [_target(promql.series(promql.error_ratio_name(w), ident), format_duration(w))
         for w in p.windows] + [_target(promql.series(promql.ERROR_BUDGET, ident), "budget")],
        unit="percentunit", dashed="budget"))
    panels.append(_timeseries(
        "Error budget remaining over the period",
        [_target(promql.series(promql.BUDGET_REMAINING, ident), "remaining")],
        unit="percentunit", steps=[("red", None), ("orange", 0), ("green", 0.25)]))
    panels.append(_stat("Burn rate now (5m) and over the period", [
        _target(promql.series(promql.CURRENT_BURN, ident), "now"),
        _target(promql.series(promql.PERIOD_BURN, ident), "period")]))
    for severity, pairs in (("page", p.page), ("ticket", p.ticket)):
        panels += [_burn_panel(severity, pair, ident, slo.error_budget) for pair in pairs]
    panels.append(_alerts_panel(rules))
    return panels


def _burn_panel(severity: str, pair: Pair, ident: dict[str, str], budget: Decimal) -> Panel:
    w = pair.window
    factor = float(w.factor)
    windows = (w.long,) if w.single else (w.long, w.short)
    targets = [_target(promql.burn_rate(promql.series(promql.error_ratio_name(x), ident),
                                        budget), format_duration(x))
               for x in windows]
    return _timeseries(
        f"{severity.capitalize()} burn rate {'/'.join(format_duration(x) for x in windows)} "
        f"(tier {w.tier}, alert at {format_number(w.factor)}x)",
        targets, unit="none", steps=[("green", None), ("red", factor)], line=True)


def _alerts_panel(rules: SLORules) -> Panel:
    """Every alert the rules raise for this SLO (a disabled page or ticket alert is none)."""
    names = [a.alert for a in rules.alerts]
    pattern = "|".join(dict.fromkeys(re.escape(n) for n in names))
    expr = f'ALERTS{{alertname=~"{pattern}",alertstate="firing"}}'
    return {"type": "state-timeline", "title": "Firing alerts", "datasource": DATASOURCE,
            "targets": [_target(expr, "{{alertname}} {{severity}}")],
            "fieldConfig": {"defaults": {"color": {"mode": "fixed", "fixedColor": "red"}},
                            "overrides": []},
            "options": {"showValue": "never", "mergeValues": True}}


def _target(expr: str, legend: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ""}


def _thresholds(steps: list[tuple[str, float | None]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _timeseries(title: str, targets: list[dict[str, Any]], unit: str,
                steps: list[tuple[str, float | None]] | None = None, line: bool = False,
                dashed: str | None = None) -> Panel:
    defaults: dict[str, Any] = {"unit": unit, "custom": {
        "thresholdsStyle": {"mode": "line" if line else "off"}}}
    if steps:
        defaults["thresholds"] = _thresholds(steps)
    overrides = []
    if dashed:
        overrides.append({"matcher": {"id": "byName", "options": dashed}, "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]})
    return {"type": "timeseries", "title": title, "datasource": DATASOURCE,
            "targets": _ref_ids(targets),
            "fieldConfig": {"defaults": defaults, "overrides": overrides}}


def _stat(title: str, targets: list[dict[str, Any]]) -> Panel:
    return {"type": "stat", "title": title, "datasource": DATASOURCE,
            "targets": _ref_ids(targets),
            "fieldConfig": {"defaults": {"unit": "none", "decimals": 2,
                                         "thresholds": _thresholds([("green", None),
                                                                    ("red", 1)])},
                            "overrides": []}}


def _ref_ids(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)]


def _layout(panels: list[Panel], y: int) -> int:
    """A row header, then panels three to a line; returns the next free y."""
    x = 0
    for panel in panels:
        if panel["type"] == "row":
            panel["gridPos"] = {"h": 1, "w": WIDTH, "x": 0, "y": y}
            y += 1
            continue
        if panel["type"] == "state-timeline":
            if x:
                y += HEIGHT
            panel["gridPos"] = {"h": HEIGHT // 2, "w": WIDTH, "x": 0, "y": y}
            y += HEIGHT // 2
            x = 0
            continue
        panel["gridPos"] = {"h": HEIGHT, "w": WIDTH // 3, "x": x, "y": y}
        x += WIDTH // 3
        if x >= WIDTH:
            x, y = 0, y + HEIGHT
    return y + (HEIGHT if x else 0)
