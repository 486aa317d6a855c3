"""Errors a user can cause. They carry file and field path so the CLI prints one line each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in one input file, located by a field path like ``slos[0].objective``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.path) if part)
        message = shorten(self.message)
        return f"{where}: {message}" if where else message


#: Each line of a problem's message (which may echo the bad value) is cut to about this many
#: characters.
MAX_LINE = 500


def shorten(text: str, limit: int = MAX_LINE) -> str:
    """Every line of ``text`` at most about ``limit`` characters: a 45 MB bad value is cut in
    the middle (its start and the line's end, which says what was expected, are kept)."""
    if len(text) <= limit:
        return text
    return "\n".join(_cut(line, limit) for line in text.split("\n"))


def _cut(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    keep = (limit - 40) // 2
    return f"{line[:keep]} ...[{len(line) - 2 * keep} characters cut]... {line[-keep:]}"


class UserError(Exception):
    """A mistake in the user's input; the CLI prints it without a traceback and exits 1."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(UserError):
    """One or more problems found while reading specs (all of them, not just the first)."""
