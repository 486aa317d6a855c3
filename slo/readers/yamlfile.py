"""YAML reading that refuses what PyYAML silently accepts (duplicate keys), with line numbers,
and input files read with bounds: only regular files (a FIFO would hang, ``/dev/zero`` would
fill memory), at most a size cap, and no alias bomb (a few KiB of ``&a [*a, *a]`` anchors that
expand to millions of values once rendered).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

# LibYAML's scanner and parser when PyYAML has them (several times faster on large specs); the
# constructors, and so the duplicate-key check and the values, are the same Python code.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that raises on a key given twice in one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


class YAMLProblem(ValueError):
    """The text is not YAML; the message says where (line and column)."""


class InputProblem(ValueError):
    """A file that cannot be read as an input: the message says why (no file name)."""


#: Specs and web configs larger than this are refused before reading (the largest real spec
#: is a few KiB; 4 MiB leaves room for thousands of SLOs).
MAX_INPUT_BYTES = 4 * 1024 * 1024
#: Aliases may expand a document to at most this many values, or ALIAS_RATIO times the values
#: written in it, whichever is larger: plain reuse of an anchor stays well inside.
MAX_EXPANDED_VALUES = 100_000
ALIAS_RATIO = 10


def regular_file_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a readable regular file (without opening it), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "file not found" if exc.errno == errno.ENOENT else (exc.strerror or str(exc))
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def read_text_file(path: str | Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes; raise
    InputProblem. Opened non-blocking and checked with fstat, so a FIFO or a device is refused
    without a read (and cannot hang the open)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputProblem(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputProblem("not a regular file")
        if info.st_size > limit:
            raise InputProblem(f"{info.st_size} bytes, more than the {limit} allowed")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputProblem(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while read
        raise InputProblem(f"more than the {limit} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputProblem(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _expanded_size(docs: list[Any]) -> tuple[int, int]:
    """(values as written, values once aliases are expanded) of the loaded documents.

    Memoised per object, so it costs one visit per distinct value even when the expansion is
    astronomically large; recursive structures (``&a [*a]``) count as infinite.
    """
    sizes: dict[int, int] = {}
    busy: set[int] = set()
    unique = 0

    def size(value: Any) -> int:
        nonlocal unique
        if not isinstance(value, dict | list):
            unique += 1
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise YAMLProblem("an alias refers to the value it is part of (a recursive "
                              "structure)")
        busy.add(key)
        unique += 1
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1 + sum(size(child) for child in children)
        busy.discard(key)
        sizes[key] = total
        return total

    try:
        expanded = sum(size(d) for d in docs)
    except RecursionError:
        raise YAMLProblem("nested too deeply") from None
    return unique, expanded


def load_yaml_documents(text: str) -> list[Any]:
    """All documents in the text; raise YAMLProblem with a one-line message."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YAMLProblem(f"{where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(str(exc).replace("\n", " ")) from None
    if "*" in text:  # no alias, no expansion to check
        unique, expanded = _expanded_size(docs)
        if expanded > max(MAX_EXPANDED_VALUES, ALIAS_RATIO * unique):
            raise YAMLProblem(f"aliases expand {unique} values to {expanded}, more than "
                              f"{max(MAX_EXPANDED_VALUES, ALIAS_RATIO * unique)} (an alias "
                              "bomb?)")
    return docs
