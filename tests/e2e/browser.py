"""Headless Chromium (Debian's ``chromium`` package) as a person's browser for the tests.

Two things a person gets from a page: what it says (the DOM after load, ``--dump-dom``) and
what it looks like (``--screenshot``). Both come from the real browser binary with its own
throw-away profile; nothing stands in for it. Where the package cannot be installed the tests
skip with that reason (``make test`` installs it: ``make browser``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", "--mute-audio", "--force-device-scale-factor=1")


def chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless Chromium: install Debian's chromium package (`make browser`, "
                "which `make test` runs: apt-get install chromium)")


def _run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def dom(url: str) -> str:
    result = _run(["--dump-dom", url])
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def screenshot(url: str, path: Path, width: int = 1200, height: int = 1400) -> Path:
    result = _run([f"--window-size={width},{height}", f"--screenshot={path}", url])
    assert result.returncode == 0 and path.is_file(), result.stderr[-2000:]
    return path


def pixel_variance(path: Path) -> float:
    """Variance of the greyscale pixels: near 0 for a blank (one-colour) image."""
    from PIL import Image, ImageStat

    with Image.open(path) as img:
        return float(ImageStat.Stat(img.convert("L")).var[0])


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Tree(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "link", "br", "img", "input", "hr", "area", "base",
                                "col", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]
        self.all: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        self.all.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for el in self.stack[1:]:
            if el.tag not in ("style", "script", "title"):
                el.text += data


def parse(html: str) -> list[Element]:
    """Every element of the page, each with the text a reader sees inside it (whitespace
    collapsed)."""
    tree = _Tree()
    tree.feed(html)
    for el in tree.all:
        el.text = " ".join(el.text.split())
    return tree.all


def find(elements: list[Element], cls: str | None = None, **attrs: str) -> list[Element]:
    return [e for e in elements if (cls is None or cls in e.classes)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]
