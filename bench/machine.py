"""The machine and versions a run was measured on, for the head of BENCHMARKS.md.

Timings mean nothing without them: the same code is several times slower on a shared 2-core VM
than on a laptop, which is why every table also gives ratios against baselines of the same run.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata

from bench.common import Table

PACKAGES = ("orchestrator-slo", "prometheus-client", "fastapi", "starlette",
            "prometheus-fastapi-instrumentator", "starlette-exporter")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tool_version(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        return "not installed"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def table() -> Table:
    t = Table(["what", "value"])
    t.add("CPU", cpu_model())
    t.add("cores (os.cpu_count)", os.cpu_count())
    t.add("load average at start (1/5/15 min)", loadavg())
    t.add("OS", platform.platform())
    t.add("Python", sys.version.split()[0])
    t.add("prometheus", tool_version("prometheus"))
    t.add("promtool", tool_version("promtool"))
    for name in PACKAGES:
        t.add(name, package_version(name))
    return t
