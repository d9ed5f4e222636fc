"""The SVG renderer with real cairosvg (and resvg) in a real warm fork server: pixels, anchors
that sit on those pixels and on the right source lines, and hostile input that reads nothing."""

from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from verm.render.base import RenderOptions
from verm.render.sandbox import Job, Sandbox, SandboxResult
from verm.render.svg import SvgRenderer, _to_render
from verm.source import Source
from verm.types import Anchor, Render

FIXTURES = Path(__file__).parent / "fixtures" / "svg"
BACKENDS = ["cairosvg", "resvg"]  # resvg is in the dev extra: missing it is a failure


@pytest.fixture(scope="module")
def renderer() -> Iterator[SvgRenderer]:
    sandbox = Sandbox(["verm.render.svg_job"])
    yield SvgRenderer(sandbox)
    sandbox.close()


def render(renderer: SvgRenderer, name: str | None = None, *, text: str | None = None,
           path: Path | None = None, **options: object) -> Render:
    src = Source.load(path or FIXTURES / (name or "inline.svg"), text=text)
    return renderer.render(src, RenderOptions(**options))  # type: ignore[arg-type]


def pixels(r: Render) -> np.ndarray:
    assert r.image is not None, r.failure
    return np.asarray(r.image)


def by_key(r: Render) -> dict[str, Anchor]:
    return {a.key: a for a in r.anchors}


def rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def colour_box(img: np.ndarray, hex_color: str) -> tuple[int, int, int, int] | None:
    """The pixel box of every pixel that has exactly this colour."""
    ys, xs = np.nonzero((img == rgb(hex_color)).all(-1))
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def painted_box(img: np.ndarray, anchor: Anchor) -> tuple[int, int, int, int] | None:
    """The pixel box of the anchor's fill and stroke colours together."""
    boxes = [b for c in (anchor.props["fill"], anchor.props["stroke"])
             if c and c.startswith("#") and (b := colour_box(img, c))]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def line_of(text: str, needle: str) -> tuple[int, int]:
    """0-based (line, column) of the first ``needle`` in ``text``."""
    for i, line in enumerate(text.splitlines()):
        if needle in line:
            return i, line.index(needle)
    raise AssertionError(needle)


# --- pixels and anchors -----------------------------------------------------------------------


def test_badge_renders_at_its_declared_size_with_its_colours(renderer: SvgRenderer):
    r = render(renderer, "badge.svg")
    assert r.ok and r.kind == "svg"
    assert r.size == (240, 120)  # width/height, viewBox 120×60 scaled 2×
    assert r.meta["backend"] == "cairosvg" and r.meta["clamped"] is False
    assert r.meta["scale"] == 1.0
    img = pixels(r)
    assert tuple(img[60, 40]) == rgb("#d62728")  # the circle's centre (20, 30) × 2


def test_each_shape_box_is_where_its_pixels_are(renderer: SvgRenderer):
    r = render(renderer, "badge.svg")
    img, anchors = pixels(r), by_key(r)
    dot = anchors["#dot"]
    cx, cy = (dot.box[0] + dot.box[2]) / 2, (dot.box[1] + dot.box[3]) / 2
    assert tuple(img[int(cy), int(cx)]) == rgb(dot.color or "")
    for key in ("#dot", "svg/path[0]", "svg/g[0]/rect[0]", "svg/g[0]/rect[1]"):
        a = anchors[key]
        painted = painted_box(img, a)
        assert painted is not None, key
        x0, y0, x1, y1 = a.box
        # the box holds every pixel of its colours, and is hardly bigger
        assert x0 - 1 <= painted[0] and y0 - 1 <= painted[1], (key, a.box, painted)
        assert painted[2] <= x1 + 1 and painted[3] <= y1 + 1, (key, a.box, painted)
        assert painted[0] - x0 <= 2 and x1 - painted[2] <= 2, (key, a.box, painted)
        assert painted[1] - y0 <= 2 and y1 - painted[3] <= 2, (key, a.box, painted)
    text = next(a for a in r.anchors if a.role == "text")
    x0, y0, x1, y1 = (int(v) for v in text.box)
    assert (img[y0:y1, x0:x1] == 0).all(-1).any(), "the text's box holds black glyph pixels"
    assert anchors["#bars"].box == (140.0, 10.0, 230.0, 30.0)  # union of the <g>'s two rects


