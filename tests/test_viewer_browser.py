"""The visual-diff viewer in a real browser: headless Chromium (Playwright) on the page the
static report and the editors show, built from a real judgement of a pinned SVG whose circle
changed colour and whose bar moved.

Asserted from screenshots, not from the viewer's own arithmetic: the boxes cover the pixels the
difference picture marks, at two zoom levels; dragging the swipe divider and the onion-skin
slider change which picture is seen; clicking a box or an entry posts ``reveal`` with its line;
the page runs under its Content-Security-Policy without a violation. With ``VERM_SCREENSHOTS=1``
the screenshots of each mode are written to editor-clients/vscode/images/ (the README's).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from support import FIXTURES
from verm.check import Checker
from verm.pins import pin_render, png_bytes
from verm.render.browser import find_chromium, launch_args
from verm.source import Source
from verm.viewer import ASSETS
from verm.viewer.data import view_data
from verm.viewer.page import page_html
from verm.viewer.pictures import aligned

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "editor-clients" / "vscode" / "images"
REFERENCE_BLUE = (0x5E, 0x81, 0xAC)
RENDER_ORANGE = (0xD0, 0x87, 0x70)
BAR_RED = (0xBF, 0x61, 0x6A)
DIFF_COLOURS = [(220, 40, 40), (30, 150, 60), (240, 140, 0)]  # missing, extra, changed
CIRCLE_CENTRE = (80, 70)  # icon.svg, picture pixels


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A page as the static report writes it: viewer.html, its assets and three pictures."""
    folder = tmp_path_factory.mktemp("viewer")
    src = folder / "icon.svg"
    shutil.copy(FIXTURES / "icon.svg", src)
    with Checker() as checker:
        pin = checker.render(Source.load(src))
        pin_render(pin, src.with_name("icon.ref.png"))
        text = src.read_text().replace("#5E81AC", "#D08770")
        src.write_text(text.replace('x="40" y="120"', 'x="60" y="120"'))  # the bar moves
        result = checker.check(Source.load(src))
        pictures = aligned(checker.reference(result.pin), result.render, result.discrepancies)
    assert len(result.discrepancies) >= 2, [d.description for d in result.discrepancies]
    for name, image in (("reference", pictures.reference), ("render", pictures.render),
                        ("diff", pictures.diff)):
        (folder / f"{name}.png").write_bytes(png_bytes(image))
    data = view_data(result, pictures, {n: f"{n}.png" for n in ("reference", "render", "diff")},
                     fix_title=lambda i: "Change #D08770 to #5E81AC" if i == 0 else None)
    for asset in ("viewer.js", "viewer.css"):
        shutil.copy(ASSETS / asset, folder / asset)
    page = folder / "index.html"
    page.write_text(page_html(data, script="viewer.js", style="viewer.css"))
    return page, data


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=launch_args())
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, report: tuple[Path, dict[str, Any]]) -> Iterator[Page]:
    p = browser.new_page(viewport={"width": 1000, "height": 760})
    # What a host does: receive the viewer's messages (here: keep them), and watch the CSP.
    p.add_init_script("""
        window.posted = []; window.violations = [];
        window.vermHost = { post: (m) => window.posted.push(m) };
        document.addEventListener('securitypolicyviolation',
            (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
    """)
    p.goto(report[0].as_uri())
    p.wait_for_selector("#verm-viewer[data-ready=true]")
    p.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
    yield p
    p.close()


def choose(page: Page, mode: str, zoom: float) -> None:
    page.click(f"button.verm-mode[data-mode={mode}]")
    page.click("button.verm-zoom-one")
    if zoom != 1:
        page.evaluate(f"window.vermViewer.dispatch({{type: 'zoom', zoom: {zoom}}})")
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")


