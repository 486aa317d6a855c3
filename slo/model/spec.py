"""The validated SLO model: frozen dataclasses shared by the generator and the exporter.

Nothing here reads files; :mod:`slo.readers.load` turns YAML into these objects and reports every
problem it finds. Objectives and factors are Decimals so that ``99.5`` stays ``99.5``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from slo.model.alertmanager import AlertmanagerSpec
from slo.model.conditions import Decision
from slo.model.durations import format_duration
from slo.model.selectors import Selector

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EventsSLI:
    """Error events over total events, both counters."""

    errors: Selector
    total: Selector


@dataclass(frozen=True)
class LatencySLI:
    """Requests slower than ``le`` seconds are errors; ``le`` must be a histogram bucket bound."""

    histogram: Selector
    le: float

    @property
    def le_label(self) -> str:
        """The ``le`` label value as client libraries write it (``0.5``, ``1.0``, ``+Inf``)."""
        from prometheus_client.utils import floatToGoString

        return str(floatToGoString(self.le))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class GoodEventsSLI:
    """Error events are total events minus good events (OpenSLO's good/total ratio)."""

    good: Selector
    total: Selector


WINDOW_PLACEHOLDER = "{{.window}}"


@dataclass(frozen=True)
class QuerySLI:
    """Error and total events per second as PromQL written by the user (Sloth, OpenSLO).

    Each is a template holding ``{{.window}}`` where the range goes, e.g.
    ``sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))``; the generator substitutes
    the window and keeps the user's rate-then-sum as written. Simple ``sum(rate(selector))``
    shapes never get here: readers turn those into :class:`EventsSLI`, whose selectors let the
    test generator synthesize input.
    """

    errors: str
    total: str

    def errors_at(self, window: str) -> str:
        return self.errors.replace(WINDOW_PLACEHOLDER, window)

    def total_at(self, window: str) -> str:
        return self.total.replace(WINDOW_PLACEHOLDER, window)


@dataclass(frozen=True)
class RatioQuerySLI:
    """An error ratio written directly as PromQL with ``{{.window}}`` (Sloth's raw SLI).

    Without event counts the long windows can only weigh every evaluation alike: they are the
    time-weighted mean of the 5-minute ratio over the samples that exist (still NaN-free).
    """

    error_ratio: str

    def at(self, window: str) -> str:
        return self.error_ratio.replace(WINDOW_PLACEHOLDER, window)


SLI = EventsSLI | LatencySLI | GoodEventsSLI | QuerySLI | RatioQuerySLI
PromQLSLI = QuerySLI | RatioQuerySLI  # SLIs whose raw inputs the test generator cannot synthesize


@dataclass(frozen=True)
class BurnWindow:
    """One alert tier: a window pair (or one window) burning at ``factor`` times the budget rate.

    Every tier is its own alert rule carrying a stable tier label (``slo_tier: page-1h``), so a
    notification says which pair fired and Alertmanager can inhibit a slower tier by a faster
    one. ``short == long`` is a single window: the fast page's tiers, where ``for_`` (not a
    second window) is what tells a sustained error rate from a blip. ``None`` in ``for_``
    takes the severity's route default; labels and annotations are added to the route's.
    """

    severity: str  # "page" or "ticket"
    long: int  # seconds
    short: int  # seconds; == long for a single-window tier
    factor: Decimal
    name: str = ""  # the tier label's value; "" -> "<severity>-<long>", e.g. "page-1h"
    for_: int | None = None  # seconds
    labels: Labels = ()
    annotations: Labels = ()
    min_events: int = 0  # events the long window must hold before this tier may fire

    @property
    def tier(self) -> str:
        return self.name or f"{self.severity}-{format_duration(self.long)}"

    @property
    def single(self) -> bool:
        return self.short == self.long


@dataclass(frozen=True)
class AlertRoute:
    """Name, labels and annotations of one generated alert (page, ticket or absent-data)."""

    name: str
    labels: Labels = ()
    annotations: Labels = ()
    for_: int = 0  # seconds


@dataclass(frozen=True)
class Alerting:
    runbook_url: str
    page: AlertRoute
    ticket: AlertRoute
    absent: AlertRoute
    windows: tuple[BurnWindow, ...]
    min_request_rate: Decimal = Decimal(0)  # requests per second over 5m; 0 disables the guard
    # Default tiers left out because they could never fire (factor x budget >= 1): the spec
    # did not ask for them, so the rule file says so in a note instead of refusing the SLO.
    omitted: tuple[BurnWindow, ...] = ()


@dataclass(frozen=True)
class ExtraSeries:
    """A named recording rule the runbook queries, written with ``${...}`` placeholders."""

    record: str
    expr: str
    unit: str
    description: str = ""


@dataclass(frozen=True)
class TestInput:
    """One series an extra alert's test feeds instead of the SLI: a counter (a ``_total`` name,
    values in events per minute) or a gauge (values as levels), healthy and then in trouble."""

    selector: Selector
    healthy: Decimal
    trouble: Decimal

    @property
    def counter(self) -> bool:
        return self.selector.metric.endswith("_total")


@dataclass(frozen=True)
class AlertTest:
    """How the generated promtool test makes an extra alert fire: an error ratio of the SLI held
    for a time, or, for an alert on other series (a dependency's), those series' values."""

    error_ratio: Decimal
    firing_after: int  # seconds after the errors start
    inputs: tuple[TestInput, ...] = ()


@dataclass(frozen=True)
class ExtraAlert:
    alert: str
    expr: str
    for_: int
    labels: Labels
    annotations: Labels
    test: AlertTest


@dataclass(frozen=True)
class SLO:
    name: str
    description: str
    objective: Decimal  # percent, 0 < x < 100
    period: int  # seconds
    sli: SLI
    alerting: Alerting
    group_by: tuple[str, ...] = ()
    series: tuple[ExtraSeries, ...] = ()
    alerts: tuple[ExtraAlert, ...] = ()
    labels: Labels = ()  # added to this SLO's series and alerts (Sloth's and OpenSLO's SLO labels)
    decisions: tuple[Decision, ...] = ()  # the runbook's, said by slo-gen status and serve

    @property
    def objective_ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def error_budget(self) -> Decimal:
        return error_budget(self.objective)


def error_budget(objective: Decimal) -> Decimal:
    """Allowed error ratio over the period for an objective in percent: ``1 - objective``
    (99.5 gives exactly 0.005: Decimal keeps the thresholds derived from it exact)."""
    return (100 - objective) / 100


@dataclass(frozen=True)
class Note:
    """Something a reader assumed or decided that the input did not say (OpenSLO's optional
    ``timeWindow``), located like a problem; ``slo-gen validate`` and ``render`` print it and
    the rendered rule file carries it as a comment, so an assumption is never silent."""

    path: str  # e.g. "SLO checkout: spec.timeWindow"
    message: str


@dataclass(frozen=True)
class ServiceSpec:
    """One spec document: a service and its SLOs. ``source`` is the file it came from."""

    source: str
    service: str
    slos: tuple[SLO, ...]
    labels: Labels = field(default=())
    alertmanager: AlertmanagerSpec = field(default=AlertmanagerSpec())  # delivery
    # Where each SLO is in the input, as that format spells it and with its document
    # ("document 2: spec.slos[0]"): problems found across specs after reading (the same SLO
    # twice) point there. Empty: "slos[i]".
    slo_paths: tuple[str, ...] = field(default=())
    notes: tuple[Note, ...] = field(default=())  # what the reader assumed (see Note)

    def slo_path(self, index: int) -> str:
        return self.slo_paths[index] if index < len(self.slo_paths) else f"slos[{index}]"

    def note_lines(self, source: str | None = None) -> list[str]:
        """``<file>: <path>: <message>`` per note (``source`` in place of the file's path)."""
        return [f"{source or self.source}: {n.path}: {n.message}" for n in self.notes]
