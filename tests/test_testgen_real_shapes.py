"""The test generator on SLIs shaped like real Sloth and OpenSLO specs (issue 15, items 3, 8, 9).

Each spec here is written for slo-gen's tests in the shape of a published one: Sloth's
home-wifi.yml (``... OR on() vector(0)`` over a subquery), the common ``sum(rate(...)) or
vector(0)``, the OpenSLO README's ratioMetric (good ``code=~"2xx|3xx"`` over a separate
``code="total"`` series), VictoriaMetrics or experimental functions, and very high objectives.
What validates must render, and its generated tests must pass on every engine; what cannot is
refused by ``validate`` already, one line per problem naming the field as the input spells it.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.cli import _precheck, main
from slo.errors import UserError
from slo.model.spec import EventsSLI, GoodEventsSLI, QuerySLI
from slo.model.synthesis import regex_examples
from slo.outputs.writer import Rendered
from slo.readers.load import load_paths, load_texts
from slo.rules.build import build_services
from slo.testgen.scenarios import SLOTests
from tests.specs import valid

ALERTS = {"page_alert": {"labels": {"severity": "page"}},
          "ticket_alert": {"labels": {"severity": "ticket"}}}


def _sloth(slos: list[dict[str, object]], service: str = "home-wifi") -> dict[str, object]:
    return {"version": "prometheus/v1", "service": service,
            "labels": {"cluster": "valhalla", "component": "ubiquiti"}, "slos": slos}


def _events(name: str, errors: str, total: str, objective: float | str = 95,
            alert: str = "") -> dict[str, object]:
    return {"name": name, "objective": objective,
            "sli": {"events": {"error_query": errors, "total_query": total}},
            "alerting": {"name": alert or name.title().replace("-", ""), **ALERTS}}


# Sloth's home-wifi.yml: bad clients counted over a subquery, "OR on() vector(0)" for none.
WIFI_ERRORS = ("sum_over_time((count(wifi_client_satisfaction_ratio < {t}))[{{{{.window}}}}:]) "
               "OR on() vector(0)")
WIFI_TOTAL = "sum_over_time((count(wifi_client_satisfaction_ratio))[{{.window}}:])"
# The everyday form: a sum of rates with a fallback for an error counter not created yet.
RATE_ERRORS = 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}])) or vector(0)'
RATE_TOTAL = 'sum(rate(http_requests_total{job="api"}[{{.window}}]))'

ENGINE_SPEC = _sloth([
    _events("good-wifi-client-satisfaction", WIFI_ERRORS.format(t=0.75), WIFI_TOTAL, 95,
            "GoodWifiClientSatisfaction"),
    _events("risk-wifi-client-satisfaction", WIFI_ERRORS.format(t=0.5), WIFI_TOTAL, 99.9,
            "RiskWifiClientSatisfaction"),
    _events("api-availability", RATE_ERRORS, RATE_TOTAL, 99.9, "ApiAvailability"),
    _events("api-six-nines", RATE_ERRORS, RATE_TOTAL, "99.9999", "ApiSixNines"),
])

# The OpenSLO README's ratioMetric: good and total are different series of one metric.
OPENSLO_README = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: server-requests
spec:
  service: localhost-server
  indicator:
    metadata: {name: good-requests}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            metricSourceRef: prometheus-datasource
            spec:
              query: localhost_server_requests{code=~"2xx|3xx",host="*",instance="127.0.0.1:9090"}
        total:
          metricSource:
            type: Prometheus
            metricSourceRef: prometheus-datasource
            spec:
              query: localhost_server_requests{code="total",host="*",instance="127.0.0.1:9090"}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec:
              severity: page
              condition: {kind: burnrate, op: gte, threshold: 10, lookbackWindow: 1h,
                          alertAfter: 2m}
"""


def _write(path: Path, doc: object) -> str:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False),
                    encoding="utf-8")
    return str(path)


