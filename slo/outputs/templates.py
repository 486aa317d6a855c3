"""The one jinja2 environment for every rendered file's text around its data.

Templates hold what templates are good at: file headers, the notes of generated tests, comments.
Rule bodies are built as data and laid out by :mod:`slo.outputs.yamldump`, because quoting
PromQL and Go templates inside YAML by hand is where template-made YAML breaks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

import slo


def templates_dir() -> Path:
    """Templates ship inside the wheel (``slo/templates``); in a checkout they are top-level."""
    packaged = Path(slo.__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(slo.__file__).parent.parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """Built once per process: loading and compiling a template is most of a small render."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def render_template(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
