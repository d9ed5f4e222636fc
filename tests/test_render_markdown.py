"""The Markdown-table renderer with real Chromium: cell spans, crop, shared browser, determinism."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import ImageChops

from verm.render.base import RenderOptions
from verm.render.browser import Browser
from verm.render.html import HtmlRenderer
from verm.render.markdown import MARGIN, MarkdownRenderer, cell_spans
from verm.source import Source
from verm.types import Anchor, Render

ROOT = Path(__file__).resolve().parent.parent
STOCK = Path(__file__).parent / "fixtures" / "table" / "stock.md"
OPTIONS = RenderOptions(viewport=(800, 600), timeout_s=10.0)


@pytest.fixture(scope="module")
def table_browser() -> Iterator[Browser]:
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def table_renderer(table_browser: Browser) -> MarkdownRenderer:
    return MarkdownRenderer(table_browser)


@pytest.fixture(scope="module")
def stock(table_renderer: MarkdownRenderer) -> Render:
    render = table_renderer.render(Source.load(STOCK), OPTIONS)
    assert render.ok, render.failure
    return render


def by_key(render: Render, key: str) -> Anchor:
    return next(a for a in render.anchors if a.key == key)


def source_text(anchor: Anchor) -> str:
    assert anchor.range is not None and anchor.range.start.line == anchor.range.end.line
    line = STOCK.read_text().splitlines()[anchor.range.start.line]
    return line[anchor.range.start.character:anchor.range.end.character]


def test_cell_spans_split_on_unescaped_pipes() -> None:
    line = "| Pears \\| quinces | 12 | |"
    assert [line[a:b] for a, b in cell_spans(line)] == ["Pears \\| quinces", "12", " "]
    assert [(a, b) for a, b in cell_spans("a | b")] == [(0, 1), (4, 5)]
    assert ["> | x | y |"[a:b] for a, b in cell_spans("> | x | y |")] == ["x", "y"]


def test_every_cell_points_at_its_own_text(stock: Render) -> None:
    lines = STOCK.read_text().splitlines()
    cells = [a for a in stock.anchors if a.role in ("cell", "header")]
    assert len(cells) == 12
    for cell in cells:
        assert cell.range is not None
        row = lines[cell.range.start.line]
        assert row.lstrip().startswith("|")
        if cell.text:  # rendered text equals the source span, escapes aside
            assert source_text(cell).replace("\\|", "|").strip("`") == cell.text


def test_cell_names_lines_and_columns(stock: Render) -> None:
    qty = by_key(stock, "t0/r2/c1")
    assert qty.role == "cell" and qty.name == "row 2, column 'Qty'" and qty.text == "12"
    assert qty.range is not None
    assert qty.range.start.line == STOCK.read_text().splitlines().index(
        "| Pears \\| quinces | 12 | |")
    assert source_text(qty) == "12"
    header = by_key(stock, "t0/r0/c1")
    assert header.role == "header" and header.name == "header 'Qty'"
    assert source_text(header) == "Qty"
    pears = by_key(stock, "t0/r2/c0")
    assert source_text(pears) == "Pears \\| quinces" and pears.text == "Pears | quinces"
    empty = by_key(stock, "t0/r3/c0")
    assert empty.text is None and empty.name == "row 3, column 'Item'"
    table = by_key(stock, "t0")
    assert table.role == "table" and table.container
    assert table.range is not None and (table.range.start.line, table.range.end.line) == (5, 9)


def test_other_blocks_are_text_anchors_on_their_lines(stock: Render) -> None:
    texts = {a.text: a for a in stock.anchors if a.role == "text"}
    assert texts["Fruit stock"].range is not None
    assert texts["Fruit stock"].range.start.line == 1
    assert texts["Fruit stock"].name == "heading 'Fruit stock'"
    assert texts["Counts at closing time."].range.start.line == 3  # type: ignore[union-attr]
    assert texts["checked by Ana"].range.start.line == 11  # type: ignore[union-attr]


def test_crop_is_content_plus_margin_and_boxes_follow_it(stock: Render) -> None:
    assert stock.image is not None
    width, height = stock.size
    assert width < 800  # cropped to the content, not the viewport
    heading = next(a for a in stock.anchors if a.text == "Fruit stock")
    assert heading.box[0] == pytest.approx(MARGIN, abs=1)
    assert heading.box[1] == pytest.approx(MARGIN, abs=1)
    table = by_key(stock, "t0")
    assert table.box[2] <= width - MARGIN + 1
    for a in stock.anchors:
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height
    # the margin strips are background, and the header cell shows its fill under its box
    strip = stock.image.crop((0, 0, width, MARGIN - 1))
    assert strip.getextrema() == ((255, 255), (255, 255), (255, 255))
    x0, y0, x1, y1 = by_key(stock, "t0/r0/c0").box
    assert stock.image.getpixel((int(x1) - 3, int(y0) + 3)) == (0xEF, 0xF2, 0xF5)


def test_long_tables_render_beyond_the_viewport(table_renderer: MarkdownRenderer,
                                                tmp_path: Path) -> None:
    rows = "\n".join(f"| item {i} | {i} |" for i in range(60))
    path = tmp_path / "long.md"
    path.write_text(f"| Item | Qty |\n|---|---|\n{rows}\n")
    render = table_renderer.render(Source.load(path), RenderOptions(viewport=(400, 300)))
    assert render.ok and render.size[1] > 300
    last = by_key(render, "t0/r60/c1")
    assert last.text == "59" and last.range is not None and last.range.start.line == 61
    assert last.box[3] <= render.size[1] - MARGIN + 1


def test_one_browser_serves_html_and_markdown(table_browser: Browser,
                                              table_renderer: MarkdownRenderer,
                                              stock: Render, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>hello</p>")
    assert HtmlRenderer(table_browser).render(Source.load(page), OPTIONS).ok
    assert table_renderer.render(Source.load(STOCK), OPTIONS).ok
    assert table_browser.launches == 1


def test_two_renders_are_pixel_identical(table_renderer: MarkdownRenderer, stock: Render) -> None:
    again = table_renderer.render(Source.load(STOCK), OPTIONS)
    assert stock.image is not None and again.image is not None
    assert ImageChops.difference(stock.image, again.image).getbbox() is None
    assert [a.to_json() for a in again.anchors] == [a.to_json() for a in stock.anchors]


def test_the_first_hidpi_capture_equals_the_later_ones(tmp_path: Path) -> None:
    """A page at device scale 2 drew its first capture — when fresh, or after another site
    resized its viewport — with text a device pixel higher than every later one: a HiDPI
    reference then differed by when it was taken and after what (every cell a "changed
    text" on a warm server). Each capture at 2× is the same, the first and the one after a
    page of another viewport included."""
    browser = Browser()  # its own: the first page at 2× is this test's
    try:
        renderer = MarkdownRenderer(browser)
        hidpi = replace(OPTIONS, scale=2.0)
        source = Source.load(ROOT / "benchmarks" / "fixtures" / "bench_table.md")
        shots = [renderer.render(source, hidpi), renderer.render(source, hidpi)]
        page = Source.load(ROOT / "tests" / "fixtures" / "e2e" / "page.html")  # 480×320
        assert HtmlRenderer(browser).render(page, replace(hidpi, viewport=(480, 320))).ok
        shots.append(renderer.render(source, hidpi))
    finally:
        browser.close()
    assert all(r.ok and r.image is not None for r in shots)
    first = shots[0].image
    assert first is not None and first.size == (444, 940)
    for later in shots[1:]:
        assert later.image is not None
        assert ImageChops.difference(first.convert("RGB"), later.image.convert("RGB")).getbbox() \
            is None


def test_empty_markdown_renders_blank(table_renderer: MarkdownRenderer, tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("\n")
    render = table_renderer.render(Source.load(path), OPTIONS)
    assert render.ok and render.meta["blank"] is True
    assert render.size == (2 * MARGIN, 2 * MARGIN)
