"""OpenSLO v1 documents (``apiVersion: openslo/v1``) read into :mod:`slo.model.spec` objects;
v1alpha SLOs (the version Sloth reads) go to :mod:`slo.readers.openslo_v1alpha`.

A file may hold many documents, or one document holding a list of objects (as ``oslo``
validates); ``SLI``, ``AlertPolicy``, ``AlertCondition`` and ``AlertNotificationTarget``
objects may be inline or referenced by name from any file given in the same run. ``DataSource``
objects are checked, but a ``metricSourceRef`` is not followed: a metric source says
``type: Prometheus`` itself.

What maps how (anything else is a problem naming its field, never dropped silently;
docs/openslo.md has the whole table):

- ``SLO``: ``spec.service`` and ``metadata.name`` name the SLO; ``metadata.labels`` become its
  labels; one objective's ``target`` (a ratio) or ``targetPercent``; one rolling
  ``timeWindow`` (optional in OpenSLO: without it a rolling 30d window is assumed and a
  :class:`~slo.model.spec.Note` says so); ``budgetingMethod: Occurrences`` (requests are
  weighed, not time slices).
- ``ratioMetric`` with ``bad``/``total`` or ``good``/``total`` Prometheus queries: counter
  selectors (``counter: true``), or PromQL holding ``{{.window}}`` as in Sloth's queries;
  ``raw`` ratios (``rawType: failure`` or ``success``) with ``{{.window}}``.
- ``thresholdMetric``: a latency histogram, its base name as the query, with the objective's
  ``op: lte`` and ``value`` a bucket bound in seconds (requests at or under it are good).
- ``alertPolicies``: burn-rate tiers (:mod:`.openslo_alerts`); their notification targets
  become, per service and severity, the receivers of ``slo-gen alertmanager`` where one target
  serves a severity (else the default receiver stays, and a note says so). Without alert
  policies an SLO gets the workbook's default windows, as a native spec does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slo.model.alertmanager import DEFAULT_RECEIVERS, AlertmanagerSpec
from slo.model.durations import parse_duration
from slo.model.selectors import SelectorError, parse_selector
from slo.model.spec import SLI, SLO, LatencySLI, Note, RatioQuerySLI, ServiceSpec
from slo.readers.common import DEFAULT_PERIOD, NAME, camel, objective_percent, testable_objective
from slo.readers.fields import Fields, join
from slo.readers.openslo_alerts import (
    ANY_PERIOD,
    SEVERITIES,
    TARGETS_ANNOTATION,
    Delivery,
    read_alerting,
    read_condition,
    read_policy,
    target_spec,
)
from slo.readers.openslo_objects import (
    OBJECT_NAME,
    OBJECT_NAME_WHAT,
    Catalog,
    Document,
    object_labels,
    where,
)
from slo.readers.promql import QueryError, events_sli, good_events_sli, template, windowed

API_VERSION = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource",
         "Service")
#: The window assumed when an SLO gives none (OpenSLO makes ``timeWindow`` optional).
ASSUMED_WINDOW = (f"not given (it is optional in OpenSLO): assumed a rolling {DEFAULT_PERIOD} "
                  "window, the default period of slo-gen and of Sloth")


@dataclass
class Read:
    """What one SLO document gave: its service, SLOs (v1alpha: one per objective), the notes
    on what was assumed, and the deliveries its alert policies asked for."""

    service: str
    slos: list[SLO]
    notes: list[Note] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # where each SLO is, as the file spells it (ServiceSpec.slo_paths, which adds the field)
    paths: list[str] = field(default_factory=list)


def read_documents(items: list[tuple[Fields, Any]]) -> list[ServiceSpec]:
    """Every SLO of every OpenSLO document given (v1 and v1alpha), resolving v1 references
    among all of them; the SLOs of one service in one file make one spec, and every spec of
    a service routes its alerts alike."""
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
    delivery = {service: _delivery(service, [r for _, r in reads if r.service == service])
                for service in dict.fromkeys(r.service for _, r in reads)}
    by_file_service: dict[tuple[str, str], list[Read]] = {}
    for file, read in reads:
        by_file_service.setdefault((file, read.service), []).append(read)
    return [ServiceSpec(file, service, tuple(slo for r in group for slo in r.slos),
                        alertmanager=delivery[service],
                        notes=tuple(n for r in group for n in r.notes),
                        slo_paths=tuple(p for r in group for p in r.paths))
            for (file, service), group in by_file_service.items()]


def _delivery(service: str, reads: list[Read]) -> AlertmanagerSpec:
    """Receivers by severity for a service, from every file's policies (so the specs of one
    service in several files agree): a severity that one target serves goes to a receiver
    named after it; one that several serve keeps its default, said in a note on the SLO
    whose policy brought in the second target."""
    receivers = dict(DEFAULT_RECEIVERS)
    for severity in SEVERITIES:
        deliveries = [(r, d) for r in reads for d in r.deliveries if d.severity == severity]
        targets = list(dict.fromkeys(t for _, d in deliveries for t in d.targets))
        if len(targets) == 1:
            receivers[severity] = targets[0]
            continue
        seen: list[str] = []
        for read, d in deliveries:
            seen = list(dict.fromkeys([*seen, *d.targets]))
            if len(seen) > 1:
                read.notes.append(Note(d.where, (
                    f"{severity} alerts of service {service!r} name {len(targets)} targets "
                    f"({', '.join(targets)}): slo-gen alertmanager routes a severity to one "
                    f"receiver, so they go to {receivers[severity]!r}; the "
                    f"{TARGETS_ANNOTATION} annotation names them")))
                break
    return AlertmanagerSpec(tuple(sorted(receivers.items())))


def _check_the_rest(catalog: Catalog) -> None:
    """Validate SLIs, policies and conditions on their own too, referenced or not, so a
    mistake in a shared file is reported even before an SLO uses it (reports are deduped)."""
    for doc in catalog.objects.values():
        if doc.kind == "SLI":
            _sli(doc.fields, doc.body["spec"], "spec", None, doc.fields)
        elif doc.kind == "AlertCondition":
            read_condition(doc.fields, doc.body["spec"], "spec", ANY_PERIOD)
        elif doc.kind == "AlertPolicy":
            policy = read_policy(doc.fields, {"alertPolicyRef": doc.name}, "", catalog)
            for cf, cond, cpath in policy.conditions if policy else []:
                read_condition(cf, cond, cpath, ANY_PERIOD)
        elif doc.kind == "AlertNotificationTarget":
            target_spec(doc.fields, doc.body["spec"], "spec")
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
    labels = object_labels(f, meta.get("labels"), "metadata.labels")
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
    return Read(service, [slo], notes, deliveries, [f"SLO {doc.name}: metadata"])


def assumed_period(f: Fields, path: str, notes: list[Note]) -> int:
    """The period when the SLO gives no window (v1 ``timeWindow``, v1alpha ``timeWindows``):
    slo-gen's and Sloth's default, said in a note at the field's place."""
    notes.append(Note(where(f, path), ASSUMED_WINDOW))
    return parse_duration(DEFAULT_PERIOD)