def test_boxes_follow_rotation_nested_viewbox_preserve_aspect_ratio_and_use(
        renderer: SvgRenderer):
    r = render(renderer, "transforms.svg")
    img, anchors = pixels(r), by_key(r)
    assert tuple(img[0, 0]) == (255, 255, 255), "white background"
    for key in ("#rot", "#ell", "#inner", "#zig", "#u1"):
        a = anchors[key]
        painted = colour_box(img, a.color or "")
        assert painted is not None, key
        x0, y0, x1, y1 = a.box
        assert x0 - 2 <= painted[0] and y0 - 2 <= painted[1], (key, a.box, painted)
        assert painted[2] <= x1 + 2 and painted[3] <= y1 + 2, (key, a.box, painted)
    # the stroke is part of the ellipse's box: its blue ring reaches the box's edges
    ring = colour_box(img, "#0000ff")
    assert ring is not None and abs(ring[0] - anchors["#ell"].box[0]) <= 1.5
    # rotated rect: the tight device box, not a box of a box
    rot, painted = anchors["#rot"].box, colour_box(img, "#ff0000")
    assert painted is not None and (rot[2] - rot[0]) <= (painted[2] - painted[0]) + 4
    # preserveAspectRatio="xMaxYMid meet": the 80×80 content sits at the right of 120×80
    assert anchors["#inner"].box == (198.0, 108.0, 262.0, 172.0)
    # a <use> and the <defs> element it draws both get the instance's box
    assert anchors["#u1"].box == anchors["#dotdef"].box
    assert anchors["#u1"].color == "#ffff00"


def test_each_anchor_points_at_the_line_where_its_start_tag_begins(renderer: SvgRenderer):
    text = (FIXTURES / "badge.svg").read_text()
    r = render(renderer, "badge.svg")
    anchors = by_key(r)
    expect = {
        "svg": "<svg", "#bg": '<rect id="bg"', "#dot": "<circle", "svg/path[0]": "<path",
        "#bars": "<g id", "svg/g[0]/rect[0]": '<rect x="0"', "svg/g[0]/rect[1]": '<rect x="25"',
        "svg/text[0]": "<text",
    }
    for key, needle in expect.items():
        line, col = line_of(text, needle)
        rng = anchors[key].range
        assert rng is not None
        assert (rng.start.line, rng.start.character) == (line, col), key
        tag = needle.split()[0][1:]
        assert rng.end.character == col + 1 + len(tag), key
    # the <path> start tag spans three lines; lxml alone would report the last one
    path_line = line_of(text, "<path")[0]
    assert text.splitlines()[path_line + 2].strip().endswith("/>")
    assert anchors["svg/path[0]"].range.start.line == path_line  # type: ignore[union-attr]
    # the <text> start tag spans two lines too
    assert anchors["svg/text[0]"].range.start.line == line_of(text, "<text")[0]  # type: ignore[union-attr]


def test_anchor_roles_keys_names_texts_and_colours(renderer: SvgRenderer):
    r = render(renderer, "badge.svg")
    anchors = by_key(r)
    assert anchors["svg"].role == "svg" and anchors["svg"].container
    assert anchors["svg"].box == (0.0, 0.0, 240.0, 120.0)
    assert anchors["#bars"].role == "group" and anchors["#bars"].container
    assert anchors["#dot"].role == "shape" and anchors["#dot"].name == '<circle id="dot">'
    assert anchors["svg/path[0]"].name == "<path> #1"
    assert anchors["svg/g[0]/rect[1]"].name == "<rect> #3"
    text = anchors["svg/text[0]"]
    assert (text.role, text.text, text.name, text.color) == ("text", "OK", "text 'OK'", "#000000")
    assert {a.role for a in r.anchors} <= {"svg", "group", "shape", "text", "image"}
    # colours resolved from the attribute, the inherited group fill and a style declaration
    assert anchors["#dot"].color == "#d62728"
    assert anchors["svg/g[0]/rect[0]"].color == "#1f77b4"
    assert anchors["svg/g[0]/rect[1]"].color == "#ff7f0e"
    path = anchors["svg/path[0]"]
    assert path.props["fill"] == "#2ca02c" and path.props["stroke"] == "#1f5f1f"
    assert path.props["stroke-width"] == "2" and path.props["tag"] == "path"


def test_attr_spans_locate_the_colour_literal_to_replace(renderer: SvgRenderer):
    lines = (FIXTURES / "badge.svg").read_text().splitlines()
    anchors = by_key(render(renderer, "badge.svg"))

    def literal(anchor: Anchor, prop: str) -> tuple[int, str]:
        span = anchor.props["attr_spans"][prop]
        return span["line"], lines[span["line"]][span["start"]:span["end"]]

    assert literal(anchors["#dot"], "fill") == (line_of("\n".join(lines), "<circle")[0],
                                                "#d62728")
    assert literal(anchors["svg/path[0]"], "stroke")[1] == "#1f5f1f"
    # inherited: the span is on the <g> line that sets the fill
    g_line = line_of("\n".join(lines), "<g id")[0]
    assert literal(anchors["svg/g[0]/rect[0]"], "fill") == (g_line, "#1f77b4")
    # a style="" declaration wins over inheritance, and its value is what the span covers
    rect1_line = line_of("\n".join(lines), '<rect x="25"')[0]
    assert literal(anchors["svg/g[0]/rect[1]"], "fill") == (rect1_line, "#ff7f0e")


