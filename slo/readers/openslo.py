"""OpenSLO v1 documents (``apiVersion: openslo/v1``) read into :mod:`slo.model.spec` objects;
v1alpha SLOs (the version Sloth reads) go to :mod:`slo.readers.openslo_v1alpha`.

A file may hold many documents, or one document holding a list of objects (as ``oslo``
validates); ``SLI``, ``AlertPolicy``, ``AlertCondition``, ``AlertNotificationTarget`` and
``DataSource`` objects may be inline or referenced by name from any file given in the same run.

What maps how (anything else is a problem naming its field, never dropped silently):

- ``SLO``: ``spec.service`` and ``metadata.name`` name the SLO; ``metadata.labels`` become its
  labels; one objective's ``target`` (a ratio) or ``targetPercent``; one rolling
  ``timeWindow``; ``budgetingMethod: Occurrences`` (requests are weighed, not time slices).
- ``ratioMetric`` with ``bad``/``total`` or ``good``/``total`` Prometheus queries: counter
  selectors (``counter: true``), or PromQL holding ``{{.window}}`` as in Sloth's queries;
  ``raw`` ratios (``rawType: failure`` or ``success``) with ``{{.window}}``.
- ``thresholdMetric``: a latency histogram, its base name as the query, with the objective's
  ``op: lte`` and ``value`` a bucket bound in seconds (requests at or under it are good).
- ``AlertCondition`` of ``kind: burnrate`` with ``op: gte``: ``threshold`` is the burn factor,
  ``lookbackWindow`` the long window, the short window is a twelfth of it (the SRE workbook's
  ratio), ``alertAfter`` the alert's ``for`` (default ``0m``), and ``severity`` ``page`` or
  ``ticket``; ``kind`` defaults to ``burnrate`` as OpenSLO says. Without alert policies an SLO
  gets the workbook's default windows, as a native spec does.
- ``AlertPolicy.spec.notificationTargets`` (inline or ``targetRef``): each tier of the policy's
  conditions carries the annotation ``notification_targets`` (the targets' names), and where one
  target serves a severity of a service, ``slo-gen alertmanager`` routes that severity to a
  receiver named after it (OpenSLO leaves delivery to the implementation; Alertmanager routes
  by severity here). Where several do, the severity keeps its default receiver and a note says
  so. docs/openslo.md has the whole mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from slo.model import burnrate
from slo.model.alertmanager import DEFAULT_RECEIVERS, AlertmanagerSpec
from slo.model.durations import format_duration, parse_duration
from slo.model.naming import RESERVED
from slo.model.selectors import SelectorError, parse_selector
from slo.model.spec import (
    SLI,
    SLO,
    Alerting,
    AlertRoute,
    BurnWindow,
    LatencySLI,
    Note,
    RatioQuerySLI,
    ServiceSpec,
    error_budget,
)
from slo.readers.common import (
    DEFAULT_ABSENT_FOR,
    DEFAULT_PERIOD,
    NAME,
    burn_windows,
    camel,
    check_factors,
    for_duration,
    objective_percent,
)
from slo.readers.fields import Fields, join
from slo.readers.promql import QueryError, events_sli, good_events_sli, template, windowed

API_VERSION = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource",
         "Service")
SEVERITIES = ("page", "ticket")
SHORT_WINDOW_DIVISOR = 12  # the workbook's 1h/5m, 6h/30m, 1d/2h, 3d/6h
ANY_PERIOD = 10 * 366 * 86400  # a condition checked alone: any lookback fits
#: Names of objects that never reach Prometheus (policies, targets, SLIs, ...): OpenSLO's own
#: examples use CamelCase (``OnCallDevopsMailNotification``); a target's name becomes an
#: Alertmanager receiver's, so the receiver-name rule fits.
OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
OBJECT_NAME_WHAT = "a name (letters, digits, '_', '.' and '-', at most 63)"
TARGETS_ANNOTATION = "notification_targets"
#: The window assumed when an SLO gives none (OpenSLO makes ``timeWindow`` optional).
ASSUMED_WINDOW = (f"not given (it is optional in OpenSLO): assumed a rolling {DEFAULT_PERIOD} "
                  "window, the default period of slo-gen and of Sloth")


@dataclass(frozen=True)
class Delivery:
    """Where one policy's alerts of one severity should go, and where the policy said it."""

    severity: str
    targets: tuple[str, ...]
    where: str  # "SLO x: spec.alertPolicies[0].spec.notificationTargets"


