"""Typed field access over parsed YAML that records every problem instead of stopping at one.

Each reader returns ``None`` after recording a problem, so validation carries on and the user
sees all mistakes in one run, each with its field path (``slos[0].alerting.page.labels``).

A required field that is absent is one problem, ``is required``: the collector remembers it,
and drops whatever a reader later says about that field or anything under it (the absent
value is :data:`MISSING`, which no check should describe as a value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from slo.errors import Problem
from slo.model.durations import DurationError, parse_duration
from slo.model.numbers import to_decimal
from slo.model.selectors import LABEL_NAME

T = TypeVar("T")


class _Missing:
    """Stands in for a required key that is absent: already reported, and any further problem
    about that field is dropped (:meth:`Fields.fail`), so readers may compare it freely."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Fields:
    """Problem collector bound to one input file."""

    def __init__(self, file: str, prefix: str = "", problems: list[Problem] | None = None,
                 absent: set[str] | None = None) -> None:
        self.file = file
        self.prefix = prefix
        self.problems: list[Problem] = [] if problems is None else problems
        self.absent: set[str] = set() if absent is None else absent  # reported "is required"

    def within(self, prefix: str) -> Fields:
        """The same collector for one named document of a file (``SLO checkout``): its paths
        are prefixed so a file of many documents still points at the right one."""
        return Fields(self.file, prefix, self.problems, self.absent)

    def _where(self, path: str) -> str:
        return ": ".join(p for p in (self.prefix, path) if p)

    def fail(self, path: str, message: str) -> None:
        """Record a problem at ``path``, unless that field (or one it is under) is absent and
        already reported as required: its absence is the one problem there."""
        where = self._where(path)
        if self.absent and any(where == a or where.startswith((f"{a}.", f"{a}["))
                               for a in self.absent):
            return
        self.problems.append(Problem(self.file, where, message))

    def require(self, path: str) -> None:
        """Report the required field at ``path`` as absent: one problem, and nothing more
        about that field from any reader."""
        self.fail(path, "is required")
        self.absent.add(self._where(path))

    def parsed(self, text: str | None, path: str, parse: Callable[[str], T],
               error: type[Exception]) -> T | None:
        """``parse(text)`` for a string already read, or None with the parser's ``error``
        recorded as this field's problem (a bad selector, query or placeholder)."""
        if text is None:
            return None
        try:
            return parse(text)
        except error as exc:
            self.fail(path, str(exc))
            return None

    def mapping(
        self,
        value: Any,
        path: str,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        refused: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """A mapping with exactly the allowed keys; unknown and missing keys are problems.
        ``refused`` names keys the format has but this tool cannot honour, each with its
        reason (not listed as allowed, and left out of the result)."""
        if value is MISSING:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, got {kind(value)}")
            return None
        allowed = set(required) | set(optional)
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"keys must be strings, got {key!r}")
            elif refused and key in refused:
                self.fail(join(path, key), refused[key])
            elif key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.fail(join(path, key), f"unknown field (allowed here: {hint})")
        if refused and not refused.keys().isdisjoint(value):
            value = {k: v for k, v in value.items() if k not in refused}
        missing = [key for key in required if key not in value]
        for key in missing:
            self.require(join(path, key))
        return {**value, **dict.fromkeys(missing, MISSING)} if missing else value

    def sequence(self, value: Any, path: str) -> list[Any] | None:
        if value is MISSING:
            return None
        if not isinstance(value, list):
            self.fail(path, f"must be a list, got {kind(value)}")
            return None
        return value

    def string(
        self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str | None:
        if value is MISSING:
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {kind(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"{value!r} is not {what or 'valid'}")
            return None
        return value

    def text(self, value: Any, path: str) -> str | None:
        """A free-form non-empty string (descriptions, label values)."""
        s = self.string(value, path)
        if s is not None and not s:
            self.fail(path, "must not be empty")
            return None
        return s

    def number(self, value: Any, path: str) -> Decimal | None:
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(path, f"must be a number, got {kind(value)}")
            return None
        try:
            d = to_decimal(value)
        except (InvalidOperation, ValueError):
            self.fail(path, f"{value!r} is not a number")
            return None
        if not d.is_finite():
            self.fail(path, f"{value!r} must be a finite number")
            return None
        return d

    def duration(self, value: Any, path: str) -> int | None:
        if value is MISSING:
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a duration string like '5m', got {kind(value)}")
            return None
        return self.parsed(value, path, parse_duration, DurationError)

    def labels(self, value: Any, path: str,
               reserved: frozenset[str] = frozenset()) -> dict[str, str]:
        """A label map: Prometheus label names (not ``__`` nor reserved) to non-empty strings."""
        result: dict[str, str] = {}
        if value is None:
            return result
        m = self.mapping(value, path, optional=tuple(k for k in value if isinstance(k, str))
                         if isinstance(value, dict) else ())
        if m is None:
            return result
        for key, val in m.items():
            kpath = join(path, str(key))
            if not isinstance(key, str) or not LABEL_NAME.fullmatch(key) or key.startswith("__"):
                self.fail(kpath, f"{key!r} is not a valid label name")
                continue
            if key in reserved:
                self.fail(kpath, f"label {key!r} is set by slo-gen and cannot be overridden")
                continue
            s = self.text(val, kpath)
            if s is not None:
                result[key] = s
        return result

    def each(
        self, value: Any, path: str, read: Callable[[Any, str], T | None]
    ) -> list[T]:
        """Read every item of a list with ``read``; items with problems are left out."""
        items = self.sequence(value, path)
        if items is None:
            return []
        out = []
        for i, item in enumerate(items):
            got = read(item, join(path, i))
            if got is not None:
                out.append(got)
        return out


def kind(value: Any) -> str:
    """What a YAML value is, for messages: ``a mapping``, ``a number``, ``nothing (null)``."""
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
