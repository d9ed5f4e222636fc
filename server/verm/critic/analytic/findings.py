"""What attribution passes between its steps: anchors placed in the comparison frame, findings
(one thing that differs, before it is worded), and the box geometry they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from verm.critic.analytic.compare import Comparison, Frame
from verm.critic.analytic.ocr import TextReader
from verm.critic.analytic.pixels import INK, Color, differs_from, parse_hex
from verm.types import Anchor, Box, Position, Range

PAD = 1.5  # anchor boxes grow by this (frame px): zero-height lines, anti-aliased edges
SAME_COLOR = 48.0  # RGB distance within which two colours are "the same"
LIGHT_INK = 12  # channel difference from the background that makes a pixel content here


@dataclass
class Context:
    """What attribution needs besides the comparison."""

    domain: str
    render_anchors: list[Anchor]
    ref_anchors: list[Anchor] | None  # sidecar, already in reference pixels
    reference_image: Image.Image  # original reference, for OCR at full resolution
    reader: TextReader | None = None
    canvas_changed: bool = False


@dataclass
class Placed:
    """An anchor and its box in the comparison frame (integer, padded, clipped)."""

    anchor: Anchor
    box: tuple[int, int, int, int]
    tight: Box  # unpadded, frame px
    color: Color | None = None  # anchor.color parsed

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return max(0, x1 - x0) * max(0, y1 - y0)


@dataclass
class Finding:
    """One thing that differs, with its evidence (frame px), before it is worded."""

    nature: str
    anchor: Anchor | None = None  # render element blamed
    ref_anchor: Anchor | None = None  # the same element in the reference sidecar
    render_box: Box | None = None  # frame px
    ref_box: Box | None = None  # frame px
    pixels: int = 0
    ref_color: Color | None = None
    render_color: Color | None = None
    ref_text: str | None = None
    render_text: str | None = None
    evidence: list[Box] = field(default_factory=list)
    name: str | None = None  # overrides the anchor's name (merged findings)
    members: int = 1  # anchors merged into this finding
    also: list[str] = field(default_factory=list)  # other places showing the same change
    style: tuple[str, object, object] | None = None  # restyle: (property, reference, render)
    consequence: bool = False  # the sidecar shows it unchanged itself: it moved with others
    provisional: bool = False  # a consequence taken on trust until the reference's words read
    note: str | None = None  # what else the sidecar says about the change ("y-axis now …")
    line: int | None = None  # the source line to blame when not the anchor's (limits set)
    lines: tuple[int, int] | None = None  # first and last line, where no element is (deleted)
    columns: tuple[int, int] | None = None  # columns-moved: the two columns in another order

    @property
    def role(self) -> str:
        a = self.anchor or self.ref_anchor
        return a.role if a else "figure"

    @property
    def container(self) -> bool:
        a = self.anchor or self.ref_anchor
        return bool(a and a.container)

    @property
    def box(self) -> Box:
        boxes = [b for b in (self.ref_box, self.render_box, *self.evidence) if b]
        return union(boxes) if boxes else (0.0, 0.0, 0.0, 0.0)


def union(boxes: list[Box]) -> Box:
    """The smallest box holding all ``boxes``."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def place(anchor: Anchor, box: Box, frame: Frame) -> Placed | None:
    """``anchor`` at ``box`` (frame px), grown by PAD and clipped; None when off the frame."""
    w, h = frame.size
    x0, y0, x1, y1 = box
    if x1 < x0:
        x0, x1 = x1, x0
    if y1 < y0:
        y0, y1 = y1, y0
    ib = (max(0, int(np.floor(x0 - PAD))), max(0, int(np.floor(y0 - PAD))),
          min(w, int(np.ceil(x1 + PAD))), min(h, int(np.ceil(y1 + PAD))))
    if ib[2] <= ib[0] or ib[3] <= ib[1]:
        return None
    return Placed(anchor, ib, (x0, y0, x1, y1), parse_hex(anchor.color))


def diff_in(cmp: Comparison, box: tuple[int, int, int, int]) -> int:
    """Differing pixels inside ``box``."""
    x0, y0, x1, y1 = box
    return int(np.count_nonzero(cmp.diff[y0:y1, x0:x1]))


def int_box(box: Box, frame: Frame) -> tuple[int, int, int, int]:
    w, h = frame.size
    return (max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1]))),
            min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3]))))


