"""Run promtool-format rule tests under VictoriaMetrics' ``vmalert-tool unittest``.

vmalert-tool reads promtool's test format with three differences, which a converted copy of
each test file (in a scratch directory, next to copies of its rule files) takes care of:

- expression tests are called ``metricsql_expr_test`` (``promql_expr_test`` is unknown there);
- every alert test names the rule group of its alert (``groupname``), found in the rule files;
- vmalert's ``ALERTS`` series carry an ``alertgroup`` label, which expected samples of an
  expression that selects ``ALERTS`` gain (the group of the alert the expression names; not
  an aggregation over it, whose result has no labels).

What remains different is MetricsQL's semantics (``rate`` does not extrapolate, windows look
back differently at their start); docs/engines.md lists what that changes in the generated
tests and in alert timings.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from slo.engines.discovery import Binary, find
from slo.engines.promtool import Result
from slo.errors import UserError

_ALERTNAME = re.compile(r'\bALERTS\s*\{[^}]*alertname\s*=\s*"([^"]+)"')


def vmalert_tool(explicit: str | None = None) -> Binary:
    return find("vmalert-tool", explicit)


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None


def alert_groups(rule_files: list[Path]) -> dict[str, str]:
    """Alert name -> the name of the first group holding it."""
    groups: dict[str, str] = {}
    for path in rule_files:
        doc = _load(path) or {}
        for group in doc.get("groups", []) if isinstance(doc, dict) else []:
            for rule in group.get("rules", []):
                if "alert" in rule:
                    groups.setdefault(str(rule["alert"]), str(group["name"]))
    return groups


def convert(doc: dict[str, Any], groups: dict[str, str]) -> dict[str, Any]:
    """A promtool test document as vmalert-tool reads it (see the module's docstring)."""
    tests = []
    for test in doc.get("tests", []):
        test = dict(test)
        exprs = test.pop("promql_expr_test", None)
        if exprs is not None:
            test["metricsql_expr_test"] = [_alerts_expr(e, groups) for e in exprs]
        if "alert_rule_test" in test:
            test["alert_rule_test"] = [
                {**a, "groupname": groups.get(a.get("alertname", ""), "")}
                for a in test["alert_rule_test"]]
        tests.append(test)
    return {**doc, "tests": tests}


def _alerts_expr(case: dict[str, Any], groups: dict[str, str]) -> dict[str, Any]:
    expr = str(case.get("expr", ""))
    m = _ALERTNAME.search(expr)
    # only a bare ALERTS selector keeps the label; an aggregation (count(ALERTS{...})) drops it
    if m is None or m[1] not in groups or not expr.lstrip().startswith("ALERTS{"):
        return case
    label = f'alertgroup="{groups[m[1]]}"'
    samples = []
    for sample in case.get("exp_samples", []):
        labels = str(sample.get("labels", ""))
        if labels.endswith("}") and "alertgroup=" not in labels:
            inner = labels[labels.index("{") + 1:-1].strip()
            labels = labels[:labels.index("{") + 1] + (f"{label}, {inner}" if inner else label) \
                + "}"
        samples.append({**sample, "labels": labels})
    return {**case, "exp_samples": samples}


def run_rule_tests(files: list[str], binary: Binary | None = None) -> Result:
    """Convert each test file (and copy its rule files) into a scratch directory, then run
    ``vmalert-tool unittest`` on the copies; the output names the original files."""
    tool = binary or vmalert_tool()
    with tempfile.TemporaryDirectory(prefix="slo-gen-vm-") as tmp:
        converted = []
        for i, name in enumerate(files):
            src = Path(name)
            doc = _load(src)
            if not isinstance(doc, dict):
                raise UserError(f"{name}: not a rule test file (expected a mapping)")
            work = Path(tmp) / str(i)
            work.mkdir()
            rule_paths = [src.parent / r for r in doc.get("rule_files", [])]
            for r in rule_paths:
                if not r.is_file():
                    raise UserError(f"{name}: rule_files: {r}: no such file")
                (work / r.name).write_text(r.read_text(encoding="utf-8"), encoding="utf-8")
            out = convert({**doc, "rule_files": [r.name for r in rule_paths]},
                          alert_groups(rule_paths))
            target = work / src.name
            target.write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True),
                              encoding="utf-8")
            converted.append(str(target))
        proc = subprocess.run([tool.path, "unittest", *(f"--files={f}" for f in converted)],
                              capture_output=True, text=True, check=False, cwd=tmp)
        output = (proc.stdout + proc.stderr).strip()
        for i, name in enumerate(files):
            output = output.replace(converted[i], name)
    return Result(proc.returncode == 0, proc.returncode, output, tool)
