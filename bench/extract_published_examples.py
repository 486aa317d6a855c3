"""Write Sloth's and OpenSLO's published examples into a folder outside the repository.

``python -m bench.extract_published_examples [--out DIR] [--sloth GIT] [--openslo GIT]
[--oslo GIT]``

The inputs are git directories of the upstream repositories (bare mirrors are fine: files are
read with ``git show HEAD:<path>``, no work tree is needed). By default they are the mirrors the
session's ``fetch`` tool brings, ``/work/.mirror/<owner>+<name>/repo``; any clone works:

    git clone --bare https://github.com/slok/sloth /tmp/sloth.git
    python -m bench.extract_published_examples --sloth /tmp/sloth.git ...

What is taken (the migrating user's view: what the projects show people to copy):

- ``sloth/``: ``examples/*.y*ml`` (not ``examples/_gen``, Sloth's own output, nor
  ``examples/windows``, AlertWindows objects rather than SLO specs) and every YAML file under
  ``test/integration/prometheus/testdata/`` (the inputs of Sloth's integration tests), the
  latter under ``sloth/testdata/`` with their sub-folders kept.
- ``openslo/``: ``examples/**.yaml`` of OpenSLO/OpenSLO, and each concrete YAML document of its
  README as ``openslo/readme/block-NN.yaml`` (NN is the block's position among the README's
  YAML blocks). Blocks that only describe the schema (``name: string``, ``kind: A | B``) are
  left out. A block that is a bare SLI body (``ratioMetric:``/``thresholdMetric:``) is wrapped
  in the smallest OpenSLO v1 SLO that holds it (service ``readme``, target 0.98 as in the
  README's own SLO example), since that is how a reader would use it.
- ``oslo/``: every file under ``test/inputs/validate/`` of OpenSLO/oslo (the inputs its
  ``oslo validate`` tests read), sub-folders kept.

The folder is replaced on each run, and ``SOURCES.txt`` in it records each repository's commit,
so a table measured on it says what it was measured on. The upstream files are Apache-2.0
licensed; they stay out of this repository (nothing here is vendored).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import yaml

MIRRORS = Path("/work/.mirror")
DEFAULT_OUT = Path("/work/upstream-examples")

# A README block is schema documentation, not an example, when it spells types as values.
_SCHEMA = re.compile(r"^\s*(name|target|type|description): string\b|\|\s*[A-Z]\w+\s*\|", re.M)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


def _files(repo: Path) -> list[str]:
    return _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()


def _show(repo: Path, path: str) -> str:
    return _git(repo, "show", f"HEAD:{path}")


def _write(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)


def _is_yaml(path: str) -> bool:
    return path.endswith((".yml", ".yaml"))


def extract_sloth(repo: Path, out: Path) -> int:
    count = 0
    for path in _files(repo):
        parts = path.split("/")
        if parts[0] == "examples" and len(parts) == 2 and _is_yaml(path):
            _write(out / parts[1], _show(repo, path))
            count += 1
        prefix = "test/integration/prometheus/testdata/"
        if path.startswith(prefix) and _is_yaml(path):
            _write(out / "testdata" / path[len(prefix):], _show(repo, path))
            count += 1
    return count


def _readme_blocks(text: str) -> list[str]:
    return re.findall(r"^```ya?ml\n(.*?)^```", text, flags=re.M | re.S)


def _wrap_sli_body(block: str) -> str:
    body = yaml.safe_load(block)
    slo = {"apiVersion": "openslo/v1", "kind": "SLO",
           "metadata": {"name": "readme-slo"},
           "spec": {"service": "readme",
                    "indicator": {"metadata": {"name": "readme-sli"}, "spec": body},
                    "timeWindow": [{"duration": "28d", "isRolling": True}],
                    "budgetingMethod": "Occurrences",
                    "objectives": [{"target": 0.98}]}}
    header = ("# The README's SLI body, wrapped by bench/extract_published_examples.py in the\n"
              "# smallest OpenSLO v1 SLO that holds it.\n")
    return header + yaml.safe_dump(slo, sort_keys=False)


def extract_openslo(repo: Path, out: Path) -> int:
    count = 0
    for path in _files(repo):
        if path.startswith("examples/") and _is_yaml(path):
            _write(out / path[len("examples/"):], _show(repo, path))
            count += 1
    for number, block in enumerate(_readme_blocks(_show(repo, "README.md")), start=1):
        if _SCHEMA.search(block):
            continue
        first = next((line for line in block.splitlines() if line.strip()), "")
        dest = out / "readme" / f"block-{number:02d}.yaml"
        if first.startswith("apiVersion:"):
            _write(dest, block)
        elif first.startswith(("ratioMetric:", "thresholdMetric:")):
            _write(dest, _wrap_sli_body(block))
        else:  # a fragment of a document (objectives:), not something a user runs
            continue
        count += 1
    return count


def extract_oslo(repo: Path, out: Path) -> int:
    count = 0
    prefix = "test/inputs/validate/"
    for path in _files(repo):
        if path.startswith(prefix) and _is_yaml(path):
            _write(out / path[len(prefix):], _show(repo, path))
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--sloth", type=Path, default=MIRRORS / "slok+sloth" / "repo")
    parser.add_argument("--openslo", type=Path, default=MIRRORS / "OpenSLO+OpenSLO" / "repo")
    parser.add_argument("--oslo", type=Path, default=MIRRORS / "OpenSLO+oslo" / "repo")
    args = parser.parse_args()
    for name in ("sloth", "openslo", "oslo"):
        shutil.rmtree(args.out / name, ignore_errors=True)
    counts = {
        "sloth": extract_sloth(args.sloth, args.out / "sloth"),
        "openslo": extract_openslo(args.openslo, args.out / "openslo"),
        "oslo": extract_oslo(args.oslo, args.out / "oslo"),
    }
    sources = [f"{name} {repo} {_git(repo, 'rev-parse', 'HEAD').strip()} files={counts[name]}"
               for name, repo in (("sloth", args.sloth), ("openslo", args.openslo),
                                  ("oslo", args.oslo))]
    _write(args.out / "SOURCES.txt", "\n".join(sources) + "\n")
    print("\n".join(sources))


if __name__ == "__main__":
    main()
