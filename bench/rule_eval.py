"""Benchmark 4: what the 30-day period ratio costs a real Prometheus, and how exact it is.

31 days of synthetic counters for 20 SLOs are backfilled with ``promtool tsdb
create-blocks-from openmetrics``, together with the recordings the period rules read (our
15-minute step sums of the recorded 5m rates, and Sloth's 5m ratio), computed here at the
evaluation step exactly as the recording rules compute them. A Prometheus on 127.0.0.1
then evaluates (a) our rendered rules, (b) the period as a raw ``rate(...[30d])`` and (c)
Sloth's mean of 5m ratios, and ``prometheus_rule_group_last_duration_seconds`` is read after
several evaluations. The period ratio of each variant, queried at the end of the data, is
compared with the request-weighted truth computed here from the same counts.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from bench.common import (
    Section,
    Stopwatch,
    Table,
    child,
    free_port,
    median,
    run,
    temp_dir,
)
from slo.model.durations import format_duration
from slo.rules.plan import PERIOD_STEP
from slo.rules.promql import ERRORS_RATE, TOTAL_RATE, step_sum_name

STEP = 60  # seconds: scrape interval of the raw counters and evaluation step of the recordings
BASE = 300  # the 5m recording window
ERRORS_SUM = step_sum_name(ERRORS_RATE, PERIOD_STEP)  # our period group's step sums
TOTAL_SUM = step_sum_name(TOTAL_RATE, PERIOD_STEP)
INSTANCES = ("i0", "i1")
ENDPOINTS = ("/reservations/{id}", "/messages")


@dataclass
class SLOData:
    """Per-minute totals of one SLO and the sums the truths are computed from."""

    name: str
    requests: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)


def traffic(name: str, minutes: int, seed: int) -> SLOData:
    """Diurnal traffic (2 to 100 requests/s), 0.2 % background errors, and incidents at random
    times (5-50 % errors for 10-120 minutes), so busy and quiet spans have different ratios:
    the case where a mean of ratios and the request-weighted ratio part ways."""
    rng = random.Random(seed)
    data = SLOData(name)
    incidents: dict[int, float] = {}
    for _ in range(6):
        start, length = rng.randrange(minutes), rng.randrange(10, 121)
        ratio = rng.uniform(0.05, 0.5)
        for m in range(start, min(minutes, start + length)):
            incidents[m] = ratio
    for m in range(minutes):
        phase = 0.5 - 0.5 * math.cos(2 * math.pi * (m % 1440) / 1440)
        n = max(1, round(60 * (2 + 98 * phase ** 2) * rng.uniform(0.9, 1.1)))
        p = incidents.get(m, 0.002)
        data.requests.append(n)
        data.errors.append(min(n, round(n * p * rng.uniform(0.5, 1.5))))
    return data


def _split(total: int, parts: int) -> list[int]:
    base = total // parts
    return [base + (1 if i < total - base * parts else 0) for i in range(parts)]


def write_openmetrics(out: IO[str], slos: list[SLOData], t0: int,
                      recorded: dict[str, dict[str, dict[str, str]]], *,
                      instances: tuple[str, ...] = INSTANCES,
                      endpoints: tuple[str, ...] = ENDPOINTS, rates_from: int = 0,
                      eof: bool = True) -> int:
    """Raw counters per instance and endpoint, plus the recordings (the 5m rates from minute
    ``rates_from`` on); returns the line count."""
    lines = 0
    parts = len(instances) * len(endpoints)
    for d in slos:
        for metric, counts in (("orchestrator_requests_total", d.requests),
                               ("orchestrator_errors_total", d.errors)):
            split = [_split(c, parts) for c in counts]
            k = 0
            for inst in instances:
                for ep in endpoints:
                    labels = f'slo="{d.name}",instance="{inst}",endpoint="{ep}"'
                    value = 0
                    chunk = [f"{metric}{{{labels}}} 0 {t0}\n"]
                    for m, s in enumerate(split):
                        value += s[k]
                        chunk.append(f"{metric}{{{labels}}} {value} {t0 + (m + 1) * STEP}\n")
                    out.write("".join(chunk))
                    lines += len(chunk)
                    k += 1
        lines += _write_recordings(out, d, t0, recorded[d.name], rates_from)
    if eof:
        out.write("# EOF\n")
    return lines


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def _write_recordings(out: IO[str], d: SLOData, t0: int,
                      rec: dict[str, dict[str, str]], rates_from: int = 0) -> int:
    """5m rates at every step, as ``sum(rate(x[5m]))`` gives them on step-aligned samples, and
    every step their sum over the step (``sum_over_time(rate5m[15m])`` evaluated by a group
    whose timestamps never coincide with the rates', so each rate lands in exactly one step)."""
    w = BASE // STEP
    per_step = PERIOD_STEP // STEP
    lines = 0
    err_rate, tot_rate, ratio, err_sum, tot_sum = [], [], [], [], []
    e_rates: dict[int, float] = {}
    n_rates: dict[int, float] = {}
    for m in range(w, len(d.requests) + 1):
        e = sum(d.errors[m - w:m]) / BASE
        n = sum(d.requests[m - w:m]) / BASE
        e_rates[m], n_rates[m] = e, n
        if m >= rates_from:
            err_rate.append(f"{e!r} {t0 + m * STEP}\n")
            tot_rate.append(f"{n!r} {t0 + m * STEP}\n")
        ratio.append(f"{(e / n)!r} {t0 + m * STEP}\n")
        if m % per_step == 0:
            ks = range(m - per_step + 1, m + 1)
            err_sum.append(f"{sum(e_rates.get(k, 0.0) for k in ks)!r} {t0 + m * STEP}\n")
            tot_sum.append(f"{sum(n_rates.get(k, 0.0) for k in ks)!r} {t0 + m * STEP}\n")
    for name, values in (("slo:sli_errors:rate5m", err_rate), ("slo:sli_total:rate5m", tot_rate),
                         ("slo:sli_error:ratio_rate5m", ratio),
                         (ERRORS_SUM, err_sum), (TOTAL_SUM, tot_sum)):
        prefix = f"{name}{{{_labels(rec[name])}}} "
        out.write("".join(prefix + v for v in values))
        lines += len(values)
    return lines


def truths(d: SLOData, end_minute: int, window_minutes: int, left_open: bool = False
           ) -> tuple[float, float]:
    """(plain, tapered) request-weighted error ratio over the window ending at ``end_minute``.

    plain: errors / requests of the minutes in the window. tapered: each minute weighted by
    how many 5m rate recordings the period adds up contain it: those in the step sums inside
    the window (a closed range of step sums on Prometheus 2, ``left_open`` on 3, where the
    step sum at the window's start is outside; each holds the rates of its step), so it
    tapers over the step at each edge.
    """
    start = end_minute - window_minutes
    plain = sum(d.errors[start:end_minute]) / sum(d.requests[start:end_minute])
    w = BASE // STEP
    weights: dict[int, int] = defaultdict(int)
    # the first step sum reaches back a step; on Prometheus 3 the one at `start` is left out
    first = start + 1 if left_open else start - (PERIOD_STEP // STEP - 1)
    for k in range(first, end_minute + 1):
        for j in range(max(0, k - w), k):
            weights[j] += 1
    e = sum(c * d.errors[j] for j, c in weights.items())
    n = sum(c * d.requests[j] for j, c in weights.items())
    return plain, e / n


def mean_of_ratios(d: SLOData, end_minute: int, window_minutes: int,
                   left_open: bool = False) -> float:
    w = BASE // STEP
    ratios = [sum(d.errors[k - w:k]) / sum(d.requests[k - w:k])
              for k in range(end_minute - window_minutes + left_open, end_minute + 1)]
    return sum(ratios) / len(ratios)


def spec_text(names: list[str]) -> str:
    lines = ["apiVersion: slo-gen/v1", "service: bench", "slos:"]
    for name in names:
        lines += [f"  - name: {name}", "    objective: 99.5", "    period: 30d", "    sli:",
                  "      events:",
                  f'        errors: orchestrator_errors_total{{slo="{name}"}}',
                  f'        total: orchestrator_requests_total{{slo="{name}"}}',
                  "    alerting:", "      runbook_url: https://runbooks.example.internal/x"]
    return "\n".join(lines) + "\n"


@dataclass
class Variants:
    """The rule files and, per SLO, the period expression each variant evaluates."""

    files: dict[str, Path]
    ours_rules: int  # rules in the rendered file, all SLOs
    period_expr: dict[str, dict[str, str]]  # variant -> slo -> PromQL
    recorded: dict[str, dict[str, dict[str, str]]]  # slo -> record name -> labels


def variants(tmp: Path, names: list[str]) -> Variants:
    spec = tmp / "bench.yaml"
    spec.write_text(spec_text(names), encoding="utf-8")
    run([str(Path(sys.executable).with_name("slo-gen")), "render", "--no-check", "-o",
         str(tmp / "ours"), str(spec)])
    ours = yaml.safe_load((tmp / "ours" / "bench.rules.yml").read_text(encoding="utf-8"))
    recorded: dict[str, dict[str, dict[str, str]]] = {}
    period: dict[str, dict[str, str]] = {"a": {}, "b": {}, "c": {}}
    a_rules, b_rules, c_rules = [], [], []
    a_steps = []
    by_name = {g["name"]: g for g in ours["groups"]}
    for name in names:
        rec: dict[str, dict[str, str]] = {}
        group, steps = by_name[f"slo-bench-{name}"], by_name[f"slo-bench-{name}-period"]
        for r in group["rules"] + steps["rules"]:
            if r.get("record") in ("slo:sli_errors:rate5m", "slo:sli_total:rate5m",
                                   ERRORS_SUM, TOTAL_SUM):
                rec[r["record"]] = dict(r.get("labels", {}))
            if r.get("record") == "slo:sli_error:ratio_rate30d":
                period["a"][name] = r["expr"]
        a_steps += [{**r, "record": r["record"].replace("slo:", "bench:", 1)}
                    for r in steps["rules"]]
        sloth = {"sloth_id": f"bench-{name}", "sloth_service": "bench", "sloth_slo": name,
                 "sloth_window": "5m"}
        rec["slo:sli_error:ratio_rate5m"] = sloth
        recorded[name] = rec
        sel = f'{{sloth_id="bench-{name}", sloth_window="5m"}}'
        period["b"][name] = (f'sum(rate(orchestrator_errors_total{{slo="{name}"}}[30d])) / '
                             f'sum(rate(orchestrator_requests_total{{slo="{name}"}}[30d]))')
        period["c"][name] = (f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d]) / "
                             f"count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])")
        for rules, key in ((a_rules, "a"), (b_rules, "b"), (c_rules, "c")):
            rules.append({"record": f"bench:period_error_ratio_{key}:30d",
                          "expr": period[key][name], "labels": {"slo": name}})
    files = {"ours": tmp / "ours" / "bench.rules.yml"}
    for rules, title in ((a_rules, "ours-period-only"), (a_steps, "ours-step-sums"),
                         (b_rules, "raw-rate-30d"), (c_rules, "sloth-mean-of-ratios")):
        path = tmp / f"{title}.rules.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": title, "rules": rules}]},
                                       sort_keys=False, width=100_000), encoding="utf-8")
        files[title] = path
    count = sum(len(g["rules"]) for g in ours["groups"])
    return Variants(files, count, period, recorded)


