"""YAML text of rendered documents: deterministic bytes, and fast for large specs.

PyYAML (through LibYAML) is the reference for every byte; its representer is pure Python and
dominates a large render (BENCHMARKS.md, section 3), so :func:`to_yaml` lays out the common
cases itself, the way LibYAML does, and hands everything else back to PyYAML.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

# LibYAML's emitter (bundled with PyYAML's wheels) is about eight times faster than the pure
# Python one and gives the same bytes for everything but characters outside the Basic
# Multilingual Plane, which it escapes; either way one installation always renders one spec to
# the same bytes.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Block style for multi-line strings, no line folding, keys in insertion order."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _to_yaml_pyyaml(data: Any) -> str:
    """The reference: what :func:`to_yaml` must return byte for byte.

    :func:`to_yaml` writes the common cases itself and comes back here for the rest.
    """
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100_000, allow_unicode=True,
                     default_flow_style=False)


def to_yaml(data: Any) -> str:
    """``_to_yaml_pyyaml(data)``, several times faster for slo-gen's documents.

    Block mappings and sequences are laid out here, the way LibYAML lays them out; a scalar is
    written here only when it is one of the cases LibYAML's style choice is replicated for
    (plain, single-quoted, literal block) and otherwise dumped alone by PyYAML in the same
    position. A document with anything else (non-str or long keys, shared containers, types the
    safe dumper does not know, a ``|+`` block, which makes LibYAML end the document with
    ``...``) is dumped whole by PyYAML; so is a container holding itself, which only PyYAML's
    anchors can write and which ends the recursion here.
    """
    try:
        return _FastEmitter().document(data)
    except (_Fallback, RecursionError):
        return _to_yaml_pyyaml(data)


class _Fallback(Exception):
    """The document needs PyYAML's own emitter as a whole."""


_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()  # the implicit resolvers CSafeDumper and SafeDumper use


