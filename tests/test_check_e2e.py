"""The whole pipeline with real renderers: identity is clean, injected errors land on their line.

Each case pins a fixture's own render, edits one literal in a copy, and checks that verm reports
the expected category on the edited line — for every domain.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from support import edit_once, pinned_copy
from verm.check import Checker
from verm.pins import pin_render, sidecar_path
from verm.source import Source


@pytest.fixture(scope="module")
def checker():
    with Checker() as c:
        yield c


@pytest.mark.parametrize("name", ["bars.py", "icon.svg", "page.html", "stock.md"])
def test_identity_is_equivalent(checker: Checker, tmp_path: Path, name: str):
    src = pinned_copy(checker, tmp_path, name)
    result = checker.check(Source.load(src))
    assert result.discrepancies == []
    assert result.reward == 2.0


@pytest.mark.parametrize("name", ["bars.py", "icon.svg", "page.html", "stock.md"])
def test_jpeg_2x_cropped_reference_is_still_equivalent(checker: Checker, tmp_path: Path,
                                                       name: str):
    """A hand-made screenshot: HiDPI 2×, cropped to content, saved lossy, no sidecar."""
    src = pinned_copy(checker, tmp_path, name)
    ref = src.with_name(f"{src.stem}.ref.png")
    image = Image.open(ref).convert("RGB")
    big = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    gray = big.convert("L").point(lambda v: 255 if v > 250 else 0)
    box = Image.eval(gray, lambda v: 255 - v).getbbox()
    shot = big.crop(box)
    buf = io.BytesIO()
    shot.save(buf, format="JPEG", quality=85)
    jpeg = tmp_path / "screenshot.jpg"
    jpeg.write_bytes(buf.getvalue())
    result = checker.check(Source.load(src), jpeg)
    assert [d.description for d in result.discrepancies] == []
    assert result.reward == 2.0


# name, the pinned literal, its wrong replacement, the one (category, severity) verm reports on
# the edited line. Colour changes are cosmetic (1; 2 over a large area such as the icon's disc).
CASES = [
    ("bars.py", 'color="#4C72B0"', 'color="#DD8452"', "style_error", 1),
    ("bars.py", '"Sales per quarter"', '"Sales per month"', "text_error", 2),
    ("bars.py", "ax.bar(quarters, sales,", "ax.bar(quarters, [12, 15, 19, 17],", "data_error", 3),
    ("icon.svg", 'fill="#5E81AC"', 'fill="#D08770"', "style_error", 1),
    ("icon.svg", 'r="36"', 'r="24"', "shape_error", 2),
    ("page.html", "Release notes", "Release plans", "text_error", 2),
    ("page.html", "background: #1a7f37;", "background: #cf222e;", "style_error", 1),
    ("stock.md", "|   7 |", "|   9 |", "numeric_error", 3),
    ("stock.md", "| Pears  |", "| Grapes |", "text_error", 2),
]


@pytest.mark.parametrize(("name", "old", "new", "category", "severity"), CASES,
                         ids=[f"{c[0]}:{c[3]}:{c[2][:12]}" for c in CASES])
def test_injected_error_is_one_finding_of_its_category_on_its_line(
        checker: Checker, tmp_path: Path, name: str, old: str, new: str, category: str,
        severity: int):
    """One edit, one diagnostic: anything it moved or rescaled is folded into ``related``."""
    src = pinned_copy(checker, tmp_path, name)
    line = edit_once(src, old, new)
    result = checker.check(Source.load(src))
    found = [(d.category, d.range.start.line, d.severity) for d in result.discrepancies]
    assert found == [(category, line, severity)], [
        (d.category, d.range.start.line, d.severity, d.location, d.description)
        for d in result.discrepancies]
    assert result.reward == pytest.approx(1 + (1 - severity / 50))


def test_failed_render_is_a_discrepancy_on_the_users_line(checker: Checker, tmp_path: Path):
    src = pinned_copy(checker, tmp_path, "bars.py")
    line = edit_once(src, "ax.set_ylim(0, 20)", "ax.set_ylim(0, 20) +")
    result = checker.check(Source.load(src))
    assert not result.rendered and result.reward == 0.0
    [d] = result.discrepancies
    assert d.severity == 3 and d.range.start.line == line
    assert "syntax" in d.description.lower()


def test_a_reference_replaced_on_disk_is_read_again(checker: Checker, tmp_path: Path):
    """References are cached between checks, but a designer's new mock is seen at once."""
    src = pinned_copy(checker, tmp_path, "icon.svg")
    assert checker.check(Source.load(src)).discrepancies == []
    ref = src.with_name(f"{src.stem}.ref.png")
    image = Image.open(ref).convert("RGB")
    image.paste((208, 135, 112), (0, 0, 40, 40))  # a new corner block in the mock
    image.save(ref)
    assert checker.check(Source.load(src)).discrepancies != []


