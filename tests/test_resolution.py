"""A reference at another resolution: the source is drawn at the reference's size and matches;
a figure whose size changed is one discrepancy, not one per label. Real renderers, no sidecar
(a hand-made reference says nothing about the size it was made at)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from support import edit_once, pinned_copy
from verm.check import Checker
from verm.pins import sidecar_path
from verm.resolution import ratio
from verm.source import Source
from verm.types import Render


@pytest.fixture(scope="module")
def checker():
    with Checker() as c:
        yield c


def screenshot(checker: Checker, tmp_path: Path, name: str) -> Path:
    """A pinned copy whose reference has no sidecar, like a designer's PNG."""
    src = pinned_copy(checker, tmp_path, name)
    sidecar_path(src.with_name(f"{src.stem}.ref.png")).unlink()
    return src


@pytest.mark.parametrize("dpi", ["125", "72", "90"])
def test_chart_at_another_dpi_is_drawn_at_the_references(checker: Checker, tmp_path: Path,
                                                         dpi: str):
    src = screenshot(checker, tmp_path, "bars.py")
    ref_size = Image.open(src.with_name("bars.ref.png")).size
    edit_once(src, "dpi=100", f"dpi={dpi}")
    result = checker.check(Source.load(src))
    assert [d.description for d in result.discrepancies] == []
    assert result.render.size == ref_size
    assert result.critique is not None
    assert result.critique.meta["drawn_at_scale"] == pytest.approx(100 / int(dpi), rel=1e-3)
    again = checker.check(Source.load(src))  # remembered: drawn at the reference's dpi at once
    assert again.discrepancies == [] and again.render.size == ref_size


def test_chart_at_twice_the_dpi_is_equivalent(checker: Checker, tmp_path: Path):
    """2× is a screen's scale: resampled onto the reference it already matches."""
    src = screenshot(checker, tmp_path, "bars.py")
    edit_once(src, "dpi=100", "dpi=200")
    assert checker.check(Source.load(src)).discrepancies == []


def test_chart_at_another_dpi_still_shows_a_real_change_on_its_line(checker: Checker,
                                                                   tmp_path: Path):
    src = screenshot(checker, tmp_path, "bars.py")
    edit_once(src, "dpi=100", "dpi=150")
    line = edit_once(src, 'color="#4C72B0"', 'color="#DD8452"')
    result = checker.check(Source.load(src))
    assert [(d.category, d.range.start.line) for d in result.discrepancies] == [
        ("style_error", line)]
    assert "#dd8452" in result.discrepancies[0].description.lower()


@pytest.mark.parametrize("figsize", ["(7.5, 5)", "(4.5, 3)"])
def test_changed_figure_size_is_one_discrepancy_on_the_figure_line(checker: Checker,
                                                                   tmp_path: Path,
                                                                   figsize: str):
    src = screenshot(checker, tmp_path, "bars.py")
    line = edit_once(src, "figsize=(6, 4)", f"figsize={figsize}")
    result = checker.check(Source.load(src))
    assert len(result.discrepancies) == 1, [d.description for d in result.discrepancies]
    found = result.discrepancies[0]
    assert found.category == "structure_error" and found.range.start.line == line
    assert "figure size differs" in found.description and "600×400" in found.description
    assert result.reward < 2.0


def test_svg_drawn_at_a_2x_reference(checker: Checker, tmp_path: Path):
    src = pinned_copy(checker, tmp_path, "icon.svg")
    ref = src.with_name("icon.ref.png")
    sidecar_path(ref).unlink()
    big = checker.render(Source.load(src), scale=2.0)  # what a 2× export of the icon looks like
    assert big.ok and big.size == (320, 320)
    big.image.save(ref)
    edit_once(src, 'fill="#5E81AC"', 'fill="#D08770"')
    result = checker.check(Source.load(src))
    assert [d.category for d in result.discrepancies] == ["style_error"]
    assert result.render.size == (320, 320), "judged at the reference's size, pixel for pixel"


def _render(size: tuple[int, int], **meta: object) -> Render:
    return Render("chart", Path("x.py"), Image.new("RGB", size, "white"), meta=dict(meta))


def test_ratio_only_for_the_same_shape_at_another_size():
    assert ratio((640, 400), _render((640, 400))) is None
    assert ratio((640, 480), _render((640, 400))) is None  # another shape: a real change
    assert ratio((1280, 800), _render((640, 400))) == pytest.approx(2.0)
    # 6.4 × 72 dpi = 460.8 px, drawn as 460: the factor restores exactly 100 dpi
    exact = ratio((640, 400), _render((460, 288), inches=[6.4, 4.0], dpi=72.0))
    assert exact is not None and exact * 72 == pytest.approx(100.0)
    assert ratio((64000, 40000), _render((64, 40))) is None  # beyond any screen's scale


def test_page_against_a_hidpi_screenshot_is_drawn_at_its_device_scale(checker: Checker,
                                                                      tmp_path: Path):
    """A designer's Retina screenshot (device scale 2) of the page, no sidecar: the page is
    drawn at scale 2 and compared pixel for pixel, and a real change still lands on its line."""
    src = pinned_copy(checker, tmp_path, "page.html")
    ref = src.with_name("page.ref.png")
    sidecar_path(ref).unlink()
    retina = checker.render(Source.load(src), scale=2.0)
    assert retina.ok and retina.size == (960, 640)
    h1 = next(a for a in retina.anchors if a.name.startswith("<h1>"))
    assert h1.box[0] == pytest.approx(40, abs=1), "anchors in device pixels"
    retina.image.save(ref)
    assert checker.check(Source.load(src)).discrepancies == []
    line = edit_once(src, "color: #1f2328;", "color: #cf222e;")
    result = checker.check(Source.load(src))
    assert [(d.category, d.range.start.line) for d in result.discrepancies] == [
        ("style_error", line)]
    assert result.render.size == (960, 640), "judged at the screenshot's device scale"
