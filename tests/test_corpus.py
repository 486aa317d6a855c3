"""The corpus of issue 15: specs shaped like real Sloth and OpenSLO users' (tests/corpus/), each
with its expected outcome in tests/corpus/expected.yml.

A spec that renders must validate, render (promtool checks the rules) and have its generated
tests pass on every supported engine: promtool 3.5, 2.53 and 2.42, and vmalert-tool. A spec
that cannot map must fail ``validate`` and ``render`` alike, with exactly the expected lines and
nothing written. Every command run on every spec is also held to what no slo-gen output may
contain (bench.published_examples.output_problems): a traceback, ``MISSING``, an ``error: :``
prefix, or a field the input's own format does not have.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from bench.published_examples import Input, output_problems, read_input, wrong_fields
from slo.cli import main
from slo.engines import discovery
from slo.errors import UserError
from tests.conftest import ROOT, SUPPORTED_PROMETHEUS, _promtool_of

CORPUS = ROOT / "tests" / "corpus"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "expected.yml").read_text())
FILES = sorted(EXPECTED)
RENDERS = [name for name in FILES if "renders" in EXPECTED[name]]
ENGINES = [*(f"promtool-{a}.{b}" for a, b in SUPPORTED_PROMETHEUS), "vmalert"]


def _run(args: list[str], path: Path) -> Result:
    """One slo-gen command, held to what no output may contain, whatever its exit status."""
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("traceback:\n" + "".join(traceback.format_exception(result.exception)))
    text = result.stdout + result.stderr
    assert output_problems(text, read_input(path)) == [], text
    return result


def _expected_errors(name: str) -> list[str]:
    path = CORPUS / name
    return [f"error: {line.replace('{file}', str(path))}" for line in EXPECTED[name]["errors"]]


def test_every_corpus_file_has_one_outcome() -> None:
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))
    assert on_disk == sorted([*FILES, "expected.yml"])
    for name in FILES:
        assert sorted(set(EXPECTED[name]) - {"item", "wording"}) in (["renders"], ["errors"]), name
        assert read_input(CORPUS / name).formats, f"{name}: no Sloth or OpenSLO document"


@pytest.mark.parametrize("name", FILES)
def test_validate(name: str) -> None:
    path = CORPUS / name
    result = _run(["validate", str(path)], path)
    if "errors" in EXPECTED[name]:
        assert result.exit_code == 1, result.output
        assert result.stderr.splitlines() == _expected_errors(name)
        return
    assert result.exit_code == 0, result.stderr
    slos = EXPECTED[name]["renders"]["slos"]
    # a spec is a document: a multi-document file is several
    assert re.fullmatch(rf"ok: [1-9][0-9]* spec\(s\), {slos} SLO\(s\)",
                        result.stdout.splitlines()[-1]), result.stdout


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each rendering spec's output directory, rendered once per session (test_render fills
    it; the engine tests render on demand when run alone)."""
    return {}


def _render(name: str, rendered: dict[str, Path], tmp: Path) -> Path:
    if name not in rendered:
        path = CORPUS / name
        out = tmp / name
        args = EXPECTED[name]["renders"].get("args", [])
        result = _run(["render", str(path), "-o", str(out), *args], path)
        assert result.exit_code == 0, result.stderr
        rendered[name] = out
    return rendered[name]


