"""One ``slo-gen status`` run: ask, evaluate, print, and the exit status of the gate.

Exit statuses, for CI: 0 every condition is false (or none given); 1 a ``--fail-if``
condition holds for some SLO (each such SLO is named); 2 the answer cannot be trusted: the API
could not be reached or answered an error, a figure a condition needs is missing, or the input
was wrong (spec, ``--fail-if``). 2 is never "healthy", and 1 always means "a condition held".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from slo.errors import UserError
from slo.model.naming import Naming
from slo.model.spec import ServiceSpec
from slo.status import api, report
from slo.status.conditions import parse_fail_if
from slo.status.evaluate import Snapshot, evaluate
from slo.status.targets import Target, targets

OK, TRIPPED, UNKNOWN = 0, 1, 2


@dataclass(frozen=True)
class Sources:
    """Where the figures come from: the query API, the alerts API (the same unless told,
    vmalert's beside VictoriaMetrics) and optionally Alertmanager."""

    prometheus: str
    alerts: str | None = None
    alertmanager: str | None = None


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: list[str]
    code: int


def check_sources(sources: Sources) -> None:
    api.check_url(sources.prometheus, "--prometheus")
    if sources.alerts:
        api.check_url(sources.alerts, "--alerts-api")
    if sources.alertmanager:
        api.check_url(sources.alertmanager, "--alertmanager")


def slo_targets(specs: list[ServiceSpec], naming: Naming) -> list[Target]:
    found = targets(specs, naming)
    if not found:
        names = ", ".join(s.source for s in specs) or "the specs given"
        raise UserError(f"{names}: no SLOs to show (the spec declares none)")
    return found


def snapshot(specs: list[ServiceSpec], naming: Naming, sources: Sources,
             at: float | None = None) -> Snapshot:
    """Every SLO's figures now (or ``at``); :class:`slo.status.api.Unavailable` otherwise."""
    found = slo_targets(specs, naming)
    am = api.alertmanager_alerts(sources.alertmanager) if sources.alertmanager else None
    when = round(time.time() if at is None else at, 3)
    alerts = api.PrometheusAPI(sources.alerts) if sources.alerts else None
    snap = evaluate(api.PrometheusAPI(sources.prometheus), found, when, am, alerts)
    return Snapshot(snap.at, snap.prometheus, snap.rows, snap.queries, sources.alertmanager)


def run(specs: list[ServiceSpec], naming: Naming, sources: Sources, output: str,
        fail_if: tuple[str, ...], colour: bool, at: float | None = None) -> Outcome:
    """Raises UserError (bad input) and api.Unavailable; the CLI maps both to exit 2.

    Alerts are always the API's current ones (``/api/v1/alerts`` has no past); ``at`` moves
    only the figures."""
    check_sources(sources)
    conditions = parse_fail_if(fail_if, slo_targets(specs, naming))
    snap = snapshot(specs, naming, sources, at)
    trips, unknown = report.gate(snap, conditions)
    text = (report.as_json(snap, trips, unknown) if output == "json"
            else report.table(snap, colour))
    errors = [f"fail: {t.row.name}: {t.condition} (it is {t.value:g})" for t in trips]
    errors += [f"error: {u.row.name}: cannot tell whether {u.condition}: {u.reason}"
               for u in unknown]
    code = UNKNOWN if unknown else TRIPPED if trips else OK
    return Outcome(text, errors, code)
