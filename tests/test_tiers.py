"""Alert tiers: one rule per window pair with a stable ``slo_tier`` label, per-tier overrides,
``min_events``, and the fast page; the generated tests prove each tier on every engine and fail
when a tier's rule is broken on purpose."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.readers.load import load_paths
from tests.specs import valid, write


def _tiers(spec_path: str) -> list[tuple[str, str, int, int, str, int | None, int]]:
    (spec,) = load_paths([spec_path])
    return [(w.tier, w.severity, w.long, w.short, str(w.factor), w.for_, w.min_events)
            for w in spec.slos[0].alerting.windows]


def _alerts(rules_file: Path) -> list[dict]:
    doc = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_default_tiers_are_the_workbook_pairs_then_the_fast_page(tmp_path: Path) -> None:
    spec = write(tmp_path / "s.yaml", valid())  # 99.9%: budget 0.1%
    assert _tiers(spec) == [
        ("page-1h", "page", 3600, 300, "14.4", None, 0),
        ("page-6h", "page", 21600, 1800, "6", None, 0),
        ("ticket-1d", "ticket", 86400, 7200, "3", None, 0),
        ("ticket-3d", "ticket", 259200, 21600, "1", None, 0),
        ("page-outage", "page", 120, 120, "40", 120, 0),
        ("page-fast", "page", 120, 120, "6", 240, 0),
    ]


def test_fast_page_off_and_a_tier_that_cannot_fire_is_left_out(tmp_path: Path) -> None:
    doc = valid()
    doc["slos"][0]["alerting"] = {"fast_page": False}
    assert [t[0] for t in _tiers(write(tmp_path / "off.yaml", doc))] == [
        "page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    doc = valid()
    doc["slos"][0]["objective"] = 97  # 40x a 3% budget is an error ratio over 1: left out
    assert [t[0] for t in _tiers(write(tmp_path / "low.yaml", doc))] == [
        "page-1h", "page-6h", "ticket-1d", "ticket-3d", "page-fast"]


def test_tier_overrides(tmp_path: Path) -> None:
    doc = valid()
    doc["slos"][0]["alerting"] = {"tiers": {
        "page-6h": {"enabled": False},
        "page-1h": {"for": "2m", "min_events": 100, "labels": {"priority": "P2"},
                    "annotations": {"dashboard": "https://grafana.example/d/x"}}}}
    spec = write(tmp_path / "s.yaml", doc)
    (slo,) = load_paths([spec])[0].slos
    tiers = {w.tier: w for w in slo.alerting.windows}
    assert "page-6h" not in tiers
    one = tiers["page-1h"]
    assert (one.for_, one.min_events, one.labels, one.annotations) == (
        120, 100, (("priority", "P2"),), (("dashboard", "https://grafana.example/d/x"),))
    out = tmp_path / "out"
    from click.testing import CliRunner

    assert CliRunner().invoke(main, ["render", "--no-check", spec, "-o", str(out)]).exit_code == 0
    alerts = _alerts(out / "checkout.rules.yml")
    page = [a for a in alerts if a["labels"].get("slo_tier") == "page-1h"]
    assert len(page) == 1
    assert page[0]["for"] == "2m" and page[0]["labels"]["priority"] == "P2"
    assert page[0]["annotations"]["dashboard"] == "https://grafana.example/d/x"
    assert page[0]["expr"].endswith(
        'and ignoring (slo_window) avg_over_time(slo:sli_total:rate5m{slo_service="checkout",'
        'slo_name="availability"}[1h]) * 3600 >= 100')
    assert [a["labels"]["slo_tier"] for a in alerts if "slo_tier" in a["labels"]] == [
        "page-1h", "page-outage", "page-fast", "ticket-1d", "ticket-3d"]


def test_bad_tier_blocks_are_one_line_each(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["alerting"] = {
        "fast_page": "yes",
        "tiers": {"page-2h": {}, "page-1h": {"for": "soon", "min_events": -1, "enabled": "no",
                                             "colour": "red"}}}
    spec = write(tmp_path / "bad.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    p = f"error: {spec}: slos[0].alerting"
    assert sorted(result.stderr.strip().splitlines()) == sorted([
        f"{p}.fast_page: must be true or false",
        f"{p}.tiers.page-2h: unknown field (allowed here: page-1h, page-6h, ticket-1d, "
        "ticket-3d)",
        f"{p}.tiers.page-1h.colour: unknown field (allowed here: annotations, enabled, for, "
        "labels, min_events)",
        f"{p}.tiers.page-1h.enabled: must be true or false",
        f"{p}.tiers.page-1h.for: 'soon' is not a duration (use units w, d, h, m, s, e.g. "
        "'5m', '1h30m', '30d')",
        f"{p}.tiers.page-1h.min_events: must be a whole number of events, 0 or more",
    ])


def test_two_pairs_with_one_tier_name_need_a_name(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["alerting"] = {"fast_page": False, "windows": [
        {"severity": "page", "long": "1h", "short": "5m", "factor": 14.4},
        {"severity": "page", "long": "1h", "short": "10m", "factor": 10}]}
    spec = write(tmp_path / "twice.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: slos[0].alerting.windows[1]: tier 'page-1h' is named twice; give one "
        "of them a 'name'"]
    doc["slos"][0]["alerting"]["windows"][1]["name"] = "page-1h-slow"
    assert cli.invoke(main, ["validate", write(tmp_path / "named.yaml", doc)]).exit_code == 0


# -- the generated tests, on the real engines -------------------------------------------------

MUTATIONS = {
    # the fast tier's hold shortened: the blip test must catch it
    "page-fast holds 2m": ("for: 4m", "for: 2m", "page-fast"),
    # the outage tier's hold dropped
    "page-outage holds 0": ("for: 2m\n    labels:\n      slo_service: orchestrator\n      "
                            "slo_name: requests-availability\n      team: guest-messaging\n"
                            "      severity: page\n      slo_tier: page-outage",
                            "labels:\n      slo_service: orchestrator\n      "
                            "slo_name: requests-availability\n      team: guest-messaging\n"
                            "      severity: page\n      slo_tier: page-outage",
                            "page-outage"),
    # a pair's threshold doubled: it fires later than its test allows
    "page-1h threshold": ("ratio_rate1h{slo_service=\"orchestrator\",slo_name=\"requests-"
                          "availability\"} >= 0.072 and ignoring (slo_window) slo:sli_error:"
                          "ratio_rate5m{slo_service=\"orchestrator\",slo_name=\"requests-"
                          "availability\"} >= 0.072",
                          "ratio_rate1h{slo_service=\"orchestrator\",slo_name=\"requests-"
                          "availability\"} >= 0.144 and ignoring (slo_window) slo:sli_error:"
                          "ratio_rate5m{slo_service=\"orchestrator\",slo_name=\"requests-"
                          "availability\"} >= 0.144", "page-1h"),
    # a tier's label changed: the exact-label check fails
    "ticket-3d label": ("slo_tier: ticket-3d", "slo_tier: ticket-3", "ticket-3d"),
}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("shipped")
    assert CliRunner().invoke(main, ["render", "--no-check", "-o", str(out)]).exit_code == 0
    return out


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_generated_tests_fail_when_a_tier_is_broken(shipped: Path, tmp_path: Path,
                                                    promtool: str, mutation: str) -> None:
    old, new, failing = MUTATIONS[mutation]
    for f in shipped.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    rules = tmp_path / "orchestrator.rules.yml"
    text = rules.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the mutation must hit exactly one place"
    rules.write_text(text.replace(old, new), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", "orchestrator.test.yml"], cwd=tmp_path,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    # every failing check is one of the broken tier's (promtool names the query, not the group)
    checks = [line for line in out.splitlines() if line.strip().startswith("expr:")]
    assert checks, out[-3000:]
    assert all(f'slo_tier=\\"{failing}\\"' in line for line in checks), out[-3000:]


def test_low_traffic_tier_spec_passes_on_every_engine(tmp_path: Path, every_promtool: str,
                                                      cli) -> None:
    """min_events on a page tier and on the fast tier: their silent-with-few-events tests are
    generated and pass (with the tier firing tests) on 3.5, 2.53 and 2.42."""
    doc = valid()
    doc["slos"][0]["alerting"] = {"tiers": {"page-1h": {"min_events": 100},
                                            "page-fast": {"min_events": 50}}}
    spec = write(tmp_path / "s.yaml", doc)
    out = tmp_path / "out"
    assert cli.invoke(main, ["render", "--no-check", spec, "-o", str(out)]).exit_code == 0
    tests = yaml.safe_load((out / "checkout.test.yml").read_text(encoding="utf-8"))["tests"]
    names = [t["name"] for t in tests]
    assert "availability: tier page-1h stays silent with fewer than 100 events in its 1h " \
           "window, all failing" in names
    assert "availability: tier page-fast stays silent with fewer than 50 events in its 2m " \
           "window, all failing" in names
    proc = subprocess.run([every_promtool, "test", "rules", "checkout.test.yml"], cwd=out,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