def _rules(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Each rendered service's rules, by service name."""
    return {p.name.removesuffix(".rules.yml"): [
        rule for group in yaml.safe_load(p.read_text())["groups"] for rule in group["rules"]]
        for p in sorted(out.glob("*.rules.yml"))}


@pytest.mark.engine
@pytest.mark.parametrize("name", FILES)
def test_render(name: str, rendered: dict[str, Path],
                tmp_path_factory: pytest.TempPathFactory) -> None:
    path = CORPUS / name
    if "errors" in EXPECTED[name]:
        out = tmp_path_factory.mktemp("refused") / "out"
        result = _run(["render", str(path), "-o", str(out)], path)
        assert result.exit_code == 1, result.output
        assert [ln for ln in result.stderr.splitlines() if not ln.startswith("note:")] == \
            _expected_errors(name)
        assert not out.exists() or not any(out.iterdir()), "render wrote files"
        return
    want = EXPECTED[name]["renders"]
    out = _render(name, rendered, tmp_path_factory.mktemp("rendered"))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{service}.{kind}.yml" for service in want["services"] for kind in ("rules", "test"))
    rules = _rules(out)
    if "tiers" in want:
        tiers: dict[str, set[str]] = {}
        for service, items in rules.items():
            for rule in items:
                tier = rule.get("labels", {}).get("slo_tier")
                if "alert" in rule and tier:
                    tiers.setdefault(f"{service}/{rule['alert']}", set()).add(tier)
        assert {k: sorted(v) for k, v in tiers.items()} == \
            {k: sorted(v) for k, v in want["tiers"].items()}
    if "alerts" in want:
        alerts = {rule["alert"] for items in rules.values() for rule in items if "alert" in rule}
        assert sorted(alerts) == sorted(want["alerts"])
    if "windows" in want:
        windows = {rule.get("labels", {}).get("sloth_window", rule.get("labels", {}).get(
            "slo_window")) for items in rules.values() for rule in items
            if rule.get("record", "").startswith("slo:sli_error:ratio_rate")}
        assert sorted(windows, key=str) == sorted(want["windows"])


def _engine_flags(engine: str) -> tuple[list[str] | None, list[str]]:
    """(check flags or None, test flags) for one engine; skip with the reason when the engine
    is not installed here."""
    if engine == "vmalert":
        try:
            vm = discovery.find("vmalert-tool")
        except UserError as exc:
            pytest.skip(str(exc))
        return None, ["--engine", "vmalert", "--vmalert-tool", vm.path]
    major, minor = (int(n) for n in engine.removeprefix("promtool-").split("."))
    try:
        promtool = _promtool_of((major, minor))
    except pytest.fail.Exception as exc:
        pytest.skip(str(exc))
    return ["--promtool", promtool], ["--promtool", promtool]


@pytest.mark.engine
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", RENDERS)
def test_generated_tests_pass(name: str, engine: str, rendered: dict[str, Path],
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    check, test = _engine_flags(engine)
    path = CORPUS / name
    out = _render(name, rendered, tmp_path_factory.mktemp("rendered"))
    if check is not None:
        result = _run(["check", *check, *map(str, sorted(out.glob("*.rules.yml")))], path)
        assert result.exit_code == 0, result.output
    result = _run(["test", *test, *map(str, sorted(out.glob("*.test.yml")))], path)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("fmt", "line", "wrong"), [
    # main's messages on real inputs (issue 15 items 2 and 4), and ones that are right
    ("sloth", "error: F: slos[0].alerting.windows[0]: burn factor 14.4 x budget 0.1 >= 1",
     ["windows"]),
    ("sloth-crd", "error: F: slos[0].alerting.page.name: name 'A' is already used in F: "
     "slos[0].alerting.page.name (service 'b')", ["slos (at the top)", "page"]),
    ("sloth-crd", "error: F: spec.slos[0].sli.events.error_query: is not valid PromQL",
     ["error_query"]),
    ("sloth", "error: F: document 2: slos[0].name: SLO 'w' is already defined in F: "
     "document 1: slos[0].name", []),
    ("sloth", "error: F: slos[1].labels.actual_le: must be a string, got a number", []),
    ("openslo", "error: F: SLO s: spec.timeWindow: is required", []),
    ("openslo", "error: F: SLO s: spec.indicator.spec.ratioMetric.good.metricSource.spec."
     "query: is not valid PromQL", []),
    ("openslo", "error: F: apiVersion: OpenSLO 'openslo/v1alpha' is not supported", []),
    ("openslo", "error: F: slos[0].sli: cannot synthesize promtool test input", ["slos"
     " (at the top)", "slos", "sli"]),
    # a key the user wrote may be named, even one the format lacks: it is the problem
    ("sloth", "error: F: slos[0].alerting.pageAlert: unknown field", []),
    ("sloth-crd", "error: F: spec.slos[0].alerting.page_alert: unknown field", []),
])
def test_output_checker_names_foreign_fields(fmt: str, line: str, wrong: list[str]) -> None:
    spec = Input("F", frozenset({fmt}), frozenset({"pageAlert", "page_alert"}))
    assert wrong_fields(line, spec) == wrong


def test_output_checker_finds_what_no_output_may_hold() -> None:
    text = "\n".join([
        "Traceback (most recent call last):",
        "decimal.DivisionByZero: [<class 'decimal.DivisionByZero'>]",
        "error: F: SLO s: spec.objectives[0].target: MISSING is not a number",
        "error: : cannot synthesize promtool test input",
        "error: F: SLO s: spec.indicator.spec.thresholdMetric.metricSource.type: None cannot map",
        "ok: 1 spec(s), 1 SLO(s)",
    ])
    spec = Input("F", frozenset({"openslo"}), frozenset())
    assert [p.split(":")[0] for p in output_problems(text, spec)] == [
        "traceback", "MISSING", "empty prefix", "None"]


def test_output_checker_refuses_lines_about_deleted_files(tmp_path: Path) -> None:
    kept = tmp_path / "kept.rules.yml"
    kept.write_text("groups: []\n")
    gone = tmp_path / "gone" / "x.rules.yml"
    text = f"wrote {kept}\n{gone}: 8:11: group \"g\", rule 1: could not parse expression\n"
    spec = Input("F", frozenset({"sloth"}), frozenset())
    assert output_problems(text, spec) == [
        f"names a file that is gone ({gone}): {text.splitlines()[1]}"]
