"""The SVG render job: runs INSIDE a forked, rlimited sandbox worker, never in the caller.

``run(payload)`` turns SVG text into raw RGB pixels plus one anchor per drawn element (its
pixel box in the output image and the source range of its start tag). It never raises: every
problem comes back as ``{"ok": false, "failure": RenderFailure.to_json()}``.

Safety (NOTES.md, *Safety facts*): the text is parsed by lxml with entities unresolved, no
network and no DTD loading; a document that declares entities is refused ("unsafe"), so an
XXE payload reads nothing. cairosvg runs in safe mode (``unsafe=False``, its own ``safe_fetch``:
only ``data:`` URLs are fetched; ``http:``, ``file:`` and relative references draw nothing).
The resvg backend would read local image files, so every reference that is not ``#id`` or a
``data:`` raster image is removed before resvg sees the document. The output size is clamped
so that its longest side is at most ``max_pixels``: a 30000² canvas renders scaled down in
milliseconds.

Output size: ``width``/``height`` in px (absolute units at 96 dpi); one of them plus a viewBox
gives the other by the viewBox's aspect; with neither (or percentages) the viewBox's aspect at
``DEFAULT_SIDE`` (512 px) on the longest side — most such files are icons, drawn in a
24-unit box that would be unreadable at its nominal size; with no viewBox either, 512 px.

Boxes come from cairo itself: cairosvg's surface is subclassed so that every node it draws is
measured at the moment it is stroked (device-space path extents, widened by half the stroke
width, clipped) and the box is added to that element and to every element drawing it (its
``<g>``, ``<svg>``, ``<use>``). Elements drawn only through ``<use>`` (in ``<defs>``,
``<symbol>``) get the boxes of their instances. The resvg backend measures with the same code
on a cairo surface that paints nothing, so its text boxes follow cairo's font metrics — and,
since that pass is most of cairosvg's (pure Python) cost, resvg is an alternative for fidelity,
not for speed.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import io
import math
import re
import time
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import cairocffi as cairo
from cairosvg.colors import color
from cairosvg.helpers import paint
from cairosvg.helpers import size as svg_size
from cairosvg.parser import Tree
from cairosvg.surface import PNGSurface
from lxml import etree
from PIL import Image

from verm.types import LINE_BREAK, Range, RenderFailure

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
DEFAULT_SIDE = 512  # px, longest side of an SVG that gives no absolute width/height
DEFAULT_MAX_PIXELS = 4096

SHAPES = frozenset(("rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "use"))
TEXTS = frozenset(("text", "tspan", "textPath"))
GROUPS = frozenset(("g", "a", "switch", "symbol"))
ANCHORED = SHAPES | TEXTS | GROUPS | {"svg", "image"}
# Containers whose content is never drawn where it stands, only through a reference.
HIDDEN = frozenset((
    "defs", "symbol", "marker", "clipPath", "mask", "pattern", "linearGradient",
    "radialGradient", "filter",
))

_UNITS = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
          "in": 96.0, "em": 16.0, "ex": 8.0}
_LENGTH = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%|[A-Za-z]*)\s*")
_START_TAG = re.compile(r"""<([^\s/>!?]+)(?:[^>"']|"[^"]*"|'[^']*')*>""")
_ATTR = re.compile(r"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def _speed_up_cairosvg() -> None:
    """Two behaviour-preserving shortcuts in cairosvg's hot path (~10% of a render).

    Every node drawn deep-copies the text cursor (a tuple of numbers and lists of numbers) and
    parses its ``mask``/``filter``/``clip-path`` references as URLs, mostly empty ones. The
    copy becomes a plain structural copy (anything unexpected still goes to ``deepcopy``), and
    URL parsing without a base (a pure function of the string) is memoised.
    """
    import copy
    import sys
    import types

    import cairosvg.surface
    import cairosvg.url

    def plain_copy(value: Any) -> Any:
        kind = type(value)
        if kind is tuple:
            return tuple(plain_copy(v) for v in value)
        if kind is list:
            return [plain_copy(v) for v in value]
        if value is None or kind in (float, int, str, bool):
            return value
        return copy.deepcopy(value)

    original = cairosvg.url.parse_url
    if getattr(original, "verm_memoised", False):
        return
    memo = lru_cache(maxsize=4096)(original)

    def parse_url(url: Any, base: Any = None) -> Any:
        if base is None and (url is None or type(url) is str):
            return memo(url)
        return original(url, base)

    parse_url.verm_memoised = True  # type: ignore[attr-defined]
    if getattr(cairosvg.surface, "copy", None) is copy:
        cairosvg.surface.copy = types.SimpleNamespace(deepcopy=plain_copy)  # type: ignore
    for name, module in list(sys.modules.items()):
        if name.startswith("cairosvg.") and getattr(module, "parse_url", None) is original:
            module.parse_url = parse_url  # type: ignore[attr-defined]


_speed_up_cairosvg()


# Every element kind and attribute style a typical icon uses, so their code paths are warm.
_GALLERY = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
    '<g transform="translate(4 4) scale(0.9)" style="fill:#5E81AC">'
    '<rect x="1" y="1" width="80" height="60" rx="6" fill="red" stroke="#000"/>'
    '<circle cx="120" cy="40" r="30" fill="#88C0D0" stroke-width="3" stroke="#2E3440"/>'
    '<ellipse cx="200" cy="40" rx="30" ry="20"/><line x1="0" y1="90" x2="250" y2="95" '
    'stroke="#BF616A"/><polyline points="10,120 40,100 70,130" fill="none" stroke="#000"/>'
    '<polygon points="100,100 140,140 100,140"/>'
    '<path d="M160 100 l20 30 q10 10 20 0 c5 -5 10 5 15 0 a10 10 0 0 1 10 10 z"/>'
    '</g><text x="8" y="240" font-family="DejaVu Sans" font-size="20" '
    'text-anchor="start">Warm 0123</text></svg>'
)


def warm() -> None:
    """Import and exercise everything once in the fork server, so each forked render is warm."""
    prewarm()
    with contextlib.suppress(ImportError):  # resvg is an optional extra
        _resvg_options()
    # Move everything imported so far out of the collector's sight: a forked worker then
    # neither walks nor copies (copy-on-write) the whole inherited heap when it collects.
    gc.collect()
    gc.freeze()


def prewarm() -> None:
    """Render the gallery: in the fork server, and in a spare worker while it waits for a job."""
    run({"path": "warm.svg", "text": _GALLERY, "max_pixels": 256, "backend": "cairosvg"})


def run(payload: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Render ``{"path", "text", "max_pixels", "backend", "scale"}``; return ``(header, pixels)``.

    ``scale`` draws at that many times the natural size (a reference captured at another
    resolution); the clamp to ``max_pixels`` still applies.
    """
    text = str(payload.get("text") or "")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a one-shot worker: collections only cost time (and copied pages)
    try:
        zoom = float(payload.get("scale") or 1.0)
        return _render(text, int(payload.get("max_pixels") or DEFAULT_MAX_PIXELS),
                       str(payload.get("backend") or "cairosvg"),
                       zoom if 0 < zoom <= 64 and math.isfinite(zoom) else 1.0)
    except _Refused as refused:
        return _fail(refused.failure)
    except MemoryError:
        return _fail(RenderFailure("memory", "the SVG needs more memory than the render limit "
                                             "allows; reduce its size or its number of elements"))
    except Exception as exc:  # a render failure is a result, never a raise
        return _fail(_failure_of(exc))
    finally:
        if gc_was_enabled:
            gc.enable()


# --------------------------------------------------------------------------------------------
# The render


class _Refused(Exception):
    def __init__(self, failure: RenderFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _fail(failure: RenderFailure) -> tuple[dict[str, Any], bytes]:
    return {"ok": False, "failure": failure.to_json()}, b""


def _failure_of(exc: Exception) -> RenderFailure:
    """Name the cairo/cairosvg exceptions a user can act on."""
    name = type(exc).__name__
    if name == "EntitiesForbidden":
        return RenderFailure("unsafe", "the SVG declares XML entities; verm does not expand "
                                       "them (XXE protection): remove the <!ENTITY> declarations")
    if name == "CairoError" and "NO_MEMORY" in str(exc).upper():
        return RenderFailure("memory", "cairo ran out of memory drawing the SVG; reduce its "
                                       "size or its number of elements")
    return RenderFailure("exception", f"the SVG could not be drawn: {name}: {exc}",
                         detail=f"{name}: {exc}")


def _render(text: str, max_pixels: int, backend: str, zoom: float = 1.0
            ) -> tuple[dict[str, Any], bytes]:
    t0 = time.perf_counter()
    doc = _SourceText(text)
    data = _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")
    root = _parse(doc, data)
    size = _output_size(root, max(16, max_pixels), zoom)
    elements = list(root.iter(etree.Element))
    if backend == "resvg":
        rgb, boxes, nodes = _draw_resvg(root, data, size, len(elements))
    elif backend == "cairosvg":
        rgb, boxes, nodes = _draw_cairosvg(data, size, len(elements), raster=True)
    else:
        raise _Refused(RenderFailure("config", f"unknown SVG backend {backend!r}; use "
                                               "'cairosvg' or 'resvg'"))
    t1 = time.perf_counter()
    boxes[0] = [0.0, 0.0, float(size.width), float(size.height)]  # the root: the canvas
    anchors = _anchors(doc, elements, boxes, nodes)
    if isinstance(rgb, _Pixels):
        layout = {"pixel_format": "BGRX", "stride": rgb.stride}
        rgb = rgb.buffer
    else:
        layout = {"pixel_format": "RGB"}
    header = {
        "ok": True, "width": size.width, "height": size.height, **layout, "scale": size.scale,
        "natural_size": [round(size.natural[0], 3), round(size.natural[1], 3)],
        "clamped": size.clamped, "backend": backend,
        "anchors": anchors,
        "draw_ms": round((t1 - t0) * 1000, 2),
        "anchors_ms": round((time.perf_counter() - t1) * 1000, 2),
    }
    return header, rgb


def _parse(doc: _SourceText, data: bytes) -> etree._Element:
    """Parse without ever resolving an entity or touching the network; refuse entities."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = max(1, int(exc.lineno or 1)) - 1
        msg = str(exc.msg or exc).split(", line ")[0]
        raise _Refused(RenderFailure("syntax", f"the SVG is not well-formed XML: {msg} "
                                               f"(line {line + 1})",
                                     Range.of_line(line, doc.text), detail=str(exc))) from None
    dtd = root.getroottree().docinfo.internalDTD
    entities = list(dtd.iterentities()) if dtd is not None else []
    if entities:
        first = entities[0]
        line = doc.line_of_offset(max(0, doc.text.find("<!ENTITY")))
        external = any(e.system_url for e in entities)
        why = (f"entity '{first.name}' points outside the file ({first.system_url})"
               if external and first.system_url else f"it declares the entity '{first.name}'")
        raise _Refused(RenderFailure(
            "unsafe",
            f"verm refuses to render this SVG: {why}. XML entities can read files or reach "
            "the network (XXE); remove the <!ENTITY> declarations from the DOCTYPE",
            Range.of_line(line, doc.text)))
    if etree.QName(root).localname != "svg":
        raise _Refused(RenderFailure(
            "syntax", f"the root element is <{etree.QName(root).localname}>, not <svg>",
            Range.of_line(max(0, (root.sourceline or 1) - 1), doc.text)))
    return root


# --------------------------------------------------------------------------------------------
# Output size


@dataclass(frozen=True)
class _Size:
    width: int
    height: int
    natural: tuple[float, float]
    viewbox: tuple[float, float, float, float] | None
    scale: float
    clamped: bool


def _length(value: str | None) -> float | None:
    """An absolute length in px; None for absent, percentage, unknown unit or non-positive."""
    if not value:
        return None
    m = _LENGTH.fullmatch(value)
    if not m or m.group(2) == "%" or m.group(2).lower() not in _UNITS:
        return None
    px = float(m.group(1)) * _UNITS[m.group(2).lower()]
    return px if px > 0 and math.isfinite(px) else None


def _viewbox(value: str | None) -> tuple[float, float, float, float] | None:
    try:
        parts = tuple(float(v) for v in re.split(r"[\s,]+", (value or "").strip()))
    except ValueError:
        return None
    if len(parts) != 4 or parts[2] <= 0 or parts[3] <= 0 or not all(map(math.isfinite, parts)):
        return None
    return parts  # type: ignore[return-value]


def _output_size(root: etree._Element, max_pixels: int, zoom: float = 1.0) -> _Size:
    w, h, vb = _length(root.get("width")), _length(root.get("height")), _viewbox(
        root.get("viewBox"))
    if w and h:
        nat = (w, h)
    elif w and vb:
        nat = (w, w * vb[3] / vb[2])
    elif h and vb:
        nat = (h * vb[2] / vb[3], h)
    elif vb:
        s = DEFAULT_SIDE / max(vb[2], vb[3])
        nat = (vb[2] * s, vb[3] * s)
    else:
        nat = (w or DEFAULT_SIDE, h or DEFAULT_SIDE)
    scale = min(zoom, max_pixels / max(nat))
    width = min(max_pixels, max(1, round(nat[0] * scale)))
    height = min(max_pixels, max(1, round(nat[1] * scale)))
    return _Size(width, height, nat, vb, scale, scale < zoom)


def _root_overrides(size: _Size) -> dict[str, str]:
    """Root attributes that make any renderer draw the natural picture at the output size."""
    out = {"width": str(size.width), "height": str(size.height)}
    if size.viewbox is None:  # user units are px: keep them, scale the whole picture
        out["viewBox"] = f"0 0 {size.natural[0]:.6g} {size.natural[1]:.6g}"
    return out


# --------------------------------------------------------------------------------------------
# cairosvg, measuring every node as it is drawn


def _draw_cairosvg(data: bytes, size: _Size, n_elements: int, *, raster: bool
                   ) -> tuple[bytes, dict[int, list[float]], dict[int, Any]]:
    """Draw with cairosvg (safe mode); measure each element as it is drawn."""
    tree = Tree(bytestring=data, unsafe=False)
    tree.update(_root_overrides(size))
    index = {id(el): i for i, el in enumerate(tree.xml_tree.iter())}
    if len(index) != n_elements:  # both parsers see the same elements in the same order
        index = {}
    surface = _MeasuringSurface(tree, index, _hidden_indices(tree.xml_tree), raster)
    pixels: Any = b""
    if raster:
        # cairo's own buffer, shipped as is (BGRX, native little-endian ARGB32): no copy and
        # no conversion here. The surface must outlive the buffer: the worker keeps it.
        target = surface.cairo
        target.flush()
        _KEEP_ALIVE.append(target)
        pixels = _Pixels(target.get_data(), target.get_stride())
    else:
        surface.cairo.finish()
    return pixels, surface.boxes, surface.nodes


_KEEP_ALIVE: list[Any] = []  # a one-shot worker: what the shipped buffers point into


@dataclass(frozen=True)
class _Pixels:
    buffer: Any
    stride: int


class _MeasuringContext(cairo.Context):
    """A cairo context that reports each stroke: cairosvg strokes every node it draws."""

    verm_surface: _MeasuringSurface

    def stroke(self) -> None:
        self.verm_surface.measure_path(self)
        super().stroke()

    def paint_with_alpha(self, alpha: float) -> None:
        self.verm_surface.measure_paint(self)
        super().paint_with_alpha(alpha)


class _GeometryContext(_MeasuringContext):
    """Measures without painting anything: the boxes for a picture another backend draws."""

    def stroke(self) -> None:
        self.verm_surface.measure_path(self)
        self.new_path()

    def fill_preserve(self) -> None:
        pass

    def show_text(self, text: str) -> None:
        pass

    def paint(self) -> None:
        pass

    def paint_with_alpha(self, alpha: float) -> None:
        self.verm_surface.measure_paint(self)


class _MeasuringSurface(PNGSurface):  # type: ignore[misc]
    """cairosvg's PNG surface, keeping a stack of the nodes being drawn and their boxes."""

    def __init__(self, tree: Any, index: dict[int, int], hidden: set[int], raster: bool
                 ) -> None:
        self.boxes: dict[int, list[float]] = {}
        self.nodes: dict[int, Any] = {}
        self._index, self._hidden, self._raster = index, hidden, raster
        self._stack: list[tuple[Any, int | None, bool]] = []
        self._ctx: Any = None
        super().__init__(tree, None, 96)

    @property
    def context(self) -> Any:
        return self._ctx

    @context.setter
    def context(self, ctx: Any) -> None:
        if ctx is not None and type(ctx) is cairo.Context:
            ctx.__class__ = _MeasuringContext if self._raster else _GeometryContext
            ctx.verm_surface = self
        self._ctx = ctx

    def _create_surface(self, width: float, height: float) -> Any:
        w, h = round(width), round(height)
        if self._raster:
            target = cairo.ImageSurface(cairo.FORMAT_ARGB32, w, h)
            white = cairo.Context(target)
            white.set_source_rgb(1, 1, 1)
            white.paint()
        else:  # geometry only: nothing is rasterised
            target = cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, (0, 0, w, h))
        return target, w, h

    def draw(self, node: Any) -> None:
        element = getattr(getattr(node, "element", None), "etree_element", None)
        idx = self._index.get(id(element))
        if idx is not None and idx not in self.nodes:
            self.nodes[idx] = node
        if self._stack:
            parent, _, parent_instanced = self._stack[-1]
            instanced = parent_instanced or parent.tag == "use"
        else:
            instanced = False
        self._stack.append((node, idx, instanced))
        try:
            super().draw(node)
        finally:
            self._stack.pop()

    def _record(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Add a device box to the node drawn and to every element drawing it."""
        if x1 <= x0 or y1 <= y0:
            return
        hidden = self._hidden
        for _, idx, instanced in self._stack:
            if idx is None or (instanced and idx not in hidden):
                continue
            have = self.boxes.get(idx)
            if have is None:
                self.boxes[idx] = [x0, y0, x1, y1]
            else:
                if x0 < have[0]:
                    have[0] = x0
                if y0 < have[1]:
                    have[1] = y0
                if x1 > have[2]:
                    have[2] = x1
                if y1 > have[3]:
                    have[3] = y1

    def _record_device_box(self, ctx: Any, matrix: Any, box: tuple[float, float, float, float],
                           half: float = 0.0) -> None:
        """Record a device box widened by ``half`` px, cut to the clip (device space too)."""
        xx, yx, xy, yy, tx, ty = matrix.as_tuple()
        if yx == 0 and xy == 0:  # clip extents come in user space: map them like the box
            ux0, uy0, ux1, uy1 = ctx.clip_extents()
            ax, bx, ay, by = xx * ux0 + tx, xx * ux1 + tx, yy * uy0 + ty, yy * uy1 + ty
            cx0, cx1 = (ax, bx) if ax <= bx else (bx, ax)
            cy0, cy1 = (ay, by) if ay <= by else (by, ay)
        else:
            ctx.identity_matrix()
            cx0, cy0, cx1, cy1 = ctx.clip_extents()
            ctx.set_matrix(matrix)
        x0, y0, x1, y1 = box
        self._record(max(x0 - half, cx0), max(y0 - half, cy0),
                     min(x1 + half, cx1), min(y1 + half, cy1))

    @staticmethod
    def _user_rect_to_device(matrix: Any, x0: float, y0: float, x1: float, y1: float
                             ) -> tuple[float, float, float, float]:
        """The device bounding box of a user-space rectangle (exact: it maps its corners)."""
        xx, yx, xy, yy, tx, ty = matrix.as_tuple()
        corners = ((x0, y0), (x1, y0), (x0, y1), (x1, y1))
        xs = [xx * x + xy * y + tx for x, y in corners]
        ys = [yx * x + yy * y + ty for x, y in corners]
        return min(xs), min(ys), max(xs), max(ys)

    def measure_path(self, ctx: Any) -> None:
        """At a node's stroke: its path's device box, widened by half the stroke width."""
        if not self._stack:
            return
        node = self._stack[-1][0]
        if node.tag == "image":
            self._measure_image_viewport(ctx, node)
            return
        fill_on = _paints(node.get("fill", "black"))
        stroke_on = _paints(node.get("stroke"))
        if not (fill_on or stroke_on):
            return
        matrix = ctx.get_matrix()
        xx, yx, xy, yy, tx, ty = matrix.as_tuple()
        if yx == 0 and xy == 0:  # axis-aligned (the common case): map the user extents
            ux0, uy0, ux1, uy1 = ctx.path_extents()
            ax, bx, ay, by = xx * ux0 + tx, xx * ux1 + tx, yy * uy0 + ty, yy * uy1 + ty
            x0, x1 = (ax, bx) if ax <= bx else (bx, ax)
            y0, y1 = (ay, by) if ay <= by else (by, ay)
        else:  # rotated or skewed: user extents would be a loose box of a box
            ctx.identity_matrix()
            x0, y0, x1, y1 = ctx.path_extents()
            ctx.set_matrix(matrix)
        if x1 <= x0 and y1 <= y0:  # an empty path or a lone point
            return
        half = 0.0
        if stroke_on:
            half = svg_size(self, node.get("stroke-width", "1")) / 2 * math.sqrt(
                abs(xx * yy - xy * yx))
        if not fill_on and half <= 0:
            return
        self._record_device_box(ctx, matrix, (x0, y0, x1, y1), half)

    def _measure_image_viewport(self, ctx: Any, node: Any) -> None:
        element = node.element.etree_element
        width = svg_size(self, node.get("width") or element.get("width"), "x")
        height = svg_size(self, node.get("height") or element.get("height"), "y")
        if width <= 0 or height <= 0:
            return  # a raster image at its natural size: measured when painted
        x = svg_size(self, node.get("x") or element.get("x"), "x")
        y = svg_size(self, node.get("y") or element.get("y"), "y")
        matrix = ctx.get_matrix()
        box = self._user_rect_to_device(matrix, x, y, x + width, y + height)
        self._record_device_box(ctx, matrix, box)

    def measure_paint(self, ctx: Any) -> None:
        """A raster ``<image>`` painted at its natural size: the painted rectangle."""
        if not self._stack or self._stack[-1][0].tag != "image":
            return
        source = ctx.get_source()
        target = source.get_surface() if isinstance(source, cairo.SurfacePattern) else None
        if target is not None:
            matrix = ctx.get_matrix()
            box = self._user_rect_to_device(matrix, 0, 0, target.get_width(), target.get_height())
            self._record_device_box(ctx, matrix, box)


def _paints(value: str | None) -> bool:
    if not value:
        return False
    value = value.strip().lower()
    return value not in ("none", "transparent")


def _hidden_indices(root: Any) -> set[int]:
    """Indices (document order) of elements inside never-drawn containers such as <defs>."""
    hidden: set[int] = set()

    def walk(el: Any, inside: bool, counter: list[int]) -> None:
        i = counter[0]
        counter[0] += 1
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        inside = inside or tag in HIDDEN
        if inside:
            hidden.add(i)
        for child in el:
            walk(child, inside, counter)

    walk(root, False, [0])
    return hidden


# --------------------------------------------------------------------------------------------
# resvg (optional rasteriser, better SVG coverage; only ever in this isolated worker)


@cache
def _resvg_options() -> Any:
    """resvg options with the system fonts loaded once (in the fork server, by warm())."""
    from resvg import usvg

    options = usvg.Options.default()
    options.load_system_fonts()
    return options


def _draw_resvg(root: etree._Element, data: bytes, size: _Size, n_elements: int
                ) -> tuple[bytes, dict[int, list[float]], dict[int, Any]]:
    """Pixels from resvg; boxes from cairosvg on a recording surface (no rasterising)."""
    try:
        import resvg
    except ImportError:
        raise _Refused(RenderFailure(
            "config", "the resvg backend is not installed: pip install 'verm[fast]', or use "
                      "svg_backend=cairosvg")) from None
    _, boxes, nodes = _draw_cairosvg(data, size, n_elements, raster=False)
    safe = _without_external_references(root, size)
    tree = resvg.usvg.Tree.from_str(safe, _resvg_options())
    png = resvg.render(tree, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
                       bg_size=(size.width, size.height), bg_color=(255, 255, 255, 255))
    image = Image.open(io.BytesIO(bytes(png))).convert("RGB")
    if image.size != (size.width, size.height):
        image = image.resize((size.width, size.height))
    return image.tobytes(), boxes, nodes


def _without_external_references(root: etree._Element, size: _Size) -> str:
    """A copy of the document that resvg cannot use to read files or URLs, at the output size."""
    copy = etree.fromstring(etree.tostring(root))
    for el in copy.iter(etree.Element):
        for attr in ("href", XLINK_HREF):
            ref = (el.get(attr) or "").strip()
            inline = ref.startswith("#") or (ref.startswith("data:") and "svg" not in
                                              ref[:ref.find(",")].lower())
            if attr in el.attrib and not inline:  # an embedded SVG could reference files too
                del el.attrib[attr]
    for style in copy.iter(f"{{{SVG_NS}}}style", "style"):
        style.text = re.sub(r"@import[^;]*;?", "", style.text or "")
    for key, value in _root_overrides(size).items():
        copy.set(key, value)
    return etree.tostring(copy, encoding="unicode")


# --------------------------------------------------------------------------------------------
# Anchors


class _SourceText:
    """Offsets ↔ 0-based (line, column), and every start tag's extent in document order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0, *(m.end() for m in LINE_BREAK.finditer(text))]
        self._tags: list[tuple[int, int, str]] | None = None

    def line_of_offset(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def position(self, offset: int) -> tuple[int, int]:
        line = self.line_of_offset(offset)
        return line, offset - self.line_starts[line]

    @property
    def start_tags(self) -> list[tuple[int, int, str]]:
        """``(offset of '<', offset after '>', qualified name)`` of each start tag."""
        if self._tags is None:
            self._tags = _scan_start_tags(self.text)
        return self._tags

    def backscan(self, sourceline: int, qname: str) -> tuple[int, int, str] | None:
        """Fallback: the last ``<qname`` at or before the end of lxml's (1-based) line."""
        end = self.line_starts[sourceline] if sourceline < len(self.line_starts) else len(
            self.text)
        pos = self.text.rfind("<" + qname, 0, end)
        if pos < 0:
            return None
        m = _START_TAG.match(self.text, pos)
        return (pos, m.end() if m else pos + len(qname) + 1, qname)


def _scan_start_tags(text: str) -> list[tuple[int, int, str]]:
    """Start tags in document order, skipping comments, CDATA, PIs, the DOCTYPE and end tags."""
    tags: list[tuple[int, int, str]] = []
    i, n = 0, len(text)
    while True:
        i = text.find("<", i)
        if i < 0:
            return tags
        if text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            i = n if j < 0 else j + 3
        elif text.startswith("<![CDATA[", i):
            j = text.find("]]>", i + 9)
            i = n if j < 0 else j + 3
        elif text.startswith("<?", i):
            j = text.find("?>", i + 2)
            i = n if j < 0 else j + 2
        elif text.startswith("<!", i):  # DOCTYPE, maybe with an internal subset [...]
            j, bracket = text.find(">", i), text.find("[", i)
            if 0 <= bracket < j:
                close = text.find("]", bracket)
                j = text.find(">", close) if close >= 0 else -1
            i = n if j < 0 else j + 1
        elif text.startswith("</", i):
            j = text.find(">", i)
            i = n if j < 0 else j + 1
        else:
            m = _START_TAG.match(text, i)
            if not m:
                i += 1
                continue
            tags.append((i, m.end(), m.group(1)))
            i = m.end()


@dataclass
class _Tag:
    """One element's start tag in the source: its extent and (lazily) its attribute values."""

    start: int
    end: int
    _attrs: dict[str, tuple[int, int]] | None = None

    def attrs(self, text: str) -> dict[str, tuple[int, int]]:
        """Attribute name → offsets of its value (inside the quotes)."""
        if self._attrs is None:
            self._attrs = {}
            for m in _ATTR.finditer(text, self.start, self.end):
                group = 2 if m.group(2) is not None else 3
                self._attrs[m.group(1)] = (m.start(group), m.end(group))
        return self._attrs


@dataclass
class _Element:
    """What the anchors need of one lxml element, computed once."""

    el: etree._Element
    tag: str  # local name
    in_svg: bool
    parent: int  # index of the parent element, -1 for the root
    key: str
    tag_pos: _Tag | None = None


def _elements(doc: _SourceText, elements: list[etree._Element]) -> list[_Element]:
    """Local names, parents, keys (``svg/g[0]/rect[2]``) and start tags, in one pass.

    lxml's ``sourceline`` is the line where a start tag ENDS; the forward scan of the source
    gives where each tag begins (same document order). If the two disagree, scan backwards
    from lxml's line for ``<name``.
    """
    scanned = doc.start_tags
    same = len(scanned) == len(elements)
    index = {el: i for i, el in enumerate(elements)}
    seen: dict[tuple[int, str], int] = {}
    out: list[_Element] = []
    for i, el in enumerate(elements):
        full = el.tag
        brace = full.rfind("}")
        tag = full[brace + 1:]
        ns = full[1:brace] if brace > 0 else None
        qname = f"{el.prefix}:{tag}" if el.prefix else tag
        parent_el = el.getparent()
        parent = index.get(parent_el, -1) if parent_el is not None else -1
        if parent < 0:
            key = tag
        else:
            n = seen.get((parent, tag), 0)
            seen[(parent, tag)] = n + 1
            key = f"{out[parent].key}/{tag}[{n}]"
        hit: tuple[int, int, str] | None = None
        if same and scanned[i][2] == qname:
            hit = scanned[i]
        elif el.sourceline:
            hit = doc.backscan(el.sourceline, qname)
        out.append(_Element(el, tag, ns in (None, SVG_NS), parent, key,
                            _Tag(hit[0], hit[1]) if hit else None))
    return out


def _declaration_span(text: str, tag: _Tag, prop: str) -> tuple[int, int] | None:
    """Where ``prop`` is set on this element: a ``style`` declaration wins over the attribute."""
    spans = tag.attrs(text)
    style = spans.get("style")
    if style and prop in text[style[0]:style[1]]:
        body = text[style[0]:style[1]]
        found = None
        for m in _STYLE_DECLARATION[prop].finditer(body):  # the last declaration wins
            found = (style[0] + m.start(1), style[0] + m.end(1))
        if found:
            return found
    return spans.get(prop)


_STYLE_DECLARATION = {
    prop: re.compile(rf"(?:^|;)\s*{prop}\s*:\s*([^;]*?)\s*(?:!\s*important\s*)?(?=;|$)")
    for prop in ("fill", "stroke")
}


def _anchors(doc: _SourceText, elements: list[etree._Element],
             boxes: dict[int, list[float]], nodes: dict[int, Any]) -> list[dict[str, Any]]:
    """Anchor JSON (the shape of ``Anchor.to_json``), built directly: ``asdict`` is slow."""
    infos = _elements(doc, elements)
    by_id = {info.el.get("id"): i for i, info in enumerate(infos) if info.el.get("id")}
    ordinal: dict[str, int] = {}
    anchors: list[dict[str, Any]] = []
    for i, info in enumerate(infos):
        tag, el = info.tag, info.el
        if not info.in_svg:
            continue
        ordinal[tag] = ordinal.get(tag, 0) + 1
        box = boxes.get(i)
        if box is None or tag not in ANCHORED:
            continue
        node = nodes.get(i) or el.attrib
        if info.tag_pos is not None:
            line, col = doc.position(info.tag_pos.start)
            end = col + 1 + len(el.tag) - el.tag.rfind("}") - 1 + (
                len(el.prefix) + 1 if el.prefix else 0)
            rng = {"start": {"line": line, "character": col},
                   "end": {"line": line, "character": end}}
        else:
            rng = Range.of_line(max(0, (el.sourceline or 1) - 1), doc.text).to_json()
        text = _text_of(el) if tag in TEXTS else None
        fill = node.get("fill", "black")
        stroke = node.get("stroke")
        spans = {}
        for prop, value in (("fill", fill), ("stroke", stroke)):
            span = _source_of(doc, infos, i, prop, value)
            if span is not None:
                spans[prop] = span
        if text and info.tag_pos is not None:
            span = _text_span(doc, info.tag_pos.start, text)
            if span is not None:
                spans["text"] = span  # a text fix edits the words, not the start tag
        el_id = el.get("id")
        container = tag == "svg" or tag in GROUPS
        main_color = _main_color(fill, stroke) if spans or not container else None
        if tag == "use":  # drawn in the colours of what it references
            ref = by_id.get((el.get("href") or el.get(XLINK_HREF) or "").lstrip("#"))
            ref_node = nodes.get(ref) if ref is not None else None
            if ref_node is not None:
                main_color = _main_color(ref_node.get("fill", "black"), ref_node.get("stroke"))
        anchors.append({
            "box": [round(box[0], 2), round(box[1], 2), round(box[2], 2), round(box[3], 2)],
            "role": _role(tag),
            "key": f"#{el_id}" if el_id else info.key,
            "name": _name(tag, el_id, text, ordinal[tag]),
            "range": rng,
            "text": text,
            # a container's colour only when it sets one (what its children inherit)
            "color": main_color,
            "container": container,
            "props": {"tag": tag, "fill": fill, "stroke": stroke,
                      "stroke-width": node.get("stroke-width", "1"), "attr_spans": spans},
        })
    return anchors


def _role(tag: str) -> str:
    if tag == "svg":
        return "svg"
    if tag in GROUPS:
        return "group"
    if tag in TEXTS:
        return "text"
    if tag == "image":
        return "image"
    return "shape"


def _name(tag: str, el_id: str | None, text: str | None, ordinal: int) -> str:
    if text:
        short = text if len(text) <= 40 else text[:37] + "..."
        return f"{tag} '{short}'"
    if el_id:
        return f'<{tag} id="{el_id}">'
    return f"<{tag}> #{ordinal}"


def _text_of(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _source_of(doc: _SourceText, infos: list[_Element], i: int, prop: str,
               value: str | None) -> dict[str, int] | None:
    """The literal that sets ``prop``: on the element, or on the ancestor it inherits from."""
    if not value:
        return None
    text = doc.text
    while i >= 0:
        info = infos[i]
        if info.tag_pos is not None:
            span = _declaration_span(text, info.tag_pos, prop)
            if span is not None:
                if text[span[0]:span[1]].strip().lower() != value.strip().lower():
                    return None  # a stylesheet rule or a `use` overrides it: no literal to fix
                line, start = doc.position(span[0])
                end_line, end = doc.position(span[1])
                if end_line != line:
                    return None
                return {"line": line, "start": start, "end": end}
        i = info.parent
    return None


def _text_span(doc: _SourceText, start: int, text: str) -> dict[str, int] | None:
    """Where the element's words are in the source (the first line of them), after its tag."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not first:
        return None
    at = doc.text.find(first, start)
    if at < 0:
        return None
    line, col = doc.position(at)
    end_line, end = doc.position(at + len(first))
    return {"line": line, "start": col, "end": end if end_line == line else col}


def _main_color(fill: str | None, stroke: str | None) -> str | None:
    return _hex(fill) or _hex(stroke)


@cache
def _hex(value: str | None) -> str | None:
    """'#rrggbb' of a paint value; None for none/transparent/gradients without fallback."""
    if not _paints(value):
        return None
    _, literal = paint(value)
    if not literal or not _paints(literal):
        return None
    r, g, b, a = color(literal)
    if a <= 0:
        return None
    return "#{:02x}{:02x}{:02x}".format(*(min(255, max(0, round(c * 255))) for c in (r, g, b)))
