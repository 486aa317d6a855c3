"""Smoke test of bench/: every module imports and its building blocks run on tiny inputs.

No timing is asserted (benchmarks never are); this only keeps `make bench` from breaking
silently when the exporter or the generator changes. It runs in a few seconds: no promtool,
no Prometheus, a handful of requests.
"""

from __future__ import annotations

import asyncio
import io

import yaml

from bench import alert_quality, machine, promtest, rule_eval, scrape, sloth_rules
from bench import bench_middleware as middleware
from bench.__main__ import document
from bench.common import Section, Table


def test_middleware_candidates_run() -> None:
    results = asyncio.run(middleware.bench(middleware.tiny_candidates(), 20, 1))
    table = middleware.result_table(results)
    assert len(table.rows) == len(results)


def test_scrape_renders_small_registry() -> None:
    inst = scrape.populated(2, slo_series=True)
    assert scrape.render_seconds(inst.registry, 1) >= 0
    assert asyncio.run(scrape._scrape(scrape.metrics_asgi_app(inst.registry))) > 0


def test_counter_values_expand_like_promtool() -> None:
    assert promtest.counter_values([5, 5, 5, 0, 2]) == "0 5+5x2 15 17"
    assert promtest.counter_values([3, 3, 3], resets=(1,)) == "0 3 3 6"


def test_probe_output_is_parsed() -> None:
    out = ('        got: {alertname="A", probe="first", scenario="s"} 9E+02, '
           '{alertname="B", probe="first", scenario="s"} 1.2E+03\n')
    assert promtest.parse(out)["s"]["first"] == {"A": 900.0, "B": 1200.0}


def test_alert_scenarios_make_valid_test_files() -> None:
    scenarios = [alert_quality.constant("c", 10, 0.1, 5, 60), alert_quality.outage("o", 10, 5)]
    doc = yaml.safe_load(promtest.test_file(["r.yml"], scenarios, 60))
    assert [t["name"] for t in doc["tests"]] == ["c-0.1", "o-outage"]
    noisy = alert_quality.noisy(1)
    assert 0 < noisy.extra["ratio"] < 0.005
    assert yaml.safe_load(sloth_rules.rules())["groups"]


def test_rule_eval_data_and_truths() -> None:
    d = rule_eval.traffic("s00", 60 * 24, seed=1)
    rec = {name: {"slo_name": "s00"} for name in (
        "slo:sli_errors:rate5m", "slo:sli_total:rate5m", "slo:sli_error:ratio_rate5m",
        rule_eval.ERRORS_SUM, rule_eval.TOTAL_SUM)}
    buf = io.StringIO()
    lines = rule_eval.write_openmetrics(buf, [d], 0, {"s00": rec})
    assert buf.getvalue().endswith("# EOF\n") and lines > 4 * len(d.requests)
    end, window = len(d.requests), 600
    plain, tapered = rule_eval.truths(d, end, window)
    assert 0 <= plain <= 1 and 0 <= tapered <= 1
    # what the period rule computes from the written step sums (a closed range of them) is
    # the tapered truth
    sums = {"errors": 0.0, "total": 0.0}
    for line in buf.getvalue().splitlines():
        for key in sums:
            if line.startswith(f"slo:sli_{key}:rate5m_sum15m{{"):
                value, stamp = line.rsplit(" ", 2)[1:]
                if (end - window) * rule_eval.STEP <= int(stamp) <= end * rule_eval.STEP:
                    sums[key] += float(value)
    assert abs(sums["errors"] / sums["total"] - tapered) / tapered < 1e-12


def test_document_has_summary() -> None:
    s = Section("9. Example", "how")
    s.tables.append(("", Table(["a"], [["1"]])))
    s.target("something", True, "1 µs")
    text = document([s], 1.0, True, __import__("datetime").datetime.now())
    assert "Summary of targets" in text and "something" in text
    assert machine.table().rows