def test_output_is_deterministic(renderer: SvgRenderer):
    a, b = render(renderer, "transforms.svg"), render(renderer, "transforms.svg")
    assert a.image is not None and b.image is not None
    assert a.image.tobytes() == b.image.tobytes()
    assert [x.to_json() for x in a.anchors] == [x.to_json() for x in b.anchors]


def test_size_defaults_for_icons_without_width_and_height(renderer: SvgRenderer):
    icon = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 12">'
            '<rect width="12" height="12" fill="#ff0000"/></svg>')
    r = render(renderer, text=icon)
    assert r.size == (512, 256)  # the viewBox's aspect, 512 px on the longest side
    assert by_key(r)["svg/rect[0]"].box == (0.0, 0.0, 256.0, 256.0)
    bare = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>'
    assert render(renderer, text=bare).size == (512, 512)


# --- bad input ----------------------------------------------------------------------------------


def test_xxe_is_refused_and_reads_no_file(renderer: SvgRenderer):
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    for backend in ("cairosvg", "resvg"):
        r = render(renderer, "xxe.svg", svg_backend=backend)
        assert not r.ok and r.failure is not None
        assert r.failure.reason == "unsafe"
        assert "entit" in r.failure.message and "XXE" in r.failure.message
        assert r.failure.range.start.line == 2  # the <!ENTITY ...> line
        everything = f"{r.failure.message} {r.failure.detail} {r.meta}"
        assert passwd not in everything and "root:" not in everything


def test_an_entity_pointing_at_a_local_file_is_never_opened(renderer: SvgRenderer,
                                                            tmp_path: Path):
    """A FIFO proves it: opening its write end without blocking fails while nobody reads."""
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    svg = (f'<!DOCTYPE svg [<!ENTITY s SYSTEM "file://{fifo}">]>\n'
           '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
           '<text y="9">&s;</text></svg>')
    opened = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader has it open
                time.sleep(0.001)
                continue
            opened.set()
            os.close(fd)
            return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for backend in ("cairosvg", "resvg"):
            r = render(renderer, text=svg, svg_backend=backend, timeout_s=3)
            assert r.failure is not None and r.failure.reason == "unsafe", r.failure
    finally:
        done.set()
        watcher.join()
    assert not opened.is_set(), "the renderer opened the file an entity points at"


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_network_references_are_never_fetched(renderer: SvgRenderer, backend: str):
    listener = Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}"
        svg = f"""<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "{url}/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg"
     xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">
  <style>@import url("{url}/style.css");</style>
  <image href="{url}/x.png" x="0" y="0" width="50" height="50"/>
  <image xlink:href="{url}/y.svg" x="50" y="0" width="50" height="50"/>
  <use href="{url}/sprite.svg#icon" x="0" y="50"/>
  <rect x="50" y="50" width="40" height="40" fill="url({url}/paint.svg#g) #00ff00"/>
</svg>"""
        r = render(renderer, text=svg, svg_backend=backend)
        assert r.ok, r.failure
        time.sleep(0.3)
        assert listener.connections == 0
        images = [a for a in r.anchors if a.role == "image"]
        assert len(images) == 2 and images[0].box == (0.0, 0.0, 50.0, 50.0)
    finally:
        listener.close()


def test_an_entity_pointing_at_the_network_is_refused_without_a_connection(
        renderer: SvgRenderer):
    listener = Listener()
    try:
        svg = (f'<!DOCTYPE svg [<!ENTITY e SYSTEM "http://127.0.0.1:{listener.port}/e">]>\n'
               '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
               '<text y="9">&e;</text></svg>')
        r = render(renderer, text=svg)
        assert r.failure is not None and r.failure.reason == "unsafe"
        time.sleep(0.3)
        assert listener.connections == 0
    finally:
        listener.close()


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("backend", BACKENDS)
def test_local_files_are_not_read_into_the_picture(renderer: SvgRenderer, backend: str,
                                                   tmp_path: Path):
    red = tmp_path / "red.png"
    red.write_bytes(_png((255, 0, 0)))
    blue = base64.b64encode(_png((0, 0, 255))).decode()
    nested = base64.b64encode(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><image href="{red}" '
        'width="8" height="8"/></svg>'.encode()).decode()
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">
  <filter id="f"><feImage href="{red}"/></filter>
  <image href="file://{red}" x="0" y="0" width="40" height="40"/>
  <image href="{red}" x="40" y="0" width="40" height="40"/>
  <image href="red.png" x="80" y="0" width="40" height="40"/>
  <rect x="80" y="0" width="40" height="40" fill="none" filter="url(#f)"/>
  <image href="data:image/png;base64,{blue}" x="120" y="0" width="40" height="40"/>
  <image href="data:image/svg+xml;base64,{nested}" x="160" y="0" width="40" height="40"/>
