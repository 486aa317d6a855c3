"""What a spec says about delivery: receivers by severity, route timings, extra inhibitions.

Prometheus decides *whether* an alert fires; Alertmanager decides *who hears it, and how
often*. A service's ``alertmanager:`` block (native format) names a receiver per ``severity``
label value, the timings of each severity's route and inhibitions of its own; everything has a
default an on-call would expect, so a spec without the block still renders a useful
configuration (``slo-gen alertmanager``).

Matchers are typed (label, operator, value) and rendered in Alertmanager's current syntax with
the value always double-quoted, which 0.25 and 0.33 both parse without the classic-parser
fallback warning (docs/engines.md, section 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

MatchOp = Literal["=", "!=", "=~", "!~"]

#: Receivers by severity label value when the spec names none; any other severity (and an
#: alert without one) goes to :data:`DEFAULT_RECEIVER`.
DEFAULT_RECEIVERS: tuple[tuple[str, str], ...] = (
    ("page", "page"), ("ticket", "ticket"), ("warning", "ticket"))
DEFAULT_RECEIVER = "default"
RECEIVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class Matcher:
    label: str
    value: str
    op: MatchOp = "="

    def render(self) -> str:
        """``label="value"``, the value escaped as Alertmanager's matcher parser reads it."""
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, labels: dict[str, str]) -> bool:
        """What Alertmanager decides for this matcher (a missing label is the empty string;
        regular expressions are anchored)."""
        have = labels.get(self.label, "")
        if self.op in ("=", "!="):
            return (have == self.value) == (self.op == "=")
        return (re.fullmatch(self.value, have) is not None) == (self.op == "=~")


def one_of(label: str, values: list[str] | tuple[str, ...]) -> Matcher:
    """``label`` equal to any of ``values``: ``=`` for one, an anchored ``=~`` alternation of
    escaped values for more."""
    unique = list(dict.fromkeys(values))
    if len(unique) == 1:
        return Matcher(label, unique[0])
    return Matcher(label, "|".join(_REGEX_META.sub(r"\\\g<0>", v) for v in unique), "=~")


_REGEX_META = re.compile(r"[\\.+*?()|\[\]{}^$]")  # RE2's metacharacters (``-`` is plain here)


@dataclass(frozen=True)
class Timings:
    """How long a route waits before the first notification of a group (``group_wait``), before
    telling about changes (``group_interval``) and before repeating (``repeat_interval``),
    in seconds."""

    group_wait: int
    group_interval: int
    repeat_interval: int


#: A page wakes someone: its tiers of one incident arrive in one notification 30 s after the
#: first, changes every 5 minutes, a reminder every 4 hours (Alertmanager's own defaults).
PAGE_TIMINGS = Timings(30, 300, 4 * 3600)
#: Anything else is read in working hours: wait 5 minutes (a page of the same incident that
#: fires meanwhile inhibits it before it is ever sent), changes every 30 minutes, once a day.
OTHER_TIMINGS = Timings(300, 1800, 24 * 3600)


def default_timings(severity: str) -> Timings:
    return PAGE_TIMINGS if severity == "page" else OTHER_TIMINGS


@dataclass(frozen=True)
class Inhibition:
    """While an alert matching ``source`` fires, alerts matching ``target`` with the same
    values of the ``equal`` labels are not sent. ``why`` is shown as a comment above the rule."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class AlertmanagerSpec:
    """A service's delivery settings; the defaults are what a spec without the block gets."""

    receivers: tuple[tuple[str, str], ...] = DEFAULT_RECEIVERS  # severity value -> receiver
    default_receiver: str = DEFAULT_RECEIVER
    timings: tuple[tuple[str, Timings], ...] = ()  # severity value -> its route's timings
    inhibitions: tuple[Inhibition, ...] = field(default=())

    def receiver(self, severity: str | None) -> str:
        """Where an alert with this ``severity`` label value goes."""
        return dict(self.receivers).get(severity or "", self.default_receiver)

    def timing(self, severity: str) -> Timings:
        return dict(self.timings).get(severity, default_timings(severity))