@dataclass
class Read:
    """What one SLO document gave: its service, SLOs (v1alpha: one per objective), the notes
    on what was assumed, and the deliveries its alert policies asked for."""

    service: str
    slos: list[SLO]
    notes: list[Note] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class Document:
    """One OpenSLO object; ``fields`` records its problems under ``<kind> <name>``."""

    fields: Fields
    kind: str
    name: str
    body: dict[str, Any]


class Catalog:
    """Every named object of every file, so references resolve across files."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], Document] = {}

    def add(self, doc: Document) -> None:
        key = (doc.kind, doc.name)
        if key in self.objects:
            first = self.objects[key]
            doc.fields.fail("metadata.name", f"{doc.kind} {doc.name!r} is already defined in "
                            f"{first.fields.file}")
        else:
            self.objects[key] = doc

    def get(self, fields: Fields, kind: str, name: Any, path: str) -> Document | None:
        if not isinstance(name, str) or not name:
            fields.fail(path, f"must name a {kind}")
            return None
        found = self.objects.get((kind, name))
        if found is None:
            fields.fail(path, f"no {kind} named {name!r} in the files given")
        return found


def read_documents(items: list[tuple[Fields, Any]]) -> list[ServiceSpec]:
    """Every SLO of every OpenSLO document given (v1 and v1alpha), resolving v1 references
    among all of them; the SLOs of one service in one file make one spec."""
    from slo.readers import openslo_v1alpha  # its reader shares this module's helpers

    catalog = Catalog()
    reads: list[tuple[str, Read]] = []
    for fields, body in items:
        if isinstance(body, dict) and body.get("apiVersion") == V1ALPHA:
            got = openslo_v1alpha.read_document(fields, body)
            if got is not None:
                reads.append((fields.file, got))
            continue
        doc = _document(fields, body)
        if doc is not None:
            catalog.add(doc)
    for doc in list(catalog.objects.values()):
        if doc.kind == "SLO":
            read = _slo(doc, catalog)
            if read is not None:
                reads.append((doc.fields.file, read))
    _check_the_rest(catalog)
    by_file_service: dict[tuple[str, str], list[Read]] = {}
    for file, read in reads:
        by_file_service.setdefault((file, read.service), []).append(read)
    return [_service_spec(file, service, group)
            for (file, service), group in by_file_service.items()]


def _service_spec(file: str, service: str, reads: list[Read]) -> ServiceSpec:
    notes = [n for r in reads for n in r.notes]
    receivers = dict(DEFAULT_RECEIVERS)
    for severity in SEVERITIES:
        deliveries = [d for r in reads for d in r.deliveries if d.severity == severity]
        targets = list(dict.fromkeys(t for d in deliveries for t in d.targets))
        if len(targets) == 1:
            receivers[severity] = targets[0]
        elif targets:
            seen: list[str] = []
            where = deliveries[0].where
            for d in deliveries:  # the policy that brought in the second target
                seen = list(dict.fromkeys([*seen, *d.targets]))
                if len(seen) > 1:
                    where = d.where
                    break
            notes.append(Note(where, (
                f"{severity} alerts of service {service!r} name {len(targets)} targets "
                f"({', '.join(targets)}): slo-gen alertmanager routes a severity to one "
                f"receiver, so they go to {receivers[severity]!r}; the {TARGETS_ANNOTATION} "
                "annotation names them")))
    return ServiceSpec(file, service, tuple(slo for r in reads for slo in r.slos),
                       alertmanager=AlertmanagerSpec(tuple(sorted(receivers.items()))),
                       notes=tuple(notes))


def _check_the_rest(catalog: Catalog) -> None:
    """Validate SLIs, policies and conditions on their own too, referenced or not, so a
    mistake in a shared file is reported even before an SLO uses it (reports are deduped)."""
    for doc in catalog.objects.values():
        if doc.kind == "SLI":
            _sli(doc.fields, doc.body["spec"], "spec", None, doc.fields)
        elif doc.kind == "AlertCondition":
            _condition(doc.fields, doc.body["spec"], "spec", ANY_PERIOD)
        elif doc.kind == "AlertPolicy":
            policy = _policy(doc.fields, {"alertPolicyRef": doc.name}, "", catalog)
            for cf, cond, cpath in policy.conditions if policy else []:
                _condition(cf, cond, cpath, ANY_PERIOD)
        elif doc.kind == "AlertNotificationTarget":
            _target_spec(doc.fields, doc.body["spec"], "spec")
        elif doc.kind == "Service" and "spec" in doc.body:
            doc.fields.mapping(doc.body["spec"], "spec", optional=("description",))


def _document(fields: Fields, body: Any) -> Document | None:
    service = isinstance(body, dict) and body.get("kind") == "Service"  # spec is optional
    m = fields.mapping(body, "", required=("apiVersion", "kind", "metadata",
                                           *(() if service else ("spec",))),
                       optional=("spec",) if service else ())
    if m is None:
        return None
    kind = m["kind"]
    if kind not in KINDS:
        fields.fail("kind", f"{kind!r} is not an OpenSLO v1 kind ({', '.join(KINDS)})")
        return None
    meta = fields.mapping(m["metadata"], "metadata", required=("name",),
                          optional=("displayName", "labels", "annotations"))
    if meta is None:
        return None
    if kind == "SLO":  # its name becomes a label value and part of the alert names
        name = fields.string(meta["name"], "metadata.name", NAME,
                             "a name (lowercase letters, digits, '-' and '_', at most 63)")
    else:
        name = fields.string(meta["name"], "metadata.name", OBJECT_NAME, OBJECT_NAME_WHAT)
    if name is None:
        return None
    return Document(fields.within(f"{kind} {name}"), kind, name, m)


def _slo(doc: Document, catalog: Catalog) -> Read | None:
    f = doc.fields
    before = len(f.problems)
    spec = f.mapping(doc.body["spec"], "spec", required=(
        "service", "budgetingMethod", "objectives"), optional=(
        "description", "indicator", "indicatorRef", "alertPolicies", "timeWindow"))
    if spec is None:
        return None
    meta = doc.body["metadata"]
    service = f.string(spec["service"], "spec.service", NAME,
                       "a service name (lowercase letters, digits, '-' and '_')")
    labels = _labels(f, meta.get("labels"), "metadata.labels")
    description = spec.get("description", meta.get("displayName", ""))
    if not isinstance(description, str):
        f.fail("spec.description", "must be a string")
    notes: list[Note] = []
    if "timeWindow" in spec:
        period = _time_window(f, spec["timeWindow"], "spec.timeWindow")
    else:
        period = assumed_period(f, "spec.timeWindow", notes)
    budgeting_method(f, spec["budgetingMethod"], "spec.budgetingMethod")
    objective = _objective(f, spec["objectives"], "spec.objectives")
    indicator = _indicator(f, spec, catalog)
    sli = None
    if indicator is not None and objective is not None:
        sli = _sli(indicator[0], indicator[1], indicator[2], objective[1], f)
    alerting = None
    deliveries: list[Delivery] = []
    if service and objective is not None and period is not None:
        alerting = read_alerting(f, spec.get("alertPolicies"), "spec.alertPolicies", catalog,
                             camel(service) + camel(doc.name), objective[0], period,
                             deliveries)
    if (len(f.problems) > before or service is None or period is None or objective is None
            or sli is None or alerting is None):
        return None
    slo = SLO(doc.name, str(description), objective[0], period or 0, sli[0], alerting, sli[1],
              labels=tuple(sorted(labels.items())))
    return Read(service, [slo], notes, deliveries)


def assumed_period(f: Fields, path: str, notes: list[Note]) -> int:
    """The period when the SLO gives no window (v1 ``timeWindow``, v1alpha ``timeWindows``):
    slo-gen's and Sloth's default, said in a note at the field's place."""
    notes.append(Note(where(f, path), ASSUMED_WINDOW))
    return parse_duration(DEFAULT_PERIOD)


