"""Sloth prometheus/v1 specs: read into the model, rendered with our semantics, and checked
against the equivalent slo-gen spec and Sloth's series names (--sloth-compat)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.model.naming import SLOTH
from slo.model.spec import EventsSLI, QuerySLI, RatioQuerySLI
from slo.outputs.formats import Options, render
from slo.readers.load import load_paths
from tests.conftest import ROOT, assert_promtool_passes

FIXTURES = ROOT / "tests" / "fixtures"
SLOTH_SPEC = str(FIXTURES / "sloth-checkout.yml")
NATIVE_SPEC = str(FIXTURES / "native-checkout.yaml")


def _rules(spec: str, options: Options | None = None) -> list[dict]:
    (rules_file, *_) = render(load_paths([spec]), options)
    return yaml.safe_load(rules_file.text)["groups"]


def _alerts(groups: list[dict], slo: str) -> list[dict]:
    group = next(g for g in groups if g["name"].endswith(slo))
    return [r for r in group["rules"] if "alert" in r]


def test_sloth_spec_maps_into_the_model() -> None:
    (spec,) = load_paths([SLOTH_SPEC])
    assert spec.service == "checkout" and dict(spec.labels) == {"team": "payments", "tier": "1"}
    avail, latency, raw = spec.slos
    assert isinstance(avail.sli, EventsSLI)  # sum(rate(selector[{{.window}}])) -> selectors
    assert avail.sli.errors.render() == 'http_requests_total{job="checkout",code=~"(5..|429)"}'
    assert dict(avail.labels) == {"category": "availability"}
    assert str(avail.objective) == "99.9" and avail.period == 30 * 86400
    assert [(w.severity, w.long, w.short, str(w.factor)) for w in avail.alerting.windows] == [
        ("page", 3600, 300, "14.4"), ("page", 21600, 1800, "6"),
        ("ticket", 86400, 7200, "3"), ("ticket", 259200, 21600, "1")]
    assert avail.alerting.page.name == avail.alerting.ticket.name == "CheckoutHighErrorRate"
    assert dict(avail.alerting.page.labels)["sloth_severity"] == "page"
    assert dict(avail.alerting.page.annotations)["runbook_url"].startswith("https://")
    assert isinstance(latency.sli, QuerySLI) and "{{.window}}" in latency.sli.errors
    assert {w.severity for w in latency.alerting.windows} == {"page"}  # ticket disabled
    assert isinstance(raw.sli, RatioQuerySLI) and "\n" not in raw.sli.error_ratio
    assert {w.severity for w in raw.alerting.windows} == {"ticket"}


def test_round_trip_same_alert_expressions_as_the_native_spec() -> None:
    sloth_alerts = _alerts(_rules(SLOTH_SPEC), "requests-availability")
    native_alerts = _alerts(_rules(NATIVE_SPEC), "requests-availability")
    assert [a["expr"] for a in sloth_alerts] == [a["expr"] for a in native_alerts]
    assert [a["alert"] for a in sloth_alerts] == [a["alert"] for a in native_alerts]
    # and with Sloth's label names: the same expressions once the names are mapped back
    compat = _alerts(_rules(SLOTH_SPEC, Options(naming=SLOTH)), "requests-availability")

    def unsloth(expr: str) -> str:
        expr = re.sub(r'sloth_id="[^"]*",', "", expr)
        return (expr.replace("sloth_window", "slo_window").replace("sloth_service", "slo_service")
                .replace("sloth_slo", "slo_name"))

    assert [unsloth(a["expr"]) for a in compat] == [a["expr"] for a in native_alerts]


def test_sloth_compat_series_and_labels(tmp_path: Path, cli, promtool) -> None:
    result = cli.invoke(main, ["render", "--sloth-compat", SLOTH_SPEC, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    groups = yaml.safe_load((tmp_path / "checkout.rules.yml").read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    records = {r["record"] for r in rules if "record" in r}
    for name in ("slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate30d",
                 "slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days",
                 "slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio",
                 "slo:period_error_budget_remaining:ratio", "sloth_slo_info"):
        assert name in records
    ratio5m = next(r for r in rules if r.get("record") == "slo:sli_error:ratio_rate5m")
    assert ratio5m["labels"] == {"sloth_id": "checkout-requests-availability",
                                 "sloth_service": "checkout",
                                 "sloth_slo": "requests-availability", "sloth_window": "5m"}
    info = next(r for r in rules if r.get("record") == "sloth_slo_info")
    assert info["labels"]["sloth_objective"] == "99.9"
    tiers = [r for r in rules if r.get("alert") == "CheckoutHighErrorRate"]
    assert [(r["labels"]["slo_tier"], r["labels"]["sloth_severity"], r["labels"]["severity"])
            for r in tiers] == [("page-1h", "page", "pageteam"), ("page-6h", "page", "pageteam"),
                                ("ticket-1d", "ticket", "slack"),
                                ("ticket-3d", "ticket", "slack")]
    text = (tmp_path / "checkout.rules.yml").read_text()
    assert "slo_service" not in text and "slo_window" not in text
    # one YAML document for several specs, and no raw 30d rate
    assert len(list(yaml.safe_load_all(text))) == 1
    assert "[30d]" in text and not re.search(r"rate\([^)]*\[30d\]", text)
    test = subprocess.run([promtool, "test", "rules", str(tmp_path / "checkout.test.yml")],
                          capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr


def test_promql_sli_tests_say_what_they_leave_out(tmp_path: Path, cli, promtool) -> None:
    assert cli.invoke(main, ["render", SLOTH_SPEC, "-o", str(tmp_path)]).exit_code == 0
    text = (tmp_path / "checkout.test.yml").read_text()
    assert "# Note: checkout/requests-latency: the SLI is PromQL" in text
    assert "# Note: checkout/requests-availability" not in text  # selectors: full tests
    tests = yaml.safe_load(text)["tests"]
    names = [t["name"] for t in tests]
    assert any(n.startswith("requests-availability") and "SLIAbsent" in n for n in names)
    assert not any(n.startswith("requests-latency") and "SLIAbsent" in n for n in names)
    fed = {s["series"].split("{")[0] for t in tests if t["name"].startswith("payments-raw")
           for s in t["input_series"]}
    assert fed == {"slo:sli_errors:rate5m", "slo:sli_total:rate5m"}
    assert_promtool_passes(promtool, [tmp_path / "checkout.rules.yml"],
                           [tmp_path / "checkout.test.yml"])


# The CRD's own field names (Kubernetes camelCase, pkg/kubernetes/api/sloth/v1 in Sloth)
CRD_KEYS = {"error_query": "errorQuery", "total_query": "totalQuery",
            "error_ratio_query": "errorRatioQuery", "page_alert": "pageAlert",
            "ticket_alert": "ticketAlert"}


def _camel(value):
    if isinstance(value, dict):
        return {CRD_KEYS.get(k, k): v if k in ("labels", "annotations") else _camel(v)
                for k, v in value.items()}
    return [_camel(v) for v in value] if isinstance(value, list) else value


def _crd(spec: dict) -> dict:
    return {"apiVersion": "sloth.slok.dev/v1", "kind": "PrometheusServiceLevel",
            "metadata": {"name": "checkout", "namespace": "monitoring"}, "spec": spec}


def test_sloth_crd_reads_like_the_plain_spec(tmp_path: Path) -> None:
    plain = yaml.safe_load(Path(SLOTH_SPEC).read_text())
    del plain["version"]
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(_crd(_camel(plain))))
    (a,), (b,) = load_paths([str(path)]), load_paths([SLOTH_SPEC])
    assert a.slos == b.slos


IGNORED = "Sloth ignores this key: its alert settings never took effect; use "


def test_sloth_crd_names_its_own_fields(tmp_path: Path, cli) -> None:
    """The CRD spells its fields in camelCase; the plain spec's snake_case is unknown there."""
    plain = yaml.safe_load(Path(SLOTH_SPEC).read_text())
    del plain["version"]
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(_crd(plain)))
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    events, alerting = "spec.slos[0].sli.events", "spec.slos[0].alerting"
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: {events}.error_query: unknown field (allowed here: errorQuery, "
        "totalQuery)",
        f"error: {path}: {events}.total_query: unknown field (allowed here: errorQuery, "
        "totalQuery)",
        f"error: {path}: {events}.errorQuery: is required",
        f"error: {path}: {events}.totalQuery: is required",
        f"error: {path}: {alerting}.page_alert: {IGNORED}pageAlert",
        f"error: {path}: {alerting}.ticket_alert: {IGNORED}ticketAlert",
        f"error: {path}: spec.slos[1].sli.events.error_query: unknown field (allowed here: "
        "errorQuery, totalQuery)",
        f"error: {path}: spec.slos[1].sli.events.total_query: unknown field (allowed here: "
        "errorQuery, totalQuery)",
        f"error: {path}: spec.slos[1].sli.events.errorQuery: is required",
        f"error: {path}: spec.slos[1].sli.events.totalQuery: is required",
        f"error: {path}: spec.slos[1].alerting.page_alert: {IGNORED}pageAlert",
        f"error: {path}: spec.slos[1].alerting.ticket_alert: {IGNORED}ticketAlert",
        f"error: {path}: spec.slos[2].sli.raw.error_ratio_query: unknown field (allowed here: "
        "errorRatioQuery)",
        f"error: {path}: spec.slos[2].sli.raw.errorRatioQuery: is required",
        f"error: {path}: spec.slos[2].alerting.page_alert: {IGNORED}pageAlert",
        f"error: {path}: spec.slos[2].alerting.ticket_alert: {IGNORED}ticketAlert",
    ]


