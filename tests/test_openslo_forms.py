"""OpenSLO files as oslo validates them: a YAML sequence of objects in one document, and an SLO
without ``timeWindow`` (optional in OpenSLO v1: a rolling 30d window is assumed, and said)."""

from __future__ import annotations

from pathlib import Path

import yaml

from slo.cli import main
from slo.readers.load import load_paths
from tests.conftest import ROOT

LIST = ROOT / "tests" / "fixtures" / "published" / "openslo-list-form.yml"
CHECKOUT = ROOT / "tests" / "fixtures" / "openslo-checkout.yaml"
ASSUMED = ("not given (it is optional in OpenSLO): assumed a rolling 30d window, the default "
           "period of slo-gen and of Sloth")


def test_a_sequence_of_objects_is_read() -> None:
    (spec,) = load_paths([str(LIST)])
    assert spec.service == "web" and [s.name for s in spec.slos] == ["web-availability"]
    assert spec.slos[0].period == 30 * 86400


def test_missing_time_window_is_assumed_and_said(tmp_path: Path, cli) -> None:
    result = cli.invoke(main, ["validate", str(LIST)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 spec(s), 1 SLO(s)\n"
    note = f"SLO web-availability: spec.timeWindow: {ASSUMED}"
    assert result.stderr.splitlines() == [f"note: {LIST}: {note}"]
    result = cli.invoke(main, ["render", str(LIST), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"note: {LIST}: {note}"
    head = (tmp_path / "web.rules.yml").read_text().splitlines()[:5]
    assert f"# Note: {LIST.name}: {note}" in head


def test_a_sequence_and_documents_mix_and_resolve_references(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(CHECKOUT.read_text()))
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump_all([docs[:3], *docs[3:]], sort_keys=False))
    assert [s.slos for s in load_paths([str(path)])] == [
        s.slos for s in load_paths([str(CHECKOUT)])]


def test_problems_in_a_sequence_name_the_item(tmp_path: Path, cli) -> None:
    items = yaml.safe_load(LIST.read_text())
    del items[1]["kind"]
    items.append("not an object")
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump(items, sort_keys=False))
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: [2]: apiVersion: the document must be a mapping with 'apiVersion: "
        "slo-gen/v1', 'version: prometheus/v1' (Sloth), 'apiVersion: sloth.slok.dev/v1', "
        "'apiVersion: openslo/v1' or 'apiVersion: openslo/v1alpha'",
        f"error: {path}: [1]: kind: is required"]


def test_an_empty_sequence_is_a_problem(tmp_path: Path, cli) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("[]\n")
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: is an empty list: expected OpenSLO objects"]


def test_a_service_object_is_checked(tmp_path: Path, cli) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: web}\n"
                    "spec: {markdown: The web}\n")
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: Service web: spec.markdown: unknown field (allowed here: description)"]


def test_targets_alone_are_refused_by_validate_and_render_alike(tmp_path: Path, cli) -> None:
    """A valid target with no SLO renders nothing; render refuses it, so validate does too
    (a spec that validates renders), with the same line saying to give the files together."""
    path = tmp_path / "targets.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: AlertNotificationTarget\n"
                    "metadata: {name: OnCallDevopsSlackNotification}\n"
                    "spec: {description: Sends P1 alerts to Slack, target: slack}\n")
    out = tmp_path / "out"
    for args in (["validate", str(path)], ["render", str(path), "-o", str(out)]):
        result = cli.invoke(main, args)
        assert result.exit_code == 1 and not out.exists()
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "error: no SLO in the files given, nothing to render (OpenSLO targets, policies "
            "and SLIs render with the SLOs that use them: give those files together)"]


SLOTH_SHOP = """\
version: prometheus/v1
service: shop
slos:
  - name: checkout
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: ShopCheckout
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""
LOW = ROOT / "tests" / "fixtures" / "openslo-low-objective.yaml"


def test_the_same_slo_in_openslo_and_sloth_names_both_places(tmp_path: Path, cli) -> None:
    """The cross-spec check names the OpenSLO SLO as its file spells it, not ``slos[0]``."""
    sloth = tmp_path / "shop.yml"
    sloth.write_text(SLOTH_SHOP)
    result = cli.invoke(main, ["validate", str(LOW), str(sloth)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {LOW}: SLO checkout: metadata.name: SLO 'checkout' of service 'shop' is "
        f"already defined in {sloth}: slos[0].name"]


def test_a_default_tier_that_cannot_fire_is_noted_in_the_rule_file(tmp_path: Path, cli) -> None:
    """At 90% the 1h page's threshold (14.4 x 0.1) is above 100%: left out and said."""
    result = cli.invoke(main, ["render", str(LOW), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    notes = [ln for ln in (tmp_path / "shop.rules.yml").read_text().splitlines()
             if ln.startswith("# Note:")]
    assert notes == [
        "# Note: shop/checkout: the default page tier page-1h (1h/5m at 14.4x the budget) is "
        "left out: 14.4 x budget 0.1 >= 1, so its threshold is an error ratio of 100% or more "
        "and it could never fire."]


def test_a_metric_source_by_reference_says_what_to_write(tmp_path: Path, cli) -> None:
    """The OpenSLO README's SLI names its data source by ``metricSourceRef`` and no ``type``:
    one line naming that field (never "None cannot map")."""
    doc = yaml.safe_load(LOW.read_text())
    good = doc["spec"]["indicator"]["spec"]["ratioMetric"]["good"]["metricSource"]
    del good["type"]
    good["metricSourceRef"] = "redshift-datasource"
    path = tmp_path / "ref.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: SLO checkout: spec.indicator.spec.ratioMetric.good.metricSource."
        "metricSourceRef: 'redshift-datasource': a referenced data source is not followed: set "
        "'type: Prometheus' here (only Prometheus data sources render to Prometheus rules)"]