def where(f: Fields, path: str) -> str:
    """``path`` as a problem there would be located (``SLO x: spec.timeWindow``)."""
    return ": ".join(p for p in (f.prefix, path) if p)


def budgeting_method(f: Fields, value: Any, path: str) -> None:
    if value != "Occurrences":
        f.fail(path, f"{value!r} cannot map: only 'Occurrences' (every event weighs the same) "
               "is supported")


def _labels(f: Fields, value: Any, path: str) -> dict[str, str]:
    """OpenSLO labels; a list of values has no Prometheus label to become."""
    if isinstance(value, dict):
        for key, val in value.items():
            if isinstance(val, list):
                f.fail(join(path, str(key)), "a list of values cannot become a Prometheus "
                       "label: give one string")
                value = {k: v for k, v in value.items() if not isinstance(v, list)}
    return f.labels(value, path, RESERVED)


def _time_window(f: Fields, value: Any, path: str) -> int | None:
    items = f.sequence(value, path)
    if items is None:
        return None
    if len(items) != 1:
        f.fail(path, "must list exactly one time window")
        return None
    p = join(path, 0)
    w = f.mapping(items[0], p, required=("duration",), optional=("isRolling", "calendar"))
    if w is None:
        return None
    if "calendar" in w or w.get("isRolling") is not True:
        f.fail(join(p, "isRolling"), "calendar windows are not supported: use a rolling "
               "window (isRolling: true)")
        return None
    return f.duration(w["duration"], join(p, "duration"))


