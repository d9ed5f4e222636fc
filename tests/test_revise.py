"""`revise` with real renderers: a pinned correct copy, broken literals, and the search that
puts them back — for every kind, within its budget, cancellable, and through `verm revise`."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verm.check import Checker
from verm.pins import pin_render
from verm.revise import apply_text_edits, revise
from verm.revise.literals import format_color, scan
from verm.source import Source

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
TWO_WRONG = [('color="#4C72B0"', 'color="#DD8452"'), ('"Sales per quarter"', '"Sales per month"')]


@pytest.fixture(scope="module")
def checker():
    with Checker() as c:
        yield c


def _pinned_then_broken(checker: Checker, tmp_path: Path, name: str,
                        edits: list[tuple[str, str]], text: str | None = None) -> Path:
    """A copy of a correct source pinned as its own reference, then ``edits`` applied."""
    src = tmp_path / name
    if text is None:
        shutil.copy(FIXTURES / name, src)
    else:
        src.write_text(text)
    render = checker.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name(f"{src.stem}.ref.png"))
    broken = src.read_text()
    for old, new in edits:
        assert broken.count(old) == 1, old
        broken = broken.replace(old, new)
    src.write_text(broken)
    return src


def test_chart_with_two_wrong_literals_reaches_equivalence(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    revision = revise(checker, Source.load(src))
    assert revision.reward_before < 2.0
    assert (revision.reward_after, revision.stopped) == (2.0, "equivalent")
    assert 'color="#4C72B0"' in revision.text  # the literal's own upper-case notation
    assert 'ax.set_title("Sales per quarter")' in revision.text
    assert len(revision.edits) == 2 and revision.renders <= 5
    assert src.read_text() == revision.original  # revise never writes the file


def test_text_edits_are_minimal_and_in_original_coordinates(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    revision = revise(checker, Source.load(src))
    edits = revision.text_edits()
    assert [e.new_text for e in edits] == ["4C72B0", "quarter"]
    assert [e.range.start.line for e in edits] == [6, 7]
    assert apply_text_edits(revision.original, edits) == revision.text


@pytest.mark.parametrize(("name", "right", "wrong"), [
    ("icon.svg", 'fill="#5E81AC"', 'fill="#D08770"'),
    ("page.html", "background: #1a7f37;", "background: #cf222e;"),
    ("stock.md", "| Pears  |   7 |", "| Pears  |   9 |"),
], ids=["svg-fill", "html-css-colour", "markdown-number"])
def test_one_wrong_literal_is_restored(checker: Checker, tmp_path: Path, name: str,
                                       right: str, wrong: str):
    src = _pinned_then_broken(checker, tmp_path, name, [(right, wrong)])
    revision = revise(checker, Source.load(src))
    assert revision.reward_before < 2.0
    assert (revision.reward_after, revision.stopped) == (2.0, "equivalent")
    assert right in revision.text and wrong not in revision.text
    assert revision.renders == 2  # the critic's quick-fix payload names the edit outright


def test_equivalent_source_returns_at_once_with_no_edits(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", [])
    revision = revise(checker, Source.load(src))
    assert (revision.stopped, revision.renders, revision.edits) == ("equivalent", 1, [])
    assert revision.text == revision.original and revision.text_edits() == []


TITLES = """\
import matplotlib.pyplot as plt

TITLES = {"Sales per quarter": "Sales per quarter"}
fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
ax.bar(["Q1", "Q2", "Q3"], [3, 5, 4], color="#4C72B0")
ax.set_title(TITLES["Sales per quarter"])
"""


def test_a_proposal_that_breaks_the_render_is_rejected(checker: Checker, tmp_path: Path):
    """The title's literal nearest the title line is a dict key: changing it raises KeyError."""
    src = _pinned_then_broken(checker, tmp_path, "titles.py", [], TITLES)
    src.write_text(TITLES.replace("quarter", "month"))
    revision = revise(checker, Source.load(src))
    failed = [e for e in revision.rejected if e.reward == 0.0]
    assert failed and failed[0].range.start.line == 5  # tried first, failed to render
    assert revision.reward_after == 2.0
    assert 'ax.set_title(TITLES["Sales per month"])' in revision.text  # the break was not kept
    assert 'TITLES = {"Sales per month": "Sales per quarter"}' in revision.text


def test_cancellation_stops_between_renders(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    asked = itertools.count()
    revision = revise(checker, Source.load(src), cancelled=lambda: next(asked) >= 1)
    assert (revision.stopped, revision.renders, len(revision.edits)) == ("cancelled", 2, 1)
    assert revision.reward_before < revision.reward_after < 2.0


def test_render_budget_is_honoured(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    revision = revise(checker, Source.load(src), max_renders=2)
    assert (revision.stopped, revision.renders) == ("budget", 2)
    assert revision.reward_before < revision.reward_after < 2.0


def test_time_budget_is_honoured(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    revision = revise(checker, Source.load(src), max_seconds=1e-9)
    assert (revision.stopped, revision.renders, revision.text) == ("budget", 1,
                                                                  revision.original)


def test_progress_fraction_rises_to_one(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    seen: list[tuple[str, float]] = []
    revise(checker, Source.load(src), on_progress=lambda msg, f: seen.append((msg, f)))
    fractions = [f for _, f in seen]
    assert len(seen) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Sales per quarter" in msg for msg, _ in seen)


def test_colour_replacement_keeps_the_literal_notation():
    assert format_color("#ABC", (0x11, 0x22, 0x33)) == "#123"
    assert format_color("#AABBCC", (0x1a, 0x7f, 0x37)) == "#1A7F37"
    assert format_color("#aabbcc80", (0x1a, 0x7f, 0x37)) == "#1a7f3780"
    assert format_color("rgb(1, 2, 3)", (26, 127, 55)) == "rgb(26, 127, 55)"
    assert format_color("red", (26, 127, 55)) == "#1a7f37"
    [lit] = [x for x in scan("ax.plot(x, color='red')\n", "chart") if x.kind == "color"]
    assert (lit.text, lit.color, lit.prop) == ("'red'", (255, 0, 0), "color")


def test_pragmas_comments_and_urls_are_not_literals():
    text = ('<!-- verm: viewport=480x320 -->\n<svg xmlns="http://www.w3.org/2000/svg" '
            'width="10"><rect fill="#fff" href="#abc"/></svg>\n')
    found = {(x.kind, x.text) for x in scan(text, "svg")}
    assert found == {("number", "10"), ("color", "#fff")}


def _verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "verm.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=180)


def test_cli_prints_the_diff_and_writes_only_with_write(checker: Checker, tmp_path: Path):
    src = _pinned_then_broken(checker, tmp_path, "bars.py", TWO_WRONG)
    broken = src.read_text()
    out = _verm("revise", "bars.py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "reward 1.94 → 2.00" in out.stdout
    assert '-ax.set_title("Sales per month")' in out.stdout
    assert '+ax.set_title("Sales per quarter")' in out.stdout
    assert src.read_text() == broken
    written = _verm("revise", "bars.py", "--write", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert 'color="#4C72B0"' in src.read_text()
    assert _verm("check", "bars.py", cwd=tmp_path).returncode == 0


def test_cli_usage_errors_exit_2(tmp_path: Path):
    (tmp_path / "lonely.py").write_text("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    unpinned = _verm("revise", "lonely.py", cwd=tmp_path)
    assert unpinned.returncode == 2 and "no reference pinned" in unpinned.stderr
    assert _verm("revise", "lonely.py", "--max-renders", "0", cwd=tmp_path).returncode == 2
