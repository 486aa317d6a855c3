"""Sloth's and OpenSLO's published examples, as slo-gen reads them: specs in their shapes
(tests/fixtures/published, see its README) validate and render through promtool, or fail with
the exact lines naming what cannot map. The upstream files themselves run too when
``SLO_GEN_UPSTREAM_EXAMPLES`` points at local copies (``sloth/``, ``openslo/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slo.cli import NO_SLO, main
from slo.errors import SpecError
from slo.readers.load import load_paths
from tests.conftest import ROOT

PUBLISHED = ROOT / "tests" / "fixtures" / "published"

def _plugin(pid: str, advice: str) -> str:
    return f"Sloth SLO plugin {pid!r} cannot run in slo-gen: {advice}"


DEBUG = _plugin("sloth.dev/core/debug/v1", "it only logs in Sloth: remove it")
CUSTOM = ("it is Go code slo-gen does not run: write the rules it adds into a slo-gen spec "
          "(series[], alerts[]) or remove it")
DENOMINATOR = _plugin("sloth.dev/contrib/denominator_corrected_rules/v1",
                      "slo-gen's window and period ratios are already weighted by events: "
                      "remove it")


def _sli_plugin(pid: str, keys: tuple[str, str, str]) -> str:
    return (f"Sloth SLI plugin {pid!r} cannot run in slo-gen (it is Go code that writes the "
            f"queries): write the queries it makes as 'events' ({keys[0]}/{keys[1]}) or 'raw' "
            f"({keys[2]})")


INFO_LABELS = _plugin("sloth.dev/contrib/info_labels/v1", "put those labels in the SLO's labels")
INTERVALS = _plugin("sloth.dev/contrib/rule_intervals/v1",
                    "slo-gen sets the group intervals itself: remove it")
PLAIN = ("error_query", "total_query", "error_ratio_query")
CAMEL = ("errorQuery", "totalQuery", "errorRatioQuery")
IGNORED = "Sloth ignores this key: its alert settings never took effect; use "
WINDOWS = ("kind: Sloth AlertWindows cannot be read: slo-gen derives each SLO's burn windows "
           "from its period; a slo-gen spec sets them per SLO (alerting.windows)")

# file -> the number of SLOs read, or the exact problem lines ({file} is the file's path)
OURS: dict[str, int | list[str]] = {
    "sloth-events.yml": 2,
    "sloth-subquery.yml": 1,
    "sloth-raw.yml": 1,
    "sloth-no-alerts.yml": 1,
    "sloth-crd.yml": 2,
    "openslo-occurrences.yml": 1,
    "openslo-alert-targets.yml": 1,
    "openslo-list-form.yml": 1,
    "openslo-v1alpha.yml": 1,
    "openslo-v1alpha-objectives.yml": 3,
    "sloth-multifile.yml": 2,  # one alert name, two services: told apart by labels
    "sloth-sli-plugin.yml": [
        f"{{file}}: slos[0].sli.plugin: {_sli_plugin('example/availability/v1', PLAIN)}"],
    "sloth-slo-plugins.yml": [
        f"{{file}}: slo_plugins.chain[0]: {_plugin('sloth.dev/contrib/validation/v1', CUSTOM)}",
        f"{{file}}: slos[0].plugins.chain[0]: {DENOMINATOR}"],
    "sloth-alert-windows.yml": [f"{{file}}: {WINDOWS}"],
    "sloth-metricsql.yml": [
        "{file}: slos[0].sli.events.error_query: is not valid PromQL: unknown function with "
        "name 'histogram_share'"],
    "openslo-timeslices.yml": [
        "{file}: SLO storefront-uptime: spec.timeWindow[0].isRolling: calendar windows are not "
        "supported: use a rolling window (isRolling: true)",
        "{file}: SLO storefront-uptime: spec.budgetingMethod: 'Timeslices' cannot map: only "
        "'Occurrences' (every event weighs the same) is supported",
        "{file}: SLO storefront-uptime: spec.objectives[0].timeSliceTarget: time slices cannot "
        "map: budgetingMethod must be Occurrences",
    ],
    "openslo-any-datasource.yml": [
        "{file}: SLO search-latency: spec.indicator.spec.thresholdMetric.metricSource.type: "
        "'Elasticsearch' cannot map: only Prometheus data sources render to Prometheus rules"],
}

_TIMESLICES = ("spec.budgetingMethod: 'Timeslices' cannot map: only 'Occurrences' (every event "
               "weighs the same) is supported")
_CALENDAR = ("spec.timeWindow[0].isRolling: calendar windows are not supported: use a rolling "
             "window (isRolling: true)")
_VM_SLO = [
    "{{file}}: slos[{i}].labels.actual_le: must be a string, got a number",
    "{{file}}: slos[{i}].labels.target_le: must be a string, got a number",
    "{{file}}: slos[{i}].sli.events.error_query: is not valid PromQL: unknown function with name "
    "'histogram_share'",
    "{{file}}: slos[{i}].sli.events.total_query: is not valid PromQL: ranges only allowed for "
    "vector selectors",
    "{{file}}: slos[{i}].alerting.labels.objective: must be a string, got a number",
    "{{file}}: slos[{i}].alerting.labels.objective_reversed: must be a string, got a number",
]
_OSLO_NAME = ("metadata.name: 'example service' is not a name (letters, digits, '_', '.' and "
              "'-', at most 63)")
_V2ALPHA = ("apiVersion: OpenSLO 'openslo.com/v2alpha' is not supported (expected 'openslo/v1' "
            "or 'openslo/v1alpha')")
_WEB = "SLO web-availability"
_README_TARGET = ("spec.notificationTargets[0].targetRef: no AlertNotificationTarget named "
                  "'on-call-devops-mail-notification' in the files given")  # README: CamelCase
_LTE = ("op: 'lte' cannot map: burn-rate alerts fire when the burn rate is at or above the "
        "threshold ('gte')")
# The upstream examples (slok/sloth 0e395d8 examples/, OpenSLO/OpenSLO aa5cb78 examples/,
# OpenSLO/oslo 2f07e92 test/inputs/validate/ as oslo/)
UPSTREAM: dict[str, int | list[str]] = {
    "sloth/getting-started.yml": 1,
    "sloth/home-wifi.yml": 2,
    "sloth/k8s-getting-started.yml": 1,
    "sloth/k8s-home-wifi.yml": 2,
    "sloth/kubernetes-apiserver.yml": 2,
    "sloth/no-alerts.yml": 1,
    "sloth/raw-home-wifi.yml": 1,
    "sloth/multifile.yml": 2,
    "sloth/k8s-multifile.yml": 2,
    "sloth/contrib-denominator-corrected.yaml": [
        f"{{file}}: spec.sloPlugins.chain[0]: {DENOMINATOR}"],
    "sloth/contrib-slo-plugins.yml": [
        f"{{file}}: slos[0].plugins.chain[0]: {INFO_LABELS}",
        f"{{file}}: slos[1].plugins.chain[0]: {INTERVALS}"],
    "sloth/slo-plugin-getting-started.yml": [
        f"{{file}}: slo_plugins.chain[0]: {DEBUG}", f"{{file}}: slo_plugins.chain[1]: {DEBUG}",
        *(f"{{file}}: slos[0].plugins.chain[{i}]: {DEBUG}" for i in range(5))],
    "sloth/slo-plugin-k8s-getting-started.yml": [
        f"{{file}}: spec.sloPlugins.chain[0]: {DEBUG}",
        f"{{file}}: spec.sloPlugins.chain[1]: {DEBUG}",
        *(f"{{file}}: spec.slos[0].plugins.chain[{i}]: {DEBUG}" for i in range(5))],
    "sloth/plugin-getting-started.yml": [
        f"{{file}}: slos[0].sli.plugin: {_sli_plugin('getting_started_availability', PLAIN)}"],
    "sloth/plugin-k8s-getting-started.yml": [  # snake_case in a CRD: Sloth drops it silently
        f"{{file}}: spec.slos[0].sli.plugin: "
        f"{_sli_plugin('getting_started_availability', CAMEL)}",
        f"{{file}}: spec.slos[0].alerting.page_alert: {IGNORED}pageAlert",
        f"{{file}}: spec.slos[0].alerting.ticket_alert: {IGNORED}ticketAlert"],
    "sloth/victoria-metrics.yml": [
        *(f"{{file}}: slo_plugins.chain[{i}]: {_plugin(pid, advice)}" for i, (pid, advice) in
          enumerate([("sloth.dev/contrib/validate_victoria_metrics/v1",
                      "slo-gen renders PromQL for Prometheus only: remove it"),
                     ("sloth.dev/core/sli_rules/v1",
                      "slo-gen renders the SLI rules itself: remove it"),
                     ("sloth.dev/core/metadata_rules/v1",
                      "slo-gen renders the metadata rules itself: remove it"),
                     ("sloth.dev/core/alert_rules/v1",
                      "slo-gen renders the burn-rate alerts itself: remove it")])),
        "{file}: labels.generated: must be a string, got a boolean",
        *(line.format(i=0) for line in _VM_SLO),
        *(line.format(i=1) for line in _VM_SLO)],
    "sloth/windows/7d.yaml": [f"{{file}}: {WINDOWS}"],
    "sloth/windows/custom-30d.yaml": [f"{{file}}: {WINDOWS}"],
    "sloth/openslo-getting-started.yml": 1,
    "sloth/openslo-kubernetes-apiserver.yml": 3,
    "openslo/budgeting-method/occurences-slo.yaml": [
        "{file}: SLO search-slo: spec.indicator.spec.thresholdMetric.metricSource.type: 'Any' "
        "cannot map: only Prometheus data sources render to Prometheus rules"],
    "openslo/budgeting-method/ratio-timeslices.yaml": [
        "{file}: SLO main-page: spec.budgetingMethod: 'RatioTimeslices' cannot map: only "
        "'Occurrences' (every event weighs the same) is supported",
        "{file}: SLO main-page: spec.objectives[0].timeSliceWindow: time slices cannot map: "
        "budgetingMethod must be Occurrences"],
    "openslo/budgeting-method/timeslices-slo.yaml": [
        f"{{file}}: SLO service-availability: {_CALENDAR}",
        f"{{file}}: SLO service-availability: {_TIMESLICES}",
        "{file}: SLO service-availability: spec.objectives: must list exactly one objective "
        "(write one SLO per objective)"],
    "openslo/treat-low-traffic-as-equally-important/timeslices-slo.yaml": [
        f"{{file}}: SLO service-availability: {_CALENDAR}",
        f"{{file}}: SLO service-availability: {_TIMESLICES}",
        "{file}: SLO service-availability: spec.objectives[0].timeSliceTarget: time slices "
        "cannot map: budgetingMethod must be Occurrences"],
    "oslo/invalid-apiversion.yaml": [
        "{file}: apiVersion: 'foo' is not a known spec version: expected 'apiVersion: "
        "slo-gen/v1', 'version: prometheus/v1' (Sloth), 'apiVersion: sloth.slok.dev/v1', "
        "'apiVersion: openslo/v1' or 'apiVersion: openslo/v1alpha'"],
    "oslo/unknown-field.yaml": [
        "{file}: metadata.name: 'my-rad service' is not a name (letters, digits, '_', '.' and "
        "'-', at most 63)"],
    "oslo/v1.yaml": [
        f"{{file}}: [2]: {_OSLO_NAME}",
        f"{{file}}: {_WEB}: metadata.labels.env: a list of values cannot become a Prometheus "
        "label: give one string",
        f"{{file}}: {_WEB}: metadata.labels.team: a list of values cannot become a Prometheus "
        "label: give one string",
        f"{{file}}: {_WEB}: {_CALENDAR}", f"{{file}}: {_WEB}: {_TIMESLICES}",
        f"{{file}}: {_WEB}: spec.objectives[0].timeSliceTarget: time slices cannot map: "
        "budgetingMethod must be Occurrences"],
    "oslo/v1alpha.yaml": [
        "{file}: document 1: [0]: metadata.name: 'my-rad service' is not a name (lowercase "
        "letters, digits, '-' and '_', at most 63)",
        f"{{file}}: SLO ratio: {_TIMESLICES}",
        "{file}: SLO my-amazing-slo: spec.indicator: a v1alpha thresholdMetric cannot map: "
        "convert the SLO to openslo/v1 (indicator.spec.thresholdMetric over a latency "
        "histogram, objectives[].op: lte and value: its bucket bound in seconds)"],
    "oslo/v2alpha.yaml": [f"{{file}}: [{i}]: {_V2ALPHA}" for i in range(3)],
    "oslo/mix/1.yaml": [
        "{file}: [0]: metadata.name: 'example service' is not a name (lowercase letters, "
        "digits, '-' and '_', at most 63)"],
    "oslo/mix/2.yaml": [f"{{file}}: [0]: {_OSLO_NAME}"],
    "oslo/mix/3.yaml": [f"{{file}}: [0]: {_V2ALPHA}"],
    "oslo/recursive/1.yaml": [f"{{file}}: [0]: {_OSLO_NAME}"],
    "oslo/recursive/nested/2.yaml": [f"{{file}}: [0]: {_V2ALPHA}"],
    "oslo/recursive/nested/nested2/nested3/3.yaml": [f"{{file}}: [0]: {_V2ALPHA}"],
    # the README's example objects, each block as a file (readme/NN.yaml, in order)
    "readme/01.yaml": [
        "{file}: SLO foo-slo: spec.budgetingMethod: is required",
        *(f"{{file}}: SLO foo-slo: spec.indicator.spec.ratioMetric.{q}.metricSource.type: "
          "'Datadog' cannot map: only Prometheus data sources render to Prometheus rules"
          for q in ("good", "total"))],
    "readme/02.yaml": [
        f"{{file}}: AlertPolicy AlertPolicy: {_README_TARGET}",
        "{file}: AlertPolicy AlertPolicy: spec.conditions[0].conditionRef: no AlertCondition "
        "named 'cpu-usage-breach' in the files given"],
    "readme/03.yaml": [
        f"{{file}}: AlertPolicy AlertPolicy: {_README_TARGET}",
        f"{{file}}: AlertPolicy AlertPolicy: spec.conditions[0].spec.condition.{_LTE}"],
    "readme/04.yaml": [f"{{file}}: AlertCondition cpu-usage-breach: spec.condition.{_LTE}"],
    "readme/05.yaml": 0,
    "readme/06.yaml": 0,
}


def _check(path: Path, expected: int | list[str], tmp_path: Path, cli) -> None:
    if expected == 0:  # valid objects, no SLO among them: validate and render refuse alike
        assert load_paths([str(path)]) == []
        for args in (["validate", str(path)], ["render", str(path), "-o", str(tmp_path / "o")]):
            result = cli.invoke(main, args)
            assert result.exit_code == 1 and result.stderr == f"error: {NO_SLO}\n"
        return
    if isinstance(expected, int):
        assert sum(len(s.slos) for s in load_paths([str(path)])) == expected
        out = tmp_path / "out"
        result = cli.invoke(main, ["render", str(path), "-o", str(out)])  # promtool checks
        assert result.exit_code == 0, result.output
        # a rule file and its tests per service
        names = sorted(p.name for p in out.iterdir())
        services = sorted({s.service for s in load_paths([str(path)])})
        assert names == sorted(f"{svc}.{kind}.yml" for svc in services
                               for kind in ("rules", "test"))
        return
    with pytest.raises(SpecError) as exc:
        load_paths([str(path)])
    assert [str(p) for p in exc.value.problems] == [
        line.replace("{file}", str(path)) for line in expected]
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == len(expected)


def test_every_fixture_has_an_outcome() -> None:
    assert sorted(p.name for p in PUBLISHED.glob("*.yml")) == sorted(OURS)


@pytest.mark.parametrize("name", sorted(OURS))
def test_published_shapes(name: str, tmp_path: Path, cli, promtool) -> None:
    _check(PUBLISHED / name, OURS[name], tmp_path, cli)


UPSTREAM_DIR = os.environ.get("SLO_GEN_UPSTREAM_EXAMPLES")


@pytest.mark.skipif(not UPSTREAM_DIR, reason="SLO_GEN_UPSTREAM_EXAMPLES is not set")
@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_upstream_examples(name: str, tmp_path: Path, cli, promtool) -> None:
    path = Path(UPSTREAM_DIR or "") / name
    if not path.exists():
        pytest.skip(f"{name} is not in {UPSTREAM_DIR}")
    _check(path, UPSTREAM[name], tmp_path, cli)


@pytest.mark.skipif(not UPSTREAM_DIR, reason="SLO_GEN_UPSTREAM_EXAMPLES is not set")
def test_every_upstream_example_has_an_outcome() -> None:
    root = Path(UPSTREAM_DIR or "")
    found = {str(p.relative_to(root)) for p in root.rglob("*.y*ml") if "_gen" not in p.parts}
    assert found <= set(UPSTREAM), sorted(found - set(UPSTREAM))
