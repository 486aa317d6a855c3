"""Property tests of the spec parser and renderer, judged by the real promtool.

Random valid specs (objectives, periods, windows, label values with quotes, backslashes,
newlines and unicode) must always render YAML that promtool accepts; random invalid ones must
always give exit 1 and a line naming the field, never a traceback, and write nothing.
"""

from __future__ import annotations

import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from slo.cli import main
from slo.engines import discovery
from slo.outputs.formats import render
from slo.readers.load import load_paths
from tests.specs import write

MINUTE, HOUR, DAY = 60, 3600, 86400
_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def slow(max_examples: int) -> settings:
    """Each example runs promtool: no deadline, and no shrinking (minutes per failure); the
    failing example is printed as drawn."""
    return settings(deadline=None, suppress_health_check=_HEALTH, max_examples=max_examples,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])

tricky_text = st.text(
    alphabet=st.one_of(st.sampled_from(list('"\\\n\'{}$%|:#&*! é中🙂\t')),
                       st.characters(categories=("L", "N", "P", "S", "Zs"))),
    min_size=1, max_size=16,
).filter(lambda s: s.strip() != "")
label_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: not s.startswith(("slo_", "sloth_")) and s not in ("le", "alertname",
                                                                  "severity"))
slo_names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)


def _duration(seconds: int) -> str:
    from slo.model.durations import format_duration

    return format_duration(seconds)


