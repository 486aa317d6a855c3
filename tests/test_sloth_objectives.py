"""Objectives of 93.05% or less: a default tier whose threshold is an error ratio of 1 or more
could never fire. It is left out with a note in the rule file when the spec did not ask for it;
the SLO is refused only when the spec names an alert none of whose tiers could fire, at the
field as the input spells it. The generated tests of such an SLO pass on every promtool."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from slo.cli import main
from slo.model.burnrate import error_threshold
from slo.model.spec import error_budget
from slo.readers.common import burn_windows, never_firing_defaults
from slo.readers.fields import Fields
from slo.readers.load import load_paths

ERRORS = 'sum(rate(http_requests_total{job="home-wifi",code=~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="home-wifi"}[{{.window}}]))'


def _sloth(objective: float, alerting: dict | None = None, crd: bool = False) -> dict:
    """home-wifi.yml's shape: a low objective on a flaky home network."""
    keys = ("errorQuery", "totalQuery") if crd else ("error_query", "total_query")
    slo = {"name": "wifi-availability", "objective": objective,
           "sli": {"events": dict(zip(keys, (ERRORS, TOTAL), strict=True))},
           "alerting": {"name": "WifiClientsDisconnected", **(alerting or {})}}
    spec = {"service": "home-wifi", "labels": {"owner": "home"}, "slos": [slo]}
    if crd:
        return {"apiVersion": "sloth.slok.dev/v1", "kind": "PrometheusServiceLevel",
                "metadata": {"name": "home-wifi"}, "spec": spec}
    return {"version": "prometheus/v1", **spec}


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "home-wifi.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


NOTE_1H = ("home-wifi/wifi-availability: the default page tier page-1h (1h/5m at 14.4x the "
           "budget) is left out: 14.4 x budget {b} >= 1, so its threshold is an error ratio of "
           "100% or more and it could never fire.")


@pytest.mark.parametrize(("objective", "tiers", "left_out"), [
    (93.06, ["page-1h", "page-6h", "ticket-1d", "ticket-3d"], []),
    (93.05, ["page-6h", "ticket-1d", "ticket-3d"], ["page-1h"]),
    (90, ["page-6h", "ticket-1d", "ticket-3d"], ["page-1h"]),
    (80, ["ticket-1d", "ticket-3d"], ["page-1h", "page-6h"]),
    (50, ["ticket-3d"], ["page-1h", "page-6h", "ticket-1d"]),
])
def test_default_tiers_that_cannot_fire_are_left_out(objective, tiers, left_out,
                                                     tmp_path: Path) -> None:
    (spec,) = load_paths([str(_write(tmp_path, _sloth(objective)))])
    alerting = spec.slos[0].alerting
    assert [w.tier for w in alerting.windows] == tiers
    assert [w.tier for w in alerting.omitted] == left_out


def _note_lines(text: str) -> list[str]:
    """The rule file's notes, unwrapped."""
    lines = [ln[2:] for ln in text.splitlines() if ln.startswith("# ")]
    notes = " ".join(lines).split("Note: ")[1:]
    return [" ".join(n.split()) for n in notes]


def test_low_objective_renders_with_a_note_and_its_tests_pass(tmp_path: Path, cli,
                                                               every_promtool: str) -> None:
    promtool = every_promtool
    spec = _write(tmp_path, _sloth(90, {"page_alert": {"labels": {"severity": "pageteam"}}}))
    out = tmp_path / "rules"
    result = cli.invoke(main, ["render", str(spec), "-o", str(out)], env={"PROMTOOL": promtool})
    assert result.exit_code == 0, result.output
    text = (out / "home-wifi.rules.yml").read_text()
    assert _note_lines(text) == [NOTE_1H.format(b="0.1")]
    rules = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    assert [r["labels"]["slo_tier"] for r in rules if r.get("alert") == "WifiClientsDisconnected"] \
        == ["page-6h", "ticket-1d", "ticket-3d"]
    result = cli.invoke(main, ["test", "--promtool", promtool, str(out / "home-wifi.test.yml")])
    assert result.exit_code == 0, result.output


