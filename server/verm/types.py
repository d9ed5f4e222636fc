"""The small typed records that cross pipeline stages: pins → render → critic → locate → lsp.

Every stage speaks these and nothing else, so a new renderer or critic plugs in without the
others changing. Boxes are pixel boxes ``(x0, y0, x1, y1)`` with the origin at the image's top
left; positions are 0-based, lines ending at \\n, \\r\\n or \\r, columns in code points;
the language server converts columns to the client's position encoding at its boundary
(``verm.lsp.positions``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

Box = tuple[float, float, float, float]

LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""Where a line ends, for LSP and for the parsers behind every renderer (Python, XML and HTML
all read a lone '\\r' as a line break; a form feed or U+2028 is none, unlike str.splitlines)."""
LOSSY_INFO = "verm_lossy"  # ``Image.info`` key of a reference decoded from a lossy format (JPEG)
JPEG_INFO = "verm_jpeg"  # ``Image.info`` key of a JPEG reference's quantization tables and sampling

Kind = Literal["chart", "svg", "html", "table"]
"""What a source is: the renderer that draws it and the taxonomy domain that judges it."""

# The error taxonomy of DESIGN.md: shared by every critic, the training data and the benchmarks.
TAXONOMY: dict[str, tuple[str, ...]] = {
    "chart": ("structure_error", "data_error", "text_error", "style_error"),
    "svg": ("structure_error", "shape_error", "style_error", "text_symbol_error"),
    "table": ("layout_error", "text_error", "numeric_error"),
    "html": ("structure_error", "layout_error", "text_error", "style_error"),
}


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int = 0


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    @classmethod
    def of_line(cls, line: int, text: str | None = None) -> Range:
        """The whole of one 0-based line (its length from ``text`` when known)."""
        width = 0
        if text is not None:
            lines = LINE_BREAK.split(text)
            if 0 <= line < len(lines):
                width = len(lines[line])
        return cls(Position(line, 0), Position(line, width))

    @classmethod
    def span(cls, line: int, start: int, end: int) -> Range:
        return cls(Position(line, start), Position(line, end))

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "start": {"line": self.start.line, "character": self.start.character},
            "end": {"line": self.end.line, "character": self.end.character},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Range:
        s, e = d["start"], d["end"]
        return cls(Position(s["line"], s["character"]), Position(e["line"], e["character"]))


TOP_OF_FILE = Range(Position(0, 0), Position(0, 0))


@dataclass
class Anchor:
    """One visible element of a render: where it is drawn and which source text produced it.

    ``role`` says what the element is, in a small per-domain vocabulary the critic and locate
    understand (see ROLES). ``key`` is a stable identity that survives edits of unrelated
    elements (``ax0/bar3``, ``html>body>div[1]``), used to compare a render element to element
    with the anchors saved beside a pinned reference. ``name`` is the human location used in
    messages ("bar 'Q3'", "title", "row 3, column 'Qty'").
    """

    box: Box
    role: str
    key: str
    name: str
    range: Range | None = None
    text: str | None = None
    color: str | None = None  # '#rrggbb': the element's main colour (fill, line or text colour)
    container: bool = False  # holds other anchors (figure, axes, <body>, <g>, table)
    props: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["box"] = [round(v, 2) for v in self.box]
        d["range"] = self.range.to_json() if self.range else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Anchor:
        return cls(
            box=tuple(float(v) for v in d["box"]),  # type: ignore[arg-type]
            role=str(d["role"]),
            key=str(d["key"]),
            name=str(d.get("name") or d["role"]),
            range=Range.from_json(d["range"]) if d.get("range") else None,
            text=d.get("text"),
            color=d.get("color"),
            container=bool(d.get("container", False)),
            props=dict(d.get("props") or {}),
        )

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


# Roles each renderer emits. The critic maps (domain, role) to a taxonomy category.
ROLES: dict[str, tuple[str, ...]] = {
    "chart": (
        "figure", "axes", "suptitle", "title", "xlabel", "ylabel", "xticklabel", "yticklabel",
        "legend", "legend-text", "line", "bar", "patch", "wedge", "collection", "text", "grid",
        "spine", "colorbar", "image",
    ),
    "svg": ("svg", "group", "shape", "text", "image"),
    "html": ("page", "element", "text", "image", "table", "cell", "header"),
    "table": ("page", "table", "header", "cell", "text"),
}


@dataclass
class RenderFailure:
    """Why a source did not render; shown as one diagnostic on ``range``."""

    reason: Literal["exception", "syntax", "timeout", "crash", "memory", "no-figure", "blank",
                    "decode", "config", "unsafe"]
    message: str
    range: Range = TOP_OF_FILE
    detail: str = ""  # e.g. the mapped traceback

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "message": self.message, "range": self.range.to_json(),
                "detail": self.detail}


@dataclass
class Render:
    """The picture of a source (RGB) and its anchors, or the failure that prevented it."""

    kind: Kind
    source: Path
    image: Image.Image | None
    anchors: list[Anchor] = field(default_factory=list)
    failure: RenderFailure | None = None
    elapsed_ms: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)  # renderer facts: dpi, viewport, backend

    @property
    def ok(self) -> bool:
        return self.failure is None and self.image is not None

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size if self.image is not None else (0, 0)


@dataclass
class Reference:
    """A pinned reference: the image and, when verm pinned it, the anchors of that render."""

    path: Path
    image: Image.Image
    anchors: list[Anchor] | None = None  # from the sidecar; None for a hand-made screenshot
    anchors_size: tuple[int, int] | None = None  # image size the sidecar anchors refer to


@dataclass
class Discrepancy:
    """One visual mismatch, in the taxonomy of its domain."""

    category: str
    severity: int  # 1 minor, 2 moderate, 3 severe
    location: str
    description: str
    ref_box: Box | None = None  # reference pixels
    render_box: Box | None = None  # render pixels
    anchor: Anchor | None = None  # the render element blamed, when one is
    range: Range | None = None  # filled in by locate
    fix: dict[str, Any] | None = None  # what a quick fix needs: {"kind": "color", "expected": ...}
    related: list[Discrepancy] = field(default_factory=list)
    """Consequences folded into this root cause (ticks of a rescaled axis, cells a wider
    column moved): shown with it, never as diagnostics of their own."""

    def to_json(self) -> dict[str, Any]:
        out = {
            "category": self.category,
            "severity": self.severity,
            "location": self.location,
            "description": self.description,
            "range": (self.range or TOP_OF_FILE).to_json(),
            "bbox": [round(v, 1) for v in self.ref_box] if self.ref_box else None,
        }
        if self.related:
            out["related"] = [{
                "location": r.location,
                "description": r.description,
                "range": (r.range or TOP_OF_FILE).to_json(),
                "bbox": [round(v, 1) for v in r.ref_box] if r.ref_box else None,
            } for r in self.related]
        return out


@dataclass
class Critique:
    """A critic's verdict: the discrepancies and the reward of DESIGN.md."""

    rendered: bool
    discrepancies: list[Discrepancy] = field(default_factory=list)
    critic: str = "analytic"
    elapsed_ms: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. registration scale/offset
    notes: list[str] = field(default_factory=list)  # about the judgement itself, for the user

    @property
    def reward(self) -> float:
        """DESIGN.md's reward; an ensemble's is its model's (``meta["reward"]``)."""
        from verm.reward import reward

        if self.meta.get("reward") is not None:
            return float(self.meta["reward"])
        return reward([d.severity for d in self.discrepancies], rendered=self.rendered)
