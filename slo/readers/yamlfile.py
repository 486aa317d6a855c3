"""YAML reading that refuses what PyYAML silently accepts (duplicate keys), with line numbers."""

from __future__ import annotations

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


def load_yaml_documents(text: str) -> list[Any]:
    """All documents in the text; raise YAMLProblem with a one-line message."""
    try:
        return [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YAMLProblem(f"{where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(str(exc).replace("\n", " ")) from None
