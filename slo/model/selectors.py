"""PromQL instant-vector selectors (``name{label="v", other=~"a|b"}``) as data.

The spec names its SLI counters with selectors. Parsing them here, rather than pasting the text
into rules, lets the generator add matchers (``le``), synthesize matching test input, and reject
a typo at validation time instead of at ``promtool check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS = ("=~", "!~", "!=", "=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


class SelectorError(ValueError):
    """The text is not a metric selector this tool understands."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.label}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...] = ()

    def render(self, metric: str | None = None, extra: tuple[Matcher, ...] = ()) -> str:
        """Selector text, optionally for another metric name (``_bucket``) or more matchers."""
        all_matchers = self.matchers + extra
        inner = ",".join(m.render() for m in all_matchers)
        name = metric or self.metric
        return f"{name}{{{inner}}}" if inner else name

    def with_suffix(self, suffix: str, extra: tuple[Matcher, ...] = ()) -> str:
        return self.render(self.metric + suffix, extra)


@lru_cache(maxsize=65536)  # label values repeat in every rule and test of their SLO
def quote(value: str) -> str:
    """A PromQL double-quoted string literal, escaping what Go's strconv.Unquote needs."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def parse_selector(text: str) -> Selector:
    """Parse ``metric{matchers}``; raise SelectorError naming what is wrong."""
    if not isinstance(text, str):
        raise SelectorError(f"expected a selector string, got {type(text).__name__}")
    src = text.strip()
    m = METRIC_NAME.match(src)
    if not m:
        raise SelectorError(f"{text!r} must start with a metric name")
    metric = m.group(0)
    rest = src[m.end():].strip()
    if not rest:
        return Selector(metric)
    if not (rest.startswith("{") and rest.endswith("}")):
        raise SelectorError(f"{text!r} is not 'metric' or 'metric{{label=\"value\",...}}'")
    return Selector(metric, _parse_matchers(rest[1:-1], text))


def _parse_matchers(body: str, text: str) -> tuple[Matcher, ...]:
    matchers: list[Matcher] = []
    pos = 0
    while True:
        pos = _skip_space(body, pos)
        if pos >= len(body):
            break
        lm = LABEL_NAME.match(body, pos)
        if not lm:
            raise SelectorError(f"{text!r}: expected a label name at {body[pos:]!r}")
        pos = _skip_space(body, lm.end())
        op = next((o for o in _OPS if body.startswith(o, pos)), None)
        if op is None:
            raise SelectorError(f"{text!r}: expected =, !=, =~ or !~ after {lm.group(0)!r}")
        pos = _skip_space(body, pos + len(op))
        value, pos = _parse_string(body, pos, text)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise SelectorError(f"{text!r}: bad regular expression {value!r}: {exc}") from None
        matchers.append(Matcher(lm.group(0), op, value))
        pos = _skip_space(body, pos)
        if pos < len(body):
            if body[pos] != ",":
                raise SelectorError(f"{text!r}: expected ',' between matchers")
            pos += 1
    return tuple(matchers)


def _skip_space(body: str, pos: int) -> int:
    while pos < len(body) and body[pos].isspace():
        pos += 1
    return pos


def _parse_string(body: str, pos: int, text: str) -> tuple[str, int]:
    if pos >= len(body) or body[pos] not in "\"'`":
        raise SelectorError(f"{text!r}: expected a quoted label value")
    q = body[pos]
    out: list[str] = []
    i = pos + 1
    while i < len(body):
        c = body[i]
        if c == q:
            return "".join(out), i + 1
        if c == "\\" and q != "`":
            i += 1
            if i >= len(body) or body[i] not in _ESCAPES:
                raise SelectorError(f"{text!r}: unsupported escape in label value")
            out.append(_ESCAPES[body[i]])
        else:
            out.append(c)
        i += 1
    raise SelectorError(f"{text!r}: unterminated label value")