@st.composite
def windows(draw: Any, period: int, budget: Decimal) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for i in range(draw(st.integers(1, 4))):
        long = draw(st.integers(3, max(3, min(period, 7 * DAY) // MINUTE))) * MINUTE
        short = draw(st.integers(2, long // MINUTE - 1)) * MINUTE
        max_factor = int((Decimal(1) / budget) * Decimal("0.9"))
        factor = draw(st.integers(1, max(1, max_factor)))
        severity = draw(st.sampled_from(["page", "ticket"]))
        pair = {"severity": severity, "long": _duration(long), "short": _duration(short),
                "factor": factor}
        if (severity, long) in seen:  # two tiers "<severity>-<long>": the second gets a name
            pair["name"] = f"{severity}-pair{i}"
        seen.add((severity, long))
        pairs.append(pair)
    return pairs


@st.composite
def slis(draw: Any) -> dict[str, Any]:
    matcher = st.sampled_from(['', '{job="api"}', '{code=~"5..|429"}', '{path!="/health"}',
                               '{env="prod",tier!~"batch|canary"}'])
    if draw(st.booleans()):
        return {"events": {"errors": "app_errors_total" + draw(matcher),
                           "total": "app_requests_total" + draw(matcher)}}
    le = draw(st.sampled_from([0.005, 0.1, 0.25, 0.5, 1, 2.5, 10]))
    return {"latency": {"histogram": "app_request_duration_seconds" + draw(matcher), "le": le}}


@st.composite
def specs(draw: Any, max_slos: int = 3) -> dict[str, Any]:
    slos = []
    for name in draw(st.lists(slo_names, min_size=1, max_size=max_slos, unique=True)):
        period = draw(st.sampled_from([7 * DAY, 14 * DAY, 28 * DAY, 30 * DAY, 90 * DAY,
                                       draw(st.integers(1, 72)) * HOUR]))
        custom = period < 3 * DAY or draw(st.booleans())
        # The workbook's 1h page pair has factor 2% x period / 1h: the budget must stay below
        # its inverse (99% is enough up to 90 days); custom windows take any objective.
        low = Decimal("50") if custom else Decimal("99")
        objective = draw(st.decimals(low, Decimal("99.99"), places=2))
        budget = (100 - objective) / 100
        slo: dict[str, Any] = {"name": name, "objective": float(objective),
                               "period": _duration(period), "sli": draw(slis()),
                               "description": draw(tricky_text)}
        if custom:
            slo["alerting"] = {"windows": draw(windows(period, budget))}
        alerting = slo.setdefault("alerting", {})
        alerting["page"] = {"labels": {"team": draw(tricky_text)},
                            "annotations": {"note": draw(tricky_text)}}
        alerting["runbook_url"] = draw(tricky_text)
        if draw(st.booleans()):
            slo["group_by"] = draw(st.lists(st.sampled_from(["region", "method"]), unique=True,
                                            max_size=2))
        if draw(st.booleans()):
            slo["series"] = [{"record": f"{name.replace('-', '_')}_success_percent",
                              "unit": "percent", "expr": "100 * (1 - ${error_ratio:5m})"}]
        slos.append(slo)
    labels = draw(st.dictionaries(label_names, tricky_text, max_size=3))
    return {"apiVersion": "slo-gen/v1", "service": draw(slo_names), "labels": labels,
            "slos": slos}


def _render_to(tmp: Path, doc: dict[str, Any]) -> list[Path]:
    spec = write(tmp / "spec.yaml", doc)
    out = tmp / "out"
    out.mkdir()
    paths = []
    for f in render(load_paths([spec])):
        p = out / f.name
        p.write_text(f.text, encoding="utf-8")
        paths.append(p)
    return paths


@slow(40)
@given(doc=specs())
def test_random_valid_specs_render_rules_promtool_accepts(doc, promtool) -> None:
    with tempfile.TemporaryDirectory() as d:
        paths = _render_to(Path(d), doc)
        for p in paths:
            assert len(list(yaml.safe_load_all(p.read_text()))) == 1
        rules = [str(p) for p in paths if p.name.endswith(".rules.yml")]
        proc = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal", *rules],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _promtool_series(series: tuple[int, int]) -> str:
    found = [b.path for b in discovery.all_versions("promtool") if b.version[:2] == series]
    if not found:
        pytest.fail(f"promtool {series[0]}.{series[1]} not found: `make test` fetches it")
    return found[0]


@slow(3)
@given(doc=specs(max_slos=1))  # promtool evaluates every SLO's rules in every test group
def test_random_valid_specs_pass_their_own_generated_tests(doc, promtool) -> None:
    """The same generated tests pass on Prometheus 3.5 (the default) and 2.53 alike: no
    expectation depends on one engine's range semantics."""
    engines = [promtool, _promtool_series((2, 53))]
    with tempfile.TemporaryDirectory() as d:
        paths = _render_to(Path(d), doc)
        tests = [str(p) for p in paths if p.name.endswith(".test.yml")]
        for engine in engines:
            proc = subprocess.run([engine, "test", "rules", *tests], capture_output=True,
                                  text=True)
            assert proc.returncode == 0, engine + "\n" + proc.stdout + proc.stderr


def _set(doc: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


MUTATIONS = [
    (("slos", 0, "objective"), st.sampled_from([0, 100, 100.5, -3, "ninety", None, [99]]),
     "slos[0].objective"),
    (("slos", 0, "period"), st.sampled_from(["30", "30m1h", "5m5m", "-5d", "", 7, "5ms"]),
     "slos[0].period"),
    (("slos", 0, "name"), st.sampled_from(["Has Space", "", "UPPER", "x" * 70, 5]),
     "slos[0].name"),
    (("slos", 0, "surprise"), tricky_text, "slos[0].surprise"),
    (("service",), st.sampled_from(["", "Bad Service", None]), "service"),
    (("slos", 0, "sli"), st.sampled_from([{"events": {"errors": "a{", "total": "b"}},
                                          {"events": {"total": "b"}}, {"latency": {"le": 1}},
                                          "string", {"events": {}, "latency": {}}]),
     "slos[0].sli"),
    (("slos", 0, "alerting"), st.sampled_from([
        {"windows": [{"severity": "page", "long": "400d", "short": "1h", "factor": 1}]},
        {"windows": [{"severity": "page", "long": "1h", "short": "5m", "factor": 100000}]},
        {"windows": [{"severity": "sms", "long": "1h", "short": "5m", "factor": 2}]},
        {"windows": []}, {"page": {"labels": {"slo_window": "x"}}}, {"min_request_rate": -1},
    ]), "slos[0].alerting"),
    (("labels",), st.sampled_from([{"__x": "y"}, {"bad-key": "v"}, {"ok": ""}, ["a"]]),
     "labels"),
]


@slow(60)
@given(doc=specs(), data=st.data())
def test_random_invalid_specs_fail_cleanly(doc, data) -> None:
    path, values, field = data.draw(st.sampled_from(MUTATIONS))
    _set(doc, path, data.draw(values))
    with tempfile.TemporaryDirectory() as d:
        spec = write(Path(d) / "bad.yaml", doc)
        out = Path(d) / "out"
        for args in (["validate", spec], ["render", spec, "-o", str(out)]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 1, (args, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit)
            lines = result.stderr.strip().splitlines()
            assert lines and all(line.startswith(f"error: {spec}: ") for line in lines), lines
            assert any(f": {field}" in line for line in lines), (field, lines)
        assert not out.exists()