def _objective(f: Fields, value: Any, path: str) -> tuple[Decimal, dict[str, Any]] | None:
    """The objective in percent, and the objective's mapping (its op/value feed thresholds)."""
    items = f.sequence(value, path)
    if items is None:
        return None
    if len(items) != 1:
        f.fail(path, "must list exactly one objective (write one SLO per objective)")
        return None
    p = join(path, 0)
    o = f.mapping(items[0], p, optional=("displayName", "target", "targetPercent", "op", "value",
                                         "timeSliceTarget", "timeSliceWindow"))
    if o is None:
        return None
    if not no_time_slices(f, o, p):
        return None
    if ("target" in o) == ("targetPercent" in o):
        f.fail(p, "needs exactly one of 'target' (a ratio) or 'targetPercent'")
        return None
    if "targetPercent" in o:
        percent = objective_percent(f, o["targetPercent"], join(p, "targetPercent"))
    else:
        percent = target_percent(f, o["target"], join(p, "target"))
    return None if percent is None else (percent, o)


def no_time_slices(f: Fields, objective: dict[str, Any], path: str) -> bool:
    """False, with the problem, when an objective sets time slices (never mapped)."""
    for key in ("timeSliceTarget", "timeSliceWindow"):
        if key in objective:
            f.fail(join(path, key), "time slices cannot map: budgetingMethod must be Occurrences")
            return False
    return True


def target_percent(f: Fields, value: Any, path: str) -> Decimal | None:
    """An objective's ``target`` (a ratio, 0 < x < 1) in percent."""
    ratio = f.number(value, path)
    if ratio is not None and not Decimal(0) < ratio < 1:
        f.fail(path, f"{value!r} is out of range: a target is a ratio, 0 < x < 1")
        return None
    return None if ratio is None else (ratio * 100).normalize()


