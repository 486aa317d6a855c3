"""``python -m bench [NAME...] [--quick] [--output FILE]``: run the benchmarks, print the tables.

With no NAME all five run, in an order that keeps the timing-sensitive micro benchmarks away from
the promtool and Prometheus load of the later ones, and BENCHMARKS.md is rewritten. Naming
benchmarks (or ``--quick``, tiny sizes for development) only prints, unless ``--output`` says
where to write.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.common import ROOT, Section, Table, verdict


def _middleware(quick: bool) -> Section:
    from bench.bench_middleware import run

    return run(quick=quick)


def _scrape(quick: bool) -> Section:
    from bench.scrape import run

    return run(quick=quick)


def _render(quick: bool) -> Section:
    from bench.render import run

    return run(quick=quick)


def _rule_eval(quick: bool) -> Section:
    from bench.rule_eval import run_bench

    return run_bench(quick=quick)


def _alert_quality(quick: bool) -> Section:
    from bench.alert_quality import run_bench

    return run_bench(quick=quick)


BENCHMARKS: dict[str, Callable[[bool], Section]] = {
    "middleware": _middleware,
    "scrape": _scrape,
    "render": _render,
    "rule-eval": _rule_eval,
    "alert-quality": _alert_quality,
}


def document(sections: list[Section], total: float, quick: bool, started: datetime) -> str:
    summary = Table(["benchmark", "target", "result", "measured"])
    for s in sections:
        for what, ok, measured in s.targets:
            summary.add(s.title.split(" ", 1)[0].rstrip("."), what, verdict(ok), measured)
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Every timing is a "
        "median of at least 5 runs or evaluations, and every ratio compares variants measured "
        "in the same run, interleaved, because the machine is shared and absolute timings "
        "drift; the alert-quality figures are exact promtool semantics, deterministic, one run. "
        "Targets come from the project's issues (docs/design.md); a missed target says by how "
        "much and what would close it. "
        "`python -m bench NAME...` runs some of them (middleware, scrape, render, rule-eval, "
        "alert-quality), `--quick` on tiny sizes.",
        "",
        f"Run started {started:%Y-%m-%d %H:%M} UTC, took {total / 60:.1f} min"
        + (" (--quick: tiny sizes, not comparable)" if quick else "") + ".",
        "",
        "## Machine",
        "",
        machine.table().markdown(),
        "",
        "## Summary of targets",
        "",
        summary.markdown(),
        "",
    ]
    parts += [s.markdown() for s in sections]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Run the benchmarks and print their tables.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for development")
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown file to write (default: BENCHMARKS.md on a full run)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from "
                     f"{', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    output = args.output
    if output is None and not args.names and not args.quick:
        output = ROOT / "BENCHMARKS.md"
    started = datetime.now(UTC)
    start = time.perf_counter()
    sections = []
    failed = []
    for name in names:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        try:
            section = BENCHMARKS[name](args.quick)
        except Exception as exc:  # one broken benchmark must not lose the others' tables
            traceback.print_exc()
            failed.append(name)
            section = Section(f"{name}: FAILED", f"The benchmark raised `{exc!r}`; see the "
                              "traceback on stderr.")
        print(section.markdown(), flush=True)
        sections.append(section)
    total = time.perf_counter() - start
    print(f"all done in {total / 60:.1f} min", file=sys.stderr)
    if output is not None:
        output.write_text(document(sections, total, args.quick, started), encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
