"""User PromQL is read with a real parser (promql-parser): Sloth's and OpenSLO's ``{{.window}}``
templates and the spec's ``${...}`` expressions are checked at ``slo-gen validate`` time, one
line naming the file, the field and the parser's reason; ``sum(rate(selector[W]))`` becomes a
selector SLI whatever its label values hold."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from slo.cli import main
from slo.model.selectors import Matcher, Selector, quote
from slo.model.spec import EventsSLI, QuerySLI
from slo.readers.load import load_paths
from slo.readers.promql import QueryError, SumRate, check_expr, sum_rate, template
from tests.conftest import ROOT
from tests.specs import valid, write

FIXTURES = ROOT / "tests" / "fixtures"
W = "{{.window}}"


@pytest.mark.parametrize(("text", "expected"), [
    (f'sum(rate(x{{path="/v1/x)"}}[{W}]))',
     SumRate(Selector("x", (Matcher("path", "=", "/v1/x)"),)), ())),
    (f'sum(rate(x{{path="(("}}[{W}]))', SumRate(Selector("x", (Matcher("path", "=", "(("),)), ())),
    (f'sum(rate(x{{a=~"[)]+", b!~"\\\\)"}}[{W}]))',
     SumRate(Selector("x", (Matcher("a", "=~", "[)]+"), Matcher("b", "!~", "\\)"))), ())),
    (f"sum by (job, code) (rate(x[{W}]))", SumRate(Selector("x"), ("job", "code"))),
    (f"sum(rate(x[{W}])) by (job)", SumRate(Selector("x"), ("job",))),
    (f'sum(rate({{__name__="x", a="b"}}[{W}]))',
     SumRate(Selector("x", (Matcher("a", "=", "b"),)), ())),
    (f'sum(rate(x{{a="\\u00e9\\x41", b=`raw\\n`, c=\'q"\'}}[{W}]))',
     SumRate(Selector("x", (Matcher("a", "=", "éA"), Matcher("b", "=", "raw\\n"),
                            Matcher("c", "=", 'q"'))), ())),
    (f"SUM BY (job) (rate(x[{W}]))", SumRate(Selector("x"), ("job",))),  # keywords: any case
    (f"sum without (instance) (rate(x[{W}]))", None),
    (f"sum(rate(x[{W}] offset 1m))", None),
    (f"sum(rate(x[{W}:1m]))", None),
    (f"sum(irate(x[{W}]))", None),
    (f"sum(rate(x[5m])) + 0 * sum(rate(x[{W}]))", None),
    (f'sum(rate(x{{w="{W}"}}[5m]))', None),  # the placeholder is not the range
    (f'sum(rate(x{{a="1" or a="2"}}[{W}]))', None),
    (f'sum(rate({{__name__=~"x|y"}}[{W}]))', None),
    (f'sum(rate({{"my.metric", a="b"}}[{W}]))', None),  # UTF-8 names: valid, as written
    (f'sum(rate(x{{"a.b"="c"}}[{W}]))', None),
    (f'sum by ("a.b") (rate(x[{W}]))', None),
])
def test_sum_rate_shape_from_the_parse_tree(text: str, expected: SumRate | None) -> None:
    assert sum_rate(template(text)) == expected


@pytest.mark.parametrize(("text", "reason"), [
    (f"sum(rate(x[{W}])", "unclosed left parenthesis"),
    (f"sum(rate(x[{W}])))", "unexpected right parenthesis ')'"),
    (f"sum(rate(x{{[{W}]))", "unexpected character inside braces: '['"),
    (f'sum(rate(x{{a="b}}[{W}]))', 'unterminated quoted string "'),
    (f'sum(rate(x{{a=~"("}}[{W}]))', "illegal regex for ("),
    (f"sum(foo(x[{W}]))", "unknown function with name 'foo'"),
    (f"sum(rate(x))[{W}]", "expected type matrix in call to function 'rate', got vector"),
    (f"sum(rate(x[{W}])) /\n sum(rate(y[{W}])", "unclosed left parenthesis"),
])
def test_invalid_templates_name_the_parsers_reason(text: str, reason: str) -> None:
    with pytest.raises(QueryError) as exc:
        template(text)
    assert str(exc.value) == f"is not valid PromQL: {reason}"


@given(st.text(min_size=0, max_size=20).filter(lambda v: "{{" not in v))
def test_label_values_round_trip_through_the_parser(value: str) -> None:
    """Any label value but one holding ``{{``: a query is a Go template to Sloth, so ``{{``
    starts a template action there too, and only ``{{.window}}`` is one (next test)."""
    text = f"sum(rate(x{{a={quote(value)}}}[{W}]))"
    got = sum_rate(template(text))
    if "\n" in value or "\r" in value:  # template() joins lines, quote() escapes them first
        assert got is not None
    assert got == SumRate(Selector("x", (Matcher("a", "=", value),)), ())
    assert got.selector.render() == f"x{{a={quote(value)}}}"


def test_a_template_action_in_a_label_value_is_refused_by_name() -> None:
    with pytest.raises(QueryError) as exc:
        template(f'sum(rate(x{{a="{{{{.job}}}}"}}[{W}]))')
    assert str(exc.value) == "only the '{{.window}}' template placeholder is supported"


@pytest.mark.parametrize(("expr", "reason"), [
    ("100 * (1 - ${error_ratio:5m}", "unclosed left parenthesis"),
    ("${burn_rate:1h}[10m]", "ranges only allowed for vector selectors"),
    ("deriv(${error_ratio:5m}) < 0", "expected type matrix in call to function 'deriv', got "
     "vector"),
    ("${objective} >", "invalid promql query"),
    ("orchestrator_success_rate_5m < < 95", "invalid promql query"),
])
def test_spec_expressions_are_parsed_with_stand_ins(expr: str, reason: str) -> None:
    with pytest.raises(QueryError) as exc:
        check_expr(expr)
    assert str(exc.value) == f"is not valid PromQL: {reason}"


@pytest.mark.parametrize("expr", [
    "100 * (1 - ${error_ratio:5m})", "${burn_rate:period}", "deriv(${error_ratio:1h}[10m])",
    "${error_ratio:5m} > ${error_budget} * 14.4 * ${objective}",
    "deriv(orchestrator_success_rate_5m[10m]) < -0.01",
])
def test_valid_spec_expressions(expr: str) -> None:
    assert check_expr(f"  {expr}\n") == expr


def _sloth(change: dict, tmp_path: Path) -> str:
    doc = yaml.safe_load((FIXTURES / "sloth-checkout.yml").read_text())
    doc["slos"][0]["sli"] = change
    path = tmp_path / "sloth.yml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_brackets_inside_label_values_are_a_selector_sli(tmp_path: Path, cli) -> None:
    spec = _sloth({"events": {
        "error_query": f'sum(rate(http_requests_total{{path="/v1/x)",code=~"5.."}}[{W}]))',
        "total_query": f'sum(rate(http_requests_total{{path="/v1/x)"}}[{W}]))'}}, tmp_path)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 0, result.output
    sli = load_paths([spec])[0].slos[0].sli
    assert isinstance(sli, EventsSLI)
    assert sli.errors.render() == 'http_requests_total{path="/v1/x)",code=~"5.."}'


def test_utf8_metric_names_are_read_as_written(tmp_path: Path) -> None:
    errors = f'sum(rate({{"http.requests", code=~"5.."}}[{W}]))'
    total = f'sum(rate({{"http.requests"}}[{W}]))'
    spec = _sloth({"events": {"error_query": errors, "total_query": total}}, tmp_path)
    assert load_paths([spec])[0].slos[0].sli == QuerySLI(errors, total)


@pytest.mark.parametrize(("sli", "field"), [
    ({"events": {"error_query": f"sum(rate(x[{W}])", "total_query": f"sum(rate(x[{W}]))"}},
     "slos[0].sli.events.error_query"),
    ({"events": {"error_query": f"sum(rate(x[{W}]))", "total_query": f"sum(rate(x[{W}])"}},
     "slos[0].sli.events.total_query"),
    ({"raw": {"error_ratio_query": f"sum(rate(x[{W}])) / sum(rate(y[{W}])"}},
     "slos[0].sli.raw.error_ratio_query"),
])
def test_sloth_queries_fail_validate_naming_the_field(sli, field, tmp_path: Path, cli) -> None:
    spec = _sloth(sli, tmp_path)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: {field}: is not valid PromQL: unclosed left parenthesis"]


def test_sloth_crd_queries_name_the_crd_field(tmp_path: Path, cli) -> None:
    spec = tmp_path / "crd.yml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "sloth.slok.dev/v1", "kind": "PrometheusServiceLevel",
        "metadata": {"name": "x"},
        "spec": {"service": "checkout", "slos": [
            {"name": "a", "objective": 99, "sli": {"events": {
                "errorQuery": f'sum(rate(x{{code=~"5.."}}[{W}]))',
                "totalQuery": f"sum(rate(x[{W}])"}}},
            {"name": "b", "objective": 99, "sli": {"raw": {
                "errorRatioQuery": f"rate(x[{W}]) / rate(y[{W}]) +"}}}]}}))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: spec.slos[0].sli.events.totalQuery: is not valid PromQL: unclosed "
        "left parenthesis",
        f"error: {spec}: spec.slos[1].sli.raw.errorRatioQuery: is not valid PromQL: invalid "
        "promql query"]


def test_openslo_queries_fail_validate_naming_the_field(tmp_path: Path, cli) -> None:
    docs = list(yaml.safe_load_all((FIXTURES / "openslo-checkout.yaml").read_text()))
    source = docs[0]["spec"]["ratioMetric"]["bad"]["metricSource"]
    source["spec"] = {"query": f'sum(rate(http_requests_total{{code=~"5.."[{W}]))'}
    spec = tmp_path / "openslo.yaml"
    spec.write_text(yaml.safe_dump_all(docs))
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: SLI checkout-errors: spec.ratioMetric.bad.metricSource.spec.query: "
        "is not valid PromQL: unexpected character inside braces: '['"]


@pytest.mark.parametrize(("key", "entry", "field"), [
    ("series", {"record": "x_ratio", "unit": "ratio", "expr": "1 - ${error_ratio:5m})"},
     "slos[0].series[0].expr"),
    ("alerts", {"alert": "XHigh", "expr": "deriv(x_ratio) > 0"}, "slos[0].alerts[0].expr"),
])
def test_spec_expressions_fail_validate_naming_the_field(key, entry, field, tmp_path: Path,
                                                         cli) -> None:
    doc = valid()
    doc["slos"][0][key] = [copy.deepcopy(entry)]
    spec = write(tmp_path / "spec.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    reason = ("unexpected right parenthesis ')'" if key == "series" else
              "expected type matrix in call to function 'deriv', got vector")
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: {field}: is not valid PromQL: {reason}"]


PANIC = "cannot convert float seconds to Duration: value is either too big or NaN"


@pytest.mark.parametrize("expr", ["x offset inf", "x offset NaN", "rate(x[1e400]) > 0",
                                  "x offset 99999999999999999999"])
def test_a_parser_panic_is_a_reason_too(expr: str) -> None:
    """promql-parser 0.12 panics (a BaseException) on an out-of-range number as a duration."""
    with pytest.raises(QueryError) as exc:
        check_expr(expr)
    assert str(exc.value) == f"is not valid PromQL: {PANIC}"


def test_a_parser_panic_prints_nothing_but_the_problem(tmp_path: Path) -> None:
    """Rust's panic hook writes to the process' stderr itself: nothing of it may show."""
    doc = valid()
    doc["slos"][0]["alerts"] = [{"alert": "XHigh", "expr": "up offset 1e20 > 0"}]
    spec = write(tmp_path / "spec.yaml", doc)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUST_BACKTRACE": "1"}
    proc = subprocess.run([sys.executable, "-c", "from slo.cli import main; main()", "validate",
                           spec], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error: {spec}: slos[0].alerts[0].expr: is not valid PromQL: {PANIC}"]
