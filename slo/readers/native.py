"""The ``apiVersion: slo-gen/v1`` spec format, read strictly into :mod:`slo.model.spec` objects.

Unknown keys, wrong types, out-of-range objectives, windows the period cannot hold and burn
factors that can never fire are all problems, recorded with their field path.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from slo.model import burnrate
from slo.model.naming import RESERVED
from slo.model.placeholders import PlaceholderError, parse_placeholders
from slo.model.selectors import METRIC_NAME, SelectorError, parse_selector
from slo.model.spec import (
    SLO,
    Alerting,
    AlertRoute,
    AlertTest,
    BurnWindow,
    EventsSLI,
    ExtraAlert,
    ExtraSeries,
    LatencySLI,
    ServiceSpec,
)
from slo.readers.fields import Fields, join

API_VERSION = "slo-gen/v1"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
ALERT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABELS = RESERVED
SEVERITIES = ("page", "ticket")
UNITS = ("ratio", "percent", "burn_rate", "seconds", "count")
DEFAULT_PERIOD = "30d"
DEFAULT_ABSENT_FOR = "10m"
DEFAULT_TEST_AFTER = "15m"


def parse_native(fields: Fields, doc: dict[str, Any]) -> ServiceSpec | None:
    """An ``apiVersion: slo-gen/v1`` document."""
    m = fields.mapping(doc, "", required=("apiVersion", "service", "slos"), optional=("labels",))
    if m is None:
        return None
    service = fields.string(m.get("service"), "service", NAME,
                            "a service name (lowercase letters, digits, '-' and '_')")
    labels = fields.labels(m.get("labels"), "labels", RESERVED_LABELS)
    slos: list[SLO] = []
    if "slos" in m:
        items = fields.sequence(m["slos"], "slos")
        if items is not None and not items:
            fields.fail("slos", "must list at least one SLO")
        for i, item in enumerate(items or []):
            slo = _slo(fields, item, f"slos[{i}]", service or "service")
            if slo is not None:
                slos.append(slo)
    if service is None or fields.problems:
        return None
    return ServiceSpec(fields.file, service, tuple(slos), tuple(sorted(labels.items())))


def _slo(fields: Fields, value: Any, path: str, service: str) -> SLO | None:
    m = fields.mapping(value, path, required=("name", "objective", "sli"),
                       optional=("description", "period", "group_by", "alerting", "series",
                                 "alerts"))
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
    if len(fields.problems) > before or None in (name, objective, period, sli, alerting):
        return None
    return SLO(name, description, objective, period, sli, alerting, group_by,
               tuple(series), tuple(alerts))


def slo_head(fields: Fields, m: dict[str, Any], path: str
             ) -> tuple[str | None, str, Decimal | None]:
    """Name, description and objective (percent): read alike in this format and Sloth's."""
    name = fields.string(m.get("name"), join(path, "name"), NAME,
                         "an SLO name (lowercase letters, digits, '-' and '_', at most 63)")
    description = ""
    if "description" in m:
        description = fields.text(m["description"], join(path, "description")) or ""
    return name, description, objective_percent(fields, m.get("objective"), join(path, "objective"))


