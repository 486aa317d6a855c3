"""What the status pages show, as data: the overview and one SLO's detail with its charts.

Everything is read at one instant (``?time=`` or now) through :mod:`slo.status`, so the page
shows the same figures ``slo-gen status --output json`` gives for that instant. The charts add
range queries of the same recorded series; each query is kept with its purpose for the list
at the bottom of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from slo.model.durations import format_duration
from slo.model.windows import BASE_WINDOW
from slo.serve.charts import Chart, Line, Threshold, chart
from slo.status.api import PrometheusAPI
from slo.status.evaluate import SLOStatus, Snapshot
from slo.status.targets import Query, Target

RANGES = {"6h": 6 * 3600, "1d": 86400}
POINTS = 240  # samples per chart line: enough for a smooth line, cheap to ask for


@dataclass(frozen=True)
class Detail:
    row: SLOStatus
    range_name: str
    start: float
    end: float
    charts: tuple[Chart, ...]
    queries: tuple[Query, ...]


def range_seconds(name: str, target: Target) -> int | None:
    if name == "period":
        return target.slo.period
    return RANGES.get(name)


def find_row(snapshot: Snapshot, service: str, slo: str, group: str) -> SLOStatus | None:
    for row in snapshot.rows:
        key = ",".join(f"{k}={v}" for k, v in row.group)
        if row.target.service == service and row.target.slo.name == slo and key == group:
            return row
    return None


def _series(api: PrometheusAPI, row: SLOStatus, expr: str, start: float, end: float,
            step: float) -> tuple[tuple[float, float], ...]:
    group = dict(row.group)
    for s in api.query_range(expr, start, end, step):
        if all(s.labels.get(k, "") == v for k, v in group.items()):
            return s.points
    return ()


def detail(api: PrometheusAPI, row: SLOStatus, at: float, range_name: str) -> Detail:
    target = row.target
    seconds = range_seconds(range_name, target) or RANGES["6h"]
    start, end = at - seconds, at
    step = max(1.0, round(seconds / POINTS))
    period_step = max(1.0, round(target.slo.period / POINTS))
    queries: list[Query] = []

    def ask(purpose: str, expr: str, first: float, s: float) -> tuple[tuple[float, float], ...]:
        queries.append(Query(f"{purpose} (range query, step {s:g}s)", expr))
        return _series(api, row, expr, first, end, s)

    period_start = at - target.slo.period
    remaining = ask("error budget remaining over the period", target.budget_remaining,
                    period_start, period_step)
    burn_down = chart(f"Error budget remaining, last {format_duration(target.slo.period)}",
                      [Line("budget remaining", remaining)], period_start, end,
                      unit="percent", y_max=1.0,
                      thresholds=[Threshold("spent", 0.0)])
    sli_points = ask("SLI over 5m: 1 - this", target.ratio(BASE_WINDOW), start, step)
    objective = float(target.slo.objective_ratio)
    sli_values = [1 - v for _, v in sli_points]
    shown = range_name if range_name != "period" else format_duration(target.slo.period)
    sli = chart(f"SLI over 5m, last {shown}",
                [Line("SLI (5m)", tuple((t, 1 - v) for t, v in sli_points))], start, end,
                unit="percent", y_min=min([objective - 2 * (1 - objective), *sli_values]),
                y_max=1.0,
                thresholds=[Threshold(f"objective {float(target.slo.objective):g}%",
                                      objective)])
    burn_lines = []
    for w in sorted({BASE_WINDOW, *target.alert_windows}):
        points = ask(f"burn rate over {format_duration(w)}", target.burn_rate(w), start, step)
        burn_lines.append(Line(f"{format_duration(w)}", points))
    tiers = [Threshold(f"{t.name}: {t.windows} at {t.factor}x",
                       float(t.factor)) for t in target.tiers]
    burn = chart(f"Burn rate per window, last {shown}", burn_lines, start, end,
                 unit="burn", thresholds=tiers)
    return Detail(row, range_name, start, end, (burn_down, sli, burn), tuple(queries))