BAD = [
    ({"sli": {"plugin": {"id": "x"}}}, "slos[0].sli.plugin", "Sloth SLI plugin 'x' cannot run "
     "in slo-gen (it is Go code that writes the queries): write the queries it makes as "
     "'events' (error_query/total_query) or 'raw' (error_ratio_query)"),
    ({"sli": {"events": {"error_query": "sum(rate(x[5m]))",
                         "total_query": "sum(rate(y[{{.window}}]))"}}},
     "slos[0].sli.events.error_query", "needs the window placeholder '{{.window}}' where the "
     "range goes, e.g. rate(x[{{.window}}])"),
    ({"sli": {"raw": {"error_ratio_query": "x{{.window}} {{.foo}}"}}},
     "slos[0].sli.raw.error_ratio_query", "only the '{{.window}}' template placeholder is "
     "supported"),
    ({"objective": 100}, "slos[0].objective",
     "100 is out of range: an objective is a percent, 0 < x < 100"),
    ({"alerting": {"page_alert": {"disable": "yes"}}}, "slos[0].alerting.page_alert.disable",
     "must be true or false"),
    ({"alerting": {"labels": {"sloth_id": "x"}}}, "slos[0].alerting.labels.sloth_id",
     "label 'sloth_id' is set by slo-gen and cannot be overridden"),
    ({"time_window": "28d"}, "slos[0].time_window",
     "unknown field (allowed here: alerting, description, labels, name, objective, plugins, sli)"),
    ({"plugins": {"chain": [{"id": "x"}]}}, "slos[0].plugins.chain[0]", "Sloth SLO plugin 'x' "
     "cannot run in slo-gen: it is Go code slo-gen does not run: write the rules it adds into a "
     "slo-gen spec (series[], alerts[]) or remove it"),
    ({"plugins": {"chain": []}}, "slos[0].plugins", "Sloth SLO plugins cannot run in slo-gen "
     "(they are Go code over Sloth's rules): remove this block"),
    ({"alerting": {"pageAlert": {"disable": True}}}, "slos[0].alerting.pageAlert",
     "Sloth ignores this key: its alert settings never took effect; use page_alert"),
]