def _indicator(f: Fields, spec: dict[str, Any], catalog: Catalog
               ) -> tuple[Fields, dict[str, Any], str] | None:
    """The SLI's spec mapping, the Fields that names its problems, and its path."""
    if ("indicator" in spec) == ("indicatorRef" in spec):
        f.fail("spec", "needs exactly one of 'indicator' or 'indicatorRef'")
        return None
    if "indicatorRef" in spec:
        doc = catalog.get(f, "SLI", spec["indicatorRef"], "spec.indicatorRef")
        if doc is None:
            return None
        return doc.fields, doc.body["spec"], "spec"
    inline = f.mapping(spec["indicator"], "spec.indicator", required=("metadata", "spec"),
                       optional=("apiVersion", "kind"))
    if inline is None:
        return None
    return f, inline["spec"], "spec.indicator.spec"


def _sli(f: Fields, value: Any, path: str, objective: dict[str, Any] | None,
         slo_fields: Fields) -> tuple[SLI, tuple[str, ...]] | None:
    """``f`` names the SLI's problems (inline: the SLO's; referenced: the SLI document's);
    ``slo_fields`` the SLO's, where the objective's op and value are (None: no SLO yet)."""
    m = f.mapping(value, path, optional=("description", "ratioMetric", "thresholdMetric"))
    if m is None:
        return None
    if ("ratioMetric" in m) == ("thresholdMetric" in m):
        f.fail(path, "needs exactly one of 'ratioMetric' or 'thresholdMetric'")
        return None
    if "thresholdMetric" in m:
        return _threshold(f, m["thresholdMetric"], join(path, "thresholdMetric"), objective,
                          slo_fields)
    p = join(path, "ratioMetric")
    r = f.mapping(m["ratioMetric"], p, required=("counter",),
                  optional=("good", "bad", "total", "raw", "rawType"))
    if r is None:
        return None
    counter = r["counter"]
    if not isinstance(counter, bool):
        f.fail(join(p, "counter"), "must be true or false")
        return None
    if "raw" in r:
        return _raw(f, r, p)
    if "total" not in r or ("good" in r) == ("bad" in r):
        f.fail(p, "needs 'total' and exactly one of 'good' or 'bad' (or 'raw' with 'rawType')")
        return None
    which = "good" if "good" in r else "bad"
    part = _query(f, r[which], join(p, which), counter)
    total = _query(f, r["total"], join(p, "total"), counter)
    if part is None or total is None:
        return None
    if which == "bad":
        return events_sli(f, part, total, p)
    return good_events_sli(f, part, total, p)


def _raw(f: Fields, r: dict[str, Any], p: str) -> tuple[SLI, tuple[str, ...]] | None:
    for key in ("good", "bad", "total"):
        if key in r:
            f.fail(join(p, key), "cannot be given with 'raw'")
            return None
    raw_type = r.get("rawType")
    if raw_type not in ("failure", "success"):
        f.fail(join(p, "rawType"), "must be 'failure' or 'success' with 'raw'")
        return None
    ratio = _query(f, r["raw"], join(p, "raw"), counter=False, needs_window=True)
    if ratio is None:
        return None
    return RatioQuerySLI(ratio if raw_type == "failure" else f"1 - ({ratio})"), ()


def _prometheus_query(f: Fields, value: Any, path: str) -> str | None:
    m = f.mapping(value, path, required=("metricSource",))
    if m is None:
        return None
    p = join(path, "metricSource")
    src = f.mapping(m["metricSource"], p, required=("spec",), optional=("type",
                                                                         "metricSourceRef"))
    if src is None:
        return None
    kind = src.get("type")
    if not isinstance(kind, str) or kind.lower() != "prometheus":
        f.fail(join(p, "type"), f"{kind!r} cannot map: only Prometheus data sources render "
               "to Prometheus rules")
        return None
    spec = f.mapping(src["spec"], join(p, "spec"), required=("query",))
    if spec is None:
        return None
    return f.text(spec["query"], join(p, "spec.query"))


