"""The renderer interface: a source in, a ``Render`` (image + anchors, or a failure) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

from verm.safeio import DEFAULT_LIMITS, ReadLimits
from verm.source import Source
from verm.types import Kind, Render


@dataclass(frozen=True)
class RenderOptions:
    """Knobs every renderer understands; pragmas and config fill them in (see options_for)."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    viewport: tuple[int, int] = (1280, 800)
    full_page: bool = False
    figure: str | None = None  # chart: which figure (number or label) when a script makes several
    max_pixels: int = 4096  # longest side of any render; bigger canvases are scaled down
    chromium_path: str | None = None  # None: discover (VERM_CHROMIUM, PATH, known locations)
    svg_backend: str = "cairosvg"  # or "resvg" (isolated child only)
    # Draw at this many times the natural pixel size (chart dpi, SVG size): set by the checker
    # to meet a reference captured at another resolution, so both are compared pixel for pixel.
    scale: float = 1.0
    # Chart: draw every figure at this size in inches (its dpi unchanged), set by the checker
    # to meet a reference of another shape, so what else differs shows beside the size.
    figure_inches: tuple[float, float] | None = None
    # Installed modules the chart fork server imports before it forks, and whether it also
    # learns the ones scripts import (see Sandbox.preload).
    preload: tuple[str, ...] = ()
    learn_imports: bool = True
    # What the renderer itself reads from the workspace (linked stylesheets, page assets): the
    # user's caps, set by the checker from the user config (never from a workspace file).
    read_limits: ReadLimits = DEFAULT_LIMITS


class Renderer(Protocol):
    kind: Kind

    def render(self, source: Source, options: RenderOptions) -> Render:
        """Draw ``source``. Never raises for bad user input: a failure is a ``Render`` too."""
        ...

    def close(self) -> None:
        """Release workers, browsers and pools."""
        ...


# How a sandboxed job may lay out its pixels: the buffer its rasteriser drew into, shipped as
# is (no conversion or copy in the worker, where every fresh page costs a fault); the one
# conversion to RGB happens here. Bytes per pixel for each.
RAW_FORMATS = {"RGB": 3, "RGBX": 4, "BGRX": 4}


def image_from_raw(header: dict[str, Any], blob: bytes) -> Image.Image | str:
    """The RGB picture a job sent as ``blob``; a message instead when the sizes disagree.

    ``header`` names ``width``, ``height``, ``pixel_format`` (one of ``RAW_FORMATS``, default
    RGB) and ``stride`` (bytes per row, default tight).
    """
    width, height = int(header["width"]), int(header["height"])
    fmt = str(header.get("pixel_format") or "RGB")
    if fmt not in RAW_FORMATS or width <= 0 or height <= 0:
        return f"unknown pixel layout {fmt!r} for a {width}×{height} image"
    stride = int(header.get("stride") or width * RAW_FORMATS[fmt])
    if stride < width * RAW_FORMATS[fmt] or len(blob) != stride * height:
        return f"{len(blob)} bytes for a {width}×{height} {fmt} image"
    # PIL's unpacker is the fast path (~0.2 ms at 800×600, ten times numpy's strided copy);
    # frombytes decodes into an image of its own, never sharing the worker's buffer.
    return Image.frombytes("RGB", (width, height), blob, "raw", fmt, stride, 1)


def is_blank_raw(blob: bytes) -> bool:
    """All white (and opaque, for 4-byte layouts): the job drew nothing visible."""
    return blob.count(b"\xff") == len(blob)
