"""Helpers shared by the end-to-end tests: a pinned copy of a fixture, and one literal edit."""

from __future__ import annotations

import shutil
from pathlib import Path

from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"


def pinned_copy(checker: Checker, folder: Path, name: str) -> Path:
    """Copy fixture ``name`` into ``folder`` and pin its own render as the sibling reference."""
    src = folder / name
    shutil.copy(FIXTURES / name, src)
    render = checker.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name(f"{src.stem}.ref.png"))
    return src


def edit_once(src: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` by ``new``; return the 0-based line of the edit."""
    text = src.read_text()
    assert text.count(old) == 1, old
    src.write_text(text.replace(old, new))
    return text[: text.index(old)].count("\n")