def _query(f: Fields, value: Any, path: str, counter: bool, needs_window: bool = False
           ) -> str | None:
    text = _prometheus_query(f, value, path)
    return promql_template(f, text, join(path, "metricSource.spec.query"), counter,
                           needs_window)


def promql_template(f: Fields, text: str | None, qpath: str, counter: bool,
                    needs_window: bool = False, counter_key: str = "counter") -> str | None:
    """A PromQL template: ``{{.window}}`` queries as written, a counter selector as its rate
    (``counter_key`` is how the format spells the flag that says it is a counter)."""
    if text is None:
        return None
    if "{{" in text or needs_window:
        try:
            return template(text)
        except QueryError as exc:
            f.fail(qpath, str(exc))
            return None
    try:
        selector = parse_selector(text)
    except SelectorError:
        f.fail(qpath, f"must be a counter selector (with {counter_key}: true) or PromQL holding "
               "'{{.window}}' where the range goes")
        return None
    if not counter:
        f.fail(qpath, f"a selector is taken as a counter: set {counter_key}: true, or write "
               "PromQL holding '{{.window}}'")
        return None
    return windowed(selector)


def _threshold(f: Fields, value: Any, path: str, objective: dict[str, Any] | None,
               of: Fields) -> tuple[SLI, tuple[str, ...]] | None:
    text = _prometheus_query(f, value, path)
    if text is None:
        return None
    qpath = join(path, "metricSource.spec.query")
    try:
        hist = parse_selector(text)
    except SelectorError:
        f.fail(qpath, "a thresholdMetric maps only to a latency histogram: give its base name "
               "(a selector such as http_request_duration_seconds{job=\"api\"})")
        return None
    if hist.metric.endswith(("_bucket", "_count", "_sum")) or any(
            m.label == "le" for m in hist.matchers):
        f.fail(qpath, "give the histogram's base name, without _bucket/_count or 'le'")
        return None
    if objective is None:
        return None
    for key in ("op", "value"):  # optional in an objective, required by a threshold
        if key not in objective:
            of.require(f"spec.objectives[0].{key}")
    if "op" not in objective or "value" not in objective:
        return None
    if objective["op"] != "lte":
        of.fail("spec.objectives[0].op", "a latency threshold maps with op 'lte' (requests at "
               "or under the bound are good)")
        return None
    le = of.number(objective["value"], "spec.objectives[0].value")
    if le is None or le <= 0:
        if le is not None:
            of.fail("spec.objectives[0].value", "must be a positive bucket bound in seconds")
        return None
    return LatencySLI(hist, float(le)), ()


def read_alerting(f: Fields, value: Any, path: str, catalog: Catalog, base: str,
              objective: Decimal, period: int, deliveries: list[Delivery]) -> Alerting | None:
    """The SLO's alerts from its policies; ``deliveries`` gets where each policy's alerts
    should go (its severities and targets)."""
    budget = error_budget(objective)
    absent_for = for_duration(f, DEFAULT_ABSENT_FOR, path) or 0
    routes = {s: AlertRoute(f"{base}ErrorBudgetBurn{camel(s)}", (("severity", s),))
              for s in SEVERITIES}
    absent = AlertRoute(f"{base}SLIAbsent", (("severity", "ticket"),), (), absent_for)
    if value is None:
        defaults = burn_windows(f, None, path, budget, period)
        return None if defaults is None else Alerting("", routes["page"], routes["ticket"],
                                                      absent, defaults)
    policies = [p for i, item in enumerate(f.sequence(value, path) or [])
                if (p := _policy(f, item, join(path, i), catalog)) is not None]
    windows: list[BurnWindow] = []
    waits: dict[str, tuple[int, str]] = {}
    labels: dict[str, dict[str, str]] = {s: {"severity": s} for s in SEVERITIES}
    for policy in policies:
        severities: list[str] = []
        for cf, cond, cpath in policy.conditions:
            got = _condition(cf, cond, cpath, period)
            if got is None:
                continue
            window, wait = got
            if policy.targets:
                window = replace(window, annotations=(
                    (TARGETS_ANNOTATION, ", ".join(policy.targets)),))
            windows.append(window)
            severities.append(window.severity)
            labels[window.severity].update(policy.labels)
            first = waits.setdefault(window.severity, (wait, cpath))
            if first[0] != wait:
                cf.fail(join(cpath, "condition.alertAfter"), f"differs from {first[1]}: all "
                        f"{window.severity} conditions of an SLO share one alert and its 'for'")
        if policy.targets:
            deliveries += [Delivery(s, policy.targets, policy.where)
                           for s in dict.fromkeys(severities)]
    checked = check_factors(f, windows, path, budget)
    if checked is None:
        return None
    for s in SEVERITIES:
        routes[s] = AlertRoute(routes[s].name, tuple(sorted(labels[s].items())), (),
                               waits.get(s, (0, ""))[0])
    return Alerting("", routes["page"], routes["ticket"], absent, checked)


