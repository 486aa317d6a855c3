"""OpenSLO v1: SLO, SLI, AlertPolicy and AlertCondition objects, inline or referenced across
documents and files, mapped into the model; what cannot map is an error naming its field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.model.spec import EventsSLI, GoodEventsSLI, LatencySLI
from slo.outputs.formats import render
from slo.readers.load import load_paths
from tests.conftest import ROOT, assert_promtool_passes

FIXTURES = ROOT / "tests" / "fixtures"
OPENSLO_SPEC = str(FIXTURES / "openslo-checkout.yaml")
NATIVE_SPEC = str(FIXTURES / "native-checkout.yaml")


def _docs() -> list[dict]:
    return list(yaml.safe_load_all(Path(OPENSLO_SPEC).read_text()))


def _alert_exprs(spec: str, slo: str) -> list[str]:
    (rules_file, _) = render(load_paths([spec]))
    group = next(g for g in yaml.safe_load(rules_file.text)["groups"] if g["name"].endswith(slo))
    return [r["expr"] for r in group["rules"] if "alert" in r]


def test_openslo_objects_map_into_the_model() -> None:
    specs = load_paths([OPENSLO_SPEC])
    assert [s.service for s in specs] == ["checkout"]
    avail, latency, good = specs[0].slos
    assert isinstance(avail.sli, EventsSLI) and str(avail.objective) == "99.9"
    assert avail.description == "Checkout requests answered without a server error."
    assert dict(avail.labels) == {"team": "payments"}
    assert [(w.severity, w.long, w.short, str(w.factor)) for w in avail.alerting.windows] == [
        ("page", 3600, 300, "14.4"), ("page", 21600, 1800, "6"),
        ("ticket", 86400, 7200, "3"), ("ticket", 259200, 21600, "1")]
    assert isinstance(latency.sli, LatencySLI) and latency.sli.le == 0.25
    assert latency.period == 28 * 86400 and str(latency.objective) == "99"
    assert len(latency.alerting.windows) == 4  # no policy: the workbook's defaults
    assert isinstance(good.sli, GoodEventsSLI)
    assert good.alerting.page.for_ == 120 and good.alerting.windows[0].short == 300


def test_round_trip_same_alert_expressions_as_the_native_spec() -> None:
    exprs = _alert_exprs(OPENSLO_SPEC, "requests-availability")
    assert exprs == _alert_exprs(NATIVE_SPEC, "requests-availability")


def test_openslo_rules_pass_promtool_and_their_tests(tmp_path: Path, cli, promtool) -> None:
    result = cli.invoke(main, ["render", OPENSLO_SPEC, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert_promtool_passes(promtool, [tmp_path / "checkout.rules.yml"],
                           [tmp_path / "checkout.test.yml"])


def test_references_resolve_across_files(tmp_path: Path) -> None:
    docs = _docs()
    shared, slos = docs[:3], docs[3:]
    (tmp_path / "shared.yaml").write_text(yaml.safe_dump_all(shared))
    (tmp_path / "slos.yaml").write_text(yaml.safe_dump_all(slos))
    split = load_paths([str(tmp_path / "slos.yaml"), str(tmp_path / "shared.yaml")])
    assert [s.slos for s in split] == [s.slos for s in load_paths([OPENSLO_SPEC])]


def _slo_doc(docs: list[dict], name: str) -> dict:
    return next(d for d in docs if d["kind"] == "SLO" and d["metadata"]["name"] == name)


def _set(doc: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


FAST = ("spec", "alertPolicies", 0, "spec", "conditions", 0, "spec", "condition")
FAST_PATH = "spec.alertPolicies[0].spec.conditions[0].spec.condition"
BAD = [
    (("spec", "timeWindow", 0, "isRolling"), False, "spec.timeWindow[0].isRolling",
     "calendar windows are not supported: use a rolling window (isRolling: true)"),
    (("spec", "budgetingMethod"), "Timeslices", "spec.budgetingMethod",
     "'Timeslices' cannot map: only 'Occurrences' (every event weighs the same) is supported"),
    (("spec", "indicatorRef"), "nope", "spec.indicatorRef", "no SLI named 'nope' in the files "
     "given"),
    (("spec", "objectives", 0, "target"), 99.9, "spec.objectives[0].target",
     "99.9 is out of range: a target is a ratio, 0 < x < 1"),
    (("spec", "objectives", 1), {"target": 0.99}, "spec.objectives",
     "must list exactly one objective (write one SLO per objective)"),
    ((*FAST, "op"), "gt", f"{FAST_PATH}.op", "'gt' cannot map: burn-rate alerts fire when the "
     "burn rate is at or above the threshold ('gte')"),
    ((*FAST, "lookbackWindow"), "40d", f"{FAST_PATH}.lookbackWindow",
     "must fit in the time window, be at least 24m and divide into 12 whole seconds (the "
     "short window is a twelfth of it, at least 2m)"),
    ((*FAST, "lookbackWindow"), "30m1h", f"{FAST_PATH}.lookbackWindow",
     "'30m1h' is not a duration: units go from the largest to the smallest, each at most once "
     "(e.g. '1h30m', not '30m1h')"),
    (("spec", "alertPolicies", 0, "spec", "conditions", 0, "spec", "severity"), "critical",
     "spec.alertPolicies[0].spec.conditions[0].spec.severity",
     "'critical' must be one of page, ticket (the page and the ticket alert)"),
    (("spec", "alertPolicies", 0, "spec", "notificationTargets"), [{"targetRef": "pager"}],
     "spec.alertPolicies[0].spec.notificationTargets[0].targetRef",
     "no AlertNotificationTarget named 'pager' in the files given"),
    (("metadata", "labels", "team"), ["a", "b"], "metadata.labels.team",
     "a list of values cannot become a Prometheus label: give one string"),
    ((*FAST, "alertAfter"), "5m", "spec.alertPolicies[0].spec.conditions[1].spec.condition."
     "alertAfter", "differs from spec.alertPolicies[0].spec.conditions[0].spec: all page "
     "conditions of an SLO share one alert and its 'for'"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), BAD)
def test_what_cannot_map_is_an_error_naming_the_field(path, value, field, message,
                                                      tmp_path: Path, cli) -> None:
    docs = _docs()
    target = _slo_doc(docs, "requests-availability")
    if path[-1] == 1 and path[-2] == "objectives":
        target["spec"]["objectives"].append(value)
    else:
        _set(target, path, value)
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump_all(docs))
    out = tmp_path / "out"
    result = cli.invoke(main, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: SLO requests-availability: {field}: {message}"]
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(("path", "where"), [
    (("spec", "budgetingMethod"), "SLO requests-availability: spec.budgetingMethod"),
    ((*FAST, "threshold"), f"SLO requests-availability: {FAST_PATH}.threshold"),
    ((*FAST, "op"), f"SLO requests-availability: {FAST_PATH}.op"),
    (("spec", "alertPolicies", 0, "spec", "conditions", 0, "spec", "severity"),
     "SLO requests-availability: spec.alertPolicies[0].spec.conditions[0].spec.severity"),
    (("kind",), "document 4: kind"),
])
def test_a_missing_required_field_is_one_line(path, where, tmp_path: Path, cli) -> None:
    docs = _docs()
    target = _slo_doc(docs, "requests-availability")
    assert docs.index(target) == 3
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump_all(docs))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {spec}: {where}: is required"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"type": "Datadog"}, "metricSource.type",
     "'Datadog' cannot map: only Prometheus data sources render to Prometheus rules"),
    ({"spec": {"query": "sum(rate(x[5m]))"}}, "metricSource.spec.query",
     "must be a counter selector (with counter: true) or PromQL holding '{{.window}}' where the "
     "range goes"),
])
def test_sli_problems_name_the_sli_document(change, field, message, tmp_path: Path,
                                            cli) -> None:
    docs = _docs()
    source = docs[0]["spec"]["ratioMetric"]["bad"]["metricSource"]
    source.update(copy.deepcopy(change))
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump_all(docs))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: SLI checkout-errors: spec.ratioMetric.bad.{field}: {message}"]


def test_unreferenced_objects_are_checked_too(tmp_path: Path, cli) -> None:
    docs = _docs()[1:3]  # the condition and the policy alone, no SLO
    docs[0]["spec"]["condition"]["kind"] = "budget"
    spec = tmp_path / "shared.yaml"
    spec.write_text(yaml.safe_dump_all(docs))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: AlertCondition slow-burn: spec.condition.kind: 'budget' cannot map: "
        "only 'burnrate' conditions do"]
