"""The ``apiVersion: slo-gen/v1`` spec format, read strictly into :mod:`slo.model.spec` objects.

Unknown keys, wrong types, out-of-range objectives, windows the period cannot hold and burn
factors that can never fire are all problems, recorded with their field path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slo.model.conditions import ConditionError, Decision, parse_condition
from slo.model.naming import RESERVED
from slo.model.numbers import format_number
from slo.model.placeholders import PlaceholderError, parse_placeholders
from slo.model.selectors import METRIC_NAME, Selector, SelectorError, parse_selector
from slo.model.spec import (
    SLO,
    Alerting,
    AlertRoute,
    AlertTest,
    EventsSLI,
    ExtraAlert,
    ExtraSeries,
    LatencySLI,
    ServiceSpec,
    TestInput,
    error_budget,
)
from slo.readers import tiers
from slo.readers.alertmanager import read_alertmanager
from slo.readers.common import (
    ALERT_NAME,
    DEFAULT_ABSENT_FOR,
    DEFAULT_PERIOD,
    NAME,
    burn_windows,
    camel,
    for_duration,
    group_by_labels,
    never_firing_defaults,
    slo_head,
)
from slo.readers.fields import Fields, join
from slo.readers.promql import QueryError, check_expr

API_VERSION = "slo-gen/v1"
UNITS = ("ratio", "percent", "burn_rate", "seconds", "count")
DEFAULT_TEST_AFTER = "15m"


def parse_native(fields: Fields, doc: dict[str, Any]) -> ServiceSpec | None:
    """An ``apiVersion: slo-gen/v1`` document."""
    m = fields.mapping(doc, "", required=("apiVersion", "service", "slos"),
                       optional=("labels", "alertmanager"))
    if m is None:
        return None
    service = fields.string(m.get("service"), "service", NAME,
                            "a service name (lowercase letters, digits, '-' and '_')")
    labels = fields.labels(m.get("labels"), "labels", RESERVED)
    slos: list[SLO] = []
    if "slos" in m:
        items = fields.sequence(m["slos"], "slos")
        if items is not None and not items:
            fields.fail("slos", "must list at least one SLO")
        for i, item in enumerate(items or []):
            slo = _slo(fields, item, f"slos[{i}]", service or "service")
            if slo is not None:
                slos.append(slo)
    # alert names are known only when every SLO was read; otherwise they are not checked
    delivery = read_alertmanager(fields, m.get("alertmanager"), "alertmanager",
                                 None if fields.problems else alert_names(slos))
    if service is None or delivery is None or fields.problems:
        return None
    paths = tuple(": ".join(p for p in (fields.prefix, f"slos[{i}]") if p)
                  for i in range(len(slos)))
    return ServiceSpec(fields.file, service, tuple(slos), tuple(sorted(labels.items())),
                       delivery, slo_paths=paths)


def alert_names(slos: list[SLO]) -> frozenset[str]:
    """Every alert name the SLOs' rules can emit: what an inhibition may name."""
    names = {a.alert for slo in slos for a in slo.alerts}
    names |= {getattr(slo.alerting, r).name for slo in slos for r in ("page", "ticket", "absent")}
    return frozenset(names)


def _slo(fields: Fields, value: Any, path: str, service: str) -> SLO | None:
    m = fields.mapping(value, path, required=("name", "objective", "sli"),
                       optional=("description", "period", "group_by", "alerting", "series",
                                 "alerts", "decisions"))
    if m is None:
        return None
    before = len(fields.problems)
    name, description, objective = slo_head(fields, m, path)
    period = fields.duration(m.get("period", DEFAULT_PERIOD), join(path, "period"))
    sli = _sli(fields, m.get("sli"), join(path, "sli"))
    group_by = group_by_labels(fields, m.get("group_by", []), join(path, "group_by"))
    alerting = None
    if name and objective is not None and period is not None:
        alerting = _alerting(fields, m.get("alerting", {}), join(path, "alerting"),
                             camel(service) + camel(name), objective, period)
    series = fields.each(m.get("series", []), join(path, "series"),
                         lambda v, p: _series(fields, v, p))
    alerts = fields.each(m.get("alerts", []), join(path, "alerts"),
                         lambda v, p: _alert(fields, v, p))
    decisions = fields.each(m.get("decisions", []), join(path, "decisions"),
                            lambda v, p: _decision(fields, v, p))
    if (len(fields.problems) > before or name is None or objective is None or period is None
            or sli is None or alerting is None):
        return None
    return SLO(name, description, objective, period, sli, alerting, group_by,
               tuple(series), tuple(alerts), decisions=tuple(decisions))


def _decision(fields: Fields, value: Any, path: str) -> Decision | None:
    """``{when: 'budget_used > 0.8', say: 'escalate now'}``: the runbook's call, in words."""
    m = fields.mapping(value, path, required=("when", "say"))
    if m is None:
        return None
    when = fields.parsed(fields.string(m.get("when"), join(path, "when")), join(path, "when"),
                         parse_condition, ConditionError)
    say = fields.string(m.get("say"), join(path, "say"))
    if when is None or not say:
        if say == "":
            fields.fail(join(path, "say"), "must not be empty")
        return None
    return Decision(when, say)


