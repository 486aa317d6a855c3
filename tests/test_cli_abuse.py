"""slo-gen's reads and writes under abuse (issue 14, items 10-11): a full disk or a signal
leaves no temporary file, and no spec can hang the reader, fill memory or echo megabytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from slo.cli import main
from slo.outputs.writer import Rendered, write_atomically
from tests.conftest import ROOT
from tests.specs import valid, write

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout, env=ENV)


SLO_GEN = "from slo.cli import main; main()"


# -- item 10: failed writes -----------------------------------------------------------------

def test_a_full_disk_leaves_no_temporary_file(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 4 KiB fail (EFBIG), as a full disk would (ENOSPC):
    the message names the directory, and the directory is left as it was (empty)."""
    out = tmp_path / "rules"
    code = """
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        from slo.cli import main
        main()
    """
    proc = run(code, "render", "--no-check", "-o", str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: {out}: cannot write: File too large"]
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_the_write_leaves_no_temporary_file(tmp_path: Path,
                                                             signum: int) -> None:
    """The signal arrives once the first temporary exists, before its 30 MB are written: the
    process sends it to itself from the writer's own ``os.fdopen`` (so it lands mid-write
    however loaded the machine is)."""
    code = f"""
        import os, signal, sys
        from pathlib import Path
        from slo.outputs.writer import Rendered, write_atomically
        # as from a terminal: under nohup (SIGHUP ignored) or a background job (SIGINT
        # ignored) the writer rightly leaves an ignored signal ignored and finishes
        signal.signal({int(signum)}, signal.default_int_handler
                      if {int(signum)} == signal.SIGINT else signal.SIG_DFL)
        out = Path(sys.argv[1])
        out.mkdir()
        real_fdopen = os.fdopen
        def fdopen(*args, **kwargs):
            opened = real_fdopen(*args, **kwargs)
            assert any(p.name.endswith(".tmp") for p in out.iterdir())
            os.kill(os.getpid(), {int(signum)})
            return opened
        os.fdopen = fdopen
        write_atomically(out, [Rendered(f"f{{i}}.yml", "x" * 30_000_000) for i in range(3)])
    """
    proc = run(code, str(tmp_path / "out"))
    assert proc.returncode in (-signum, 1)  # SIGINT: KeyboardInterrupt's status
    assert list((tmp_path / "out").iterdir()) == []


def test_a_successful_write_replaces_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("old")
    written = write_atomically(tmp_path, [Rendered("a.yml", "new"), Rendered("b.yml", "b")])
    assert written == [tmp_path / "a.yml", tmp_path / "b.yml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yml", "b.yml"]
    assert (tmp_path / "a.yml").read_text() == "new"
    assert oct((tmp_path / "a.yml").stat().st_mode & 0o777) == "0o644"


def test_stdout_on_a_full_device_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-c", SLO_GEN, "render", "--no-check", "-o", "-"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                              env=ENV)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: -: cannot write to standard output: No space left on device"]


# -- item 11: what a spec can make ----------------------------------------------------------

def test_an_alias_bomb_is_refused(tmp_path: Path, cli) -> None:
    lines = ['apiVersion: slo-gen/v1', 'service: checkout', 'a0: &a0 ["lol", "lol", "lol", '
             '"lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: not valid YAML: aliases expand 31 values to 123456801, more than "
        "100000 (an alias bomb?)"]


def test_a_recursive_alias_is_refused(tmp_path: Path, cli) -> None:
    spec = tmp_path / "loop.yaml"
    spec.write_text("apiVersion: slo-gen/v1\nservice: checkout\nslos: &s [*s]\n")
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: not valid YAML: an alias refers to the value it is part of (a "
        "recursive structure)"]


def test_ordinary_anchors_still_work(tmp_path: Path, cli) -> None:
    doc = valid()
    spec = tmp_path / "anchors.yaml"
    write(spec, doc)
    text = spec.read_text().replace("labels:\n  team: payments",
                                    "labels: &l\n  team: payments\nx-copy: *l")
    spec.write_text(text)
    result = cli.invoke(main, ["validate", str(spec)])
    assert "alias" not in result.output


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_a_spec_that_is_not_a_regular_file(tmp_path: Path, special: str) -> None:
    path = {"fifo": str(tmp_path / "spec.yaml"), "/dev/zero": "/dev/zero",
            "directory": str(tmp_path)}[special]
    if special == "fifo":
        os.mkfifo(path)
    proc = run(SLO_GEN, "validate", path, timeout=30)  # a FIFO used to hang here
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: {path}: cannot read spec: not a regular file"]


def test_an_oversized_spec_is_refused_unread(tmp_path: Path, cli) -> None:
    spec = tmp_path / "huge.yaml"
    with spec.open("wb") as f:
        f.truncate(5 * 1024 * 1024)  # sparse
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: cannot read spec: 5242880 bytes, more than the 4194304 allowed"]


def test_a_huge_bad_value_is_cut_in_the_message(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["service"] = "bad name " + "x" * 1_000_000
    spec = tmp_path / "big.yaml"
    write(spec, doc)
    result = cli.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 700, len(lines[0])
    assert lines[0].startswith(f"error: {spec}: service: 'bad name xxx")
    assert "characters cut]..." in lines[0]
