"""Line charts as inline SVG, drawn on the server: no JavaScript, no charting library.

A chart is a few polylines over a UTC time axis, with optional horizontal threshold lines
(the alert tiers' burn rates). Coordinates are computed here and the SVG text is laid out by
the ``serve/chart.svg.j2`` template; gaps in a series (no sample) break its line rather than
joining across the gap, so "no data" never looks like a straight trend.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 30
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[tuple[float, float], ...]  # (unix seconds, value)


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float


@dataclass(frozen=True)
class Path:
    label: str
    colour: str
    segments: tuple[str, ...]  # SVG polyline "x,y x,y ..." per unbroken run


@dataclass(frozen=True)
class Tick:
    at: float  # pixel
    text: str


@dataclass(frozen=True)
class Rule:
    label: str
    y: float


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    paths: tuple[Path, ...]
    rules: tuple[Rule, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    empty: bool
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _nice(span: float) -> float:
    """A 1-2-5 step giving about four ticks over ``span``."""
    raw = span / 4 if span > 0 else 1.0
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * 10 ** exp >= raw:
            return float(m * 10 ** exp)
    return float(10 ** (exp + 1))


def _format_value(value: float, unit: str, step: float) -> str:
    """As many decimals as the tick step needs, so neighbouring ticks never read the same."""
    scale = 100 if unit == "percent" else 1
    digits = max(0, -math.floor(math.log10(step * scale) + 1e-9))
    text = f"{value * scale:.{digits}f}"
    return text + ("%" if unit == "percent" else "x" if unit == "burn" else "")


def _time_ticks(start: float, end: float) -> list[tuple[float, str]]:
    span = end - start
    steps = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400,
             5 * 86400, 7 * 86400)
    step = next((s for s in steps if span / s <= 6), steps[-1])
    first = math.ceil(start / step) * step
    fmt = "%H:%M" if step < 86400 else "%m-%d"
    out: list[tuple[float, str]] = []
    t = float(first)
    while t <= end:
        out.append((t, datetime.fromtimestamp(t, UTC).strftime(fmt)))
        t += step
    return out


def chart(title: str, lines: list[Line], start: float, end: float, unit: str = "",
          thresholds: list[Threshold] | None = None, y_min: float | None = None,
          y_max: float | None = None) -> Chart:
    """Scale ``lines`` (and threshold rules) into the plot area between ``start`` and ``end``."""
    thresholds = thresholds or []
    values = [v for line in lines for _, v in line.points if math.isfinite(v)]
    lo = min([*values, *(t.value for t in thresholds)], default=0.0) if y_min is None else y_min
    hi = max([*values, *(t.value for t in thresholds)], default=1.0) if y_max is None else y_max
    if y_min is None:
        lo = min(lo, 0.0)
    if hi - lo < 1e-9:  # a flat line (or one sample): give it a unit of room
        hi = lo + 1.0
    step = _nice(hi - lo)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP
    span = max(end - start, 1e-9)

    def x(t: float) -> float:
        return round(x0 + (t - start) / span * (x1 - x0), 1)

    def y(v: float) -> float:
        return round(y0 - (v - lo) / (hi - lo) * (y0 - y1), 1)

    paths = []
    for i, line in enumerate(lines):
        segments: list[str] = []
        run: list[str] = []
        gap = _gap(line.points)
        prev = None
        for t, v in line.points:
            if not math.isfinite(v) or not start <= t <= end:
                continue
            if prev is not None and t - prev > gap and run:
                segments.append(" ".join(run))
                run = []
            run.append(f"{x(t)},{y(min(max(v, lo), hi))}")
            prev = t
        if run:
            segments.append(" ".join(run))
        paths.append(Path(line.label, PALETTE[i % len(PALETTE)], tuple(segments)))
    ticks = []
    v = lo
    while v <= hi + step / 2:
        ticks.append(Tick(y(v), _format_value(v, unit, step)))
        v += step
    return Chart(title, WIDTH, HEIGHT, tuple(paths),
                 tuple(Rule(t.label, y(t.value)) for t in thresholds if lo <= t.value <= hi),
                 tuple(Tick(x(t), text) for t, text in _time_ticks(start, end)),
                 tuple(ticks), empty=not values)


def _gap(points: tuple[tuple[float, float], ...]) -> float:
    """More than twice the usual spacing between samples counts as a gap."""
    if len(points) < 2:
        return math.inf
    steps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    return 2.5 * steps[len(steps) // 2]