def _selector(fields: Fields, value: Any, path: str) -> Selector | None:
    return fields.parsed(fields.string(value, path), path, parse_selector, SelectorError)


def _sli(fields: Fields, value: Any, path: str) -> EventsSLI | LatencySLI | None:
    m = fields.mapping(value, path, optional=("events", "latency"))
    if m is None:
        return None
    if ("events" in m) == ("latency" in m):
        fields.fail(path, "needs exactly one of 'events' or 'latency'")
        return None
    if "events" in m:
        p = join(path, "events")
        e = fields.mapping(m["events"], p, required=("errors", "total"))
        if e is None:
            return None
        errors = _selector(fields, e.get("errors"), join(p, "errors"))
        total = _selector(fields, e.get("total"), join(p, "total"))
        if errors is None or total is None:
            return None
        return EventsSLI(errors, total)
    p = join(path, "latency")
    lat = fields.mapping(m["latency"], p, required=("histogram", "le"), optional=("buckets",))
    if lat is None:
        return None
    buckets = _buckets(fields, lat.get("buckets"), join(p, "buckets"))
    hist = _selector(fields, lat.get("histogram"), join(p, "histogram"))
    le = fields.number(lat.get("le"), join(p, "le"))
    if hist is not None and any(mt.label == "le" for mt in hist.matchers):
        fields.fail(join(p, "histogram"), "must not match on 'le'; set the threshold in 'le'")
        return None
    if le is not None and le <= 0:
        fields.fail(join(p, "le"), "must be a positive bucket bound in seconds")
        return None
    if le is not None and buckets and le not in buckets:
        fields.fail(join(p, "le"), f"{format_number(le)} is not a bucket bound of the histogram "
                    f"(buckets: {', '.join(format_number(b) for b in buckets)}): no bucket "
                    "counts the requests at or under it")
        return None
    if hist is None or le is None:
        return None
    if hist.metric.endswith(("_bucket", "_count", "_sum")):
        fields.fail(join(p, "histogram"), "give the histogram's base name, without _bucket/_count")
        return None
    return LatencySLI(hist, float(le))


def _buckets(fields: Fields, value: Any, path: str) -> list[Decimal]:
    """The histogram's bucket bounds as instrumented (optional): when given, ``le`` must be one
    of them, compared as numbers (``1``, ``1.0`` and ``1e0`` are one bound, as Prometheus 3
    stores them)."""
    if value is None:
        return []
    items = fields.sequence(value, path)
    if items is None:
        return []
    bounds = [fields.number(v, join(path, i)) for i, v in enumerate(items)]
    if any(b is None for b in bounds):
        return []
    out = [b for b in bounds if b is not None]
    if not out or any(b <= 0 for b in out) or out != sorted(set(out)):
        fields.fail(path, "must list the bucket bounds in seconds, positive and ascending")
        return []
    return out


def _alerting(fields: Fields, value: Any, path: str, base_name: str, objective: Decimal,
              period: int) -> Alerting | None:
    m = fields.mapping(value, path, optional=("runbook_url", "page", "ticket", "absent",
                                              "windows", "fast_page", "tiers",
                                              "min_request_rate"))
    if m is None:
        return None
    runbook = ""
    if "runbook_url" in m:
        runbook = fields.text(m["runbook_url"], join(path, "runbook_url")) or ""
    page = _route(fields, m.get("page", {}), join(path, "page"), f"{base_name}ErrorBudgetBurnPage",
                  {"severity": "page"}, "0s")
    ticket = _route(fields, m.get("ticket", {}), join(path, "ticket"),
                    f"{base_name}ErrorBudgetBurnTicket", {"severity": "ticket"}, "0s")
    absent = _route(fields, m.get("absent", {}), join(path, "absent"), f"{base_name}SLIAbsent",
                    {"severity": "ticket"}, DEFAULT_ABSENT_FOR)
    windows = burn_windows(fields, m.get("windows"), join(path, "windows"),
                           error_budget(objective), period)
    if windows is not None and tiers.fast_page_enabled(fields, m.get("fast_page"),
                                                       join(path, "fast_page")):
        windows = (*windows, *tiers.fast_page_tiers(error_budget(objective), period))
    if windows is not None:
        windows = tiers.apply_overrides(fields, m.get("tiers"), join(path, "tiers"), windows)
    guard = Decimal(0)
    if "min_request_rate" in m:
        g = fields.number(m["min_request_rate"], join(path, "min_request_rate"))
        if g is not None and g < 0:
            fields.fail(join(path, "min_request_rate"), "must be zero or more requests per second")
        guard = g if g is not None and g >= 0 else guard
    if page is None or ticket is None or absent is None or windows is None:
        return None
    omitted = () if "windows" in m else never_firing_defaults(error_budget(objective), period)
    return Alerting(runbook, page, ticket, absent, windows, guard, omitted)