@pytest.mark.parametrize(("change", "path", "message"), BAD)
def test_bad_sloth_specs_are_one_line_each(change, path, message, tmp_path: Path, cli) -> None:
    doc = yaml.safe_load(Path(SLOTH_SPEC).read_text())
    doc["slos"][0].update(change)
    spec = tmp_path / "bad.yml"
    spec.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    result = cli.invoke(main, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {spec}: {path}: {message}"]
    assert "Traceback" not in result.stderr and not out.exists()


def test_sloth_crd_without_kind_is_one_line(tmp_path: Path, cli) -> None:
    plain = yaml.safe_load(Path(SLOTH_SPEC).read_text())
    del plain["version"]
    spec = tmp_path / "crd.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "sloth.slok.dev/v1",
                                    "metadata": {"name": "checkout"}, "spec": plain}))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {spec}: kind: is required"]


@pytest.mark.parametrize(("crd", "key"), [(False, "slo_plugins"), (True, "sloPlugins")])
def test_sloth_slo_plugin_chains_are_named(crd: bool, key: str, tmp_path: Path, cli) -> None:
    doc = yaml.safe_load(Path(SLOTH_SPEC).read_text())
    doc[key] = {"chain": [{"id": "sloth.dev/contrib/validation/v1"}]}
    if crd:
        del doc["version"]
        doc = _crd(_camel(doc))
    spec = tmp_path / "plugins.yml"
    spec.write_text(yaml.safe_dump(doc))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    where = f"spec.{key}" if crd else key
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: {where}.chain[0]: Sloth SLO plugin 'sloth.dev/contrib/validation/v1' "
        "cannot run in slo-gen: it is Go code slo-gen does not run: write the rules it adds into "
        "a slo-gen spec (series[], alerts[]) or remove it"]


def test_sloth_alert_windows_are_named(tmp_path: Path, cli) -> None:
    spec = tmp_path / "windows.yml"
    spec.write_text(yaml.safe_dump({"apiVersion": "sloth.slok.dev/v1", "kind": "AlertWindows",
                                    "spec": {"sloPeriod": "7d"}}))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: kind: Sloth AlertWindows cannot be read: slo-gen derives each SLO's "
        "burn windows from its period; a slo-gen spec sets them per SLO (alerting.windows)"]


def test_unknown_sloth_version_is_named(tmp_path: Path, cli) -> None:
    spec = tmp_path / "v2.yml"
    spec.write_text('version: "prometheus/v2"\nservice: x\nslos: []\n')
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {spec}: version: Sloth spec version "
                                     "'prometheus/v2' is not supported (expected 'prometheus/v1')")
