"""The validated SLO model: frozen dataclasses shared by the generator and the exporter.

Nothing here reads files; :mod:`slo.loader` turns YAML into these objects and reports every
problem it finds. Objectives and factors are Decimals so that ``99.5`` stays ``99.5``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from slo.selectors import Selector

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

        return floatToGoString(self.le)


SLI = EventsSLI | LatencySLI


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window pair: alert when both windows burn at ``factor`` times the budget rate."""

    severity: str  # "page" or "ticket"
    long: int  # seconds
    short: int  # seconds
    factor: Decimal


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


@dataclass(frozen=True)
class ExtraSeries:
    """A named recording rule the runbook queries, written with ``${...}`` placeholders."""

    record: str
    expr: str
    unit: str
    description: str = ""


@dataclass(frozen=True)
class AlertTest:
    """How the generated promtool test makes an extra alert fire: an error ratio held for a time."""

    error_ratio: Decimal
    firing_after: int  # seconds after the errors start


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

    @property
    def objective_ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def error_budget(self) -> Decimal:
        """Allowed error ratio over the period: ``1 - objective``."""
        return (100 - self.objective) / 100


@dataclass(frozen=True)
class ServiceSpec:
    """One spec document: a service and its SLOs. ``source`` is the file it came from."""

    source: str
    service: str
    slos: tuple[SLO, ...]
    labels: Labels = field(default=())