</svg>"""
    src = tmp_path / "refs.svg"
    src.write_text(svg)
    r = render(renderer, path=src, svg_backend=backend)
    img = pixels(r)
    assert not (img == (255, 0, 0)).all(-1).any(), "a local file was drawn"
    # the control: an inline data: image is drawn, so a drawn file would have shown
    assert tuple(img[20, 140]) == (0, 0, 255)


def test_a_30000_px_canvas_renders_clamped_within_seconds(renderer: SvgRenderer):
    start = time.monotonic()
    r = render(renderer, "huge.svg")
    elapsed = time.monotonic() - start
    assert r.ok, r.failure
    # Clamped (the size and meta say so); unclamped it would take ~25 s on this machine, far more
    # on a loaded one: the bound only catches a hang, it does not time the render.
    assert elapsed < 15, elapsed
    assert r.size == (4096, 4096)
    assert r.meta["clamped"] is True and r.meta["natural_size"] == [30000.0, 30000.0]
    ball = by_key(r)["#ball"]
    scale = 4096 / 30000
    assert ball.box == pytest.approx(((15000 - 6000) * scale, (22500 - 6000) * scale,
                                      (15000 + 6000) * scale, (22500 + 6000) * scale), abs=0.5)
    small = render(renderer, "huge.svg", max_pixels=600)
    assert small.size == (600, 600) and tuple(pixels(small)[100, 300]) == (255, 0, 0)


def test_resvg_backend_draws_the_same_picture_with_the_same_anchors(renderer: SvgRenderer):
    cairo_r = render(renderer, "badge.svg")
    resvg_r = render(renderer, "badge.svg", svg_backend="resvg")
    assert resvg_r.ok, resvg_r.failure
    assert resvg_r.meta["backend"] == "resvg" and resvg_r.size == cairo_r.size
    diff = np.abs(pixels(cairo_r).astype(int) - pixels(resvg_r).astype(int))
    assert diff.mean() < 3, diff.mean()
    assert [a.to_json() for a in resvg_r.anchors] == [a.to_json() for a in cairo_r.anchors]
    huge = render(renderer, "huge.svg", svg_backend="resvg")
    assert huge.ok and huge.size == (4096, 4096)


def test_malformed_xml_is_a_syntax_failure_on_its_line(renderer: SvgRenderer):
    r = render(renderer, "malformed.svg")
    assert not r.ok and r.failure is not None
    assert r.failure.reason == "syntax"
    assert r.failure.range.start.line == 4  # `</g>` closes the unclosed <circle>
    assert "line 5" in r.failure.message
    not_svg = render(renderer, text="<html><body/></html>")
    assert not_svg.failure is not None and not_svg.failure.reason == "syntax"
    assert "not <svg>" in not_svg.failure.message


def test_unknown_backend_is_a_config_failure(renderer: SvgRenderer):
    r = render(renderer, "badge.svg", svg_backend="inkscape")
    assert r.failure is not None and r.failure.reason == "config"
    assert "cairosvg" in r.failure.message


def test_timeout_is_a_failure_that_says_so(renderer: SvgRenderer):
    # drawing the 30000-px canvas at 4096 px alone takes ~30 ms on a warm worker (0.05 s was
    # sometimes enough for all of it)
    r = render(renderer, "huge.svg", timeout_s=0.01)
    assert r.failure is not None and r.failure.reason == "timeout"
    assert "timed out after 0.01 s" in r.failure.message


def test_memory_limit_is_a_failure_not_a_crash_of_the_caller(renderer: SvgRenderer):
    r = render(renderer, "huge.svg", memory_mb=64)
    assert r.failure is not None and r.failure.reason == "memory", r.failure


def test_cancel_is_a_failure(renderer: SvgRenderer):
    def cancel(job: Job) -> None:
        job.cancel()

    src = Source.load(FIXTURES / "huge.svg")
    r = renderer.render(src, RenderOptions(), on_start=cancel)
    assert r.failure is not None and "cancelled" in r.failure.message


def test_a_crashed_worker_is_named_by_its_signal():
    src = Source.load(FIXTURES / "badge.svg")
    r = _to_render(src, SandboxResult("crash", signal_name="SIGABRT", output="abort"),
                   RenderOptions(svg_backend="resvg"), "resvg")
    assert r.failure is not None and r.failure.reason == "crash"
    assert r.failure.message.startswith("the SVG renderer crashed (SIGABRT)")
    assert "cairosvg" in r.failure.message and r.failure.detail == "abort"