def _resolve(text: str) -> str:
    """The tag a plain scalar ``text`` would load as."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag
_RESOLVED_FIRST = frozenset(k for k in _RESOLVER.yaml_implicit_resolvers if k)
# Characters LibYAML writes as they are with allow_unicode: printable, no line break (U+2028,
# U+2029), no tab, nothing outside the BMP (LibYAML escapes those), no BOM.
_PRINTABLE = "\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
_ONE_LINE = re.compile(f"[{_PRINTABLE}]+")
_LINES = re.compile(f"[{_PRINTABLE}\n]+")
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_BREAKS = frozenset("\n\r\x85\u2028\u2029")
# Far below width=100_000, where LibYAML would start folding lines (indentation is bounded
# by the recursion limit).
_MAX_FLAT = 10_000
_MAX_KEY_BYTES = 128  # LibYAML writes longer keys as "? key"


def _flat(s: str) -> str | None:
    """A one-line string as LibYAML writes it in block context, or None when that is not
    replicated here (line breaks, escapes, very long).

    Plain unless LibYAML's scalar analysis finds a leading or trailing space or a block
    indicator, or the resolver would read the plain text as something other than a string;
    then single-quoted, which such strings always allow.
    """
    if not s:
        return "''"
    if len(s) > _MAX_FLAT or not ((s.isascii() and s.isprintable()) or _ONE_LINE.fullmatch(s)):
        return None  # isascii and isprintable: 0x20-0x7e, the usual case, without the regex
    first = s[0]
    if (first in _FIRST_INDICATORS or first == " " or s[-1] in " :" or ": " in s or " #" in s
            or (first in "-?" and (len(s) == 1 or s[1] == " "))
            or s.startswith(("---", "..."))
            or (first in _RESOLVED_FIRST
                and _resolve(s) != _STR_TAG)):
        return "'" + s.replace("'", "''") + "'"
    return s


def _literal(s: str, col: int) -> str | None:
    """A multi-line string as the ``|`` block :func:`_str` asks for, or None when PyYAML must
    decide (a line with trailing whitespace, characters LibYAML escapes, ``|+`` keep chomping).

    ``col`` is the column of the owning key or ``-``; LibYAML indents the block two further.
    """
    if ("\n" not in s or s.endswith("\n\n") or s == "\n" or not _LINES.fullmatch(s)
            or any(line != line.rstrip() for line in s.splitlines())):
        return None
    lines = s.split("\n")
    chomp = "-"
    if not lines[-1]:
        lines.pop()
        chomp = ""
    pad = " " * (col + 2)
    hint = "2" if s[0] in " \n" else ""
    return f"|{hint}{chomp}\n" + "\n".join(pad + line if line else "" for line in lines)


def _other(v: bool | int | float | None) -> str | None:
    """None, a bool, an int or a float as SafeRepresenter writes it, or None when PyYAML would
    have to tag it (a float repr its own resolver does not read back as a float)."""
    if v is None:
        return "null"
    if type(v) is bool:
        return "true" if v else "false"
    if type(v) is int:
        return str(v)
    if v != v:
        return ".nan"
    if v in (math.inf, -math.inf):
        return ".inf" if v > 0 else "-.inf"
    text = repr(v).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)  # "1e+17" is no YAML float, "1.0e+17" is
    return text if _resolve(text) == "tag:yaml.org,2002:float" else None


def _alone(v: Any, col: int, key: str | None, key_text: str) -> str:
    """One scalar dumped by PyYAML at the same column after the same key (or ``-``), cut out.

    Wrapping it in ``col // 2`` one-key mappings reproduces everything its bytes depend on:
    the block indentation and, for very long strings, where lines fold.
    """
    node: Any = {key: v} if key is not None else {"a": [v]}
    for _ in range(col // 2):
        node = {"a": node}
    text = _to_yaml_pyyaml(node)
    head = "".join(f"{' ' * (2 * i)}a:\n" for i in range(col // 2))
    head += " " * col + (f"{key_text}: " if key is not None else "a:\n" + " " * col + "- ")
    # A "|+" block makes LibYAML end the document with "..."; after a block ending in a line
    # break other than "\n" the next line starts without one. Both concern the whole document.
    if (not text.startswith(head) or not text.endswith("\n") or text.endswith("...\n")
            or text[-2:-1] in _BREAKS):
        raise _Fallback
    return text[len(head):-1]


class _FlatMemo(dict[str, str | None]):
    """Memo of :func:`_flat`: the same strings (label names, values) recur thousands of times."""

    def __missing__(self, s: str) -> str | None:
        self[s] = text = _flat(s)
        return text


class _KeyMemo(dict[str, str]):
    """Memo of simple keys; any other key sends the document to PyYAML."""

    def __missing__(self, k: str) -> str:
        text = _flat(k)
        if text is None or len(k.encode()) > _MAX_KEY_BYTES:
            raise _Fallback
        self[k] = text
        return text


class _FastEmitter:
    """LibYAML's block layout: two spaces per mapping level, sequences in a mapping not
    indented, a sequence item's mapping or sequence starting on the ``-`` line, empty
    containers as ``{}``/``[]``. One instance writes one document.

    A string whose text is memoised is written inline by the loops: that is most scalars, and
    a method call for each of them would cost as much as all the rest.
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self.flat = _FlatMemo()
        self.keys = _KeyMemo()
        # Every container written; PyYAML would give one met twice an anchor and aliases.
        # Checked once at the end: a set lookup per container costs a tenth of the run.
        self.containers: list[Any] = []

    def document(self, data: Any) -> str:
        self.containers.append(data)
        if type(data) is dict and data:
            self.mapping(data, 0, "")
        elif type(data) is list and data:
            self.sequence(data, 0, "")
        else:
            raise _Fallback
        if len(set(map(id, self.containers))) != len(self.containers):
            raise _Fallback
        self.out.append("")
        return "\n".join(self.out)

    def mapping(self, d: dict[Any, Any], col: int, lead: str) -> None:
        """Keys at ``col``; the first line starts with ``lead`` (indentation or ``- ``)."""
        keys, flat, append, pad = self.keys, self.flat, self.out.append, " " * col
        keep = self.containers.append
        for k, v in d.items():
            if type(k) is not str:
                raise _Fallback
            key_text = keys[k]
            t = type(v)
            if t is str and (text := flat[v]) is not None:
                append(f"{lead}{key_text}: {text}")
            elif (t is dict or t is list) and v:
                keep(v)
                append(f"{lead}{key_text}:")
                if t is dict:
                    self.mapping(v, col + 2, pad + "  ")
                else:
                    self.sequence(v, col, pad)  # not indented under its key
            else:
                append(f"{lead}{key_text}: {self.scalar(v, col, k, key_text)}")
            lead = pad

    def sequence(self, items: list[Any], col: int, lead: str) -> None:
        """Dashes at ``col``; the first line starts with ``lead``."""
        flat, append, keep, pad = self.flat, self.out.append, self.containers.append, " " * col
        for v in items:
            t = type(v)
            if t is str and (text := flat[v]) is not None:
                append(f"{lead}- {text}")
            elif (t is dict or t is list) and v:
                keep(v)
                if t is dict:
                    self.mapping(v, col + 2, lead + "- ")
                else:
                    self.sequence(v, col + 2, lead + "- ")
            else:
                append(f"{lead}- {self.scalar(v, col, None, '')}")
            lead = pad

    @staticmethod
    def scalar(v: Any, col: int, key: str | None, key_text: str) -> str:
        """The text of anything but a non-empty container or a memoised one-line string."""
        t = type(v)
        if t is str:
            return _literal(v, col) or _alone(v, col, key, key_text)
        if t is dict or t is list:
            return "{}" if t is dict else "[]"
        if v is None or t in (bool, int, float):
            return _other(v) or _alone(v, col, key, key_text)
        raise _Fallback  # a type the safe dumper has no representer for: its own error
