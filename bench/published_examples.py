"""Sloth's and OpenSLO's published examples through slo-gen, as a migrating user would run them.

``python -m bench.published_examples [DIR] [--tree PATH] [--output FILE] [--jobs N]``, from the
repository root (engines are found in its ``.tools/`` as ``slo-gen`` finds them).

DIR (default ``/work/upstream-examples``) is the folder ``bench/extract_published_examples.py``
writes from the upstream repositories; it is never part of this repository. ``--tree`` is the
checkout whose ``slo`` package runs (default: this one), so one table can be measured on main
and another on a branch.

Each YAML file goes through ``slo-gen validate``, ``render`` (whatever validate said, so a
refusal that only render makes is seen), and, when rules were written, ``slo-gen check`` and
``slo-gen test`` on every engine found: promtool 3.5, 2.53 and 2.42, and ``--engine vmalert``.
Each file gets one outcome:

- ``ok``: validate and render succeeded, and every check and generated test passed everywhere.
- ``refused``: validate exited 1 with clean one-line messages (an honest "cannot map").
- ``bad``: anything else: a traceback, ``MISSING``, an empty ``error: :`` prefix, a message
  naming a field the input's format does not have (:data:`VOCABULARY`), ``validate`` saying ok
  and a later step failing, or rules that fail their own check or generated tests.

The table (file, outcome, first message) and the counts are printed, and written to
``--output`` when given. :func:`output_problems` is shared with ``tests/test_corpus.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import ROOT, Table

DEFAULT_DIR = Path("/work/upstream-examples")

# Field names each input format has (its own spelling), for "a message names a field the
# input's format lacks". Keys under free-form maps (FREE_MAPS) are user data, not fields.
_SLOTH_COMMON = frozenset({
    "service", "labels", "slos", "name", "objective", "description", "sli", "events", "raw",
    "plugin", "id", "options", "alerting", "annotations", "disable", "plugins", "chain",
    "priority", "config", "overridePrevious",
})
VOCABULARY: dict[str, frozenset[str]] = {
    "sloth": _SLOTH_COMMON | {"version", "slo_plugins", "error_query", "total_query",
                              "error_ratio_query", "page_alert", "ticket_alert"},
    "sloth-crd": _SLOTH_COMMON | {"apiVersion", "kind", "metadata", "namespace", "spec",
                                  "sloPlugins", "errorQuery", "totalQuery", "errorRatioQuery",
                                  "pageAlert", "ticketAlert"},
    "openslo": frozenset({
        "apiVersion", "kind", "metadata", "name", "displayName", "labels", "annotations", "spec",
        "description", "service", "indicator", "indicatorRef", "timeWindow", "duration",
        "isRolling", "calendar", "startTime", "timeZone", "budgetingMethod", "objectives", "op",
        "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow",
        "compositeWeight", "alertPolicies", "alertPolicyRef", "thresholdMetric", "ratioMetric",
        "counter", "good", "bad", "total", "rawType", "raw", "metricSource", "metricSourceRef",
        "type", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching", "conditions",
        "conditionRef", "notificationTargets", "targetRef", "severity", "condition",
        "threshold", "lookbackWindow", "alertAfter", "connectionDetails",
        # v1alpha (Sloth's OpenSLO examples)
        "timeWindows", "ratioMetrics", "source", "queryType", "query", "incremental",
        "unit", "count",
    }),
}
FREE_MAPS = frozenset({"labels", "annotations", "options", "config", "connectionDetails"})
# The keys a field path of each format starts with: a CRD's fields are under ``spec``.
ROOTS: dict[str, frozenset[str]] = {
    "sloth": frozenset({"version", "service", "labels", "slo_plugins", "slos"}),
    "sloth-crd": frozenset({"apiVersion", "kind", "metadata", "spec"}),
    "openslo": frozenset({"apiVersion", "kind", "metadata", "spec"}),
}

_PATH = re.compile(r"[A-Za-z_][\w-]*(\[\d+\])?(\.[A-Za-z_][\w-]*(\[\d+\])?)*")
_DOC = re.compile(r"document \d+|(SLO|SLI|AlertPolicy|AlertCondition|AlertNotificationTarget|"
                  r"Service|DataSource|PrometheusServiceLevel) \S+")


@dataclass(frozen=True)
class Input:
    """What the output checks need to know of one input file: its path as slo-gen prints it,
    the formats of its documents, and every mapping key written in it (a message may name a
    key the user wrote, even one no format has: that is the problem it reports)."""

    path: str
    formats: frozenset[str]
    keys: frozenset[str]


def _keys(value: object, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            into.add(str(key))
            _keys(item, into)
    elif isinstance(value, list):
        for item in value:
            _keys(item, into)


def read_input(path: Path) -> Input:
    """The formats of a file's documents (``sloth``, ``sloth-crd``, ``openslo``, ``native``),
    told apart by their version key as slo-gen does (a list of documents is OpenSLO's form),
    and the keys it holds. A file that is no YAML has neither."""
    formats: set[str] = set()
    keys: set[str] = set()
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except (yaml.YAMLError, UnicodeDecodeError):
        docs = []
    for doc in docs:
        _keys(doc, keys)
        for item in doc if isinstance(doc, list) else [doc]:
            if not isinstance(item, dict):
                continue
            api = str(item.get("apiVersion", item.get("version", "")))
            if api.startswith("sloth.slok.dev/"):
                formats.add("sloth-crd")
            elif api.startswith("prometheus/"):
                formats.add("sloth")
            elif api.startswith(("openslo/", "openslo.com/")):
                formats.add("openslo")
            elif api.startswith("slo-gen/"):
                formats.add("native")
    return Input(str(path), frozenset(formats), frozenset(keys))


def _fields_of(path: str) -> list[str]:
    """The schema field names along a field path, leaving out keys under free-form maps and
    an OpenSLO ``metricSource.spec`` (a data source's own settings)."""
    keys = [re.sub(r"\[\d+\]$", "", k) for k in path.split(".")]
    names: list[str] = []
    for i, key in enumerate(keys):
        names.append(key)
        if key in FREE_MAPS or (key == "spec" and i and keys[i - 1] == "metricSource"):
            break
    return names


def wrong_fields(line: str, spec: Input) -> list[str]:
    """Field names cited in an error line (after each ``<file>: ``) that none of the input's
    formats has and the input does not hold either, and a path that does not start where
    the format's paths start (``slos[0]`` in a CRD, whose SLOs are ``spec.slos``). Native
    specs are not checked: slo-gen's own names are right there by definition."""
    vocab: set[str] = set(spec.keys)
    roots: set[str] = set()
    for fmt in spec.formats:
        if fmt == "native":
            return []
        vocab |= VOCABULARY[fmt]
        roots |= ROOTS[fmt]
    if not roots:
        return []
    wrong: list[str] = []
    for chunk in line.split(f"{spec.path}: ")[1:]:
        segments = chunk.split(": ")
        while segments and _DOC.fullmatch(segments[0]):
            segments.pop(0)
        if len(segments) < 2 or not _PATH.fullmatch(segments[0]):
            continue
        names = _fields_of(segments[0])
        if names[0] not in roots and f"{names[0]} (at the top)" not in wrong:
            wrong.append(f"{names[0]} (at the top)")
        wrong += [f for f in names if f not in vocab and f not in wrong]
    return wrong


def output_problems(output: str, spec: Input) -> list[str]:
    """What no slo-gen output may ever contain, one reason per offending line: a traceback,
    ``MISSING`` or a Python ``None`` in a message, an ``error: :`` prefix with nothing before
    it, a field the input's format lacks, a YAML file that does not exist (a temporary copy,
    deleted before the user can look at the line it points to). Call it before anything the
    command wrote is removed."""
    problems: list[str] = []
    for line in output.splitlines():
        for named in re.findall(r"(/[^\s:'\"]+\.ya?ml)\b", line):
            if not Path(named).exists():
                problems.append(f"names a file that is gone ({named}): {line}")
        if line.startswith("Traceback") or re.match(r"\w+(\.\w+)*(Error|Exception): ", line):
            problems.append(f"traceback: {line}")
        if "MISSING" in line:
            problems.append(f"MISSING: {line}")
        if line.startswith("error:") and re.search(r"(?<![\w'\"])None(?![\w'\"])", line):
            problems.append(f"None: {line}")
        if re.search(r"error: *:", line) or re.search(r": : ", line):
            problems.append(f"empty prefix: {line}")
        for field in wrong_fields(line, spec):
            problems.append(f"field {field!r} is not in {'/'.join(sorted(spec.formats))}: "
                            f"{line}")
    return problems


@dataclass(frozen=True)
class Engine:
    """One engine slo-gen's check and test run on, and the options that select it."""

    name: str
    check: tuple[str, ...] | None  # None: this engine only runs tests
    test: tuple[str, ...]


def find_engines() -> tuple[list[Engine], list[str]]:
    """promtool 3.5, 2.53, 2.42 and vmalert-tool, as found from the current directory; the
    second list says which are missing."""
    from slo.engines import discovery
    from slo.errors import UserError

    engines: list[Engine] = []
    missing: list[str] = []
    by_series = {b.version[:2]: b.path for b in discovery.all_versions("promtool")}
    for series in ((3, 5), (2, 53), (2, 42)):
        label = f"promtool {series[0]}.{series[1]}"
        if series in by_series:
            flag = ("--promtool", by_series[series])
            engines.append(Engine(label, flag, flag))
        else:
            missing.append(label)
    try:
        vm = discovery.find("vmalert-tool")
        engines.append(Engine("vmalert", None, ("--engine", "vmalert", "--vmalert-tool",
                                                vm.path)))
    except UserError:
        missing.append("vmalert-tool")
    return engines, missing


@dataclass(frozen=True)
class Outcome:
    file: str
    kind: str  # ok | refused | bad
    message: str


def _first_error(output: str) -> str:
    """The line that says what went wrong: slo-gen's first ``error:``, else the engine's first
    failure detail (promtool prints ``FAILED:`` and then what differed), else the first line."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith("error:"):
            return line
    for line in lines:
        if re.search(r"\berr:|\bexp:|alertname:|expr:|error", line):
            return line.strip()
    skip = ("engine:", "wrote ", "Unit Testing", "Checking ", "note:", "ok:")
    return next((ln.strip() for ln in lines if not ln.startswith(skip)), "(no output)")


class Runner:
    """Runs slo-gen from ``tree`` in a subprocess, as a user's shell would (a traceback is
    seen as the user would see it)."""

    def __init__(self, tree: Path, engines: Sequence[Engine], default_promtool: str | None):
        self.env = {**os.environ, "PYTHONPATH": str(tree)}
        if default_promtool:  # render's own promtool check: the default engine
            self.env["PROMTOOL"] = default_promtool
        self.engines = engines

    def slo_gen(self, *args: str, cwd: Path) -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-m", "slo.cli", *args], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    def run(self, path: Path, name: str) -> Outcome:
        spec = read_input(path)
        with tempfile.TemporaryDirectory(prefix="slo-pub-") as tmp:
            work = Path(tmp)
            out = work / "out"
            v_rc, v_out = self.slo_gen("validate", str(path), cwd=work)
            r_rc, r_out = self.slo_gen("render", str(path), "-o", str(out), cwd=work)
            bad = output_problems(v_out + "\n" + r_out, spec)
            if bad:
                return Outcome(name, "bad", bad[0])
            if v_rc != 0:
                if r_rc == 0:
                    return Outcome(name, "bad", f"validate refused, render wrote: "
                                   f"{_first_error(v_out)}")
                return Outcome(name, "refused", _first_error(v_out))
            if r_rc != 0:
                return Outcome(name, "bad", f"validate ok, render failed: {_first_error(r_out)}")
            rules = sorted(str(p) for p in out.glob("*.rules.yml"))
            tests = sorted(str(p) for p in out.glob("*.test.yml"))
            if not rules:
                return Outcome(name, "bad", "render wrote no rules")
            for engine in self.engines:
                steps = [("check", engine.check, rules)] if engine.check else []
                steps.append(("test", engine.test, tests))
                for command, flags, files in steps:
                    if command == "test" and not files:
                        continue
                    rc, text = self.slo_gen(command, *(flags or ()), *files, cwd=work)
                    bad = output_problems(text, spec)
                    if bad or rc != 0:
                        first = bad[0] if bad else _first_error(text)
                        return Outcome(name, "bad", f"{command} on {engine.name}: {first}")
            slos = v_out.strip().splitlines()[-1] if v_out.strip() else ""
            return Outcome(name, "ok", f"{slos}; checked and tested on "
                           f"{', '.join(e.name for e in self.engines)}")


def examples(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="checkout whose slo package runs (default: this one)")
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    engines, missing = find_engines()
    default = next((e.check[1] for e in engines if e.check), None)
    runner = Runner(args.tree.resolve(), engines, default)
    files = examples(args.dir)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda p: runner.run(p, str(p.relative_to(args.dir))),
                                 files))
    table = Table(["file", "outcome", "first message"])
    for o in outcomes:
        table.add(o.file, o.kind, o.message.replace("|", "\\|").replace(str(args.dir) + "/", ""))
    counts = {k: sum(o.kind == k for o in outcomes) for k in ("ok", "refused", "bad")}
    groups: dict[str, dict[str, int]] = {}
    for o in outcomes:
        top = o.file.split("/")[0]
        groups.setdefault(top, {"ok": 0, "refused": 0, "bad": 0})[o.kind] += 1
    sources = args.dir / "SOURCES.txt"
    lines = [
        f"# Published examples through slo-gen ({args.tree.resolve()})",
        "",
        f"examples: {args.dir}" + (f" ({sources.read_text().strip()})".replace("\n", "; ")
                                   if sources.exists() else ""),
        f"engines: {', '.join(e.name for e in engines)}"
        + (f"; missing: {', '.join(missing)}" if missing else ""),
        "",
        table.markdown(),
        "",
        f"went through: {counts['ok']}, failed honestly: {counts['refused']}, "
        f"failed badly: {counts['bad']} (of {len(outcomes)})",
        *(f"  {top}: went through {c['ok']}, honestly {c['refused']}, badly {c['bad']}"
          for top, c in sorted(groups.items())),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
