"""A chart line drawn dashed, dotted or with markers where the reference draws it plain (or the
other way round): the same path, another style.

Against a screenshot a restyled line reads as the line "drawn differently" or grown by its
markers' size: a data change, on the plotting call, severity 3. Its own colour's pixels tell the
two apart: a dashed line's pixels all lie on the reference's path (some of the path is missing:
its gaps), markers add pixels round a path the reference's pixels all lie on. Wrong data moves
part of the path, so each side has pixels off the other's.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import (
    SAME_COLOR,
    Finding,
    changed_marks,
    crowded,
    inside,
    int_box,
    union,
)
from verm.critic.analytic.inked import under_ink
from verm.critic.analytic.pixels import dilate, near_color, parse_hex
from verm.types import Anchor, Box

ON_PATH = 0.99  # of one side's line pixels within REACH of the other's: on the same path
SPARSER = 0.75  # of the reference's line ink a dashed or dotted line draws at most
LOST = 0.1  # of the reference's line pixels a dashed line leaves farther than REACH + 1 px
MARKS = 3  # clumps of new ink (markers at data points) that make a restyle, not new data
MARKER_SPAN = 0.6  # of the distance between data points a marker's difference spans at most
REACH = 2  # px
UNCHANGED_REACH = 3  # px from any change beyond which ink both pictures draw is unchanged
MIN_INK = 40  # line pixels below which a path says nothing
PLACE = 3.0  # px between a marker's centres in the two pictures that is still one place
SAME_PLACES = 0.8  # of one side's marker clumps with a partner at the other's: same points
PARTNER_SAMPLE = 400  # clumps whose partners are looked for, at most
NATURES = frozenset({"changed", "resized", "extra", "moved", "recolor"})
AT_MARKERS = 0.8  # of a restyle's changed ink round the markers: the markers changed
MIN_MARK_INK = 12  # px of the line's colour round a marker below which there is no marker
OTHER_SHAPE = 0.12  # of a marker's ink only one picture draws: another shape
RESHAPED = 0.6  # of a line's markers drawn in another shape: the line's marker changed


def restyled_lines(findings: list[Finding], cmp: Comparison,
                   frames: dict[str, str]) -> list[Finding]:
    """Line findings whose path is the reference's become restyles (style, not data); what
    else changed only where a restyled line's ink came or went (its markers over other lines
    and spans, its dashes' gaps) is that restyle's consequence."""
    inked: list[tuple[Finding, tuple[int, int, int, int], np.ndarray]] = []
    for f in findings:
        a = f.anchor
        if (a is None or a.role != "line" or f.consequence or f.nature not in NATURES):
            continue
        color = parse_hex(a.color)
        if color is None:
            continue
        box = union([b for b in (f.render_box, f.ref_box, f.box) if b])
        size = a.props.get("marker_px")
        if isinstance(size, (int, float)):
            # A marker (of another shape, or a new one) reaches past the line's own box.
            reach = size * cmp.frame.px_per_render_px / 2
            box = (box[0] - reach, box[1] - reach, box[2] + reach, box[3] + reach)
        x0, y0, x1, y1 = int_box(box, cmp.frame)
        ref = near_color(cmp.ref[y0:y1, x0:x1], color, SAME_COLOR)
        ren = near_color(cmp.render[y0:y1, x0:x1], color, SAME_COLOR)
        # Ink of its colour both pictures draw far from any change is not its restyle: other
        # lines of the same colour (reference lines at y=1, x=1) crossing its box.
        if min(np.count_nonzero(ref), np.count_nonzero(ren)) < MIN_INK:
            continue
        same = ref & ren & ~dilate(cmp.diff[y0:y1, x0:x1], UNCHANGED_REACH)
        ref, ren = ref & ~same, ren & ~same
        na, nb = max(1, int(np.count_nonzero(ref))), max(1, int(np.count_nonzero(ren)))
        near_ren, near_ref = dilate(ren, REACH), dilate(ref, REACH)
        ref_on = np.count_nonzero(ref & near_ren) / na
        ren_on = np.count_nonzero(ren & near_ref) / nb
        # Between a dotted line's dots (their anti-aliased ends fade out of its colour).
        lost = np.count_nonzero(ref & ~dilate(ren, REACH + 1)) / na
        if ren_on >= ON_PATH and nb <= SPARSER * na and lost <= LOST:
            how = "less ink (dashes or dots)"  # all on the path, all along it, thinner
            if _round_markers(a, (x0, y0), ref ^ ren, cmp):
                how = "other markers (less ink round each point)"  # smaller, or a triangle
        elif ref_on >= ON_PATH and _places(ren & ~near_ref) >= _marks(a.props):
            how = "more ink (markers or a thicker line)"  # ink added at several places
        elif (_marker_shapes(ren ^ ref, _spacing(a.props, f))
              or (_markers_only(a.props) and _same_places(ref, ren))):
            how = "other markers"  # both sides differ only round the data points
        else:
            continue  # each side has pixels off the other's path, or one end grew: the data
        f.nature, f.style = "restyle", None
        f.note = f"its path is the reference's, drawn with {how}"
        made, changed = a.props.get("created_line"), a.props.get("modified_line")
        if isinstance(made, int) and isinstance(changed, int) and made < changed <= made + 2:
            # Styled where it was drawn and again just after (``line.set_dashes(…)``): which
            # of them changed, the pixels cannot tell — the finding covers both.
            f.lines = (made, changed)
        # Its ink that came or went: where the picture changed to or from the line's colour
        # (new markers drawn over other marks, or dashes' gaps showing what lies under).
        inked.append((f, (x0, y0, x1, y1), dilate((ren | ref) & cmp.diff[y0:y1, x0:x1],
                                                  REACH)))
    for f, box, added in inked:
        under_ink(f, box, added, findings, cmp, frames)
    return findings


def _round_markers(a: Anchor, origin: tuple[int, int], changed: np.ndarray,
                   cmp: Comparison) -> bool:
    """Nearly all of what changed lies round the render's markers (their recorded centres):
    the markers changed, not the line between them."""
    marks, size = a.props.get("marks"), a.props.get("marker_px")
    total = int(np.count_nonzero(changed))
    if not isinstance(marks, list) or not isinstance(size, (int, float)) or not total:
        return False
    x0, y0 = origin
    near = np.zeros_like(changed)
    for bx0, by0, bx1, by1 in _marker_windows(marks, size, cmp, REACH):
        near[max(0, by0 - y0):max(0, by1 - y0), max(0, bx0 - x0):max(0, bx1 - x0)] = True
    return np.count_nonzero(changed & near) >= AT_MARKERS * total


def _marker_windows(marks: list[list[float]], size: float, cmp: Comparison, margin: int
                    ) -> list[tuple[int, int, int, int]]:
    """A square round each recorded marker centre (render px) in frame px: the marker's
    width and ``margin`` more on each side."""
    r = int(np.ceil(size * cmp.frame.px_per_render_px / 2)) + margin
    out = []
    for x, y in marks:
        fx, fy, _, _ = cmp.frame.from_render((x, y, x, y))
        cx, cy = round(fx), round(fy)
        out.append((cx - r, cy - r, cx + r + 1, cy + r + 1))
    return out


def _places(mask: np.ndarray) -> int:
    """Separate clumps of at least a few pixels (markers drawn at the data points)."""
    if not mask.any():
        return 0
    _, boxes = label(dilate(mask, 1))
    return sum(1 for ys, xs in boxes if (ys.stop - ys.start) * (xs.stop - xs.start) >= 9)


def _points(props: dict[str, object]) -> int | None:
    """How many data points the line has (its data digest's shape), when known."""
    data = props.get("data")
    if not isinstance(data, str):
        return None
    try:
        return int(data.split(",")[0].lstrip("("))
    except ValueError:
        return None


def _marks(props: dict[str, object]) -> int:
    """Clumps of new ink that make markers: MARKS, or one at each point of a shorter line (a
    two-point line given markers grows at its two ends only)."""
    n = _points(props)
    return max(2, min(MARKS, n)) if n is not None else MARKS


def _spacing(props: dict[str, object], f: Finding) -> float | None:
    """Pixels between consecutive data points along x (the line's width over its points)."""
    n, box = _points(props), f.render_box
    if n is None or box is None or props.get("marker") in (None, "none"):
        return None
    return (box[2] - box[0]) / (n - 1) if n > 1 else None


def _markers_only(props: dict[str, object]) -> bool:
    """Drawn as markers with no line between them (``linewidth=0``, or no line style)."""
    return props.get("marker") not in (None, "none") and (
        props.get("linestyle") == "none" or props.get("linewidth") == 0)


def _same_places(ref: np.ndarray, ren: np.ndarray) -> bool:
    """Do both pictures draw the line's changed markers round the same places? Each clump of
    its ink near a change in one has a clump centred within PLACE px in the other, both ways:
    another marker shape at the same data points (a moved point leaves a clump with no
    partner)."""
    a, b = _centres(ref), _centres(ren)
    if min(len(a), len(b)) < MARKS:
        return False
    return _partnered(a, b) >= SAME_PLACES and _partnered(b, a) >= SAME_PLACES


def _centres(mask: np.ndarray) -> np.ndarray:
    _, boxes = label(mask)
    return np.array([((ys.start + ys.stop) / 2, (xs.start + xs.stop) / 2) for ys, xs in boxes
                     if (ys.stop - ys.start) * (xs.stop - xs.start) >= 9], dtype=float)


def _partnered(a: np.ndarray, b: np.ndarray) -> float:
    """Share of ``a``'s centres (at most PARTNER_SAMPLE of them, evenly taken: a scatter of
    thousands of points) with one of ``b``'s within PLACE px."""
    if len(a) > PARTNER_SAMPLE:
        a = a[np.linspace(0, len(a) - 1, PARTNER_SAMPLE).astype(int)]
    order = np.argsort(b[:, 1])
    bx, by = b[order, 1], b[order, 0]
    lo = np.searchsorted(bx, a[:, 1] - PLACE, side="left")
    hi = np.searchsorted(bx, a[:, 1] + PLACE, side="right")
    hits = sum(bool(np.any(np.hypot(bx[i:j] - x, by[i:j] - y) <= PLACE))
               for (y, x), i, j in zip(a, lo, hi, strict=True))
    return hits / len(a)


def _marker_shapes(off: np.ndarray, spacing: float | None) -> bool:
    """Do the pixels only one side draws form clumps at several data points, each smaller
    than the gap between points? Another marker shape changes the picture only
    round each point; a moved point moves the segments either side of it too."""
    if spacing is None or spacing < 6 or not off.any():
        return False
    _, boxes = label(dilate(off, 1))
    clumps = [(ys.stop - ys.start, xs.stop - xs.start) for ys, xs in boxes
              if (ys.stop - ys.start) * (xs.stop - xs.start) >= 9]
    limit = MARKER_SPAN * spacing
    return len(clumps) >= MARKS and all(h <= limit and w <= limit for h, w in clumps)


def reshaped_markers(findings: list[Finding], cmp: Comparison, anchors: list[Anchor],
                     resaved: np.ndarray | None = None) -> list[Finding]:
    """Lines whose markers the reference draws in another shape at the same size: circles made
    squares change only a few pixels round each point (the corners), each within reach of the
    other picture's rim, so no region shows it. Compared marker by marker (both pictures'
    pixels of the line's colour round each recorded centre), most markers differing by a share
    of their ink while each stays where it was is a restyle of that line. Against a JPEG, the
    render is compared as saved the same way (``resaved``): its ringing round a marker differs
    by as much as a corner from the crisp render's."""
    render = cmp.render if not cmp.lossy else resaved
    if render is None:
        return findings
    blamed = {f.anchor.key for f in findings if f.anchor is not None}
    changed = changed_marks(findings)
    scale = cmp.frame.px_per_render_px
    for a in anchors:
        marks, size = a.props.get("marks"), a.props.get("marker_px")
        color = parse_hex(a.color)
        if (a.role != "line" or a.key in blamed or color is None or not isinstance(marks, list)
                or len(marks) < MARKS or not isinstance(size, (int, float)) or size * scale < 5
                or crowded(cmp.frame.from_render(a.box), changed)):
            continue
        shares: list[float] = []
        boxes: list[tuple[int, int, int, int]] = []
        for box in _marker_windows(marks, size, cmp, 2):
            if box[0] < 0 or box[1] < 0 or box[2] > cmp.frame.size[0] or box[3] > cmp.frame.size[1]:
                continue
            ref = near_color(cmp.ref[box[1]:box[3], box[0]:box[2]], color, SAME_COLOR)
            ren = near_color(render[box[1]:box[3], box[0]:box[2]], color, SAME_COLOR)
            both = np.count_nonzero(ref | ren)
            if both < MIN_MARK_INK or not _centred_alike(ref, ren):
                shares.append(0.0)
                continue
            shares.append(np.count_nonzero(ref ^ ren) / both)
            boxes.append(box)
        if len(shares) < MARKS:
            continue
        reshaped = [s for s in shares if s >= OTHER_SHAPE]
        if len(reshaped) < RESHAPED * len(shares):
            continue
        pixels = sum(int(np.count_nonzero(cmp.diff[b[1]:b[3], b[0]:b[2]])) for b in boxes)
        box = cmp.frame.from_render(a.box)
        f = Finding("restyle", a, None, box, box, max(1, pixels), evidence=boxes[:8])
        f.note = "its path is the reference's, drawn with other markers"
        findings.append(f)
    return findings


def _centred_alike(ref: np.ndarray, ren: np.ndarray) -> bool:
    """Both windows hold the marker round the same centre (a moved point's does not)."""
    if not ref.any() or not ren.any():
        return False
    ay, ax = np.argwhere(ref).mean(axis=0)
    by, bx = np.argwhere(ren).mean(axis=0)
    return bool(np.hypot(ay - by, ax - bx) <= PLACE / 2)


def restyled_handles(findings: list[Finding], cmp: Comparison,
                     anchors: list[Anchor]) -> list[Finding]:
    """A legend entry's handle draws its line's style: a line restyled changes its handle too
    (a marker of another shape in the legend), which reads as the legend drawn differently.
    What differs only in the handle of a restyled line's entry is that restyle's."""
    restyled = [f for f in findings if f.nature == "restyle" and f.anchor is not None
                and f.anchor.role == "line" and f.anchor.props.get("label")]
    if not restyled:
        return findings
    entries = {(a.key.split("/", 1)[0], a.text): a for a in anchors
               if a.role == "legend-text" and a.text}
    legends = {a.key.split("/", 1)[0]: a for a in anchors if a.role == "legend"}
    handles: list[Box] = []
    for f in restyled:
        assert f.anchor is not None
        plot = f.anchor.key.split("/", 1)[0]
        entry, legend = entries.get((plot, str(f.anchor.props["label"]))), legends.get(plot)
        if entry is None or legend is None:
            continue
        pad = 3.0
        handles.append(cmp.frame.from_render((legend.box[0], entry.box[1] - pad, entry.box[0],
                                              entry.box[3] + pad)))
    for g in findings:
        if (g.anchor is None or g.anchor.role != "legend" or g.consequence
                or g.nature not in ("changed", "recolor", "moved", "resized")):
            continue
        spots = [b for b in (*g.evidence, g.render_box if g.nature == "moved" else None) if b]
        if spots and any(all(inside(b, h, 0.8) for b in spots) for h in handles):
            g.consequence = True
    return findings
