"""The renderer interface: a source in, a ``Render`` (image + anchors, or a failure) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


class Renderer(Protocol):
    kind: Kind

    def render(self, source: Source, options: RenderOptions) -> Render:
        """Draw ``source``. Never raises for bad user input: a failure is a ``Render`` too."""
        ...

    def close(self) -> None:
        """Release workers, browsers and pools."""
        ...
