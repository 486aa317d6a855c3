"""Golden files: every fixture spec x every output format x naming, plus dashboards.

Rendered through the CLI (the interface users script against), so a change anywhere in the
pipeline that alters a rendered byte shows up as a diff under ``tests/golden/``.
``make golden`` (``python -m tests.golden_files``) rewrites them; ``tests/test_golden.py``
fails when they are stale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from slo.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SPECS = {
    "orchestrator": ROOT / "slo" / "specs" / "orchestrator.yaml",
    "checkout-latency": ROOT / "examples" / "checkout-latency.yaml",
    "native-checkout": ROOT / "tests" / "fixtures" / "native-checkout.yaml",
    "sloth-checkout": ROOT / "tests" / "fixtures" / "sloth-checkout.yml",
    "openslo-checkout": ROOT / "tests" / "fixtures" / "openslo-checkout.yaml",
    "orchestrator-e2e": ROOT / "tests" / "e2e" / "orchestrator-e2e.yaml",
}
FORMATS = ("prometheus", "prometheus-operator", "mimir", "thanos")
NAMINGS = {"native": [], "sloth": ["--sloth-compat"]}


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"slo-gen {' '.join(args)} failed:\n{result.output}")


def render_all() -> dict[str, str]:
    """Relative path under tests/golden -> the bytes slo-gen renders for it today."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="slo-golden-") as tmp:
        for stem, spec in SPECS.items():
            for naming, flags in NAMINGS.items():
                cases = [(f"{fmt}-{naming}", ["render", str(spec), "--no-check",
                                               "--format", fmt, *flags]) for fmt in FORMATS]
                cases.append((f"dashboard-{naming}", ["dashboard", str(spec), *flags]))
                for case, args in cases:
                    target = Path(tmp) / stem / case
                    _invoke([*args, "-o", str(target)])
                    for f in sorted(target.iterdir()):
                        out[f"{stem}/{case}/{f.name}"] = f.read_text(encoding="utf-8")
    return out


def write_all() -> int:
    files = render_all()
    for old in GOLDEN.rglob("*"):
        if old.is_file() and str(old.relative_to(GOLDEN)) not in files:
            old.unlink()
    for rel, text in files.items():
        path = GOLDEN / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print(f"{len(files)} golden files in {GOLDEN.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(write_all())
