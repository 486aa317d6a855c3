"""Sloth ``prometheus/v1`` specs (and the ``PrometheusServiceLevel`` CRD's ``spec``), read into
:mod:`slo.model.spec` objects as strictly as our own format.

What maps how:

- The CRD spells its fields as Kubernetes does (``errorQuery``, ``totalQuery``,
  ``errorRatioQuery``, ``pageAlert``, ``ticketAlert``), the plain spec in snake_case; each
  format's own spelling is the only one it accepts.
- ``service``, ``labels``, ``slos[].name/objective/description/labels`` map one to one; the
  period is Sloth's 30 days and the alert windows are Sloth's (the SRE workbook's): page on
  1h/5m at 14.4x or 6h/30m at 6x, ticket on 1d/2h at 3x or 3d/6h at 1x.
- ``sli.events`` queries of the shape ``sum(rate(selector[{{.window}}]))`` become selector SLIs
  (rules identical to a native spec's); other queries are rendered as written.
  ``sli.raw.error_ratio_query`` is a ratio SLI.
- Plugins are Go code slo-gen does not run: ``sli.plugin`` and each entry of an SLO plugin
  chain (``slo_plugins``/``sloPlugins``, ``slos[].plugins``) is one problem naming the plugin's
  id and what to write instead. The other format's spelling of ``page_alert``/``ticket_alert``
  is refused with Sloth's own behaviour as the reason: Sloth ignores it.
- Alerts keep Sloth's identity: page and ticket are both named ``alerting.name`` and told apart
  by ``sloth_severity``, with ``alerting`` labels and annotations under each alert's own, so
  Alertmanager routes keep matching. ``disable: true`` leaves that alert out. As in every
  slo-gen spec, an absent-data alert (``<name>SLIAbsent``) comes with them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slo.model.durations import parse_duration
from slo.model.naming import RESERVED
from slo.model.spec import (
    SLI,
    SLO,
    Alerting,
    AlertRoute,
    RatioQuerySLI,
    ServiceSpec,
    error_budget,
)
from slo.readers.common import (
    ALERT_NAME,
    DEFAULT_ABSENT_FOR,
    DEFAULT_PERIOD,
    NAME,
    burn_windows,
    camel,
    never_firing_defaults,
    slo_head,
)
from slo.readers.fields import Fields, join
from slo.readers.promql import QueryError, events_sli, template

VERSION = "prometheus/v1"
CRD_API_VERSION = "sloth.slok.dev/v1"
CRD_KIND = "PrometheusServiceLevel"
SEVERITY_LABEL = "sloth_severity"
PERIOD = parse_duration(DEFAULT_PERIOD)  # Sloth's default; its specs cannot set another
# The field names that differ between the plain spec and the CRD (Sloth's
# pkg/kubernetes/api/sloth/v1 types: JSON names in camelCase)
PLAIN_KEYS = {k: k for k in ("error_query", "total_query", "error_ratio_query", "page_alert",
                             "ticket_alert", "slo_plugins")}
CRD_KEYS = {"error_query": "errorQuery", "total_query": "totalQuery",
            "error_ratio_query": "errorRatioQuery", "page_alert": "pageAlert",
            "ticket_alert": "ticketAlert", "slo_plugins": "sloPlugins"}
# What to do instead of each Sloth SLO plugin slo-gen knows of (Sloth's internal/plugin/slo);
# any other id is the user's own Go code.
PLUGIN_ADVICE = {
    "sloth.dev/core/debug/v1": "it only logs in Sloth: remove it",
    "sloth.dev/core/noop/v1": "it does nothing: remove it",
    "sloth.dev/core/validate/v1": "slo-gen validates every spec itself: remove it",
    "sloth.dev/core/sli_rules/v1": "slo-gen renders the SLI rules itself: remove it",
    "sloth.dev/core/metadata_rules/v1": "slo-gen renders the metadata rules itself: remove it",
    "sloth.dev/core/alert_rules/v1": "slo-gen renders the burn-rate alerts itself: remove it",
    "sloth.dev/contrib/denominator_corrected_rules/v1":
        "slo-gen's window and period ratios are already weighted by events: remove it",
    "sloth.dev/contrib/error_budget_exhausted_alert/v1":
        "move the SLO to a slo-gen spec and add the alert under alerts[] "
        "(on slo:period_error_budget_remaining:ratio)",
    "sloth.dev/contrib/info_labels/v1": "put those labels in the SLO's labels",
    "sloth.dev/contrib/remove_labels/v1": "leave those labels out of the spec's labels",
    "sloth.dev/contrib/rule_intervals/v1": "slo-gen sets the group intervals itself: remove it",
    "sloth.dev/contrib/validate_victoria_metrics/v1":
        "slo-gen renders PromQL for Prometheus only: remove it",
}
CUSTOM_PLUGIN = "it is Go code slo-gen does not run: write the rules it adds into a slo-gen " \
    "spec (series[], alerts[]) or remove it"
SLO_PLUGINS = "Sloth SLO plugins cannot run in slo-gen (they are Go code over Sloth's rules): " \
    "remove this block"


def _plugin_chain(fields: Fields, value: Any, path: str) -> None:
    """One problem per plugin of a Sloth SLO plugin chain, naming its id and what to do
    instead: Sloth runs each as Go code over its generated rules, which slo-gen cannot."""
    chain = value.get("chain") if isinstance(value, dict) else None
    if not isinstance(chain, list) or not chain:
        fields.fail(path, SLO_PLUGINS)
        return
    for i, plugin in enumerate(chain):
        where = join(join(path, "chain"), i)
        pid = plugin.get("id") if isinstance(plugin, dict) else None
        if not isinstance(pid, str) or not pid:
            fields.fail(where, SLO_PLUGINS)
            continue
        fields.fail(where, f"Sloth SLO plugin {pid!r} cannot run in slo-gen: "
                    f"{PLUGIN_ADVICE.get(pid, CUSTOM_PLUGIN)}")



def parse_sloth(fields: Fields, doc: dict[str, Any], root: str = "",
                keys: dict[str, str] = PLAIN_KEYS) -> ServiceSpec | None:
    """A ``version: prometheus/v1`` document, or the ``spec`` of the Kubernetes CRD (``root``
    is then ``spec`` and ``keys`` the CRD's spelling, so problems name the field as it is in
    the user's file)."""
    required = ("service", "slos") if root else ("version", "service", "slos")
    m = fields.mapping(doc, root, required=required, optional=("labels", keys["slo_plugins"]))
    if m is None:
        return None
    if keys["slo_plugins"] in m:
        _plugin_chain(fields, m[keys["slo_plugins"]], join(root, keys["slo_plugins"]))
    service = fields.string(m.get("service"), join(root, "service"), NAME,
                            "a service name (lowercase letters, digits, '-' and '_')")
    labels = fields.labels(m.get("labels"), join(root, "labels"), RESERVED)
    slos = []
    items = fields.sequence(m.get("slos"), join(root, "slos"))
    if items is not None and not items:
        fields.fail(join(root, "slos"), "must list at least one SLO")
    for i, item in enumerate(items or []):
        slo = _slo(fields, item, join(join(root, "slos"), i), service or "service", keys)
        if slo is not None:
            slos.append(slo)
    if service is None or fields.problems:
        return None
    paths = tuple(": ".join(p for p in (fields.prefix, join(join(root, "slos"), i)) if p)
                  for i in range(len(slos)))
    return ServiceSpec(fields.file, service, tuple(slos), tuple(sorted(labels.items())),
                       slo_paths=paths)


def parse_crd(fields: Fields, doc: dict[str, Any]) -> ServiceSpec | None:
    # status is written by Sloth's controller (kubectl get -o yaml shows it): nothing to read
    m = fields.mapping(doc, "", required=("apiVersion", "kind", "spec"),
                       optional=("metadata", "status"))
    if m is None:
        return None
    if m["kind"] == "AlertWindows":
        fields.fail("kind", "Sloth AlertWindows cannot be read: slo-gen derives each SLO's burn "
                    "windows from its period; a slo-gen spec sets them per SLO "
                    "(alerting.windows)")
        return None
    if m["kind"] != CRD_KIND:
        fields.fail("kind", f"{m['kind']!r} is not {CRD_KIND!r}")
        return None
    return parse_sloth(fields, m["spec"], "spec", CRD_KEYS)


def _slo(fields: Fields, value: Any, path: str, service: str, keys: dict[str, str]
         ) -> SLO | None:
    m = fields.mapping(value, path, required=("name", "objective", "sli"),
                       optional=("description", "labels", "alerting", "plugins"))
    if m is None:
        return None
    before = len(fields.problems)
    if "plugins" in m:
        _plugin_chain(fields, m["plugins"], join(path, "plugins"))
    name, description, objective = slo_head(fields, m, path)
    labels = fields.labels(m.get("labels"), join(path, "labels"), RESERVED)
    sli = _sli(fields, m.get("sli"), join(path, "sli"), keys)
    alerting = None
    if name and objective is not None:
        alerting = _alerting(fields, m.get("alerting", {}), join(path, "alerting"),
                             camel(service) + camel(name), objective, PERIOD, keys)
    if len(fields.problems) > before or name is None or objective is None or sli is None \
            or alerting is None:
        return None
    return SLO(name, description, objective, PERIOD, sli[0], alerting, sli[1],
               labels=tuple(sorted(labels.items())))


def _query(fields: Fields, value: Any, path: str) -> str | None:
    return fields.parsed(fields.text(value, path), path, template, QueryError)


def _sli(fields: Fields, value: Any, path: str, keys: dict[str, str]
         ) -> tuple[SLI, tuple[str, ...]] | None:
    m = fields.mapping(value, path, optional=("events", "raw", "plugin"))
    if m is None:
        return None
    if "plugin" in m:
        plugin = m["plugin"]
        pid = plugin.get("id") if isinstance(plugin, dict) else None
        what = f"Sloth SLI plugin {pid!r}" if isinstance(pid, str) and pid else "A Sloth SLI plugin"
        fields.fail(join(path, "plugin"), f"{what} cannot run in slo-gen (it is Go code that "
                    "writes the queries): write the queries it makes as 'events' "
                    f"({keys['error_query']}/{keys['total_query']}) or 'raw' "
                    f"({keys['error_ratio_query']})")
        return None
    if ("events" in m) == ("raw" in m):
        fields.fail(path, "needs exactly one of 'events' or 'raw'")
        return None
    if "raw" in m:
        p = join(path, "raw")
        key = keys["error_ratio_query"]
        raw = fields.mapping(m["raw"], p, required=(key,))
        if raw is None:
            return None
        ratio = _query(fields, raw[key], join(p, key))
        return None if ratio is None else (RatioQuerySLI(ratio), ())
    p = join(path, "events")
    error_key, total_key = keys["error_query"], keys["total_query"]
    ev = fields.mapping(m["events"], p, required=(error_key, total_key))
    if ev is None:
        return None
    errors = _query(fields, ev[error_key], join(p, error_key))
    total = _query(fields, ev[total_key], join(p, total_key))
    if errors is None or total is None:
        return None
    return events_sli(fields, errors, total, p)


def _alerting(fields: Fields, value: Any, path: str, default_base: str, objective: Decimal,
              period: int, keys: dict[str, str]) -> Alerting | None:
    other = CRD_KEYS if keys is PLAIN_KEYS else PLAIN_KEYS
    ignored = {other[k]: f"Sloth ignores this key: its alert settings never took effect; use "
               f"{keys[k]}" for k in ("page_alert", "ticket_alert")}
    m = fields.mapping(value, path, optional=("name", "labels", "annotations",
                                              keys["page_alert"], keys["ticket_alert"]),
                       refused=ignored)
    if m is None:
        return None
    name = None
    if "name" in m:
        name = fields.string(m["name"], join(path, "name"), ALERT_NAME,
                             "an alert name (any text without control characters)")
        if name is None:
            return None
    labels = fields.labels(m.get("labels"), join(path, "labels"), RESERVED)
    annotations = fields.labels(m.get("annotations"), join(path, "annotations"))
    routes = {}
    enabled = []
    for severity in ("page", "ticket"):
        key = keys[f"{severity}_alert"]
        default = f"{default_base}ErrorBudgetBurn{camel(severity)}"
        got = _route(fields, m.get(key, {}), join(path, key), name or default, severity,
                     labels, annotations)
        if got is None:
            return None
        routes[severity], on = got
        if on:
            enabled.append(severity)
    absent_labels = {**labels, **dict(routes["ticket"].labels)}
    del absent_labels[SEVERITY_LABEL]  # the absent alert is no burn-rate alert
    absent = AlertRoute(f"{name or default_base}SLIAbsent", tuple(sorted(absent_labels.items())),
                        (), fields.duration(DEFAULT_ABSENT_FOR, path) or 0)
    budget = error_budget(objective)
    windows = burn_windows(fields, None, path, budget, period)
    if windows is None:
        return None
    windows = tuple(w for w in windows if w.severity in enabled)
    omitted = tuple(w for w in never_firing_defaults(budget, period) if w.severity in enabled)
    for severity in enabled:
        key = keys[f"{severity}_alert"]
        if key in m and not any(w.severity == severity for w in windows):
            # asked for by name, and not one of its tiers could ever fire
            why = "; ".join(f"{w.tier}: {w.factor} x budget {budget} >= 1" for w in omitted
                            if w.severity == severity)
            fields.fail(join(path, key), f"objective {objective} leaves this alert no tier that "
                        f"could fire ({why}): set disable: true or raise the objective")
            return None
    return Alerting("", routes["page"], routes["ticket"], absent, windows, omitted=omitted)


def _route(fields: Fields, value: Any, path: str, name: str, severity: str,
           labels: dict[str, str], annotations: dict[str, str]
           ) -> tuple[AlertRoute, bool] | None:
    m = fields.mapping(value, path, optional=("disable", "labels", "annotations"))
    if m is None:
        return None
    disable = m.get("disable", False)
    if not isinstance(disable, bool):
        fields.fail(join(path, "disable"), "must be true or false")
        return None
    own = fields.labels(m.get("labels"), join(path, "labels"), RESERVED)
    notes = fields.labels(m.get("annotations"), join(path, "annotations"))
    merged = {**labels, **own, SEVERITY_LABEL: severity}
    return AlertRoute(name, tuple(sorted(merged.items())),
                      tuple(sorted({**annotations, **notes}.items()))), not disable
