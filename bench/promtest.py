"""Reading alert timelines out of ``promtool test rules``: exact Prometheus rule semantics.

promtool evaluates the rules at every evaluation interval of a test group and keeps the
``ALERTS`` series it writes, so one PromQL probe at the end of the group can ask for the first
and last firing timestamp of every alert and the number of firing episodes (rising edges), over
any span. A probe is written with ``exp_samples: []``: when it returns something, promtool
reports it as a failure and prints what it got, which is parsed here. One promtool run then
answers many scenarios, instead of bisecting the firing minute with one run per guess.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FIRING = 'ALERTS{alertstate="firing"}'
_GOT = re.compile(r"^\s*got:\s*(.*)$")
_SAMPLE = re.compile(r"\{([^{}]*)\}\s+([-+0-9.eE]+|NaN|[-+]?Inf)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Scenario:
    """Per-minute counter increments for one test group, and the span the probes look at.

    ``requests``/``errors`` hold one increment per input interval (absolute counter values are
    accumulated here; ``resets`` lists interval indexes where the process restarts and both
    counters start again from 0). ``onset`` and ``end`` are seconds since the group's start.
    """

    name: str
    requests: list[int]
    errors: list[int]
    onset: int
    interval: int = 60
    resets: Sequence[int] = ()
    probe_step: int = 60
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return len(self.requests) * self.interval


def counter_values(increments: Sequence[int], resets: Iterable[int] = ()) -> str:
    """promtool's expanding notation for a counter: ``0 a+bxn ...`` runs of equal increments."""
    reset_at = set(resets)
    parts = ["0"]
    value = 0
    i = 0
    n = len(increments)
    while i < n:
        if i in reset_at:
            value = 0
            parts.append(str(value + increments[i]))
            value += increments[i]
            i += 1
            continue
        j = i
        while j + 1 < n and increments[j + 1] == increments[i] and (j + 1) not in reset_at:
            j += 1
        count = j - i + 1
        step = increments[i]
        start = value + step
        parts.append(f"{start}+{step}x{count - 1}" if count > 1 else str(start))
        value += step * count
        i = j + 1
    return " ".join(parts)


def _probe(expr: str, probe: str, scenario: str) -> str:
    return (f'label_replace(label_replace({expr}, "probe", "{probe}", "", ""), '
            f'"scenario", "{scenario}", "", "")')


def probes(s: Scenario) -> list[dict[str, object]]:
    """First/last firing time and firing episodes after the onset, and episodes before it."""
    step = f"{s.probe_step}s"
    after = f"{s.end - s.onset}s"
    before = f"{max(s.onset, s.probe_step)}s"
    edges = f"({FIRING} unless {FIRING} offset {step})"
    stamps = f"timestamp({FIRING})[{after}:{step}]"
    out = [
        (s.end, "first", f"min by (alertname) (min_over_time({stamps}))"),
        (s.end, "last", f"max by (alertname) (max_over_time({stamps}))"),
        (s.end, "episodes", f"sum by (alertname) (sum_over_time({edges}[{after}:{step}]))"),
        (s.end, "minutes", f"sum by (alertname) (count_over_time({FIRING}[{after}]))"),
    ]
    if s.onset > 0:
        out.append((s.onset, "episodes_before",
                    f"sum by (alertname) (sum_over_time({edges}[{before}:{step}]))"))
    return [{"expr": _probe(expr, name, s.name), "eval_time": f"{t}s", "exp_samples": []}
            for t, name, expr in out]


def test_file(rule_files: Sequence[str], scenarios: Sequence[Scenario], interval: int) -> str:
    tests = []
    for s in scenarios:
        tests.append({
            "name": s.name,
            "interval": f"{s.interval}s",
            "input_series": [
                {"series": "orchestrator_requests_total",
                 "values": counter_values(s.requests, s.resets)},
                {"series": "orchestrator_errors_total",
                 "values": counter_values(s.errors, s.resets)},
            ],
            "promql_expr_test": probes(s),
        })
    doc = {"rule_files": list(rule_files), "evaluation_interval": f"{interval}s",
           "tests": tests}
    return yaml.safe_dump(doc, sort_keys=False, width=100_000)


Timeline = dict[str, dict[str, dict[str, float]]]  # scenario -> probe -> alertname -> value


def parse(output: str) -> Timeline:
    result: Timeline = defaultdict(lambda: defaultdict(dict))
    for line in output.splitlines():
        m = _GOT.match(line)
        if not m:
            continue
        for labels_text, value in _SAMPLE.findall(m.group(1)):
            labels = dict(_LABEL.findall(labels_text))
            if "scenario" in labels and "probe" in labels:
                result[labels["scenario"]][labels["probe"]][labels.get("alertname", "")] = \
                    float(value)
    return result


def run_file(path: Path, timeout: float = 900) -> Timeline:
    """Run promtool on one test file; a failure other than our probes' output is an error."""
    proc = subprocess.run(["promtool", "test", "rules", path.name], cwd=path.parent,
                          capture_output=True, text=True, timeout=timeout)
    text = proc.stdout + proc.stderr
    timeline = parse(text)
    if proc.returncode != 0 and not timeline:
        raise RuntimeError(f"promtool test rules {path.name} failed:\n{text[-3000:]}")
    return timeline