def camel(name: str) -> str:
    """``requests-availability`` -> ``RequestsAvailability``, for default alert names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def objective_percent(fields: Fields, value: Any, path: str) -> Decimal | None:
    """An objective in percent, 0 < x < 100 (Sloth's unit too; OpenSLO's target is a ratio)."""
    d = fields.number(value, path)
    if d is None:
        return None
    if not Decimal(0) < d < Decimal(100):
        fields.fail(path, f"{value!r} is out of range: an objective is a percent, 0 < x < 100")
        return None
    return d


def _selector(fields: Fields, value: Any, path: str):
    return fields.parsed(fields.string(value, path), path, parse_selector, SelectorError)


def _sli(fields: Fields, value: Any, path: str):
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
    lat = fields.mapping(m["latency"], p, required=("histogram", "le"))
    if lat is None:
        return None
    hist = _selector(fields, lat.get("histogram"), join(p, "histogram"))
    le = fields.number(lat.get("le"), join(p, "le"))
    if hist is not None and any(mt.label == "le" for mt in hist.matchers):
        fields.fail(join(p, "histogram"), "must not match on 'le'; set the threshold in 'le'")
        return None
    if le is not None and le <= 0:
        fields.fail(join(p, "le"), "must be a positive bucket bound in seconds")
        return None
    if hist is None or le is None:
        return None
    if hist.metric.endswith(("_bucket", "_count", "_sum")):
        fields.fail(join(p, "histogram"), "give the histogram's base name, without _bucket/_count")
        return None
    return LatencySLI(hist, float(le))


def group_by_labels(fields: Fields, value: Any, path: str) -> tuple[str, ...]:
    items = fields.sequence(value, path) or []
    out = []
    for i, item in enumerate(items):
        label = fields.string(item, join(path, i))
        if label is None:
            continue
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label) or label.startswith("__"):
            fields.fail(join(path, i), f"{label!r} is not a valid label name")
        elif label in RESERVED_LABELS or label == "le":
            fields.fail(join(path, i), f"cannot group by {label!r}")
        elif label in out:
            fields.fail(join(path, i), f"{label!r} is listed twice")
        else:
            out.append(label)
    return tuple(out)


def _alerting(fields: Fields, value: Any, path: str, base_name: str, objective: Decimal,
              period: int) -> Alerting | None:
    m = fields.mapping(value, path, optional=("runbook_url", "page", "ticket", "absent",
                                              "windows", "min_request_rate"))
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
    budget = (100 - objective) / 100
    windows = burn_windows(fields, m.get("windows"), join(path, "windows"), budget, period)
    guard = Decimal(0)
    if "min_request_rate" in m:
        g = fields.number(m["min_request_rate"], join(path, "min_request_rate"))
        if g is not None and g < 0:
            fields.fail(join(path, "min_request_rate"), "must be zero or more requests per second")
        guard = g if g is not None and g >= 0 else guard
    if None in (page, ticket, absent, windows):
        return None
    return Alerting(runbook, page, ticket, absent, windows, guard)


def _route(fields: Fields, value: Any, path: str, default_name: str, default_labels: dict,
           default_for: str) -> AlertRoute | None:
    m = fields.mapping(value, path, optional=("name", "labels", "annotations", "for"))
    if m is None:
        return None
    name = fields.string(m.get("name", default_name), join(path, "name"), ALERT_NAME,
                         "an alert name")
    labels = {**default_labels, **fields.labels(m.get("labels"), join(path, "labels"),
                                                RESERVED_LABELS)}
    annotations = fields.labels(m.get("annotations"), join(path, "annotations"))
    for_ = for_duration(fields, m.get("for", default_for), join(path, "for"))
    if name is None or for_ is None:
        return None
    return AlertRoute(name, tuple(sorted(labels.items())), tuple(sorted(annotations.items())), for_)


def for_duration(fields: Fields, value: Any, path: str) -> int | None:
    if value in ("0s", "0m", "0", 0):
        return 0
    return fields.duration(value, path)


def burn_windows(fields: Fields, value: Any, path: str, budget: Decimal,
                 period: int) -> tuple[BurnWindow, ...] | None:
    """The spec's window pairs, or the workbook's defaults (factors from the period) for None."""
    if value is None:
        out = []
        for i, w in enumerate(burnrate.DEFAULT_WINDOWS):
            factor = burnrate.burn_factor(w.budget_percent, period, w.long)
            if w.long > period:
                fields.fail(path, f"default window {i} ({w.long}s) is longer than the period; "
                            "list windows that fit")
                return None
            out.append(BurnWindow(w.severity, w.long, w.short, factor))
        return check_factors(fields, out, path, budget)
    items = fields.sequence(value, path)
    if items is None:
        return None
    if not items:
        fields.fail(path, "must list at least one window pair")
        return None
    out = []
    for i, item in enumerate(items):
        w = _window(fields, item, join(path, i), period)
        if w is not None:
            out.append(w)
    if len(out) != len(items):
        return None
    return check_factors(fields, out, path, budget)


def _window(fields: Fields, value: Any, path: str, period: int) -> BurnWindow | None:
    m = fields.mapping(value, path, required=("severity", "long", "short"),
                       optional=("budget_consumed", "factor"))
    if m is None:
        return None
    severity = m.get("severity")
    if severity not in SEVERITIES:
        fields.fail(join(path, "severity"), f"{severity!r} must be one of {', '.join(SEVERITIES)}")
        severity = None
    long = fields.duration(m.get("long"), join(path, "long"))
    short = fields.duration(m.get("short"), join(path, "short"))
    if ("budget_consumed" in m) == ("factor" in m):
        fields.fail(path, "needs exactly one of 'budget_consumed' (percent) or 'factor'")
        return None
    if long is not None and short is not None:
        if short >= long:
            fields.fail(join(path, "short"), "must be shorter than the long window")
            return None
        if short < burnrate.MIN_WINDOW:
            fields.fail(join(path, "short"), "must be at least 1m (rate() needs two samples "
                        "and the generated tests sample once a minute)")
            return None
        if long > period:
            fields.fail(join(path, "long"), "is longer than the SLO period, which cannot hold it")
            return None
    if severity is None or long is None or short is None:
        return None
    if "factor" in m:
        factor = fields.number(m["factor"], join(path, "factor"))
        if factor is not None and factor <= 0:
            fields.fail(join(path, "factor"), "must be greater than zero")
            return None
    else:
        share = fields.number(m["budget_consumed"], join(path, "budget_consumed"))
        if share is not None and not Decimal(0) < share <= 100:
            fields.fail(join(path, "budget_consumed"), "is a percent of the budget, 0 < x <= 100")
            return None
        factor = None if share is None else burnrate.burn_factor(share, period, long)
    if factor is None:
        return None
    return BurnWindow(severity, long, short, factor)


def check_factors(fields: Fields, windows: list[BurnWindow], path: str,
                   budget: Decimal) -> tuple[BurnWindow, ...] | None:
    ok = True
    for i, w in enumerate(windows):
        if not burnrate.can_fire(w.factor, budget):
            fields.fail(join(path, i), f"burn factor {w.factor} x budget {budget} >= 1: "
                        "this alert could never fire")
            ok = False
    return tuple(windows) if ok else None


def _expr(fields: Fields, value: Any, path: str) -> str | None:
    expr = fields.text(value, path)
    if expr is None or fields.parsed(expr, path, parse_placeholders, PlaceholderError) is None:
        return None
    return expr.strip()


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
    labels = fields.labels(m.get("labels"), join(path, "labels"), RESERVED_LABELS)
    annotations = fields.labels(m.get("annotations"), join(path, "annotations"))
    test = _alert_test(fields, m.get("test", {}), join(path, "test"))
    if None in (name, expr, for_, test):
        return None
    return ExtraAlert(name, expr, for_, tuple(sorted(labels.items())),
                      tuple(sorted(annotations.items())), test)


def _alert_test(fields: Fields, value: Any, path: str) -> AlertTest | None:
    m = fields.mapping(value, path, optional=("error_ratio", "firing_after"))
    if m is None:
        return None
    ratio = fields.number(m.get("error_ratio", 1), join(path, "error_ratio"))
    if ratio is not None and not Decimal(0) < ratio <= 1:
        fields.fail(join(path, "error_ratio"), "must be a ratio, 0 < x <= 1")
        return None
    after = fields.duration(m.get("firing_after", DEFAULT_TEST_AFTER), join(path, "firing_after"))
    if ratio is None or after is None:
        return None
    return AlertTest(ratio, after)
