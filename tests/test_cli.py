"""slo-gen end to end with the real promtool: render, check, test, determinism, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from slo.cli import main
from slo.engines.discovery import HINTS
from tests.conftest import ROOT
from tests.specs import valid, write


def test_render_is_deterministic_and_passes_promtool(tmp_path: Path, cli, promtool) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.invoke(main, ["render", "-o", str(a)]).exit_code == 0
    assert cli.invoke(main, ["render", "-o", str(b)]).exit_code == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == ["orchestrator.rules.yml", "orchestrator.test.yml"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes()
    check = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal",
                            str(a / "orchestrator.rules.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", str(a / "orchestrator.test.yml")],
                          capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr


def test_committed_rules_are_fresh(tmp_path: Path, cli) -> None:
    assert cli.invoke(main, ["render", "-o", str(tmp_path)]).exit_code == 0
    for rendered in tmp_path.iterdir():
        committed = ROOT / "rules" / rendered.name
        assert committed.read_bytes() == rendered.read_bytes(), (
            f"rules/{rendered.name} is stale: run `make rules` and commit it")


def test_stdout_is_one_yaml_document_of_rules(cli) -> None:
    result = cli.invoke(main, ["render", "-o", "-"])
    assert result.exit_code == 0
    docs = list(yaml.safe_load_all(result.stdout))
    assert len(docs) == 1
    records = [r.get("record") for g in docs[0]["groups"] for r in g["rules"]]
    for name in ("orchestrator_success_rate_5m", "orchestrator_error_budget_used_ratio_30m",
                 "orchestrator_burn_rate_fast", "slo:sli_error:ratio_rate30d"):
        assert name in records
    alerts = {r.get("alert") for g in docs[0]["groups"] for r in g["rules"]}
    assert {"OrchestratorErrorRateHigh", "OrchestratorErrorRateIncreasing",
            "OrchestratorErrorBudgetBurning"} <= alerts


def test_no_raw_period_rate_and_no_average_of_ratios(cli) -> None:
    text = cli.invoke(main, ["render", "-o", "-"]).stdout
    assert "[30d]" in text  # the period is there ...
    for line in text.splitlines():
        if "[30d]" in line:  # ... but only over the 5m recorded counts
            assert "rate(" not in line.replace("slo:sli_errors:rate5m", "").replace(
                "slo:sli_total:rate5m", "")
            assert "ratio_rate5m" not in line


def test_bad_spec_writes_nothing(tmp_path: Path, cli) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "orchestrator.rules.yml").write_text("old")
    doc = valid()
    doc["slos"][0]["objective"] = 150
    result = cli.invoke(main, ["render", write(tmp_path / "bad.yaml", doc), "-o", str(out)])
    assert result.exit_code == 1
    assert [p.name for p in out.iterdir()] == ["orchestrator.rules.yml"]
    assert (out / "orchestrator.rules.yml").read_text() == "old"


def test_unwritable_output_is_a_clean_error(tmp_path: Path, cli) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli.invoke(main, ["render", "-o", str(blocker / "sub")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "cannot write" in result.stderr


def test_check_and_test_fail_on_broken_files(tmp_path: Path, cli, promtool) -> None:
    bad_rules = tmp_path / "bad.rules.yml"
    bad_rules.write_text("groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(\n")
    assert cli.invoke(main, ["check", str(bad_rules)]).exit_code == 1
    # a generated test must fail when the rule it tests is wrong: raise the page threshold
    assert cli.invoke(main, ["render", "-o", str(tmp_path)]).exit_code == 0
    rules = tmp_path / "orchestrator.rules.yml"
    rules.write_text(rules.read_text().replace(">= 0.072", ">= 0.72"))
    result = cli.invoke(main, ["test", str(tmp_path / "orchestrator.test.yml")])
    assert result.exit_code == 1
    assert "OrchestratorRequestsAvailabilityErrorBudgetBurnPage" in result.output


def test_missing_promtool_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run([str(Path(sys.executable).parent / "slo-gen"), "test", "x.yml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["error: x.yml: no such file"]
    (tmp_path / "x.yml").write_text("")
    proc = subprocess.run([str(Path(sys.executable).parent / "slo-gen"), "test", "x.yml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: promtool not found: {HINTS['promtool']}"]
    assert "Traceback" not in proc.stderr


def test_prometheus_operator_format(tmp_path: Path, cli, promtool) -> None:
    result = cli.invoke(main, ["render", "--format", "prometheus-operator", "--namespace",
                               "monitoring", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (obj_file,) = tmp_path.iterdir()
    obj = yaml.safe_load(obj_file.read_text())
    assert obj["kind"] == "PrometheusRule" and obj["apiVersion"] == "monitoring.coreos.com/v1"
    assert obj["metadata"] == {"name": "orchestrator-slos", "namespace": "monitoring",
                               "labels": {"app.kubernetes.io/managed-by": "slo-gen",
                                          "slo_service": "orchestrator"}}
    groups = tmp_path / "groups.yml"
    groups.write_text(yaml.safe_dump(obj["spec"]))
    check = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal",
                            str(groups)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project's wheel, built without isolation, and a ``pip install --target`` of it."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel_dir, target = tmp / "wheel", tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheel_dir), str(ROOT)], check=True)
    (wheel,) = wheel_dir.glob("*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    return wheel, target


def test_non_editable_install_renders_outside_the_repo(
    tmp_path: Path, installed_wheel: tuple[Path, Path]
) -> None:
    """The wheel carries the templates and the default spec: render from a plain install."""
    _, target = installed_wheel
    out = tmp_path / "out"
    code = ("import slo, sys; from slo.cli import main; "
            "assert slo.__file__.startswith(sys.argv[1]), slo.__file__; "
            "main(['render', '--no-check', '-o', sys.argv[2]])")
    env = {**os.environ, "PYTHONPATH": str(target)}
    subprocess.run([sys.executable, "-c", code, str(target), str(out)], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    assert (out / "orchestrator.rules.yml").read_bytes() == (
        ROOT / "rules" / "orchestrator.rules.yml").read_bytes()


def test_wheel_ships_the_library_without_the_demo(installed_wheel: tuple[Path, Path]) -> None:
    """The demo is a program of this checkout (``make run``), not something users install."""
    wheel, _ = installed_wheel
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    packages = {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info/" not in n}
    assert packages == {"exporter", "slo"}
    assert [n for n in names if "demo" in n.split("/")[:-1]] == []
    assert "exporter/asgi.py" in names and "slo/cli.py" in names


def test_importing_the_exporter_imports_no_web_framework(
    tmp_path: Path, installed_wheel: tuple[Path, Path]
) -> None:
    """``import exporter`` from the installed wheel pulls in neither Starlette nor the demo's
    other dependencies (they are installed here, so only the exporter's imports keep them out)."""
    _, target = installed_wheel
    code = ("import sys, exporter; assert exporter.__file__.startswith(sys.argv[1]), "
            "exporter.__file__; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'fastapi', 'uvicorn', 'httpx', 'demo')))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    import starlette  # noqa: F401  (the check above means something only if it is installed)


def test_wheel_ships_the_status_page_and_slo_gen_imports_no_web_framework(
    tmp_path: Path, installed_wheel: tuple[Path, Path]
) -> None:
    """The page's templates are in the wheel; ``slo-gen`` itself (status included) imports
    neither Starlette nor uvicorn: only ``slo-gen serve`` loads them (the ``serve`` extra)."""
    wheel, target = installed_wheel
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"slo/templates/serve/{n}" for n in (
        "base.html.j2", "overview.html.j2", "detail.html.j2", "_card.html.j2",
        "chart.svg.j2", "error.html.j2")} <= names
    code = ("import sys, slo.cli, slo.status.run; "
            "assert slo.cli.__file__.startswith(sys.argv[1]), slo.cli.__file__; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'uvicorn', 'httpx', 'demo')))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
