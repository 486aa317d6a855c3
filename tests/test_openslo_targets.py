"""OpenSLO v1 ``AlertPolicy.spec.notificationTargets`` (required by OpenSLO): every target is
recorded on the alerts of its policy's conditions (the ``notification_targets`` annotation), and
``slo-gen alertmanager`` routes a severity to a receiver named after its target where one target
serves that severity of the service; where several do, the default receiver stays and validate
says so."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.engines import alertmanager as am
from slo.model.naming import NATIVE
from slo.outputs.alertmanager import build_config
from slo.readers.load import load_paths
from slo.rules.build import build_services
from tests.conftest import ROOT, assert_promtool_passes
from tests.test_alertmanager import _pairs

SPEC = ROOT / "tests" / "fixtures" / "published" / "openslo-alert-targets.yml"
PAGE = "CartCartAvailabilityErrorBudgetBurnPage"
TICKET = "CartCartAvailabilityErrorBudgetBurnTicket"
ABSENT = "CartCartAvailabilitySLIAbsent"


def _docs() -> list[dict]:
    return list(yaml.safe_load_all(SPEC.read_text()))


def _write(tmp_path: Path, docs: list[dict]) -> str:
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return str(path)


def _slo(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "SLO")


def _ticket_policy(docs: list[dict]) -> dict:
    return _slo(docs)["spec"]["alertPolicies"][1]["spec"]


def test_targets_become_receivers_by_severity_and_annotations_per_tier() -> None:
    (spec,) = load_paths([str(SPEC)])
    assert dict(spec.alertmanager.receivers) == {
        "page": "OnCallDevopsPager", "ticket": "cart-team-mail", "warning": "ticket"}
    (slo,) = spec.slos
    assert [(w.severity, w.long, dict(w.annotations)) for w in slo.alerting.windows] == [
        ("page", 3600, {"notification_targets": "OnCallDevopsPager"}),
        ("ticket", 259200, {"notification_targets": "cart-team-mail"})]


def test_alertmanager_routes_each_alert_to_its_target() -> None:
    config = build_config(build_services(load_paths([str(SPEC)]), NATIVE), NATIVE)
    assert config.receivers == ("default", "OnCallDevopsPager", "cart-team-mail")
    got = {(dict(a.labels)["alertname"], dict(a.labels).get("slo_tier", "")):
           config.root.receiver_for(dict(a.labels)) for a in config.alerts}
    assert got == {(PAGE, "page-1h"): "OnCallDevopsPager",
                   (TICKET, "ticket-3d"): "cart-team-mail",
                   (ABSENT, ""): "cart-team-mail"}  # the absent alert is a ticket


def test_rendered_alerts_carry_their_targets(tmp_path: Path, cli, promtool) -> None:
    result = cli.invoke(main, ["render", str(SPEC), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((tmp_path / "cart.rules.yml").read_text())
    alerts = {(r["alert"], r["labels"].get("slo_tier", "")): r["annotations"]
              for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alerts[(PAGE, "page-1h")]["notification_targets"] == "OnCallDevopsPager"
    assert alerts[(TICKET, "ticket-3d")]["notification_targets"] == "cart-team-mail"
    assert "notification_targets" not in alerts[(ABSENT, "")]
    assert_promtool_passes(promtool, [tmp_path / "cart.rules.yml"],
                           [tmp_path / "cart.test.yml"])


@pytest.mark.engine
def test_alertmanager_output_and_its_tests_pass_on_025_and_033(tmp_path: Path, cli) -> None:
    out = tmp_path / "am.yml"
    result = cli.invoke(main, ["alertmanager", str(SPEC), "-o", str(out)])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(out.read_text())
    assert [r["name"] for r in config["receivers"]] == [
        "default", "OnCallDevopsPager", "cart-team-mail"]
    (service,) = config["route"]["routes"]
    assert [(r["matchers"], r["receiver"]) for r in service["routes"]] == [
        (['severity="page"'], "OnCallDevopsPager"), (['severity="ticket"'], "cart-team-mail")]
    tests = yaml.safe_load((tmp_path / "am.amtest.yml").read_text())
    assert sorted(r["receivers"][0] for r in tests["routes"]) == [
        "OnCallDevopsPager", "cart-team-mail", "cart-team-mail", "default"]
    for tool, server in _pairs():
        assert am.check_config(str(out), tool).ok
        run = am.run_tests([str(tmp_path / "am.amtest.yml")], tool, server)
        assert run.ok, run.output
        assert f"routes: {len(tests['routes'])} passed, 0 failed" in run.output


def test_a_policy_with_several_targets_keeps_the_default_receiver_and_says_so(
        tmp_path: Path, cli) -> None:
    docs = _docs()
    _ticket_policy(docs)["notificationTargets"].append({"targetRef": "OnCallDevopsPager"})
    spec = _write(tmp_path, docs)
    (loaded,) = load_paths([spec])
    assert dict(loaded.alertmanager.receivers)["ticket"] == "ticket"
    assert dict(loaded.alertmanager.receivers)["page"] == "OnCallDevopsPager"
    assert dict(loaded.slos[0].alerting.windows[1].annotations) == {
        "notification_targets": "cart-team-mail, OnCallDevopsPager"}
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 spec(s), 1 SLO(s)\n"
    assert result.stderr.splitlines() == [
        f"note: {spec}: SLO cart-availability: spec.alertPolicies[1].spec.notificationTargets: "
        "ticket alerts of service 'cart' name 2 targets (cart-team-mail, OnCallDevopsPager): "
        "slo-gen alertmanager routes a severity to one receiver, so they go to 'ticket'; the "
        "notification_targets annotation names them"]


def test_two_slos_naming_different_targets_for_one_severity(tmp_path: Path, cli) -> None:
    docs = _docs()
    other = copy.deepcopy(_slo(docs))
    other["metadata"]["name"] = "cart-latency"
    other["spec"]["alertPolicies"][1]["spec"]["notificationTargets"] = [
        {"targetRef": "OnCallDevopsPager"}]
    docs.append(other)
    spec = _write(tmp_path, docs)
    (loaded,) = load_paths([spec])
    assert dict(loaded.alertmanager.receivers)["ticket"] == "ticket"
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"note: {spec}: SLO cart-latency: spec.alertPolicies[1].spec.notificationTargets: "
        "ticket alerts of service 'cart' name 2 targets (cart-team-mail, OnCallDevopsPager): "
        "slo-gen alertmanager routes a severity to one receiver, so they go to 'ticket'; the "
        "notification_targets annotation names them"]


POLICY = "SLO cart-availability: spec.alertPolicies[1].spec.notificationTargets"
BAD = [
    ([{"targetRef": "nobody"}],
     [f"{POLICY}[0].targetRef: no AlertNotificationTarget named 'nobody' in the files given"]),
    ([{"kind": "AlertNotificationTarget", "metadata": {"name": "x"}, "spec": {}}],
     [f"{POLICY}[0].spec.target: is required"]),
    ([{"targetRef": "OnCallDevopsPager", "kind": "AlertNotificationTarget"}],
     [f"{POLICY}[0]: give either 'targetRef' or an inline AlertNotificationTarget (kind, "
      "metadata, spec), not both"]),
    ([{"kind": "AlertNotificationTarget", "metadata": {"name": "has space"},
       "spec": {"target": "email"}}],
     [f"{POLICY}[0].metadata.name: 'has space' is not a name (letters, digits, '_', '.' and "
      "'-', at most 63)"]),
    ([], [f"{POLICY}: must list at least one target (OpenSLO v1 requires one)"]),
]


@pytest.mark.parametrize(("targets", "lines"), BAD)
def test_bad_targets_name_their_field(targets, lines, tmp_path: Path, cli) -> None:
    docs = _docs()
    _ticket_policy(docs)["notificationTargets"] = targets
    spec = _write(tmp_path, docs)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: {spec}: {line}" for line in lines]


def test_a_target_document_is_checked_on_its_own(tmp_path: Path, cli) -> None:
    docs = _docs()
    del docs[0]["spec"]["target"]
    docs[0]["spec"]["channel"] = "#ops"
    spec = _write(tmp_path, docs)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: AlertNotificationTarget OnCallDevopsPager: spec.channel: unknown field "
        "(allowed here: description, target)",
        f"error: {spec}: AlertNotificationTarget OnCallDevopsPager: spec.target: is required"]


def test_openslo_defaults_kind_and_alert_after_of_a_condition(tmp_path: Path) -> None:
    """OpenSLO: a condition's kind defaults to burnrate, alertAfter to 0m."""
    docs = _docs()
    cond = docs[1]["spec"]["condition"]
    del cond["kind"], cond["alertAfter"]
    (loaded,) = load_paths([_write(tmp_path, docs)])
    assert loaded.slos[0].alerting.page.for_ == 0
    assert [str(w.factor) for w in loaded.slos[0].alerting.windows] == ["14.4", "1"]


def test_a_service_in_two_files_routes_alike(tmp_path: Path, cli) -> None:
    """The target documents in one file, the SLOs in two: every spec of the service gets the
    same receivers, so slo-gen alertmanager sees one delivery for it."""
    docs = _docs()
    other = copy.deepcopy(_slo(docs))
    other["metadata"]["name"] = "cart-latency"
    del other["spec"]["alertPolicies"]  # the workbook's windows, no targets of its own
    (tmp_path / "a.yml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    (tmp_path / "b.yml").write_text(yaml.safe_dump_all([other], sort_keys=False))
    specs = load_paths([str(tmp_path / "a.yml"), str(tmp_path / "b.yml")])
    assert [s.source for s in specs] == [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]
    assert specs[0].alertmanager == specs[1].alertmanager
    assert dict(specs[1].alertmanager.receivers)["page"] == "OnCallDevopsPager"
    out = tmp_path / "am.yml"
    result = cli.invoke(main, ["alertmanager", str(tmp_path / "a.yml"), str(tmp_path / "b.yml"),
                               "-o", str(out)])
    assert result.exit_code == 0, result.output
