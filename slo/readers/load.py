"""Read spec files into the validated model, reporting every problem with file and field path.

Formats are told apart by their version key (see :mod:`slo.readers.detect`). Every problem in every
file is collected, so one run of ``slo-gen validate`` shows them all.
"""

from __future__ import annotations

import os
from importlib import resources

from slo.errors import Problem, SpecError
from slo.model.spec import ServiceSpec
from slo.readers.detect import parse_files
from slo.readers.unique import check_unique
from slo.readers.yamlfile import InputProblem, read_text_file

DEFAULT_SPEC = "orchestrator.yaml"


def default_spec_text() -> tuple[str, str]:
    """The embedded default spec: (display name, text)."""
    ref = resources.files("slo") / "specs" / DEFAULT_SPEC
    return f"<embedded {DEFAULT_SPEC}>", ref.read_text(encoding="utf-8")


def load_default() -> list[ServiceSpec]:
    name, text = default_spec_text()
    return load_texts([(name, text)])


def load_paths(paths: list[str]) -> list[ServiceSpec]:
    """Load and validate spec files; raise SpecError listing every problem in every file."""
    texts: list[tuple[str, str]] = []
    problems: list[Problem] = []
    # A file given twice (a.yml ./a.yml) is read once: its SLOs are not defined twice.
    seen: set[str] = set()
    for p in paths:
        if os.path.realpath(p) in seen:
            continue
        seen.add(os.path.realpath(p))
        try:
            texts.append((p, read_text_file(p)))
        except InputProblem as exc:
            problems.append(Problem(p, "", f"cannot read spec: {exc}"))
    try:
        specs = load_texts(texts)
    except SpecError as exc:
        problems.extend(exc.problems)
        specs = []
    if problems:
        raise SpecError(problems)
    return specs


def load_texts(texts: list[tuple[str, str]]) -> list[ServiceSpec]:
    specs, problems = parse_files(texts)
    problems.extend(check_unique(specs))
    if problems:
        raise SpecError(problems)
    return specs