def shot(page: Page, selector: str, *, boxes: bool) -> tuple[np.ndarray, dict[str, float]]:
    """The element's pixels (boxes hidden or shown) and its rectangle on the page."""
    page.evaluate(f"document.querySelectorAll('.verm-boxes').forEach((b) => "
                  f"b.style.visibility = '{'visible' if boxes else 'hidden'}')")
    rect = page.locator(selector).first.bounding_box()
    assert rect is not None
    png = page.screenshot(clip=rect)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), rect


Rect = tuple[float, float, float, float]


def colour_mask(pixels: np.ndarray, colours: list[tuple[int, int, int]],
                tol: int = 6) -> np.ndarray:
    mask = np.zeros(pixels.shape[:2], dtype=bool)
    for c in colours:
        mask |= (np.abs(pixels.astype(int) - np.array(c)).max(axis=2) <= tol)
    return mask


def box_rects(page: Page, pane: str, canvas: dict[str, float]) -> list[Rect]:
    rects = page.evaluate(f"""[...document.querySelectorAll('.verm-pane-{pane} .verm-box')]
        .map((b) => b.getBoundingClientRect()).map((r) => [r.left, r.top, r.right, r.bottom])""")
    return [(r[0] - canvas["x"], r[1] - canvas["y"], r[2] - canvas["x"], r[3] - canvas["y"])
            for r in rects]


