"""OpenSLO v1alpha SLOs (``apiVersion: openslo/v1alpha``), the version Sloth reads, mapped the
way Sloth maps them so a Sloth user's file renders the same SLOs:

- every item of ``spec.objectives`` is an SLO of its own, named ``<metadata.name>-<index>``
  (Sloth's ``sloth_slo``; its ``sloth_id`` is ``<service>-<name>-<index>``), with the
  objective's ``target`` (a ratio) and its ``ratioMetrics`` ``good``/``total`` queries of
  ``source: prometheus`` (or Sloth's ``sloth``) and ``queryType: promql``: PromQL holding
  ``{{.window}}``, or counter selectors with ``counter: true`` (v1alpha's spec spells it
  ``incremental``; both are read) as in v1;
- ``timeWindows``: one rolling window of ``count`` ``unit`` (Second to Week); without it the
  30-day period Sloth and slo-gen default to is assumed, and a note says so;
- ``budgetingMethod: Occurrences``; v1alpha has no alert policies, so every SLO gets the SRE
  workbook's page and ticket windows, as a v1 SLO without policies does (Sloth renders none).

What v1alpha has that cannot map (calendar windows, time slices, ``thresholdMetric``, other
sources) is one problem naming its field, saying how to write it in v1 where v1 maps it. This
module is the OpenSLO reader's (:mod:`slo.readers.openslo`) and shares its helpers.
"""

from __future__ import annotations

from typing import Any

from slo.model.spec import SLO, Note
from slo.readers.common import NAME, camel
from slo.readers.fields import Fields, join
from slo.readers.openslo import (
    Read,
    assumed_period,
    budgeting_method,
    no_time_slices,
    one_window,
    promql_template,
    target_percent,
)
from slo.readers.openslo_alerts import read_alerting
from slo.readers.openslo_objects import Catalog
from slo.readers.promql import good_events_sli

API_VERSION = "openslo/v1alpha"
KINDS = ("SLO", "Service")
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
SOURCES = ("prometheus", "sloth")  # Sloth accepts both for PromQL
CALENDAR = "calendar windows are not supported: use a rolling window (isRolling: true)"
THRESHOLD = ("a v1alpha thresholdMetric cannot map: convert the SLO to openslo/v1 "
             "(indicator.spec.thresholdMetric over a latency histogram, objectives[].op: lte "
             "and value: its bucket bound in seconds)")


def read_document(fields: Fields, body: Any) -> Read | None:
    """One v1alpha document: an SLO's service and its SLOs (a Service is only checked)."""
    service_doc = isinstance(body, dict) and body.get("kind") == "Service"
    m = fields.mapping(body, "", required=("apiVersion", "kind", "metadata",
                                           *(() if service_doc else ("spec",))),
                       optional=("spec",) if service_doc else ())
    if m is None:
        return None
    if m["kind"] not in KINDS:
        fields.fail("kind", f"{m['kind']!r} is not an OpenSLO v1alpha kind "
                    f"({', '.join(KINDS)}): convert it to openslo/v1")
        return None
    meta = fields.mapping(m["metadata"], "metadata", required=("name",),
                          optional=("displayName",))
    if meta is None:
        return None
    name = fields.string(meta["name"], "metadata.name", NAME,
                         "a name (lowercase letters, digits, '-' and '_', at most 63)")
    if name is None:
        return None
    f = fields.within(f"{m['kind']} {name}")
    if m["kind"] == "Service":
        f.mapping(m.get("spec", {}), "spec", optional=("description",))
        return None
    return _slo(f, name, meta, m["spec"])


