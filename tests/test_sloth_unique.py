"""Names shared across specs: what Prometheus tells apart by labels is accepted, a real clash
is one line naming the later place and the earlier one (file, document, field as the input
spells it), never the same place twice."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from slo.cli import main
from slo.readers.load import load_paths
from tests.specs import valid, write


def _sloth(service: str, slo: str = "availability", objective: float = 99.9) -> dict:
    """One document of Sloth's multifile.yml: alerts named alike in every service."""
    return {"version": "prometheus/v1", "service": service, "slos": [{
        "name": slo, "objective": objective,
        "sli": {"events": {
            "error_query": f'sum(rate(http_requests_total{{job="{service}",code=~"5.."}}'
                           "[{{.window}}]))",
            "total_query": f'sum(rate(http_requests_total{{job="{service}"}}[{{{{.window}}}}]))'}},
        "alerting": {"name": "MyServiceHighErrorRate",
                     "page_alert": {"labels": {"severity": "pageteam"}}}}]}


def _crd(doc: dict) -> dict:
    spec = copy.deepcopy({k: v for k, v in doc.items() if k != "version"})
    for slo in spec["slos"]:
        ev = slo["sli"]["events"]
        slo["sli"]["events"] = {"errorQuery": ev["error_query"], "totalQuery": ev["total_query"]}
        slo["alerting"]["pageAlert"] = slo["alerting"].pop("page_alert")
    return {"apiVersion": "sloth.slok.dev/v1", "kind": "PrometheusServiceLevel",
            "metadata": {"name": doc["service"]}, "spec": spec}


def _multi(path: Path, *docs: dict) -> str:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return str(path)


def test_an_alert_name_shared_by_two_services_renders(tmp_path: Path, cli, promtool) -> None:
    spec = _multi(tmp_path / "multifile.yml", _sloth("checkout-eu"), _sloth("checkout-us"))
    out = tmp_path / "rules"
    result = cli.invoke(main, ["render", spec, "-o", str(out)])  # promtool checks each file
    assert result.exit_code == 0, result.output
    for service in ("checkout-eu", "checkout-us"):
        rules = yaml.safe_load((out / f"{service}.rules.yml").read_text())
        alerts = {(r["alert"], r["labels"]["slo_service"]) for g in rules["groups"]
                  for r in g["rules"] if "alert" in r}
        assert alerts == {("MyServiceHighErrorRate", service),
                          ("MyServiceHighErrorRateSLIAbsent", service)}
    result = cli.invoke(main, ["test", *map(str, sorted(out.glob("*.test.yml")))])
    assert result.exit_code == 0, result.output


def test_the_same_slo_in_two_documents_names_both(tmp_path: Path, cli) -> None:
    spec = _multi(tmp_path / "multifile.yml", _sloth("checkout"), _sloth("search"),
                  _sloth("checkout", objective=99.5))
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: document 3: slos[0].name: SLO 'availability' of service 'checkout' is "
        f"already defined in {spec}: document 1: slos[0].name"]


def test_the_same_slo_in_two_crds_names_the_crd_field(tmp_path: Path, cli) -> None:
    a = write(tmp_path / "a.yaml", _crd(_sloth("checkout")))
    b = _multi(tmp_path / "b.yaml", _crd(_sloth("search")), _crd(_sloth("checkout")))
    result = cli.invoke(main, ["validate", a, b])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {b}: document 2: spec.slos[0].name: SLO 'availability' of service 'checkout' is "
        f"already defined in {a}: spec.slos[0].name"]


def test_a_file_given_twice_is_read_once(tmp_path: Path) -> None:
    spec = _multi(tmp_path / "multifile.yml", _sloth("checkout"), _sloth("search"))
    other = str(Path(spec).parent / "." / Path(spec).name)
    assert [s.service for s in load_paths([spec, other, spec])] == ["checkout", "search"]


def _native_with_series(service: str) -> dict:
    doc = valid()
    doc["service"] = service
    doc["slos"][0]["series"] = [{"record": "success_rate_5m", "unit": "percent",
                                 "expr": "100 * (1 - ${error_ratio:5m})"}]
    return doc


def test_an_extra_series_recorded_twice_is_refused(tmp_path: Path, cli) -> None:
    a = write(tmp_path / "a.yaml", _native_with_series("checkout"))
    b = write(tmp_path / "b.yaml", _native_with_series("search"))
    result = cli.invoke(main, ["validate", a, b])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {b}: slos[0].series[0].record: series 'success_rate_5m' is already recorded in "
        f"{a}: slos[0].series[0].record: both would write the same series (it has no SLO "
        "labels)"]


def test_an_extra_alert_named_like_the_absent_alert_with_its_labels(tmp_path: Path,
                                                                    cli) -> None:
    doc = valid()
    doc["slos"][0]["alerts"] = [{
        "alert": "CheckoutAvailabilitySLIAbsent", "expr": "vector(1)", "for": "1m",
        "labels": {"severity": "ticket"}, "annotations": {"summary": "x"},
        "test": {"error_ratio": 1, "firing_after": "5m"}}]
    spec = write(tmp_path / "a.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: slos[0].alerts[0].alert: alert 'CheckoutAvailabilitySLIAbsent' with "
        "the same labels is already the absent-data alert of this SLO"]