def covered(mask: np.ndarray, rects: list[Rect], slack: float = 2) -> float:
    """Share of the mask's pixels inside one of the rectangles."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return 0.0
    inside = np.zeros(xs.size, dtype=bool)
    for x0, y0, x1, y1 in rects:
        inside |= (xs >= x0 - slack) & (xs <= x1 + slack) & (ys >= y0 - slack) & (ys <= y1 + slack)
    return float(inside.mean())


def save(page: Page, name: str) -> None:
    if os.environ.get("VERM_SCREENSHOTS") == "1":
        page.evaluate("document.querySelectorAll('.verm-boxes').forEach((b) => "
                      "b.style.visibility = 'visible')")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#verm-viewer").screenshot(path=str(SCREENSHOTS / f"viewer-{name}.png"))


@pytest.mark.parametrize("zoom", [1, 2.5])
def test_boxes_land_on_the_discrepancies(page: Page, zoom: float):
    choose(page, "diff", zoom)
    pixels, canvas = shot(page, ".verm-pane-overlay .verm-canvas", boxes=False)
    assert pixels.shape[1] == pytest.approx(160 * zoom, abs=2), "the picture is drawn at the zoom"
    changed = colour_mask(pixels, DIFF_COLOURS)
    assert changed.sum() > 100 * zoom * zoom, "the difference picture marks the changes"
    rects = box_rects(page, "overlay", canvas)
    assert len(rects) >= 2
    assert covered(changed, rects) > 0.97, rects
    for rect in rects:  # and no box is off on its own
        x0, y0, x1, y1 = (int(v) for v in rect)
        assert changed[max(0, y0):y1, max(0, x0):x1].any(), rect

    choose(page, "side", zoom)
    for pane in ("reference", "render"):
        pixels, canvas = shot(page, f".verm-pane-{pane} .verm-canvas", boxes=False)
        rects = box_rects(page, pane, canvas)
        for colour in (REFERENCE_BLUE if pane == "reference" else RENDER_ORANGE, BAR_RED):
            mask = colour_mask(pixels, [colour])
            assert mask.sum() > 0, (pane, colour)
            assert covered(mask, rects) > 0.97, (pane, colour, rects)
    if zoom != 1:
        save(page, "side-by-side")


def pixel_at(page: Page, point: tuple[float, float], zoom: float) -> tuple[int, int, int]:
    pixels, _ = shot(page, ".verm-pane-overlay .verm-canvas", boxes=False)
    x, y = int(point[0] * zoom), int(point[1] * zoom)
    return tuple(int(v) for v in pixels[y, x])  # type: ignore[return-value]


def near(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 6) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol


def test_swipe_divider_uncovers_the_render(page: Page):
    zoom = 2
    choose(page, "swipe", zoom)
    canvas = page.locator(".verm-pane-overlay .verm-canvas").bounding_box()
    assert canvas is not None
    divider = page.locator(".verm-divider").bounding_box()
    assert divider is not None
    y = canvas["y"] + canvas["height"] / 2
    page.mouse.move(divider["x"] + divider["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(canvas["x"] + canvas["width"] + 20, y, steps=4)  # past the right edge
    page.mouse.up()
    assert near(pixel_at(page, CIRCLE_CENTRE, zoom), REFERENCE_BLUE), "all reference"
    page.mouse.move(canvas["x"] + canvas["width"] - 1, y)
    page.mouse.down()
    page.mouse.move(canvas["x"] - 20, y, steps=4)
    page.mouse.up()
    assert near(pixel_at(page, CIRCLE_CENTRE, zoom), RENDER_ORANGE), "all render"
    page.mouse.move(canvas["x"] + 1, y)
    page.mouse.down()
    page.mouse.move(canvas["x"] + CIRCLE_CENTRE[0] * zoom, y, steps=4)  # to the circle's middle
    page.mouse.up()
    assert near(pixel_at(page, (CIRCLE_CENTRE[0] - 8, 70), zoom), REFERENCE_BLUE)
    assert near(pixel_at(page, (CIRCLE_CENTRE[0] + 8, 70), zoom), RENDER_ORANGE)
    save(page, "swipe")


def set_slider(page: Page, value: float) -> None:
    page.evaluate(f"""(() => {{ const s = document.querySelector('.verm-slider-input');
        s.value = String({round(value * 1000)}); s.dispatchEvent(new Event('input')); }})()""")


def test_onion_skin_slider_fades_between_the_pictures(page: Page):
    zoom = 2
    choose(page, "onion", zoom)
    set_slider(page, 0)
    assert near(pixel_at(page, CIRCLE_CENTRE, zoom), REFERENCE_BLUE)
    set_slider(page, 1)
    assert near(pixel_at(page, CIRCLE_CENTRE, zoom), RENDER_ORANGE)
    set_slider(page, 0.5)
    mid = pixel_at(page, CIRCLE_CENTRE, zoom)
    halfway = tuple((a + b) // 2 for a, b in zip(REFERENCE_BLUE, RENDER_ORANGE, strict=True))
    assert near(mid, halfway, tol=8), mid  # type: ignore[arg-type]
    save(page, "onion-skin")
    choose(page, "diff", zoom)
    save(page, "difference")


def test_clicks_reveal_the_line_and_actions_post_to_the_host(
        page: Page, report: tuple[Path, dict[str, Any]]):
    data = report[1]
    first = data["discrepancies"][0]
    page.click(".verm-list .verm-entry-reveal >> nth=0")
    page.click(".verm-pane-render .verm-box >> nth=-1")
    page.click(".verm-list .verm-fix >> nth=0")
    page.click(".verm-list .verm-pin >> nth=0")
    posted = page.evaluate("window.posted")
    last = data["discrepancies"][-1]
    assert posted[0] == {"type": "ready"}
    assert posted[1] == {"type": "reveal", "index": first["index"], "line": first["line"]}
    assert posted[2] == {"type": "reveal", "index": last["index"], "line": last["line"]}
    assert posted[3] == {"type": "fix", "index": first["index"], "line": first["line"]}
    assert posted[4] == {"type": "pin"}
    assert page.locator(".verm-entry.verm-selected").count() == 1


def test_the_page_keeps_its_content_security_policy(page: Page,
                                                    report: tuple[Path, dict[str, Any]]):
    page_text = report[0].read_text()
    policy = page.evaluate("""document.querySelector(
        'meta[http-equiv=Content-Security-Policy]').content""")
    assert "script-src 'nonce-" in policy and "default-src 'none'" in policy, policy
    assert page_text.count("<script") == 2 and "onclick" not in page_text  # data + viewer
    assert page.evaluate("window.violations") == []
    assert page.locator(".verm-box").count() >= 4  # both panes drawn, so the script ran