def _slo(f: Fields, name: str, meta: dict[str, Any], value: Any) -> Read | None:
    before = len(f.problems)
    spec = f.mapping(value, "spec", required=("service", "budgetingMethod", "objectives"),
                     optional=("description", "timeWindows", "indicator"))
    if spec is None:
        return None
    service = f.string(spec["service"], "spec.service", NAME,
                       "a service name (lowercase letters, digits, '-' and '_')")
    description = spec.get("description", meta.get("displayName", ""))
    if not isinstance(description, str):
        f.fail("spec.description", "must be a string")
    if "indicator" in spec:
        f.fail("spec.indicator", THRESHOLD)
        return None
    notes: list[Note] = []
    if "timeWindows" in spec:
        period = _time_windows(f, spec["timeWindows"], "spec.timeWindows")
    else:
        period = assumed_period(f, "spec.timeWindows", notes)
    budgeting_method(f, spec["budgetingMethod"], "spec.budgetingMethod")
    items = f.sequence(spec["objectives"], "spec.objectives")
    if items is not None and not items:
        f.fail("spec.objectives", "must list at least one objective")
    slos, paths = [], []
    for i, item in enumerate(items or []):
        slo_name = f"{name}-{i}"
        if not NAME.fullmatch(slo_name):
            f.fail("metadata.name", f"with the objective's index the SLO name {slo_name!r} is "
                   "longer than 63 characters")
            continue
        got = _objective(f, item, join("spec.objectives", i))
        if got is None or service is None or period is None:
            continue
        objective, sli = got
        alerting = read_alerting(f, None, "spec", Catalog(), camel(service) + camel(slo_name),
                                 objective, period, [])
        if alerting is not None:
            slos.append(SLO(slo_name, str(description), objective, period, sli[0], alerting,
                            sli[1]))
            paths.append(f"SLO {name}: metadata")  # the SLO is named <name>-<i>
    if len(f.problems) > before or service is None:
        return None
    return Read(service, slos, notes, paths=paths)


def _time_windows(f: Fields, value: Any, path: str) -> int | None:
    got = one_window(f, value, path, ("count", "unit"))
    if got is None:
        return None
    w, p = got
    if "calendar" in w:
        f.fail(join(p, "calendar"), CALENDAR)
        return None
    if w.get("isRolling", True) is not True:
        f.fail(join(p, "isRolling"), CALENDAR)
        return None
    count, unit = w["count"], w["unit"]
    seconds = UNITS.get(unit.lower()) if isinstance(unit, str) else None
    if isinstance(unit, str) and seconds is None:
        f.fail(join(p, "unit"), f"{unit!r} cannot map: a rolling window counts "
               f"{', '.join(u.capitalize() for u in list(UNITS)[:-1])} or Week")
    elif not isinstance(unit, str):
        f.string(unit, join(p, "unit"))
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        f.fail(join(p, "count"), "must be a whole number greater than zero")
        return None
    return None if seconds is None else count * seconds


def _objective(f: Fields, value: Any, path: str) -> tuple[Any, Any] | None:
    """The objective in percent and its SLI (the model's SLI and its grouping labels)."""
    o = f.mapping(value, path, required=("target", "ratioMetrics"),
                  optional=("displayName", "value", "op", "timeSliceTarget", "timeSliceWindow"))
    if o is None or not no_time_slices(f, o, path):
        return None
    percent = target_percent(f, o["target"], join(path, "target"))
    p = join(path, "ratioMetrics")
    r = f.mapping(o["ratioMetrics"], p, required=("good", "total"),
                  optional=("counter", "incremental"))
    if r is None or percent is None:
        return None
    key = "incremental" if "incremental" in r and "counter" not in r else "counter"
    counter = r.get(key, False)  # v1alpha's spec says incremental; Sloth's library, counter
    if not isinstance(counter, bool):
        f.fail(join(p, key), "must be true or false")
        return None
    good = _query(f, r["good"], join(p, "good"), counter, key)
    total = _query(f, r["total"], join(p, "total"), counter, key)
    if good is None or total is None:
        return None
    return percent, good_events_sli(f, good, total, p)


def _query(f: Fields, value: Any, path: str, counter: bool, key: str) -> str | None:
    m = f.mapping(value, path, required=("source", "queryType", "query"))
    if m is None:
        return None
    source, query_type = m["source"], m["queryType"]
    ok = True
    if not isinstance(source, str) or source.lower() not in SOURCES:
        f.fail(join(path, "source"), f"{source!r} cannot map: only Prometheus sources render "
               "to Prometheus rules")
        ok = False
    if query_type != "promql":
        f.fail(join(path, "queryType"), f"{query_type!r} cannot map: only 'promql' queries do")
        ok = False
    text = f.text(m["query"], join(path, "query"))
    if not ok:
        return None
    return promql_template(f, text, join(path, "query"), counter, counter_key=key)