def budgeting_method(f: Fields, value: Any, path: str) -> None:
    if value != "Occurrences":
        f.fail(path, f"{value!r} cannot map: only 'Occurrences' (every event weighs the same) "
               "is supported")


def one_window(f: Fields, value: Any, path: str, required: tuple[str, ...]
               ) -> tuple[dict[str, Any], str] | None:
    """The only item of a time-window list (v1's ``timeWindow``, v1alpha's ``timeWindows``)
    and its path: an SLO has one period."""
    items = f.sequence(value, path)
    if items is None:
        return None
    if len(items) != 1:
        f.fail(path, "must list exactly one time window")
        return None
    p = join(path, 0)
    w = f.mapping(items[0], p, required=required, optional=("isRolling", "calendar"))
    return None if w is None else (w, p)


def _time_window(f: Fields, value: Any, path: str) -> int | None:
    got = one_window(f, value, path, ("duration",))
    if got is None:
        return None
    w, p = got
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
    return None if ratio is None else testable_objective(f, (ratio * 100).normalize(), path)


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
    if kind is None and "metricSourceRef" in src:  # the type would be the DataSource's
        f.fail(join(p, "metricSourceRef"), f"{src['metricSourceRef']!r}: a referenced data "
               "source is not followed: set 'type: Prometheus' here (only Prometheus data "
               "sources render to Prometheus rules)")
        return None
    if kind is None:
        f.fail(join(p, "type"), "is required: only Prometheus data sources render to "
               "Prometheus rules ('type: Prometheus')")
        return None
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