@dataclass
class Policy:
    """An alert policy's conditions (the Fields naming each one's problems, its mapping, its
    path), its labels, and the names of its notification targets (and where they are)."""

    conditions: list[tuple[Fields, dict[str, Any], str]]
    labels: dict[str, str]
    targets: tuple[str, ...]
    where: str


def _policy(f: Fields, value: Any, path: str, catalog: Catalog) -> Policy | None:
    if isinstance(value, dict) and "alertPolicyRef" in value:
        ref = f.mapping(value, path, required=("alertPolicyRef",))
        doc = catalog.get(f, "AlertPolicy", (ref or {}).get("alertPolicyRef"),
                          join(path, "alertPolicyRef"))
        if doc is None:
            return None
        pf, body, ppath = doc.fields, doc.body, ""
    else:
        inline = f.mapping(value, path, required=("metadata", "spec"),
                           optional=("apiVersion", "kind"))
        if inline is None:
            return None
        pf, body, ppath = f, inline, path
    labels = _labels(pf, body["metadata"].get("labels") if isinstance(body["metadata"], dict)
                     else None, join(ppath, "metadata.labels"))
    sp = join(ppath, "spec")
    spec = pf.mapping(body["spec"], sp, required=("conditions",), optional=(
        "description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching",
        "notificationTargets"))
    if spec is None:
        return None
    if spec.get("alertWhenBreaching", True) is not True:
        pf.fail(join(sp, "alertWhenBreaching"), "must be true: a policy that never alerts on "
                "a burning budget maps to no rule")
    tpath = join(sp, "notificationTargets")
    targets = _targets(pf, spec["notificationTargets"], tpath, catalog) \
        if "notificationTargets" in spec else ()
    out = []
    for i, item in enumerate(pf.sequence(spec["conditions"], join(sp, "conditions")) or []):
        cpath = join(join(sp, "conditions"), i)
        if isinstance(item, dict) and "conditionRef" in item:
            ref = pf.mapping(item, cpath, required=("conditionRef",))
            doc = catalog.get(pf, "AlertCondition", (ref or {}).get("conditionRef"),
                              join(cpath, "conditionRef"))
            if doc is not None:
                out.append((doc.fields, doc.body["spec"], "spec"))
            continue
        inline = pf.mapping(item, cpath, required=("metadata", "spec"),
                            optional=("apiVersion", "kind"))
        if inline is not None:
            out.append((pf, inline["spec"], join(cpath, "spec")))
    return Policy(out, labels, targets or (), where(pf, tpath))


INLINE_TARGET = ("apiVersion", "kind", "metadata", "spec")


