"""Rules that would clash once loaded together, found across every rendered file.

promtool's duplicate-rules lint looks at one file at a time; Prometheus loads many, and two
services' files can each be clean yet record the same series (or raise the same alert) with
the same labels. Every group of every file is compared here, before anything is written.
"""

from __future__ import annotations

from slo.errors import Problem
from slo.rules.model import Group, Recording


def find_duplicates(files: dict[str, tuple[Group, ...]]) -> list[Problem]:
    """Problems for each rule whose name and labels another rule already has (file -> groups)."""
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
    problems: list[Problem] = []
    for file, groups in files.items():
        for gi, group in enumerate(groups):
            for ri, rule in enumerate(group.rules):
                kind = "record" if isinstance(rule, Recording) else "alert"
                key = (kind, rule.name, tuple(sorted(rule.labels)))
                where = f"groups[{gi}].rules[{ri}] (group {group.name!r})"
                if key in seen:
                    problems.append(Problem(file, where, f"{kind} {rule.name!r} with the same "
                                            f"labels is already rendered in {seen[key]}"))
                else:
                    seen[key] = f"{file}: {where}"
    return problems
