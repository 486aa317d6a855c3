"""pyproject's prometheus-client pin and the versions `make client-compat` tests stay in step.

The request recorder reads prometheus_client's private value layout (exporter/fastpath.py): a
release the pin admits but no test ran on is exactly what the pin is there to prevent.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT


def client_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (req,) = [Requirement(d) for d in project["dependencies"]
              if Requirement(d).name == "prometheus-client"]
    return req


def compat_versions() -> tuple[Version, Version]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = dict(re.findall(r"^CLIENT_(OLDEST|NEWEST)\s*:?=\s*(\S+)$", makefile, re.M))
    return Version(found["OLDEST"]), Version(found["NEWEST"])


def test_the_pin_spans_exactly_the_tested_releases() -> None:
    spec = client_requirement().specifier
    oldest, newest = compat_versions()
    bounds = {s.operator: Version(s.version) for s in spec if s.operator in (">=", "<")}
    assert bounds[">="] == oldest
    # The upper bound admits newest's minor series and nothing later.
    assert bounds["<"] == Version(f"{newest.major}.{newest.minor + 1}")
    assert oldest in spec and newest in spec
    assert Version("0.21.0") not in spec  # its value lock was an RLock


def test_the_installed_client_is_one_the_pin_admits() -> None:
    assert Version(version("prometheus-client")) in client_requirement().specifier