def _get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # 127.0.0.1 only
        return r.read()


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("prometheus exited during start-up")
        try:
            if _get(f"{base}/-/ready", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("prometheus did not become ready")


@dataclass
class GroupStats:
    """One rule group's evaluations as the server's own metrics report them."""

    durations: list[float] = field(default_factory=list)  # one per evaluation seen
    iterations: float = 0.0  # prometheus_rule_group_iterations_total
    missed: float = 0.0  # prometheus_rule_group_iterations_missed_total


_GROUP_METRICS = ("prometheus_rule_group_last_duration_seconds",
                  "prometheus_rule_group_last_evaluation_timestamp_seconds",
                  "prometheus_rule_group_iterations_total",
                  "prometheus_rule_group_iterations_missed_total")


def _group_metrics(base: str) -> dict[str, dict[str, float]]:
    """rule group -> {metric name: value} for :data:`_GROUP_METRICS`."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for line in _get(f"{base}/metrics").decode().splitlines():
        name, _, rest = line.partition("{")
        if name in _GROUP_METRICS and 'rule_group="' in rest:
            labels, value = rest.rsplit(" ", 1)
            group = labels.split('rule_group="', 1)[1].split('"', 1)[0].split(";", 1)[1]
            out[group][name] = float(value)
    return out


def _query(base: str, expr: str, at: int) -> float:
    q = urllib.parse.urlencode({"query": expr, "time": str(at)})
    body = json.loads(_get(f"{base}/api/v1/query?{q}", timeout=120))
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


@dataclass(frozen=True)
class Engine:
    """The Prometheus the benchmark runs, its promtool, and its range semantics."""

    prometheus: str
    promtool: str
    describe: str
    left_open: bool  # Prometheus 3: range selectors are (t - d, t]


def engine() -> Engine:
    """Prometheus 3.5 from ``make engines`` by default ($PROMETHEUS overrides, see
    :func:`demo.engines.prometheus`), with the promtool next to it (same version)."""
    from demo import engines  # the demo's engine choice, so make run, e2e and bench agree

    prom = engines.prometheus()
    promtool = Path(prom.path).with_name("promtool")
    if not promtool.exists():
        from slo.engines.discovery import find

        promtool = Path(find("promtool").path)
    first = run([str(promtool), "--version"]).stdout.split("\n", 1)[0]
    version = first.partition("version ")[2].split(" ", 1)[0] or "unknown version"
    return Engine(prom.path, str(promtool), f"{prom.describe()}, promtool {version}",
                  prom.major >= 3)


def backfill(eng: Engine, om: Path, data: Path) -> None:
    run([eng.promtool, "tsdb", "create-blocks-from", "openmetrics",
         "--max-block-duration=744h", str(om), str(data)], timeout=7200)


def serve(eng: Engine, tmp: Path, name: str, rule_files: list[Path], data: Path,
                    interval: int, evaluations: int, expect: set[str], ooo: bool = False,
                    timeout: float = 600, queries: dict[str, str] | None = None, at: int = 0
                    ) -> tuple[dict[str, GroupStats], dict[str, float]]:
    """Run Prometheus on ``data`` with ``rule_files`` until every group in ``expect`` was
    seen evaluating ``evaluations + 1`` times (or ``timeout`` passed), then run the instant
    ``queries`` (name -> PromQL) at ``at``: the groups' stats and the queries' values."""
    port = free_port()
    config = tmp / f"{name}.prometheus.yml"
    doc: dict = {"global": {"evaluation_interval": f"{interval}s", "scrape_interval": "1m"},
                 "rule_files": [str(p) for p in rule_files]}
    if ooo:  # rule results may land before the newest backfilled sample: accept them
        doc["storage"] = {"tsdb": {"out_of_order_time_window": "1h"}}
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    stats: dict[str, GroupStats] = defaultdict(GroupStats)
    values: dict[str, float] = {}
    with child([eng.prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=400d", f"--web.listen-address=127.0.0.1:{port}"],
               tmp / f"{name}.prometheus.log") as proc:
        _wait_ready(base, proc, timeout=600)
        seen: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for group, m in _group_metrics(base).items():
                st = stats[group]
                st.iterations = m.get(_GROUP_METRICS[2], 0.0)
                st.missed = m.get(_GROUP_METRICS[3], 0.0)
                stamp = m.get(_GROUP_METRICS[1], 0.0)
                if stamp > 0 and stamp != seen.get(group):
                    seen[group] = stamp
                    st.durations.append(m.get(_GROUP_METRICS[0], float("nan")))
            if all(len(stats[g].durations) >= evaluations + 1 for g in expect):
                break
            time.sleep(1)
        for key, expr in (queries or {}).items():
            values[key] = _query(base, expr, at)
    return dict(stats), values


def run_bench(quick: bool = False) -> Section:
    eng = engine()
    with Stopwatch() as total:
        section, per_line, per_slo, interval = _main_row(quick, eng)
        scale(section, eng, n_slos=10 if quick else 1000, evaluations=2 if quick else 4,
              interval=interval, per_line=per_line, per_slo=per_slo)
    section.seconds = total.seconds
    return section


def _main_row(quick: bool, eng: Engine) -> tuple[Section, float, float, int]:
    """20 SLOs (2 when quick), every variant in one server; also what the data costs to
    make (seconds per OpenMetrics line, per SLO of traffic), for the scale row's plan."""
    n_slos = 2 if quick else 20
    evaluations = 3 if quick else 5
    interval = 10 if quick else 15
    days = 31
    minutes = days * 1440
    names = [f"s{i:02d}" for i in range(n_slos)]
    with Stopwatch() as sw, temp_dir("ruleeval") as tmp:
        v = variants(tmp, names)
        t_end = int(time.time()) // STEP * STEP - 120
        t0 = t_end - minutes * STEP
        with Stopwatch() as gen_traffic:
            slos = [traffic(n, minutes, seed=i) for i, n in enumerate(names)]
        with Stopwatch() as gen:
            om = tmp / "data.om"
            with om.open("w", encoding="utf-8") as f:
                lines = write_openmetrics(f, slos, t0, v.recorded)
        with Stopwatch() as filled:
            backfill(eng, om, tmp / "data")
        size = om.stat().st_size
        om.unlink()
        # the rendered step-sum groups run once per step; "ours-step-sums" times the same
        # rules at the global interval instead of waiting for them
        expect = {f"slo-bench-{n}" for n in names} | {
            "ours-period-only", "ours-step-sums", "raw-rate-30d", "sloth-mean-of-ratios"}
        queries = {f"{key}/{n}": v.period_expr[key][n] for key in ("a", "b", "c") for n in names}
        stats, got = serve(
            eng, tmp, "variants", list(v.files.values()), tmp / "data", interval, evaluations,
            expect, timeout=interval * (evaluations + 4) + 120, queries=queries, at=t_end)
    values = {key: {n: got[f"{key}/{n}"] for n in names} for key in ("a", "b", "c")}
    samples = {g: st.durations for g, st in stats.items()}
    section = _section(v.ours_rules, n_slos, evaluations, interval, lines, size, gen.seconds,
                       filled.seconds, samples, values, slos, sw, eng)
    return section, (gen.seconds + filled.seconds) / lines, gen_traffic.seconds / n_slos, interval


def _section(ours_rules: int, n_slos: int, evaluations: int, interval: int, lines: int, size: int,
             gen_s: float, backfill_s: float, samples: dict[str, list[float]],
             values: dict[str, dict[str, float]], slos: list[SLOData], sw: Stopwatch,
             eng: Engine) -> Section:
    window = 30 * 1440
    step = format_duration(PERIOD_STEP)
    step_samples = window * 60 // PERIOD_STEP + (0 if eng.left_open else 1)
    end_minute = len(slos[0].requests)
    section = Section("4. Rule evaluation cost in a real Prometheus", f"""
{n_slos} SLOs, each with {len(INSTANCES)} instances x {len(ENDPOINTS)} endpoints of
`orchestrator_requests_total` and `orchestrator_errors_total` scraped every {STEP} s, 31 days
of diurnal traffic with incidents ({lines:,} samples, {size / 2**20:.0f} MiB of OpenMetrics,
written in {gen_s:.0f} s, backfilled by `promtool tsdb create-blocks-from openmetrics
--max-block-duration=744h` in {backfill_s:.0f} s). Our period reads RECORDED series, so those
were backfilled too, with the exact label sets of the rendered rules: the 5m rates
`slo:sli_errors:rate5m`/`slo:sli_total:rate5m` computed in Python at every {STEP} s step as
`sum(rate(x[5m]))` computes them on step-aligned samples of a closed range ((v(t) - v(t-5m)) /
300, as Prometheus 2 does; Prometheus 3's left-open range gives (v(t) - v(t-4m)) / 240, the same
request weighting, see docs/engines.md), their {step}-step sums
`{ERRORS_SUM}`/`{TOTAL_SUM}` every {step}, and Sloth's
`slo:sli_error:ratio_rate5m` for (c).
`promtool tsdb create-blocks-from rules` would also work but needs a running server
and evaluates every step through the query API, far slower than writing the values.
Prometheus then ran on that TSDB (127.0.0.1, evaluation interval {interval} s, all groups in
one server); the table is the median `prometheus_rule_group_last_duration_seconds` over
{evaluations} or more evaluations after the first. Ratios are queried at the last data point.
Engine: {eng.describe} ({"left-open" if eng.left_open else "closed"} range windows; the
"tapered truth" below counts the step sums such a `[30d]` window holds).""")
    cost = Table(["rule group", "rules", "median eval ms", "per evaluation interval ms",
                  "vs (a) + (a')"])

    def eval_ms(group: str) -> float:
        got = samples.get(group, [])
        return median(got[1:]) if len(got) > 1 else float("nan")

    period_only, steps = eval_ms("ours-period-only"), eval_ms("ours-step-sums")
    amortized = steps * interval / PERIOD_STEP  # the step group runs once per step
    a = period_only + amortized
    full_groups = [g for g in samples if g.startswith("slo-bench-") and not g.endswith("-period")]
    full = sum(eval_ms(g) for g in full_groups) + amortized
    rows = ((f"(a) ours: period from the {step} step sums", "ours-period-only", period_only),
            (f"(a') ours: the step sums, once per {step}", "ours-step-sums", amortized),
            ("(b) raw `rate(...[30d])` over the counters", "raw-rate-30d", None),
            ("(c) Sloth: mean of recorded 5m ratios", "sloth-mean-of-ratios", None))
    for label, group, per_interval in rows:
        m = eval_ms(group)
        per = m if per_interval is None else per_interval
        cost.add(label, 2 * n_slos if group == "ours-step-sums" else n_slos, f"{m * 1e3:.2f}",
                 f"{per * 1e3:.2f}", f"{per / a:.2f}x")
    cost.add(f"ours, whole rendered rule set ({len(full_groups)} groups: 5m rates, 8 windows, "
             "metadata, alerts; plus (a'))", ours_rules, "", f"{full * 1e3:.1f}",
             f"{full / a:.1f}x")
    section.tables.append(("Evaluation cost of the 30-day period ratio", cost))

    acc = Table(["variant", "median relative error vs tapered truth",
                 "max relative error vs tapered truth", "max relative error vs plain truth"])
    rel: dict[str, list[tuple[float, float]]] = {}
    for key, label in (("a", "(a) ours"), ("b", "(b) raw rate[30d]"), ("c", "(c) Sloth mean")):
        errs = []
        for d in slos:
            plain, tapered = truths(d, end_minute, window, eng.left_open)
            got = values[key][d.name]
            errs.append((abs(got - tapered) / tapered, abs(got - plain) / plain))
        rel[key] = errs
        acc.add(label, f"{median([e[0] for e in errs]):.2e}", f"{max(e[0] for e in errs):.2e}",
                f"{max(e[1] for e in errs):.2e}")
    d0 = slos[0]
    plain0, _ = truths(d0, end_minute, window, eng.left_open)
    section.tables.append((
        f"Period error ratio against the truth computed from the generated counts ({d0.name}: "
        f"truth {plain0:.6f}, (a) {values['a'][d0.name]:.6f}, (b) {values['b'][d0.name]:.6f}, "
        f"(c) {values['c'][d0.name]:.6f}, mean of 5m ratios computed here "
        f"{mean_of_ratios(d0, end_minute, window, eng.left_open):.6f})", acc))
    b = eval_ms("raw-rate-30d")
    a_exact = max(e[0] for e in rel["a"])
    c_off = median([e[1] for e in rel["c"]])
    section.target("ours at least 10x cheaper than a raw rate(...[30d])", b / a >= 10,
                   f"{b / a:.1f}x per evaluation interval, (a) + (a'); "
                   f"{b / period_only:.1f}x for the period rule alone")
    section.target("ours exact to 1e-6 relative", a_exact <= 1e-6,
                   f"{a_exact:.1e} against the same window edges; "
                   f"{max(e[1] for e in rel['a']):.1e} against the plain 30-day ratio")
    section.target("Sloth's mean of ratios is off", c_off > 1e-3,
                   f"by {c_off:.1%} (median over SLOs)")
    section.notes.append(
        f"Why the cost ratio is what it is: the raw rate reads every raw sample of every "
        f"instance and endpoint series ({len(INSTANCES) * len(ENDPOINTS) * 2} series per SLO "
        f"at {STEP} s here: 8 x 43,200 per evaluation); ours reads two series of one {step} "
        f"step sum each (2 x {step_samples:,}), written by a group with `interval: {step}` "
        "that adds up the recorded 5m rates of its step (that group's cost is shown per "
        f"evaluation and spread over the {interval} s evaluation interval). The ratio grows with "
        "the series per SLO and the scrape frequency; ours depends on neither. Earlier designs, "
        "measured with this benchmark: averaging every recorded 5m rate sample over 30 days "
        "(2 x 172,800 samples at this interval) 2.4x; 5-minute step sums (2 x 8,641) 8-16x "
        "over two runs; the shipped 15-minute steps 25x in their first run. The step sums leave "
        "the ratio request-weighted and exact (it trails by at most one step); the (a) "
        "evaluation includes `> 0` and the division, like the rendered rule; (b) and (c) are "
        "one group each for the same SLOs.")
    section.seconds = sw.seconds
    return section


#: The scale row's SLOs have one instance and one endpoint each (two raw series per SLO).
SCALE_INSTANCES = ("i0",)
SCALE_ENDPOINTS = ("/messages",)
#: Minutes of recorded 5m rates the rendered rules read back (the 3d ticket window, plus an
#: hour); older rates are only needed inside the step sums, which are written whole.
LONGEST_WINDOW = 3 * 1440 + 60


def _scale_lines(minutes: int, rates_from: int) -> int:
    """OpenMetrics lines per SLO of the scale row."""
    w, per_step = BASE // STEP, PERIOD_STEP // STEP
    parts = len(SCALE_INSTANCES) * len(SCALE_ENDPOINTS)
    steps = sum(1 for m in range(w, minutes + 1) if m % per_step == 0)
    return (2 * parts * (minutes + 1) + (minutes - w + 1)
            + 2 * (minutes + 1 - max(w, rates_from)) + 2 * steps)


def scale(section: Section, eng: Engine, n_slos: int, evaluations: int, interval: int,
          per_line: float, per_slo: float) -> None:
    """The scale row: ``n_slos`` SLOs on one Prometheus, one server per variant, in turn.

    The data is written to end about when the first server starts (its end is planned from
    what the main row's data cost per line and per SLO); how far off the plan was is shown.
    """
    minutes = 31 * 1440
    rates_from = minutes - LONGEST_WINDOW
    names = [f"s{i:04d}" for i in range(n_slos)]
    runs: dict[str, dict[str, GroupStats]] = {}
    with Stopwatch() as sw, temp_dir("ruleeval-scale") as tmp:
        v = variants(tmp, names)
        predicted = n_slos * (per_slo + _scale_lines(minutes, rates_from) * per_line)
        t_end = int(time.time() + 0.8 * predicted - 60) // STEP * STEP
        t0 = t_end - minutes * STEP
        om, data = tmp / "data.om", tmp / "data"
        lines = 0
        with Stopwatch() as gen, om.open("w", encoding="utf-8") as f:
            for i, name in enumerate(names):
                d = traffic(name, minutes, seed=10_000 + i)
                lines += write_openmetrics(f, [d], t0, v.recorded, instances=SCALE_INSTANCES,
                                           endpoints=SCALE_ENDPOINTS, rates_from=rates_from,
                                           eof=False)
            f.write("# EOF\n")
        size = om.stat().st_size
        with Stopwatch() as filled:
            backfill(eng, om, data)
        om.unlink()
        lag = time.time() - t_end
        timeout = interval * (evaluations + 4) + (900 if n_slos >= 100 else 120)
        plan = (("ours", [v.files["ours"]], {f"slo-bench-{n}" for n in names}),
                ("a", [v.files["ours-period-only"], v.files["ours-step-sums"]],
                 {"ours-period-only", "ours-step-sums"}),
                ("b", [v.files["raw-rate-30d"]], {"raw-rate-30d"}),
                ("c", [v.files["sloth-mean-of-ratios"]], {"sloth-mean-of-ratios"}))
        for key, files, expect in plan:
            for leftover in ("wal", "chunks_head", "lock"):  # the previous server's head
                path = data / leftover
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            runs[key], _ = serve(eng, tmp, f"scale-{key}", files, data, interval, evaluations,
                                 expect, ooo=True, timeout=timeout)
    caption, table, notes, targets = _scale_table(runs, v.ours_rules, n_slos, evaluations,
                                                  interval, lines, size, gen.seconds,
                                                  filled.seconds, lag, sw.seconds)
    section.tables.append((caption, table))
    section.notes += notes
    for what, ok, measured in targets:
        section.target(what, ok, measured)


def _median_after_first(st: GroupStats | None) -> float:
    if st is None or len(st.durations) < 2:
        return float("nan")
    return median(st.durations[1:])


def _scale_table(runs: dict[str, dict[str, GroupStats]], ours_rules: int, n_slos: int,
                 evaluations: int, interval: int, lines: int, size: int, gen_s: float,
                 backfill_s: float, lag: float, seconds: float
                 ) -> tuple[str, Table, list[str], list[tuple[str, bool | None, str]]]:
    step = format_duration(PERIOD_STEP)
    a_run, b_run, c_run, ours_run = runs["a"], runs["b"], runs["c"], runs["ours"]
    period_only = _median_after_first(a_run.get("ours-period-only"))
    steps = _median_after_first(a_run.get("ours-step-sums"))
    amortized = steps * interval / PERIOD_STEP
    a = period_only + amortized
    slo_groups = {g: st for g, st in ours_run.items() if not g.endswith("-period")}
    whole = sum(_median_after_first(st) for st in slo_groups.values()) + amortized

    def missed_text(stats: list[GroupStats]) -> str:
        missed = sum(st.missed for st in stats)
        total = sum(st.iterations for st in stats)
        return f"{missed:.0f} of {total:.0f}"

    tab = Table(["variant (one server each)", "groups", "rules", "eval ms per interval",
                 "vs (a) + (a')", "evaluations seen (min per group)",
                 "iterations missed of run"])
    # (label, the groups, the groups whose evaluations count, groups, rules, s per interval);
    # the rendered 15m groups may not run at all while a server runs: (a') times them
    rows = (
        (f"(a) ours: period from the {step} step sums", [a_run.get("ours-period-only")], None,
         1, n_slos, period_only),
        (f"(a') ours: the step sums, once per {step}", [a_run.get("ours-step-sums")], None, 1,
         2 * n_slos, amortized),
        ("(b) raw `rate(...[30d])` over the counters", [b_run.get("raw-rate-30d")], None, 1,
         n_slos, _median_after_first(b_run.get("raw-rate-30d"))),
        ("(c) Sloth: mean of recorded 5m ratios", [c_run.get("sloth-mean-of-ratios")], None, 1,
         n_slos, _median_after_first(c_run.get("sloth-mean-of-ratios"))),
        (f"ours, whole rendered rule set (+ (a') for its {step} groups)",
         list(ours_run.values()), list(slo_groups.values()), len(ours_run), ours_rules, whole),
    )
    period_groups = len(ours_run) - len(slo_groups)
    for label, stats, timed, groups, rules, per in rows:
        present = [st for st in stats if st is not None]
        seen = min((len(st.durations) for st in (timed or present)), default=0)
        tab.add(label, groups, rules, f"{per * 1e3:.1f}", f"{per / a:.2f}x", seen,
                missed_text(present))
    b = _median_after_first(b_run.get("raw-rate-30d"))
    ours_missed = sum(st.missed for st in [*ours_run.values(), *a_run.values()])
    where = "ended" if lag >= 0 else "ran past"
    caption = (
        f"{n_slos:,} SLOs on one Prometheus ({len(SCALE_INSTANCES)} instance x "
        f"{len(SCALE_ENDPOINTS)} endpoint each, the same 31 days of traffic per SLO from its "
        f"own seed; {lines:,} samples, {size / 2**30:.1f} GiB of OpenMetrics written in "
        f"{gen_s:.0f} s and backfilled in {backfill_s:.0f} s; the 5m rates for the last "
        f"{LONGEST_WINDOW // 60} h, which the rendered windows read). One Prometheus per "
        f"variant, in turn, on the same TSDB (each starts with an empty head), evaluation "
        f"interval {interval} s, median over {evaluations} or more evaluations after the first;"
        f" the backfilled data {where} {abs(lag):.0f} s before the first server started "
        f"(planned to end there). Benchmark wall time of this row {seconds:.0f} s")
    notes = [
        f"Scale row: an evaluation that takes longer than the {interval} s interval makes "
        "Prometheus skip the next iteration(s) of that group "
        "(`prometheus_rule_group_iterations_missed_total`); the last column counts them over "
        "the server's run. The rendered rule set is the whole of what `slo-gen render` writes "
        f"for {n_slos:,} SLOs ({ours_rules:,} rules in {len(ours_run)} groups), so its "
        "evaluation time per interval is the sum of its groups' medians: what one "
        "Prometheus spends on them every interval, on two cores shared with other work. Its "
        f"{period_groups:,} `-period` groups run once per {step} and may not have run while "
        "the server ran; they evaluate the same rules as (a'), whose cost is added spread "
        "over the step (its evaluations column counts the other groups).",
    ]
    targets = [
        (f"at {n_slos:,} SLOs ours at least 10x cheaper than a raw rate(...[30d])",
         b / a >= 10 if a == a and b == b else None,
         f"{b / a:.1f}x per evaluation interval, (a) + (a')"),
        (f"at {n_slos:,} SLOs no evaluation of the rendered rules is missed",
         ours_missed == 0, f"{ours_missed:.0f} missed; whole rule set {whole:.1f} s of "
         f"evaluation per {interval} s interval"),
    ]
    return caption, tab, notes, targets


if __name__ == "__main__":
    print(run_bench().markdown())
