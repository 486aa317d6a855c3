"""`slo-gen alertmanager`: the route tree, the inhibit rules, their generated tests, and those
tests failing on a configuration broken on purpose (amtool and a real Alertmanager)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.cli import main
from slo.engines import alertmanager as am
from slo.engines.discovery import Binary, all_versions
from slo.model.alertmanager import Matcher, one_of
from slo.model.naming import NATIVE, SLOTH
from slo.outputs.alertmanager import PLACEHOLDER_URL, build_config, inhibition_dict
from slo.readers.load import load_default, load_paths
from slo.rules.build import build_services
from tests.conftest import ROOT
from tests.specs import valid, write

SLOTH_SPEC = str(ROOT / "tests" / "fixtures" / "sloth-checkout.yml")
PAGE = "OrchestratorRequestsAvailabilityErrorBudgetBurnPage"
TICKET = "OrchestratorRequestsAvailabilityErrorBudgetBurnTicket"
IDENT = ['slo_service="orchestrator"', 'slo_name="requests-availability"']


def _render(cli: Any, out: Path, *args: str) -> Path:
    result = cli.invoke(main, ["alertmanager", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_shipped_spec_routes_each_severity_to_its_receiver() -> None:
    config = build_config(build_services(load_default(), NATIVE), NATIVE)
    assert config.receivers == ("default", "page", "ticket")
    (service,) = config.root.routes
    assert service.group_by == ("slo_service", "slo_name")
    assert [(r.matchers[0].render(), r.receiver) for r in service.routes] == [
        ('severity="page"', "page"), ('severity="ticket"', "ticket"),
        ('severity="warning"', "ticket")]
    names = sorted({dict(a.labels)["alertname"] for a in config.alerts})
    assert service.matchers == (one_of("alertname", names),)
    assert "PmsCircuitBreakerOpen" in names and "DatabaseErrorRateHigh" in names
    receivers = {dict(a.labels)["alertname"]: config.root.receiver_for(dict(a.labels))
                 for a in config.alerts}
    assert receivers["PmsCircuitBreakerOpen"] == receivers[PAGE] == "page"
    assert receivers["OrchestratorErrorRateHigh"] == "page"
    assert receivers["DatabaseErrorRateHigh"] == receivers[TICKET] == "ticket"
    assert receivers["OrchestratorErrorRateIncreasing"] == "ticket"
    assert config.root.receiver_for(dict(config.foreign.labels)) == "default"


def test_shipped_spec_inhibit_rules() -> None:
    config = build_config(build_services(load_default(), NATIVE), NATIVE)
    rules = [inhibition_dict(r) for r in config.inhibitions]
    eq = ["slo_service", "slo_name"]
    assert rules == [
        {"source_matchers": [*IDENT, 'slo_tier=~"page-1h|page-6h|page-outage|page-fast"'],
         "target_matchers": [*IDENT, 'slo_tier=~"ticket-1d|ticket-3d"'], "equal": eq},
        {"source_matchers": [*IDENT, 'slo_tier="page-outage"'],
         "target_matchers": [*IDENT, 'slo_tier=~"page-1h|page-fast|page-6h"'], "equal": eq},
        {"source_matchers": [*IDENT, 'slo_tier="page-1h"'],
         "target_matchers": [*IDENT, 'slo_tier=~"page-fast|page-6h"'], "equal": eq},
        # 6x both: the 2m window is the faster tier
        {"source_matchers": [*IDENT, 'slo_tier="page-fast"'],
         "target_matchers": [*IDENT, 'slo_tier="page-6h"'], "equal": eq},
        {"source_matchers": ['alertname="OrchestratorErrorRateHigh"', 'priority="P1"'],
         "target_matchers": [
             'alertname=~"OrchestratorErrorRateIncreasing|OrchestratorErrorBudgetBurning"',
             'severity="warning"'], "equal": ["slo_service"]},
        {"source_matchers": ['alertname="PmsCircuitBreakerOpen"'],
         "target_matchers": [f'alertname="{PAGE}"']},
        {"source_matchers": ['alertname="PmsCircuitBreakerOpen"'],
         "target_matchers": ['alertname="PmsAdapterErrorRateHigh"'], "equal": ["component"]},
    ]


def test_sloth_naming_inhibits_on_sloths_identity_labels() -> None:
    config = build_config(build_services(load_paths([SLOTH_SPEC]), SLOTH), SLOTH)
    assert config.inhibitions
    for rule in config.inhibitions:
        assert rule.equal == ("sloth_id", "sloth_service", "sloth_slo")
        assert {m.label for m in rule.source} == {"sloth_id", "sloth_service", "sloth_slo",
                                                   "slo_tier"}
    (service,) = config.root.routes
    assert service.group_by == ("sloth_id", "sloth_service", "sloth_slo")
    # Sloth's own severity values: pages are delivered as pages, tickets as tickets
    assert [(r.matchers[0].value, r.receiver) for r in service.routes] == [
        ("pageteam", "page"), ("slack", "ticket")]


def test_one_route_per_service_and_rules_per_slo() -> None:
    specs = load_paths([str(ROOT / "tests" / "fixtures" / "native-checkout.yaml")])
    specs += load_default()
    services = build_services(specs, NATIVE)
    config = build_config(services, NATIVE)
    assert [svc.service for svc in services] == ["checkout", "orchestrator"]
    owner = {a.alert: i for i, svc in enumerate(services) for sr in svc.slos for a in sr.alerts}
    assert len(config.root.routes) == 2
    for alert in config.alerts:  # each alert reaches exactly its own service's route
        labels = dict(alert.labels)
        assert [i for i, r in enumerate(config.root.routes)
                if all(m.matches(labels) for m in r.matchers)] == [owner[labels["alertname"]]]
    # a page-to-ticket rule and faster-to-slower rules for each SLO of both services
    pinned = {m.value for r in config.inhibitions for m in r.source if m.label == "slo_name"}
    assert pinned == {sr.slo.name for svc in services for sr in svc.slos}


@pytest.mark.parametrize("specs", [[], [SLOTH_SPEC],
                                   [str(ROOT / "tests" / "fixtures" / "native-checkout.yaml")]])
def test_every_inhibition_has_a_case_that_holds_and_cases_that_must_not(specs) -> None:
    naming = SLOTH if specs == [SLOTH_SPEC] else NATIVE
    config = build_config(build_services(load_paths(specs) if specs else load_default(),
                                         naming), naming)
    by_rule: dict[int, list[Any]] = {}
    for case in config.cases:
        by_rule.setdefault(case.rule, []).append(case)
    assert sorted(by_rule) == list(range(len(config.inhibitions)))
    for rule, (holds, resolves) in by_rule.items():
        assert not holds.resolve_source and resolves.resolve_source
        # the source inhibits at least one target itself; the last alert is left alone
        assert any(a.inhibited_by == (0,) for a in holds.alerts[1:]), rule
        assert holds.alerts[-1].inhibited_by == () and "another" in holds.alerts[-1].what
        # once the source resolves, nothing names it
        assert all(0 not in a.after_resolve for a in resolves.alerts[1:])
        assert any(a.inhibited_by == (0,) and a.after_resolve == () for a in resolves.alerts)


def test_matchers_quote_and_escape_every_value() -> None:
    assert Matcher("a", 'x"y\\z').render() == 'a="x\\"y\\\\z"'
    assert one_of("a", ["p.q", "r-s", "p.q"]).render() == 'a=~"p\\\\.q|r-s"'
    assert one_of("a", ["p.q", "r-s"]).matches({"a": "p.q"})
    assert not one_of("a", ["p.q", "r-s"]).matches({"a": "pxq"})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5), st.text(max_size=12))
def test_one_of_matches_exactly_its_values(values: list[str], other: str) -> None:
    """Regex metacharacters in values are escaped: the alternation matches each value whole
    and nothing else (Go's RE2 and Python's re agree on escaped metacharacters)."""
    m = one_of("l", values)
    assert all(m.matches({"l": v}) for v in values)
    assert m.matches({"l": other}) == (other in values)


def test_render_is_deterministic_and_writes_config_and_tests(tmp_path: Path, cli) -> None:
    a = _render(cli, tmp_path / "a" / "am.yml")
    b = _render(cli, tmp_path / "b" / "am.yml")
    assert sorted(p.name for p in a.parent.iterdir()) == ["am.amtest.yml", "am.yml"]
    for name in ("am.yml", "am.amtest.yml"):
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes()
    stdout = cli.invoke(main, ["alertmanager", "--no-check"]).stdout
    assert stdout == a.read_text()
    doc = yaml.safe_load(a.read_text())
    assert set(doc) == {"route", "inhibit_rules", "receivers"}
    assert [r["webhook_configs"][0]["url"] for r in doc["receivers"]] == [
        PLACEHOLDER_URL.format(receiver=n) for n in ("default", "page", "ticket")]


def test_committed_alertmanager_config_is_fresh(tmp_path: Path, cli) -> None:
    _render(cli, tmp_path / "alertmanager.yml")
    for name in ("alertmanager.yml", "alertmanager.amtest.yml"):
        assert (ROOT / "rules" / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"rules/{name} is stale: run `make rules` and commit it")


def test_fragment_is_routes_and_inhibit_rules_only(tmp_path: Path, cli) -> None:
    frag = _render(cli, tmp_path / "frag.yml", "--fragment")
    doc = yaml.safe_load(frag.read_text())
    assert set(doc) == {"routes", "inhibit_rules"}
    test = yaml.safe_load((tmp_path / "frag.amtest.yml").read_text())
    assert test["fragment"] is True and test["receivers"] == ["default", "page", "ticket"]


def test_webhook_url_template_and_no_secrets(tmp_path: Path, cli) -> None:
    out = _render(cli, tmp_path / "am.yml", "--webhook-url",
                  "http://127.0.0.1:9095/notify/{receiver}")
    urls = [r["webhook_configs"][0]["url"] for r in yaml.safe_load(out.read_text())["receivers"]]
    assert urls == [f"http://127.0.0.1:9095/notify/{n}" for n in ("default", "page", "ticket")]
    result = cli.invoke(main, ["alertmanager", "-o", str(tmp_path / "x.yml"), "--webhook-url",
                               "https://bot:hunter2@hooks.example/{receiver}"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --webhook-url") and "password" in result.stderr
    assert not (tmp_path / "x.yml").exists()


def test_bad_alertmanager_block_one_line_per_problem_nothing_written(tmp_path: Path,
                                                                     cli) -> None:
    doc = valid()
    doc["alertmanager"] = {
        "receivers": {"page": "on call!", "ticket": 3},
        "timings": {"page": {"group_wait": "soon"},
                    "ticket": {"group_interval": "2h", "repeat_interval": "1h"}},
        "colour": "red",
        "inhibit_rules": [
            {"source": {"alertname": "CheckoutAvailabilityErrorBudgetBurnPag"},
             "target": {}},
            {"source": {"bad-label": "x"}, "target": {"severity": ["page", ""]},
             "equal": ["a", "a"]},
            {"target": {"severity": "ticket"}, "why": "no source"},
        ],
    }
    spec = write(tmp_path / "bad.yaml", doc)
    out = tmp_path / "out"
    out.mkdir()
    result = cli.invoke(main, ["alertmanager", spec, "-o", str(out / "am.yml")])
    assert result.exit_code == 1
    f = f"{spec}: alertmanager"
    assert result.stderr.splitlines() == [
        f"error: {f}.colour: unknown field (allowed here: inhibit_rules, receivers, timings)",
        f"error: {f}.receivers.page: 'on call!' is not a receiver name (letters, digits, '_', "
        "'.' and '-', at most 63)",
        f"error: {f}.receivers.ticket: must be a string, got a number",
        f"error: {f}.timings.page.group_wait: 'soon' is not a duration (use units w, d, h, m, "
        "s, e.g. '5m', '1h30m', '30d')",
        f"error: {f}.timings.ticket.repeat_interval: must not be shorter than group_interval "
        "(Alertmanager repeats a notification only when a group is flushed)",
        f"error: {f}.inhibit_rules[0].source.alertname: "
        "'CheckoutAvailabilityErrorBudgetBurnPag' is no alert of this spec (known: "
        "CheckoutAvailabilityErrorBudgetBurnPage, CheckoutAvailabilityErrorBudgetBurnTicket, "
        "CheckoutAvailabilitySLIAbsent)",
        f"error: {f}.inhibit_rules[0].target: must name at least one label (an empty matcher "
        "set matches every alert)",
        f"error: {f}.inhibit_rules[1].source.bad-label: 'bad-label' is not a valid label name",
        f"error: {f}.inhibit_rules[1].target.severity[1]: must not be empty",
        f"error: {f}.inhibit_rules[1].equal[1]: 'a' is listed twice",
        f"error: {f}.inhibit_rules[2].source: is required",
    ]
    assert list(out.iterdir()) == []
    assert cli.invoke(main, ["validate", spec]).exit_code == 1


def test_spec_receivers_and_timings(tmp_path: Path) -> None:
    doc = valid()
    doc["alertmanager"] = {"receivers": {"page": "pager", "default": "catch-all"},
                           "timings": {"page": {"repeat_interval": "1h"}}}
    (spec,) = load_paths([write(tmp_path / "s.yaml", doc)])
    config = build_config(build_services([spec], NATIVE), NATIVE)
    (service,) = config.root.routes
    assert service.receiver == "catch-all"
    page = service.routes[0]
    assert (page.receiver, page.timings) == ("pager", spec.alertmanager.timing("page"))
    assert page.as_dict()["repeat_interval"] == "1h" and page.as_dict()["group_wait"] == "30s"
    assert config.receivers == ("default", "catch-all", "pager", "ticket")


# ---------------------------------------------------------------------------------------------
# real engines


def _pairs() -> list[tuple[Binary, Binary]]:
    tools = {b.version[:2]: b for b in all_versions("amtool")}
    servers = {b.version[:2]: b for b in all_versions("prometheus-alertmanager")}
    assert {(0, 33), (0, 25)} <= tools.keys() & servers.keys(), \
        "amtool and Alertmanager 0.33 and 0.25: `make engines` fetches them"
    return [(tools[v], servers[v]) for v in ((0, 33), (0, 25))]


@pytest.fixture(scope="module")
def engines() -> list[tuple[Binary, Binary]]:
    return _pairs()


@pytest.mark.engine
def test_check_config_passes_on_025_and_033(tmp_path: Path, cli, engines) -> None:
    files = [_render(cli, tmp_path / "native.yml"),
             _render(cli, tmp_path / "sloth.yml", SLOTH_SPEC, "--sloth-compat"),
             _render(cli, tmp_path / "two.yml", str(ROOT / "slo" / "specs" / "orchestrator.yaml"),
                     str(ROOT / "tests" / "fixtures" / "native-checkout.yaml"))]
    _render(cli, tmp_path / "frag.yml", "--fragment")
    for tool, _ in engines:
        for f in files:
            result = am.check_config(str(f), tool)
            assert result.ok, result.output
            assert "SUCCESS" in result.output and "WARN" not in result.output
        result = am.check_test_file(str(tmp_path / "frag.amtest.yml"), tool)
        assert result.ok, result.output


@pytest.mark.engine
@pytest.mark.parametrize("naming", ["native", "sloth"])
def test_generated_tests_pass_on_025_and_033(tmp_path: Path, cli, engines, naming) -> None:
    args = (SLOTH_SPEC, "--sloth-compat") if naming == "sloth" else ()
    out = _render(cli, tmp_path / "am.yml", *args)
    test = tmp_path / "am.amtest.yml"
    doc = yaml.safe_load(test.read_text())
    for tool, server in engines:
        result = am.run_tests([str(test)], tool, server)
        assert result.ok, result.output
        assert f"routes: {len(doc['routes'])} passed, 0 failed" in result.output
        assert f"inhibitions: {len(doc['inhibitions'])} passed, 0 failed" in result.output
    assert out.is_file()


@pytest.mark.engine
def test_slo_gen_test_runs_alertmanager_tests_and_says_which_binaries(tmp_path: Path,
                                                                       cli) -> None:
    _render(cli, tmp_path / "am.yml", "--fragment")
    result = cli.invoke(main, ["test", str(tmp_path / "am.amtest.yml")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("engine: amtool 0.33.1 (")
    assert lines[1].startswith("engine: prometheus-alertmanager 0.33.1 (")


def _failures(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("FAILED")]


@pytest.mark.engine
def test_generated_tests_fail_on_a_broken_route(tmp_path: Path, cli, engines,
                                                 monkeypatch) -> None:
    monkeypatch.setattr(am, "WAIT", 2.0)  # a failing case waits this long for its state
    out = _render(cli, tmp_path / "am.yml")
    doc = yaml.safe_load(out.read_text())
    service = doc["route"]["routes"][0]
    assert service["routes"][0]["matchers"] == ['severity="page"']
    service["routes"][0]["receiver"] = "ticket"  # pages go to the ticket queue
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    tests = yaml.safe_load((tmp_path / "am.amtest.yml").read_text())
    paged = sorted(r["name"] for r in tests["routes"] if r["receivers"] == ["page"])
    tool, server = engines[0]
    result = am.run_tests([str(tmp_path / "am.amtest.yml")], tool, server)
    assert not result.ok
    failed = _failures(result.output)
    assert sorted(line.split("'")[1] for line in failed if line.startswith("FAILED route")) \
        == paged
    assert len(paged) == 6 and all("amtool says ticket" in line for line in failed)


@pytest.mark.engine
@pytest.mark.parametrize("break_it", ["equal", "source"])
def test_generated_tests_fail_on_a_broken_inhibition(tmp_path: Path, cli, engines,
                                                      break_it: str, monkeypatch) -> None:
    monkeypatch.setattr(am, "WAIT", 2.0)  # a failing case waits this long for its state
    out = _render(cli, tmp_path / "am.yml")
    doc = yaml.safe_load(out.read_text())
    rule = doc["inhibit_rules"][0]  # a page inhibits the SLO's tickets
    if break_it == "equal":
        del rule["equal"]  # ... of every SLO
        rule["source_matchers"] = rule["source_matchers"][2:]
        rule["target_matchers"] = rule["target_matchers"][2:]
        want = ["inhibit_rules[0] holds"]
    else:
        rule["source_matchers"][-1] = 'slo_tier="page-nope"'  # ... never
        want = ["inhibit_rules[0] holds", "inhibit_rules[0] ends when its source resolves"]
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    for tool, server in engines:
        result = am.run_tests([str(tmp_path / "am.amtest.yml")], tool, server)
        assert not result.ok
        failed = _failures(result.output)
        assert [re.match(r"FAILED inhibition .(inhibit_rules\[\d+\] [^:]+):", line)[1]
                for line in failed] == want, result.output
        if break_it == "equal":
            assert "'the same alert with another slo_name' expected active" in failed[0]


@pytest.mark.engine
def test_a_pms_outage_as_alertmanager_sees_it(tmp_path: Path, cli, engines) -> None:
    """Every alert a PMS outage can fire, posted at once: the page receiver is left with the
    breaker and the runbook's P1, the ticket receiver with a second cause only. Measured
    (docs/engines.md, section 7): inhibition does not ask whether a source is itself
    inhibited, so the SLO's ticket stays quiet behind its inhibited page."""
    out = _render(cli, tmp_path / "am.yml")
    ident = {"slo_service": "orchestrator", "slo_name": "requests-availability",
             "team": "guest-messaging"}
    alerts = [
        {"alertname": "PmsCircuitBreakerOpen", "component": "pms", "severity": "page"},
        {"alertname": PAGE, "severity": "page", "slo_tier": "page-outage", **ident},
        {"alertname": PAGE, "severity": "page", "slo_tier": "page-1h", **ident},
        {"alertname": TICKET, "severity": "ticket", "slo_tier": "ticket-1d", **ident},
        {"alertname": "OrchestratorErrorRateHigh", "priority": "P1", "severity": "page",
         "slo_window": "5m", **ident},
        {"alertname": "OrchestratorErrorRateIncreasing", "severity": "warning",
         "slo_window": "5m", **ident},
        {"alertname": "OrchestratorErrorBudgetBurning", "severity": "warning",
         "slo_window": "1h", **ident},
        {"alertname": "PmsAdapterErrorRateHigh", "component": "pms", "severity": "ticket"},
        {"alertname": "DatabaseErrorRateHigh", "component": "database", "severity": "ticket"},
    ]
    key = [f"{a['alertname']}/{a.get('slo_tier', '')}" for a in alerts]
    want = {
        key[0]: ("active", [], ["page"]),
        key[1]: ("suppressed", [key[0]], ["page"]),
        key[2]: ("suppressed", [key[0], key[1]], ["page"]),  # the first rule that holds
        key[3]: ("suppressed", [key[1], key[2]], ["ticket"]),
        key[4]: ("active", [], ["page"]),
        key[5]: ("suppressed", [key[4]], ["ticket"]),
        key[6]: ("suppressed", [key[4]], ["ticket"]),
        key[7]: ("suppressed", [key[0]], ["ticket"]),
        key[8]: ("active", [], ["ticket"]),
    }
    for _, server in engines:
        with am.running(server, out) as base:
            now = datetime.now(UTC)
            am.post_alerts(base, alerts, now + timedelta(hours=1), now - timedelta(minutes=1))

            def wrong(w: dict[str, tuple[str, list[str], list[str]]] = want) -> str | None:
                got = am.get_alerts(base)
                names = {a["fingerprint"]: f"{a['labels']['alertname']}/"
                         f"{a['labels'].get('slo_tier', '')}" for a in got}
                seen = {names[a["fingerprint"]]: a for a in got}
                for k, (state, allowed, receivers) in w.items():
                    a = seen.get(k)
                    if a is None:
                        return f"{k} absent"
                    by = [names.get(f, f) for f in a["status"]["inhibitedBy"]]
                    if (a["status"]["state"], [r["name"] for r in a["receivers"]]) != (
                            state, receivers) or (by and by[0] not in allowed) or (
                            bool(by) != bool(allowed)):
                        return f"{k}: {a['status']} {a['receivers']}"
                return None

            assert am._until(wrong) is None, wrong()
