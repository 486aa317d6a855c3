"""OpenSLO v1alpha (``apiVersion: openslo/v1alpha``, the version Sloth reads): each objective's
``ratioMetrics`` of Prometheus queries is an SLO named ``<metadata.name>-<index>`` as Sloth
names it, ``timeWindows`` counts a rolling window; what cannot map says how to convert."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.model.spec import GoodEventsSLI
from slo.readers.load import load_paths
from tests.conftest import ROOT, assert_promtool_passes

PUBLISHED = ROOT / "tests" / "fixtures" / "published"
ONE = PUBLISHED / "openslo-v1alpha.yml"
TWO = PUBLISHED / "openslo-v1alpha-objectives.yml"
ASSUMED = ("not given (it is optional in OpenSLO): assumed a rolling 30d window, the default "
           "period of slo-gen and of Sloth")


def test_objectives_become_slos_named_as_sloth_names_them() -> None:
    specs = load_paths([str(TWO)])
    assert [(s.service, [slo.name for slo in s.slos]) for s in specs] == [
        ("gateway", ["requests-availability-0", "requests-latency-0", "requests-latency-1"])]
    avail, fast, slow = specs[0].slos
    assert [str(s.objective) for s in specs[0].slos] == ["99.9", "99", "99.9"]
    assert {s.period for s in specs[0].slos} == {30 * 86400}
    assert isinstance(avail.sli, GoodEventsSLI)  # sum(rate(selector)): read as selectors
    assert avail.sli.total.render() == "gateway_requests_total"
    assert avail.description == "Requests answered without a server error."
    assert [(w.severity, w.long, str(w.factor)) for w in slow.alerting.windows] == [
        ("page", 3600, "14.4"), ("page", 21600, "6"), ("ticket", 86400, "3"),
        ("ticket", 259200, "1")]  # no alert policies in v1alpha: the workbook's defaults
    assert fast.sli != slow.sli


def test_v1alpha_renders_with_sloths_labels(tmp_path: Path, cli, promtool) -> None:
    result = cli.invoke(main, ["render", str(TWO), "--sloth-compat", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((tmp_path / "gateway.rules.yml").read_text())
    ids = {r["labels"]["sloth_id"] for g in rules["groups"] for r in g["rules"]
           if "record" in r and "sloth_id" in r.get("labels", {})}
    assert ids == {"gateway-requests-availability-0", "gateway-requests-latency-0",
                   "gateway-requests-latency-1"}
    assert_promtool_passes(promtool, [tmp_path / "gateway.rules.yml"],
                           [tmp_path / "gateway.test.yml"])


def test_missing_time_windows_is_assumed_and_said(tmp_path: Path, cli) -> None:
    (spec,) = load_paths([str(ONE)])
    assert spec.slos[0].period == 30 * 86400 and spec.slos[0].name == "storefront-availability-0"
    result = cli.invoke(main, ["validate", str(ONE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 spec(s), 1 SLO(s)\n"
    assert result.stderr.splitlines() == [
        f"note: {ONE}: SLO storefront-availability: spec.timeWindows: {ASSUMED}"]
    result = cli.invoke(main, ["render", str(ONE), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    head = (tmp_path / "storefront.rules.yml").read_text().splitlines()[:5]
    assert f"# Note: {ONE.name}: SLO storefront-availability: spec.timeWindows: {ASSUMED}" in head


def _bad(tmp_path: Path, change) -> list[str]:
    doc = yaml.safe_load(ONE.read_text())
    doc = copy.deepcopy(doc)
    change(doc["spec"])
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return [str(path)]


GOOD = "spec.objectives[0].ratioMetrics.good"
WHERE = "SLO storefront-availability"
CASES = [
    (lambda s: s.update(timeWindows=[{"count": 1, "unit": "Month", "isRolling": False,
                                      "calendar": {"startTime": "2021-05-01 00:00:00",
                                                   "timeZone": "UTC"}}]),
     ["spec.timeWindows[0].calendar: calendar windows are not supported: use a rolling window "
      "(isRolling: true)"]),
    (lambda s: s.update(timeWindows=[{"count": 1, "unit": "Quarter", "isRolling": True}]),
     ["spec.timeWindows[0].unit: 'Quarter' cannot map: a rolling window counts Second, Minute, "
      "Hour, Day or Week"]),
    (lambda s: s.update(timeWindows=[{"count": 0, "unit": "Day"}]),
     ["spec.timeWindows[0].count: must be a whole number greater than zero"]),
    (lambda s: s.update(budgetingMethod="Timeslices"),
     ["spec.budgetingMethod: 'Timeslices' cannot map: only 'Occurrences' (every event weighs "
      "the same) is supported"]),
    (lambda s: s["objectives"][0]["ratioMetrics"]["good"].update(source="datadog"),
     [f"{GOOD}.source: 'datadog' cannot map: only Prometheus sources render to Prometheus "
      "rules"]),
    (lambda s: s["objectives"][0]["ratioMetrics"]["good"].update(queryType="sql"),
     [f"{GOOD}.queryType: 'sql' cannot map: only 'promql' queries do"]),
    (lambda s: s["objectives"][0]["ratioMetrics"]["good"].update(query="sum(x)"),
     [f"{GOOD}.query: must be a counter selector (with counter: true) or PromQL holding "
      "'{{.window}}' where the range goes"]),
    (lambda s: s["objectives"][0].update(target=99.9),
     ["spec.objectives[0].target: 99.9 is out of range: a target is a ratio, 0 < x < 1"]),
    (lambda s: s["objectives"][0].update(timeSliceTarget=0.9),
     ["spec.objectives[0].timeSliceTarget: time slices cannot map: budgetingMethod must be "
      "Occurrences"]),
    (lambda s: s["objectives"][0].pop("ratioMetrics"),
     ["spec.objectives[0].ratioMetrics: is required"]),
    (lambda s: s.update(indicator={"thresholdMetric": {
        "source": "prometheus", "queryType": "promql", "query": "latency_seconds"}}),
     ["spec.indicator: a v1alpha thresholdMetric cannot map: convert the SLO to openslo/v1 "
      "(indicator.spec.thresholdMetric over a latency histogram, objectives[].op: lte and "
      "value: its bucket bound in seconds)"]),
    (lambda s: s.update(colour="red"),
     ["spec.colour: unknown field (allowed here: budgetingMethod, description, indicator, "
      "objectives, service, timeWindows)"]),
]


@pytest.mark.parametrize(("change", "lines"), CASES)
def test_what_cannot_map_names_the_v1alpha_field(change, lines, tmp_path: Path, cli) -> None:
    (spec,) = _bad(tmp_path, change)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: {spec}: {WHERE}: {line}" for line in lines]


def test_counter_selectors_map_as_in_v1(tmp_path: Path) -> None:
    def change(s):
        metrics = s["objectives"][0]["ratioMetrics"]
        metrics["counter"] = True
        metrics["good"]["query"] = 'http_requests_total{job="storefront",code!~"5.."}'
        metrics["total"]["query"] = 'http_requests_total{job="storefront"}'
    (spec,) = _bad(tmp_path, change)
    (loaded,) = load_paths([spec])
    assert isinstance(loaded.slos[0].sli, GoodEventsSLI)


def test_other_openslo_versions_name_both_that_are_read(tmp_path: Path, cli) -> None:
    spec = tmp_path / "v2.yaml"
    spec.write_text("apiVersion: openslo/v2alpha\nkind: SLO\n")
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: apiVersion: OpenSLO 'openslo/v2alpha' is not supported (expected "
        "'openslo/v1' or 'openslo/v1alpha')"]


def test_other_v1alpha_kinds(tmp_path: Path, cli) -> None:
    spec = tmp_path / "svc.yaml"
    spec.write_text("apiVersion: openslo/v1alpha\nkind: Service\nmetadata: {name: web}\n"
                    "spec: {description: The web}\n---\n"
                    "apiVersion: openslo/v1alpha\nkind: AlertPolicy\nmetadata: {name: p}\n"
                    "spec: {}\n")
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: document 2: kind: 'AlertPolicy' is not an OpenSLO v1alpha kind (SLO, "
        "Service): convert it to openslo/v1"]


def test_incremental_is_v1alphas_spelling_of_counter(tmp_path: Path, cli) -> None:
    def change(s):
        metrics = s["objectives"][0]["ratioMetrics"]
        metrics["incremental"] = True
        metrics["good"]["query"] = 'http_requests_total{job="storefront",code!~"5.."}'
        metrics["total"]["query"] = 'http_requests_total{job="storefront"}'
    (spec,) = _bad(tmp_path, change)
    (loaded,) = load_paths([spec])
    assert isinstance(loaded.slos[0].sli, GoodEventsSLI)
    doc = yaml.safe_load(Path(spec).read_text())
    doc["spec"]["objectives"][0]["ratioMetrics"]["incremental"] = False
    Path(spec).write_text(yaml.safe_dump(doc, sort_keys=False))
    result = cli.invoke(main, ["validate", spec])
    assert result.stderr.splitlines() == [
        f"error: {spec}: {WHERE}: {GOOD}.query: a selector is taken as a counter: set "
        "incremental: true, or write PromQL holding '{{.window}}'",
        f"error: {spec}: {WHERE}: spec.objectives[0].ratioMetrics.total.query: a selector is "
        "taken as a counter: set incremental: true, or write PromQL holding '{{.window}}'"]