def test_no_note_when_every_tier_can_fire(tmp_path: Path, cli) -> None:
    out = tmp_path / "rules"
    spec = _write(tmp_path, _sloth(99.9))
    assert cli.invoke(main, ["render", str(spec), "-o", str(out), "--no-check"]).exit_code == 0
    assert "# Note:" not in (out / "home-wifi.rules.yml").read_text()


def test_a_disabled_alert_gets_no_note(tmp_path: Path, cli) -> None:
    out = tmp_path / "rules"
    spec = _write(tmp_path, _sloth(80, {"page_alert": {"disable": True}}))
    assert cli.invoke(main, ["render", str(spec), "-o", str(out), "--no-check"]).exit_code == 0
    assert _note_lines((out / "home-wifi.rules.yml").read_text()) == []  # page: disabled


PAGE_REFUSED = ("objective 80 leaves this alert no tier that could fire (page-1h: 14.4 x budget "
                "0.2 >= 1; page-6h: 6 x budget 0.2 >= 1): set disable: true or raise the "
                "objective")


@pytest.mark.parametrize(("crd", "where"), [(False, "slos[0].alerting.page_alert"),
                                            (True, "spec.slos[0].alerting.pageAlert")])
def test_an_alert_asked_for_that_could_never_fire_is_refused(crd: bool, where: str,
                                                             tmp_path: Path, cli) -> None:
    key = "pageAlert" if crd else "page_alert"
    spec = _write(tmp_path, _sloth(80, {key: {"labels": {"severity": "pageteam"}}}, crd))
    out = tmp_path / "rules"
    result = cli.invoke(main, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {spec}: {where}: {PAGE_REFUSED}"]
    assert not out.exists()


def test_native_explicit_window_that_cannot_fire_is_still_an_error(tmp_path: Path, cli) -> None:
    spec = tmp_path / "native.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "slo-gen/v1", "service": "home-wifi",
        "slos": [{"name": "wifi-availability", "objective": 90,
                  "sli": {"events": {"errors": 'http_requests_total{job="home-wifi",code=~"5.."}',
                                     "total": 'http_requests_total{job="home-wifi"}'}},
                  "alerting": {"windows": [
                      {"severity": "page", "long": "1h", "short": "5m", "factor": 14.4},
                      {"severity": "ticket", "long": "3d", "short": "6h", "factor": 1}]}}]}))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: slos[0].alerting.windows[0]: burn factor 14.4 x budget 0.1 >= 1: this "
        "alert could never fire"]


def test_native_default_windows_leave_the_tier_out_with_a_note(tmp_path: Path, cli) -> None:
    spec = tmp_path / "native.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "slo-gen/v1", "service": "home-wifi",
        "slos": [{"name": "wifi-availability", "objective": 90,
                  "sli": {"events": {"errors": 'http_requests_total{job="home-wifi",code=~"5.."}',
                                     "total": 'http_requests_total{job="home-wifi"}'}}}]}))
    out = tmp_path / "rules"
    assert cli.invoke(main, ["render", str(spec), "-o", str(out), "--no-check"]).exit_code == 0
    assert _note_lines((out / "home-wifi.rules.yml").read_text()) == [NOTE_1H.format(b="0.1")]


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2))
def test_kept_and_left_out_tiers_split_the_defaults_by_whether_they_can_fire(
        objective: Decimal) -> None:
    fields = Fields("spec.yml")
    budget = error_budget(objective)
    kept = burn_windows(fields, None, "slos[0].alerting", budget, 30 * 86400)
    left_out = never_firing_defaults(budget, 30 * 86400)
    assert kept is not None and fields.problems == []
    assert all(error_threshold(w.factor, budget) < 1 for w in kept)
    assert all(error_threshold(w.factor, budget) >= 1 for w in left_out)
    assert sorted(w.tier for w in (*kept, *left_out)) == [
        "page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    assert "ticket-3d" in {w.tier for w in kept}  # 1x the budget always fires
