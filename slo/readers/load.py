"""Read spec files into the validated model, reporting every problem with file and field path.

Formats are told apart by their version key (see :mod:`slo.readers.detect`). Every problem in every
file is collected, so one run of ``slo-gen validate`` shows them all.
"""

from __future__ import annotations

from importlib import resources

from slo.errors import Problem, SpecError
from slo.model.spec import ServiceSpec
from slo.readers.detect import parse_files
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
    for p in paths:
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


def check_unique(specs: list[ServiceSpec]) -> list[Problem]:
    """SLO names per service, recorded series and alert names must be unique across all files."""
    problems: list[Problem] = []
    seen_slo: dict[tuple[str, str], str] = {}
    seen_names: dict[str, str] = {}
    for spec in specs:
        for i, slo in enumerate(spec.slos):
            path = f"slos[{i}]"
            key = (spec.service, slo.name)
            if key in seen_slo:
                problems.append(Problem(spec.source, f"{path}.name",
                                        f"SLO {slo.name!r} of service {spec.service!r} is "
                                        f"already defined in {seen_slo[key]}"))
                continue  # its alert names, derived from the same names, are that problem too
            seen_slo[key] = spec.source
            names = [(f"{path}.series[{j}].record", s.record) for j, s in enumerate(slo.series)]
            names += [(f"{path}.alerts[{j}].alert", a.alert) for j, a in enumerate(slo.alerts)]
            routes: dict[str, str] = {}  # Sloth names page and ticket alike: one alert name
            for r in ("page", "ticket", "absent"):
                routes.setdefault(getattr(slo.alerting, r).name, f"{path}.alerting.{r}.name")
            names += [(fpath, name) for name, fpath in routes.items()]
            for fpath, name in names:
                if name in seen_names:
                    problems.append(Problem(spec.source, fpath,
                                            f"name {name!r} is already used in {seen_names[name]}"))
                # the service tells apart the documents of one file, whose paths are alike
                seen_names.setdefault(name, f"{spec.source}: {fpath} (service {spec.service!r})")
    return problems


