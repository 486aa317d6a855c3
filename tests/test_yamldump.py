"""``to_yaml`` writes exactly the bytes of PyYAML's dump (``_to_yaml_pyyaml``), only faster.

The fast emitter replicates LibYAML's layout and style choice for the common scalars and hands
everything else back to PyYAML, so the reference is the judge: on the documents slo-gen really
renders (which must also never need the whole-document fallback, or nothing got faster), on
hand-picked corner cases, and on random nested data.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import slo.outputs.formats
from slo.model.naming import NATIVE, SLOTH
from slo.outputs import yamldump
from slo.outputs.formats import FORMATS, Options, render
from slo.outputs.yamldump import _FastEmitter, _to_yaml_pyyaml, to_yaml
from slo.readers.load import load_default, load_paths
from tests.conftest import ROOT

EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml") if p.name != "broken.yaml")
FIXTURES = sorted(str(p) for p in (ROOT / "tests" / "fixtures").iterdir() if p.is_file())


def _documents(monkeypatch: pytest.MonkeyPatch, paths: list[str], **options: Any) -> list[Any]:
    """The data render() passes to to_yaml for these specs (none: the shipped spec)."""
    seen: list[Any] = []

    def record(data: Any) -> str:
        seen.append(data)
        return to_yaml(data)

    with monkeypatch.context() as m:
        m.setattr(slo.outputs.formats, "to_yaml", record)
        render(load_paths(paths) if paths else load_default(), Options(**options))
    assert seen
    return seen


def _assert_same(data: Any) -> None:
    assert to_yaml(data) == _to_yaml_pyyaml(data)


@pytest.mark.parametrize("paths", [[], *([p] for p in EXAMPLES + FIXTURES)],
                         ids=lambda p: Path(p[0]).name if p else "shipped")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("naming", [NATIVE, SLOTH], ids=["native", "sloth"])
def test_rendered_documents_are_byte_identical(monkeypatch, paths, fmt, naming) -> None:
    for data in _documents(monkeypatch, paths, fmt=fmt, naming=naming):
        _FastEmitter().document(data)  # raises _Fallback if the fast path does not apply
        _assert_same(data)


def test_rendered_files_are_byte_identical(monkeypatch) -> None:
    """Whole files, template header included: the fast emitter against the old one."""
    specs = load_default() + load_paths(EXAMPLES)
    fast = render(specs)
    monkeypatch.setattr(slo.outputs.formats, "to_yaml", _to_yaml_pyyaml)
    assert render(specs) == fast


CORNERS: list[Any] = [
    {"a": "x\ny\n"}, {"a": ["x\n", "y"]}, {"a": " x\ny"}, {"a": "\nx"}, {"a": "x\n\n y"},
    {"a": "x\ny\n\n", "b": 1}, {"a": "\n"}, {"a": "x \ny"}, {"a": "x\xa0\ny"}, {"a": "x\ty\nz"},
    {"a": ""}, {"": 1}, {"a": []}, {"a": {}}, [], {}, "x", 1, None, [{}], [[]],
    {"a": [[1, [2, {"b": "c\nd", "e": []}]]]}, [[[{"a": [["x\ny"]]}]]],
    {"a": "\U0001f600"}, {"a": "a\tb"}, {"a": "a\rb"}, {"a": "\x85"}, {"a": "\ufeff"},
    {"a": "-"}, {"a": "- a"}, {"a": "-a"}, {"a": "a:"}, {"a": "a: b"}, {"a": "a:b"},
    {"a": "a #b"}, {"a": "a#b"}, {"a": "#a"}, {"a": "?"}, {"a": "? a"}, {"a": "?a"},
    {"a": ":a"}, {"a": "---"}, {"a": "--- a"}, {"a": "...x"}, {"a": "x---"}, {"a": " x"},
    {"a": "x "}, {"a": "it's"}, {"a": "'q'"}, {"a": '"q"'}, {"a": "~"}, {"a": "yes"},
    {"a": "No"}, {"a": "null"}, {"a": "1e3"}, {"a": "0x1F"}, {"a": "0o17"}, {"a": "1_000"},
    {"a": "2001-12-14"}, {"a": "2001-12-14t21:59:43.10-05:00"}, {"a": "<<"}, {"a": "="},
    {"a": ".inf"}, {"a": "-.5"}, {"a": "+1"}, {"a": "1:20"}, {"yes": 1, "null": 2, "1": 3},
    {"a": 1e17}, {"a": 1e-5}, {"a": 0.995}, {"a": -0.0}, {"a": math.inf}, {"a": -math.inf},
    {"a": 10**30}, {"a": True, "b": False, "c": None, "d": 0, "e": -3},
    {"a": "x" * 20_000}, {"a": "x " * 60_000}, {"a": ["x " * 60_000]},
    {"k" * 128: 1}, {"k" * 129: 1}, {"é" * 64: 1}, {"é" * 65: 1}, {"k\nk": 1}, {1: "a"},
    {"a": {"b": {"c": {"d": "x\ny", "e": "'x\n\ny'", "f": ["p\tq", "\U0001f600 x"]}}}},
    {"a": ("t",)}, {"a": b"x"},
    ["\n\u2028", ""], {"a": "a\nb\u2028", "b": 1}, {"a": "a\nb\u2028"}, {"a": "a\nb\x85"},
    {"a": ["x\n\u2029y", "z"]}, {"a": "a\nb\u2028\n"}, {"a": "a...", "b": "a...\t"},
]


@pytest.mark.parametrize("data", CORNERS, ids=lambda d: repr(d)[:40])
def test_corner_cases_are_byte_identical(data) -> None:
    try:
        expected = _to_yaml_pyyaml(data)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            to_yaml(data)
        return
    assert to_yaml(data) == expected


def test_shared_containers_keep_pyyaml_anchors() -> None:
    labels = {"team": "x"}
    data = {"rules": [{"labels": labels}, {"labels": labels}]}
    assert "&id001" in to_yaml(data)
    _assert_same(data)
    loop: list[Any] = []
    loop.append({"a": loop})
    _assert_same(loop)


def test_literal_blocks_follow_nesting() -> None:
    text = "max (\n  a\n)\n"
    for data in ({"e": text}, {"g": [{"r": [{"e": text}]}]}, [[text]], {"g": {"h": [text]}}):
        _assert_same(data)
        assert yaml.safe_load(to_yaml(data)) == data


TRICKY = ["", " ", "yes", "no", "null", "~", "1e3", "0x1F", "2001-12-14", "-", "?", ":",
          "*a", "&a", "!x", "%", "@", "`", "'", '"', "#", ": ", " #", "a: b", "a #b", "---",
          "...", "<<", "=", "\\", "\n", "\n\n", "\t", "\U0001f600", "é", "\u2028", "\x85",
          "\ufeff", "\u2029", "\r\n", "x\n", " x", "x "]
strings = st.one_of(
    st.sampled_from(TRICKY),
    st.lists(st.sampled_from([*TRICKY, "a", "b1", "{x}", "sum(rate(x[5m]))", "中"]),
             max_size=6).map("".join),
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from(list("ab :#-'\"\\\n\t é")), max_size=20),
)
keys = st.one_of(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), strings)
scalars = st.one_of(strings, st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False))
data = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


@pytest.mark.slow  # 600 examples: make test runs it, make check leaves it out
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.dictionaries(keys, data, min_size=1, max_size=5),
                 st.lists(data, min_size=1, max_size=5)))
def test_random_data_is_byte_identical_and_round_trips(value) -> None:
    text = to_yaml(value)
    assert text == _to_yaml_pyyaml(value)
    assert yaml.safe_load(text) == value


def test_reference_is_pyyaml() -> None:
    """The reference really is the old dump call: the fast path must not judge itself."""
    data = {"a": ["b", {"c": "d\ne"}]}
    assert _to_yaml_pyyaml(data) == yaml.dump(
        data, Dumper=yamldump._Dumper, sort_keys=False, width=100_000, allow_unicode=True,
        default_flow_style=False)