def test_blank_render_scores_zero(checker: Checker, tmp_path: Path):
    src = pinned_copy(checker, tmp_path, "bars.py")
    src.write_text("import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(6, 4))\n")
    result = checker.check(Source.load(src))
    assert not result.rendered and result.reward == 0.0
    [d] = result.discrepancies
    assert (d.category, d.severity) == ("structure_error", 3) and "blank" in d.description


def test_thicker_line_is_a_style_error_naming_both_widths(checker: Checker, tmp_path: Path):
    src = tmp_path / "lines.py"
    src.write_text(
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(6, 4), dpi=100)\n"
        "ax.plot([1, 2, 3, 4], [3, 1, 4, 2], color='#4C72B0', linewidth=1.5, label='sales')\n"
        "ax.plot([1, 2, 3, 4], [2, 2, 3, 3], color='#DD8452', label='costs')\n"
        "ax.legend()\n")
    pin_render(checker.render(Source.load(src)), src.with_name("lines.ref.png"))
    line = edit_once(src, "linewidth=1.5", "linewidth=3")
    [d] = checker.check(Source.load(src)).discrepancies
    assert (d.category, d.range.start.line) == ("style_error", line)
    assert "1.5" in d.description and "3" in d.description


def test_removed_legend_points_where_its_call_was(checker: Checker, tmp_path: Path):
    """Blamed on the line that drew it in the pinned version: here the end of the file."""
    src = tmp_path / "legend.py"
    src.write_text(
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(6, 4), dpi=100)\n"
        "ax.plot([1, 2, 3], [3, 1, 2], label='sales')\n"
        "ax.legend()\n")
    pin_render(checker.render(Source.load(src)), src.with_name("legend.ref.png"))
    line = edit_once(src, "ax.legend()\n", "")
    [d] = checker.check(Source.load(src)).discrepancies
    assert (d.category, d.location, d.range.start.line) == ("structure_error", "legend", line)


def test_bigger_heading_is_one_error_on_its_css_declaration(checker: Checker, tmp_path: Path):
    """The paragraphs it pushes down are its consequence, not errors of their own."""
    src = pinned_copy(checker, tmp_path, "page.html")
    line = edit_once(src, "h1 { font-size: 24px;", "h1 { font-size: 30px;")
    [d] = checker.check(Source.load(src)).discrepancies
    assert (d.category, d.range.start.line) == ("style_error", line)
    assert src.read_text().splitlines()[line][d.range.start.character:].startswith("font-size")


@pytest.mark.parametrize(("new", "prop", "said"), [
    # The sidecar knows the declaration's old value: it is named.
    ("margin: 36px;", "margin", "reference margin 20px, render 36px"),
    # A declaration the pinned page did not have: the move it made is described.
    ("margin: 20px; padding-top: 30px;", "padding-top", "moved by (+0, +"),
])
def test_body_margin_is_one_error_on_its_declaration_not_one_per_child(
        checker: Checker, tmp_path: Path, new: str, prop: str, said: str):
    src = pinned_copy(checker, tmp_path, "page.html")
    line = edit_once(src, "margin: 20px;", new)
    found = checker.check(Source.load(src)).discrepancies
    assert [(d.category, d.range.start.line, d.severity) for d in found] == [
        ("layout_error", line, 2)], [d.description for d in found]
    [d] = found
    assert said in d.description
    assert src.read_text().splitlines()[line][d.range.start.character:].startswith(prop)


def test_body_margin_against_a_screenshot_is_one_shift_on_its_declaration(
        checker: Checker, tmp_path: Path):
    """No sidecar: a page whose content moved on a canvas of the same size is one layout
    error, aligned content otherwise clean — not a text error per element."""
    src = pinned_copy(checker, tmp_path, "page.html")
    sidecar_path(src.with_name("page.ref.png")).unlink()
    line = edit_once(src, "margin: 20px;", "margin: 36px;")
    found = checker.check(Source.load(src)).discrepancies
    assert [(d.category, d.range.start.line) for d in found] == [("layout_error", line)]
    assert "moved by (+16, +16) px" in found[0].description
    assert src.read_text().splitlines()[line][found[0].range.start.character:].startswith(
        "margin")


class BrokenCritic:
    """A critic that fails, standing in for a critic bug: the Checker must say so plainly."""

    name = "broken"

    def judge(self, reference, render):
        raise ZeroDivisionError("division by zero in registration")


def test_a_failing_critic_is_a_clear_error_not_a_verdict(tmp_path: Path):
    from verm.check import CriticError

    with Checker() as checker:
        src = pinned_copy(checker, tmp_path, "icon.svg")
        checker._critics[("analytic", None)] = BrokenCritic()  # the critic the config names
        with pytest.raises(CriticError, match=r"critic failed .*ZeroDivisionError.*report it"):
            checker.check(Source.load(src))
