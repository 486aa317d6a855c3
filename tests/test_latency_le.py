"""A latency threshold selects the same bucket whatever the spelling, on every engine.

Prometheus 3 stores classic histogram bounds normalised (``le="1.0"``), 2.x keeps the client's
text (Go writes ``1``, Python ``1.0``): the rendered bucket selector must find either.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from tests.specs import write

SPEC = {
    "apiVersion": "slo-gen/v1", "service": "checkout",
    "slos": [{"name": "latency", "objective": 99, "period": "7d",
              "sli": {"latency": {"histogram": "http_request_duration_seconds", "le": None}}}],
}


def _render(tmp_path: Path, cli, le: object) -> Path:
    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    doc["slos"][0]["sli"]["latency"]["le"] = le
    out = tmp_path / f"out-{le}"
    result = cli.invoke(main, ["render", "--no-check", write(tmp_path / "spec.yaml", doc),
                               "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / "checkout.rules.yml"


def test_every_spelling_renders_the_same_rules(tmp_path: Path, cli) -> None:
    texts = {le: _render(tmp_path, cli, le).read_text() for le in (1, 1.0, "1e0")}
    assert len(set(texts.values())) == 1
    assert 'http_request_duration_seconds_bucket{le=~"1|1\\\\.0"}' in texts[1]
    half = _render(tmp_path, cli, 0.5).read_text()
    assert 'http_request_duration_seconds_bucket{le="0.5"}' in half


@pytest.mark.parametrize("stored", ["1", "1.0"])
def test_the_bucket_is_found_as_any_engine_stores_it(tmp_path: Path, cli, every_promtool: str,
                                                     stored: str) -> None:
    rules = _render(tmp_path, cli, 1)
    test = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [{
        "name": f"le={stored}", "interval": "1m", "input_series": [
            {"series": f'http_request_duration_seconds_bucket{{le="{stored}"}}',
             "values": "0+90x20"},
            {"series": "http_request_duration_seconds_count", "values": "0+100x20"}],
        "promql_expr_test": [{
            "expr": 'abs(slo:sli_error:ratio_rate5m{slo_name="latency"} - 0.1) < bool 1e-9',
            "eval_time": "15m",
            "exp_samples": [{"labels": '{slo_name="latency", slo_service="checkout", '
                                       'slo_window="5m"}', "value": 1}]}]}]}
    path = rules.parent / "le.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run([every_promtool, "test", "rules", str(path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _validate(tmp_path: Path, cli, le: object, buckets: object) -> tuple[int, list[str], str]:
    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    doc["slos"][0]["sli"]["latency"].update({"le": le, "buckets": buckets})
    spec = write(tmp_path / "b.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    return result.exit_code, result.stderr.strip().splitlines(), spec


@pytest.mark.parametrize("le", [1, 1.0, "1e0", "1.00", 0.5])
def test_a_threshold_on_a_declared_bound_validates_whatever_its_spelling(
        tmp_path: Path, cli, le: object) -> None:
    assert _validate(tmp_path, cli, le, [0.1, 0.5, "1.0", 2.5])[0] == 0


def test_a_threshold_off_the_declared_bounds_is_an_error_naming_le(tmp_path: Path, cli) -> None:
    code, lines, spec = _validate(tmp_path, cli, 0.3, [0.1, 0.25, 0.5, 1])
    assert code == 1
    assert lines == [f"error: {spec}: slos[0].sli.latency.le: 0.3 is not a bucket bound of the "
                     "histogram (buckets: 0.1, 0.25, 0.5, 1): no bucket counts the requests at "
                     "or under it"]
    code, lines, spec = _validate(tmp_path, cli, 0.5, [1, 0.5])
    assert lines == [f"error: {spec}: slos[0].sli.latency.buckets: must list the bucket bounds "
                     "in seconds, positive and ascending"]
    code, lines, spec = _validate(tmp_path, cli, 0.5, "0.5")
    assert lines == [f"error: {spec}: slos[0].sli.latency.buckets: must be a list, got a string"]