def norm_text(t: str | None) -> str | None:
    return " ".join(t.split()) if t else None


def offset(a: Box, b: Box) -> tuple[float, float]:
    return (b[0] - a[0], b[1] - a[1])


def moved_or_resized(a: Box, b: Box) -> str:
    """How box ``b`` relates to box ``a``: moved (same size), resized, or changed (same box)."""
    if max(abs(u - v) for u, v in zip(a, b, strict=True)) <= PAD:
        return "changed"  # same extent, different drawing inside it
    same_size = (abs((a[2] - a[0]) - (b[2] - b[0])) <= PAD
                 and abs((a[3] - a[1]) - (b[3] - b[1])) <= PAD)
    return "moved" if same_size else "resized"


def crop_ink(img: np.ndarray, bg: Color, box: tuple[int, int, int, int],
              threshold: int = INK) -> int:
    x0, y0, x1, y1 = box
    crop = img[y0:y1, x0:x1]
    if crop.size == 0:
        return 0
    return int(np.count_nonzero(differs_from(crop, bg, threshold)))


def area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def inside(inner: Box, outer: Box, share: float = 0.8) -> bool:
    """At least ``share`` of ``inner``'s area lies in ``outer``."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    a = area(inner)
    return a > 0 and ix * iy >= share * a


CROWDED = 0.5  # of a mark's box another changed mark's covers: their pixels not told apart
MARKS = frozenset({"line", "collection", "bar", "patch", "wedge"})


def changed_marks(findings: list[Finding]) -> list[Box]:
    """The boxes of the chart marks (lines, bars, …) findings already blame."""
    return [f.box for f in findings if f.anchor is not None and f.anchor.role in MARKS]


def crowded(box: Box, marks: list[Box]) -> bool:
    """Much of ``box`` lies under a changed mark: what differs there may be that change's."""
    return any(inside(box, b, CROWDED) for b in marks)


def grow(b: Box, m: float) -> Box:
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def written(a: Anchor) -> tuple[int, int]:
    """Where the element's code starts (an SVG paints in this order); needs its range."""
    assert a.range is not None
    return a.range.start.line, a.range.start.character


# A chart's labels and free texts: their words changing alone moves no plot's frame and
# turns no bars (tick labels can move a frame: wider ones push it over).
WORDS = frozenset({"title", "suptitle", "xlabel", "ylabel", "legend-text", "text"})


def only_words(findings: list[Finding]) -> bool:
    """Every finding is a chart label's or text's (a title changed, and nothing else)."""
    return all(f.anchor is not None and f.anchor.role in WORDS for f in findings)


def texty(a: Anchor) -> bool:
    """An element that is text (its change is a text change, not a shape change)."""
    return a.role in ("title", "suptitle", "xlabel", "ylabel", "xticklabel", "yticklabel",
                      "legend-text", "text", "cell", "header")


_NUMBER = re.compile(r"^[\s$€£¥+\-−]*[\d.,]+\s*[%kKMBx×]?[\s\d.,eE+\-−^]*$")


_TEX = re.compile(r"\\[A-Za-z]+|[${}^_]")


def numeric(text: str | None) -> bool:
    """A number as a tick label writes it, mathtext included ('$\\mathdefault{10^{-2}}$')."""
    return bool(text) and bool(_NUMBER.match(_TEX.sub("", text or "")))


def at_last_line(a: Anchor) -> Range | None:
    """Where a guide's missing call goes back: after the plot's last line (``last_line``), so
    that line to the next where the script goes on (``next_line``: a blank line between is
    no place for it), the insertion point between them (as a missing shape's or page
    element's lines); else the plot's own range (its `subplots` line)."""
    last = a.props.get("last_line")
    if not isinstance(last, int):
        return a.range
    after = a.props.get("next_line")
    end = after if isinstance(after, int) and last < after <= last + 2 else last + 1
    return Range(Position(last, 0), Position(end + 1, 0))


def first_line(a: Anchor) -> int:
    """The element's first source line."""
    assert a.range is not None
    return a.range.start.line


def last_line(a: Anchor) -> int:
    """The element's last line: its range's, or its last attribute's (a tag over lines)."""
    assert a.range is not None
    spans = a.props.get("attr_spans")
    lines = [a.range.end.line]
    if isinstance(spans, dict):
        lines += [int(s["line"]) for s in spans.values() if isinstance(s, dict) and "line" in s
                  and not s.get("file")]
    return max(lines)