def _route(fields: Fields, value: Any, path: str, default_name: str, default_labels: dict[str, str],
           default_for: str) -> AlertRoute | None:
    m = fields.mapping(value, path, optional=("name", "labels", "annotations", "for"))
    if m is None:
        return None
    name = fields.string(m.get("name", default_name), join(path, "name"), ALERT_NAME,
                         "an alert name")
    labels = {**default_labels, **fields.labels(m.get("labels"), join(path, "labels"),
                                                RESERVED)}
    annotations = fields.labels(m.get("annotations"), join(path, "annotations"))
    for_ = for_duration(fields, m.get("for", default_for), join(path, "for"))
    if name is None or for_ is None:
        return None
    return AlertRoute(name, tuple(sorted(labels.items())), tuple(sorted(annotations.items())), for_)


def _expr(fields: Fields, value: Any, path: str) -> str | None:
    """PromQL with ``${...}`` placeholders: each placeholder known, then the whole parsed."""
    expr = fields.text(value, path)
    if expr is None or fields.parsed(expr, path, parse_placeholders, PlaceholderError) is None:
        return None
    return fields.parsed(expr, path, check_expr, QueryError)


def _series(fields: Fields, value: Any, path: str) -> ExtraSeries | None:
    m = fields.mapping(value, path, required=("record", "expr", "unit"), optional=("description",))
    if m is None:
        return None
    record = fields.string(m.get("record"), join(path, "record"), METRIC_NAME, "a metric name")
    expr = _expr(fields, m.get("expr"), join(path, "expr"))
    unit = m.get("unit")
    if unit not in UNITS:
        fields.fail(join(path, "unit"), f"{unit!r} must be one of {', '.join(UNITS)}")
        return None
    desc = fields.text(m["description"], join(path, "description")) if "description" in m else ""
    if record is None or expr is None or desc is None:
        return None
    return ExtraSeries(record, expr, unit, desc)


def _alert(fields: Fields, value: Any, path: str) -> ExtraAlert | None:
    m = fields.mapping(value, path, required=("alert", "expr"),
                       optional=("for", "labels", "annotations", "test"))
    if m is None:
        return None
    name = fields.string(m.get("alert"), join(path, "alert"), ALERT_NAME, "an alert name")
    expr = _expr(fields, m.get("expr"), join(path, "expr"))
    for_ = for_duration(fields, m.get("for", "0s"), join(path, "for"))
    labels = fields.labels(m.get("labels"), join(path, "labels"), RESERVED)
    annotations = fields.labels(m.get("annotations"), join(path, "annotations"))
    test = _alert_test(fields, m.get("test", {}), join(path, "test"))
    if name is None or expr is None or for_ is None or test is None:
        return None
    return ExtraAlert(name, expr, for_, tuple(sorted(labels.items())),
                      tuple(sorted(annotations.items())), test)


def _alert_test(fields: Fields, value: Any, path: str) -> AlertTest | None:
    m = fields.mapping(value, path, optional=("error_ratio", "firing_after", "inputs"))
    if m is None:
        return None
    inputs: list[TestInput] = []
    if "inputs" in m:
        if "error_ratio" in m:
            fields.fail(path, "give either 'error_ratio' (of the SLI) or 'inputs', not both")
            return None
        inputs = _test_inputs(fields, m["inputs"], join(path, "inputs"))
    ratio = fields.number(m.get("error_ratio", 1), join(path, "error_ratio"))
    if ratio is not None and not Decimal(0) < ratio <= 1:
        fields.fail(join(path, "error_ratio"), "must be a ratio, 0 < x <= 1")
        return None
    after = fields.duration(m.get("firing_after", DEFAULT_TEST_AFTER), join(path, "firing_after"))
    if ratio is None or after is None or ("inputs" in m and not inputs):
        return None
    return AlertTest(ratio, after, tuple(inputs))


def _test_inputs(fields: Fields, value: Any, path: str) -> list[TestInput]:
    """``{selector: {healthy: N, trouble: N}}``: counters (``_total``) in events per minute,
    gauges as levels."""
    m = fields.mapping(value, path, optional=tuple(k for k in value if isinstance(k, str))
                       if isinstance(value, dict) else ())
    if m is None:
        return []
    if not m:
        fields.fail(path, "must name at least one series")
        return []
    out: list[TestInput] = []
    for key, levels in m.items():
        p = join(path, key)
        sel = _selector(fields, key, p)
        lv = fields.mapping(levels, p, required=("healthy", "trouble"))
        if sel is None or lv is None:
            continue
        healthy = fields.number(lv.get("healthy"), join(p, "healthy"))
        trouble = fields.number(lv.get("trouble"), join(p, "trouble"))
        if healthy is None or trouble is None:
            continue
        if sel.metric.endswith("_total") and (
                min(healthy, trouble) < 0 or healthy != healthy.to_integral_value()
                or trouble != trouble.to_integral_value()):
            fields.fail(p, "a counter's values are whole events per minute, 0 or more")
            continue
        out.append(TestInput(sel, healthy, trouble))
    return out if len(out) == len(m) else []
