"""Which label names identify an SLO's series and alerts: slo-gen's own, or Sloth's.

The rules are the same either way; only the names differ. Sloth's Grafana dashboards select on
``sloth_service``/``sloth_slo``/``sloth_id``, split windows on ``sloth_window``, tell page from
ticket alerts by ``sloth_severity`` and list SLOs from ``sloth_slo_info``, so ``--sloth-compat``
renders those names and that info series.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    service: str
    slo: str
    window: str
    id: str | None = None  # one label naming the SLO across services (Sloth's ``sloth_id``)
    severity: str | None = None  # added to burn-rate alerts: ``page`` or ``ticket``
    info: str | None = None  # a constant info series per SLO, for dashboards' SLO pickers
    # On every burn-rate alert: which tier (window pair) fired, e.g. ``page-1h``. Alertmanager
    # matches on it (a faster page tier inhibits a slower one); Sloth has no such label, so
    # both namings use this one.
    tier: str = "slo_tier"
    # Windows recorded for every SLO whatever its alerts read (seconds; those longer than the
    # period are left out): Sloth records 5m to 3d for each SLO, and its dashboards read them
    # even when both alerts are disabled.
    dashboard_windows: tuple[int, ...] = ()

    def identity(self, service: str, slo: str) -> dict[str, str]:
        """The labels that tell one SLO's series from every other's, in output order."""
        ident = {self.id: f"{service}-{slo}"} if self.id else {}
        return {**ident, self.service: service, self.slo: slo}

    def info_labels(self, objective: str) -> dict[str, str]:
        """Labels of the info series beyond the SLO's own (Sloth's dashboards show these)."""
        return {"sloth_objective": objective, "sloth_mode": "slo-gen"} if self.info else {}

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(n for n in (self.service, self.slo, self.window, self.id,
                                     self.severity, self.tier) if n)


NATIVE = Naming("slo_service", "slo_name", "slo_window")
SLOTH = Naming("sloth_service", "sloth_slo", "sloth_window", id="sloth_id",
               severity="sloth_severity", info="sloth_slo_info",
               dashboard_windows=(300, 1800, 3600, 7200, 21600, 86400, 259200))
# Spec labels may use neither scheme's names, so either rendering stays unambiguous.
RESERVED = NATIVE.labels | SLOTH.labels | {"alertname"}