def _validate_lines(cli, path: str) -> tuple[int, list[str]]:
    result = cli.invoke(main, ["validate", path])
    return result.exit_code, result.stderr.splitlines()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Sloth and OpenSLO specs above, validated and rendered once for every engine."""
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("real-shapes")
    cli = CliRunner()
    out = root / "out"
    for name, doc in (("home-wifi.yml", ENGINE_SPEC), ("readme.yaml", OPENSLO_README)):
        spec = _write(root / name, doc)
        check = cli.invoke(main, ["validate", spec])
        assert check.exit_code == 0, check.output
        result = cli.invoke(main, ["render", spec, "-o", str(out)])
        assert result.exit_code == 0, result.output
    return out


# -- item 3: SLIs that answer with no data ---------------------------------------------------

def test_a_zero_fallback_is_dropped_and_a_sum_of_rates_keeps_its_selectors(tmp_path: Path
                                                                           ) -> None:
    [spec] = load_paths([_write(tmp_path / "s.yml", ENGINE_SPEC)])
    wifi, _, api, _ = (slo.sli for slo in spec.slos)
    assert isinstance(wifi, QuerySLI)
    assert wifi.errors == ("sum_over_time((count(wifi_client_satisfaction_ratio < 0.75))"
                           "[{{.window}}:])")
    assert isinstance(api, EventsSLI)
    assert api.errors.render() == 'http_requests_total{job="api",code=~"5.."}'


def test_generated_input_feeds_the_real_selectors(rendered: Path) -> None:
    doc = yaml.safe_load((rendered / "home-wifi.test.yml").read_text())
    names = {s["series"] for t in doc["tests"] if "api-availability" in t["name"]
             for s in t["input_series"]}
    assert names == {'http_requests_total{code="5..",job="api"}',
                     'http_requests_total{job="api"}'}
    rules = (rendered / "home-wifi.rules.yml").read_text()
    assert "vector(0)" not in rules.replace("vector(0.", "")


def test_generated_tests_pass(rendered: Path, promtool: str) -> None:
    """On the default promtool; tests/corpus runs the same shapes (a subquery and a rate form
    with 'or on() vector(0)', six nines, the OpenSLO README's ratio) on promtool 3.5, 2.53,
    2.42 and vmalert-tool, so this file does not pay for the four engines a second time."""
    run = subprocess.run([promtool, "test", "rules", str(rendered / "home-wifi.test.yml"),
                          str(rendered / "localhost-server.test.yml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


NO_DATA = ("answers even when no series matches ({}): the generated promtool tests feed this "
           "SLI's recorded rates, and a query that answers without input would record over "
           "them; count the events from the series themselves (slo-gen's rules already record "
           "0 errors wherever there is traffic, no 'or vector(0)' needed)")


def test_queries_that_answer_without_input_are_refused_at_validate(tmp_path: Path, cli
                                                                   ) -> None:
    spec = _write(tmp_path / "nodata.yml", _sloth([
        _events("absent", 'absent_over_time(up{job="wifi"}[{{.window}}])', WIFI_TOTAL),
        _events("one", RATE_ERRORS.replace("vector(0)", "on() vector(1)"), RATE_TOTAL),
        _events("scalar", WIFI_TOTAL, f"scalar({WIFI_TOTAL})"),
        {"name": "raw", "objective": 99,
         "sli": {"raw": {"error_ratio_query":
                         f"({RATE_ERRORS.split(' or ')[0]} / {RATE_TOTAL}) or vector(1)"}},
         "alerting": {"name": "Raw", **ALERTS}},
    ]))
    code, lines = _validate_lines(cli, spec)
    assert code == 1
    assert lines == [
        f"error: {spec}: slos[0].sli.events.error_query: " + NO_DATA.format("absent_over_time()"),
        f"error: {spec}: slos[1].sli.events.error_query: " + NO_DATA.format("vector()"),
        f"error: {spec}: slos[2].sli.events.total_query: " + NO_DATA.format("scalar()"),
        f"error: {spec}: slos[3].sli.raw.error_ratio_query: " + NO_DATA.format("vector()"),
    ]
    result = cli.invoke(main, ["render", spec, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and not (tmp_path / "out").exists()


# -- item 8a: good and total as separate series of one metric --------------------------------

def test_the_openslo_readme_ratio_renders_with_separate_series(rendered: Path, tmp_path: Path
                                                               ) -> None:
    [spec] = load_texts([("readme.yaml", OPENSLO_README)])
    assert isinstance(spec.slos[0].sli, GoodEventsSLI)
    doc = yaml.safe_load((rendered / "localhost-server.test.yml").read_text())
    first = doc["tests"][0]["input_series"]
    assert [s["series"] for s in first] == [
        'localhost_server_requests{code="2xx",host="*",instance="127.0.0.1:9090"}',
        'localhost_server_requests{code="total",host="*",instance="127.0.0.1:9090"}']


def test_a_selector_pair_no_input_can_tell_apart_is_refused_at_validate(tmp_path: Path, cli
                                                                         ) -> None:
    text = OPENSLO_README.replace('code=~"2xx|3xx",', 'code=~"2xx|3xx",code="5xx",')
    spec = _write(tmp_path / "readme.yaml", text)
    code, lines = _validate_lines(cli, spec)
    assert code == 1
    assert lines == [
        f"error: {spec}: SLO server-requests: spec.indicator.spec.ratioMetric: no label values "
        'match the good selector localhost_server_requests{code=~"2xx|3xx",code="5xx",'
        'host="*",instance="127.0.0.1:9090"}: slo-gen tries each \'=\' and \'!=\' value, '
        "strings matching each regex and a few common values; a selector that can match "
        "nothing counts nothing (check for contradicting matchers on one label)"]


def test_errors_that_are_every_total_series_are_refused_at_validate(tmp_path: Path, cli
                                                                     ) -> None:
    spec = _write(tmp_path / "same.yml", _sloth([_events(
        "same", 'sum(rate(http_requests_total{job=~"api|web"}[{{.window}}]))',
        'sum(rate(http_requests_total{job="api"}[{{.window}}]))')]))
    code, lines = _validate_lines(cli, spec)
    assert code == 1
    assert lines == [
        f"error: {spec}: slos[0].sli.events: every series of the total "
        'http_requests_total{job="api"} also matches the error selector '
        'http_requests_total{job=~"api|web"}: the error events would always equal the total; '
        "narrow the error selector"]


@pytest.mark.parametrize(("regex", "expected"), [
    ("5..", ["500"]), ("(5..|429)", ["500", "429"]), ("4[0-9]{2}", ["400"]),
    ("/api/.*", ["/api/", "/api/0"]), ("[^2].*", ["0", "00"]), (r"\d+", ["0"]),
    ("2xx|3xx", ["2xx", "3xx"]), ("(a)\\1", []),
])
def test_regex_examples_match_their_regex(regex: str, expected: list[str]) -> None:
    assert regex_examples(regex) == expected


def test_the_python_whose_regex_internals_the_examples_read_is_one_checked() -> None:
    """slo.model.synthesis reads ``re._parser``'s parse tree (private): the versions whose
    layout the examples above were checked on. A new Python: run these tests, then add it."""
    assert sys.version_info[:2] == (3, 11), sys.version


def test_a_regex_without_literals_still_gets_input(tmp_path: Path) -> None:
    doc = valid()
    doc["slos"][0]["sli"]["events"] = {"errors": 'http_requests_total{code=~"5\\\\d\\\\d"}',
                                       "total": 'http_requests_total{path=~"/api/.+"}'}
    [spec] = load_paths([_write(tmp_path / "native.yaml", doc)])
    [svc] = build_services([spec])
    feeds = SLOTests(svc.slos[0]).feeds
    assert [(f.selector_text, f.share) for f in feeds] == [
        ('http_requests_total{code="500",path="/api/0"}', "errors"),
        ('http_requests_total{path="/api/0"}', "good")]


# -- item 8b: PromQL that promtool refuses ---------------------------------------------------

@pytest.mark.parametrize(("query", "reason"), [
    ("sum(rate(x[{{.window}}])) / histogram_share(0.5, sum(rate(d[{{.window}}])) by (vmrange))",
     "is not valid PromQL: unknown function with name 'histogram_share'"),
    ("range_median(sum(rate(x[{{.window}}])))",
     "is not valid PromQL: unknown function with name 'range_median'"),
    ("mad_over_time(sum(rate(x[{{.window}}]))[1h:])",
     "is not valid PromQL: 'mad_over_time' is an experimental Prometheus function: promtool "
     "check rules (and Prometheus without --enable-feature=promql-experimental-functions) "
     "refuses it"),
    ("sum(limitk(5, rate(x[{{.window}}])))",
     "is not valid PromQL: 'limitk' is an experimental Prometheus function: promtool check "
     "rules (and Prometheus without --enable-feature=promql-experimental-functions) refuses it"),
    ("sum(first_over_time(x[{{.window}}]))",
     "is not valid PromQL: unknown function with name 'first_over_time' (not in Prometheus "
     "3.5)"),
    ("sum(histogram_avg(rate(x[{{.window}}])))",
     "is not valid PromQL: 'histogram_avg' needs Prometheus 2.50 or later, and slo-gen's rules "
     "are checked and tested down to Prometheus 2.42: use histogram_sum(x) / "
     "histogram_count(x)"),
])
def test_promql_promtool_refuses_is_refused_at_validate(query: str, reason: str, tmp_path: Path,
                                                         cli) -> None:
    spec = _write(tmp_path / "vm.yml", _sloth([_events("vm", query, RATE_TOTAL)]))
    code, lines = _validate_lines(cli, spec)
    assert code == 1
    assert lines == [f"error: {spec}: slos[0].sli.events.error_query: {reason}"]


def test_a_promtool_failure_names_the_rendered_file_not_a_scratch_path(promtool: str) -> None:
    bad = ("groups:\n- name: g\n  rules:\n  - record: a:b\n"
           "    expr: sum(rate(x[5m])) by (\n")
    with pytest.raises(UserError) as exc:
        _precheck([Rendered("svc.rules.yml", bad, bad)])
    text = str(exc.value)
    assert "/tmp" not in text and "slo-gen-" not in text
    assert text.startswith("rendered rules failed promtool check (nothing written):\n")
    assert "svc.rules.yml (as rendered)" in text


# -- item 9: very high objectives ------------------------------------------------------------

def _tests_for(objective: Decimal) -> list[dict[str, object]]:
    text = yaml.safe_dump(valid(), sort_keys=False).replace("objective: 99.9",
                                                            f"objective: {objective}")
    [spec] = load_texts([("o.yaml", text)])
    [svc] = build_services([spec])
    return SLOTests(svc.slos[0]).all()


@settings(deadline=None, max_examples=200)
@given(nines=st.integers(min_value=1, max_value=10), last=st.integers(min_value=0, max_value=99))
def test_very_high_objectives_never_raise(nines: int, last: int) -> None:
    """99.9…9xy objectives: up to the testable limit (an error budget of 1e-9) tests are
    generated, with no zero error ratio anywhere (a check dividing by it would be NaN); past
    it, the reader refuses it (one UserError naming the field), never a DivisionByZero."""
    objective = Decimal(f"99.{'9' * (nines - 1)}{last:02d}")
    if (100 - objective) / 100 < Decimal("1e-9"):
        with pytest.raises(UserError, match="less than the generated tests can feed"):
            _tests_for(objective)
        return
    tests = _tests_for(objective)
    assert len(tests) > 5
    assert not any(" - 0) / 0 " in str(t) for t in tests)


def test_the_untestable_objective_is_refused_at_validate(tmp_path: Path, cli) -> None:
    spec = _write(tmp_path / "tiny.yml", _sloth([_events(
        "requests", RATE_ERRORS, RATE_TOTAL, "99.99999999")]))
    code, lines = _validate_lines(cli, spec)
    assert code == 1
    assert lines == [
        f"error: {spec}: slos[0].objective: objective 99.99999999% leaves an error budget "
        "below 0.000000001, less than the generated tests can feed (they count whole events): "
        "use an objective of at most 99.9999999%"]


@pytest.mark.parametrize(("query", "culprit"), [
    ("1 + 1", "a constant"), ("x * 2", None), ("2 * vector(1)", "vector()"),
    ("x or vector(0)", "vector()"), ("x and vector(1)", None), ("vector(1) and x", None),
    ("x unless vector(1)", None), ("vector(1) unless x", "vector()"),
    ('label_replace(vector(1), "a", "b", "c", "d")', "vector()"),
    ("histogram_quantile(0.9, sum by (le) (rate(x[5m])))", None), ("clamp_min(x, 0)", None),
    ("minute()", "minute()"), ("minute(x)", None), ("time() - x", None),
    ("scalar(x)", "scalar()"), ("sum_over_time(vector(0)[5m:])", "vector()"),
    ("absent(up)", "absent()"), ("sum(rate(x[5m])) / sum(rate(y[5m]))", None),
])
def test_what_answers_without_input(query: str, culprit: str | None) -> None:
    import promql_parser

    from slo.readers.promql import answers_without_data

    assert answers_without_data(promql_parser.parse(query)) == culprit