def _targets(f: Fields, value: Any, path: str, catalog: Catalog) -> tuple[str, ...] | None:
    """The names of a policy's notification targets, by ``targetRef`` or inline."""
    items = f.sequence(value, path)
    if items is None:
        return None
    if not items:
        f.fail(path, "must list at least one target (OpenSLO v1 requires one)")
        return None
    names: list[str] = []
    for i, item in enumerate(items):
        p = join(path, i)
        if isinstance(item, dict) and "targetRef" in item:
            if any(k in item for k in INLINE_TARGET):
                f.fail(p, "give either 'targetRef' or an inline AlertNotificationTarget "
                       "(kind, metadata, spec), not both")
                continue
            ref = f.mapping(item, p, required=("targetRef",))
            doc = catalog.get(f, "AlertNotificationTarget", (ref or {}).get("targetRef"),
                              join(p, "targetRef"))
            if doc is not None:
                names.append(doc.name)
            continue
        inline = f.mapping(item, p, required=("metadata", "spec"),
                           optional=("apiVersion", "kind"))
        if inline is None:
            continue
        if inline.get("kind", "AlertNotificationTarget") != "AlertNotificationTarget":
            f.fail(join(p, "kind"), f"{inline['kind']!r} must be AlertNotificationTarget")
        meta = f.mapping(inline["metadata"], join(p, "metadata"), required=("name",),
                         optional=("displayName", "labels", "annotations"))
        name = None if meta is None else f.string(
            meta["name"], join(p, "metadata.name"), OBJECT_NAME, OBJECT_NAME_WHAT)
        if _target_spec(f, inline["spec"], join(p, "spec")) and name is not None:
            names.append(name)
    return tuple(dict.fromkeys(names))


def _target_spec(f: Fields, value: Any, path: str) -> bool:
    """An AlertNotificationTarget's spec: ``target`` (what kind of target: email, slack, ...)
    is required; it names no Alertmanager integration, so it is only checked."""
    m = f.mapping(value, path, required=("target",), optional=("description",))
    if m is None:
        return False
    return f.text(m["target"], join(path, "target")) is not None


def _condition(f: Fields, value: Any, path: str, period: int
               ) -> tuple[BurnWindow, int] | None:
    m = f.mapping(value, path, required=("severity", "condition"), optional=("description",))
    if m is None:
        return None
    severity = m["severity"]
    if severity not in SEVERITIES:
        f.fail(join(path, "severity"), f"{severity!r} must be one of {', '.join(SEVERITIES)} "
               "(the page and the ticket alert)")
    p = join(path, "condition")
    c = f.mapping(m["condition"], p, required=("op", "threshold", "lookbackWindow"),
                  optional=("kind", "alertAfter"))
    if c is None:
        return None
    c = {"kind": "burnrate", "alertAfter": "0m", **c}  # OpenSLO's defaults
    if c["kind"] != "burnrate":
        f.fail(join(p, "kind"), f"{c['kind']!r} cannot map: only 'burnrate' conditions do")
    if c["op"] != "gte":
        f.fail(join(p, "op"), f"{c['op']!r} cannot map: burn-rate alerts fire when the burn "
               "rate is at or above the threshold ('gte')")
    factor = f.number(c["threshold"], join(p, "threshold"))
    if factor is not None and factor <= 0:
        f.fail(join(p, "threshold"), "must be a burn rate greater than zero")
        factor = None
    long = f.duration(c["lookbackWindow"], join(p, "lookbackWindow"))
    if long is not None and (long % SHORT_WINDOW_DIVISOR or long > period
                             or long // SHORT_WINDOW_DIVISOR < burnrate.MIN_WINDOW):
        shortest = format_duration(burnrate.MIN_WINDOW * SHORT_WINDOW_DIVISOR)
        f.fail(join(p, "lookbackWindow"), f"must fit in the time window, be at least {shortest} "
               f"and divide into {SHORT_WINDOW_DIVISOR} whole seconds (the short window is a "
               f"twelfth of it, at least {format_duration(burnrate.MIN_WINDOW)})")
        long = None
    wait = for_duration(f, c["alertAfter"], join(p, "alertAfter"))
    if severity not in SEVERITIES or factor is None or long is None or wait is None \
            or c["kind"] != "burnrate" or c["op"] != "gte":
        return None
    return BurnWindow(severity, long, long // SHORT_WINDOW_DIVISOR, factor), wait
