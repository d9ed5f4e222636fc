"""A legend the screenshot has and the render lacks: one finding, not the marks it lay over.

Without a sidecar, a legend whose call was deleted leaves a framed box of reference ink that no
render element explains; the pixel pass used to hand it to whatever lay under it (a wedge
"recoloured", grid lines "resized", unnamed data "missing" on the `subplots` line). Here, when
the render's plot has labelled series but draws no legend, a region of unexplained difference
whose reference pixels draw a rectangle's frame (long even runs along its top, bottom and a
side, which the render does not draw there; a translucent frame's edge is even once what the
render shows under it is taken out) holding a handle in a labelled series' colour is that
legend: reported once, as a missing legend (structure), on the plot's last line — where the
deleted `ax.legend` call was, or would go back.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import Finding, Placed, at_last_line
from verm.critic.analytic.pixels import dilate, longest_run, near_color, parse_hex
from verm.types import Anchor, Box

MIN_SIZE = (24, 14)  # px: a legend of one short entry
MAX_SHARE = 0.6  # of the canvas's width (height): bigger regions are not a legend
EDGE_REACH = 6  # px inside the region's box where its frame's edge may run
OUTSIDE = 4  # px outside it, against a JPEG
INSET = 6  # px of each edge left out for a rounded frame's corners
EVEN = 0.85  # share of an edge's pixels within SLACK of their median colour
SLACK = 16
LOSSY_SLACK = 28  # a JPEG's noise, amplified by taking a translucent frame's ground out
LOSSY_EVEN = 0.75  # … and its smear of a frame's edge over two rows
ALPHAS = (1.0, 0.8, 0.5)  # a frame's opacity: opaque, matplotlib's default (0.8), half
FRAME_INK = 8  # the edge's colour differs from the ground by more than this (a pale frame)
HANDLE_RADIUS = 24  # RGB distance of a handle's pixels from its series' colour
LOSSY_RADIUS = 40  # … a thin handle's against a JPEG, which smears its colour
HANDLE_RUN = 8  # px of it in a row make a handle (a marker 6 pt across at 100 dpi)
OUTLINE_INSET = 3  # px inside the frame where its face begins
RIM = 2  # px round the frame its anti-aliased edge still colours


def missing_legends(cmp: Comparison, placed: list[Placed], explained: np.ndarray
                    ) -> list[Finding]:
    """One finding per plot whose series have labels but no legend, where the reference draws
    a framed legend-sized box that nothing in the render explains; its pixels are marked in
    ``explained``."""
    plots = [p for p in placed if p.anchor.role == "axes" and p.anchor.props.get("unshown_handles")]
    if not plots or any(p.anchor.role == "legend" for p in placed):
        return []
    mask = cmp.diff & ~explained
    if not mask.any():
        return []
    h, w = mask.shape
    _, regions = label(dilate(mask, 2))
    frames: list[Box] = []
    for rows, cols in regions:
        y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
        if (x1 - x0 < MIN_SIZE[0] or y1 - y0 < MIN_SIZE[1]
                or x1 - x0 > MAX_SHARE * w or y1 - y0 > MAX_SHARE * h):
            continue
        if (box := _framed(cmp, (x0, y0, x1, y1))) is not None:
            frames.append(box)
    out: list[Finding] = []
    taken: set[str] = set()
    for box in sorted(frames, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        plot = _owner(plots, box)
        if plot is None or plot.anchor.key in taken or not _handles(cmp, box, plot):
            continue
        taken.add(plot.anchor.key)
        # The frame's soft rim reaches a pixel or two past it.
        x0, y0 = max(0, int(box[0]) - RIM), max(0, int(box[1]) - RIM)
        x1, y1 = min(w, int(np.ceil(box[2])) + RIM), min(h, int(np.ceil(box[3])) + RIM)
        pixels = int(cmp.diff[y0:y1, x0:x1].sum())
        explained[y0:y1, x0:x1] |= cmp.diff[y0:y1, x0:x1]
        a = plot.anchor
        suffix = a.name[a.name.find(" ("):] if " (" in a.name else ""
        labels = ", ".join(f"'{t}'" for t, _ in a.props["unshown_handles"][:4])
        legend = Anchor(box=cmp.frame.to_render(box), role="legend", key=f"{a.key}/legend",
                        name=f"legend{suffix}", range=at_last_line(a))
        out.append(Finding("missing", None, legend, None, box, pixels, evidence=[box],
                           name=f"legend{suffix}",
                           note=f"the script draws no legend for {labels} on this plot"))
    return out


def _framed(cmp: Comparison, box: tuple[int, int, int, int]) -> Box | None:
    """The frame the reference draws round ``box`` (its top and bottom edges and one side,
    within EDGE_REACH of the box's sides) where the render draws none, or None."""
    x0, y0, x1, y1 = box
    h, w = cmp.diff.shape
    # A pale frame's edge may differ under a JPEG's slack: it lies a little outside the patch.
    o = OUTSIDE if cmp.lossy else 0
    top = _edge(cmp, [(y, x0, x1) for y in range(max(0, y0 - o), min(y1, y0 + EDGE_REACH))],
                rows=True)
    bottom = _edge(cmp, [(y, x0, x1) for y in range(min(h, y1 + o) - 1,
                                                    max(y0, y1 - 1 - EDGE_REACH), -1)],
                   rows=True)
    left = _edge(cmp, [(x, y0, y1) for x in range(max(0, x0 - o), min(x1, x0 + EDGE_REACH))],
                 rows=False)
    right = _edge(cmp, [(x, y0, y1) for x in range(min(w, x1 + o) - 1,
                                                   max(x0, x1 - 1 - EDGE_REACH), -1)],
                  rows=False)
    if top is None or bottom is None or (left is None and right is None):
        return None
    frame = (left if left is not None else x0, top,
             right + 1 if right is not None else x1, bottom + 1)
    return tuple(float(v) for v in frame) if _outline(cmp, frame) else None  # type: ignore[return-value]


def _outline(cmp: Comparison, frame: tuple[int, int, int, int]) -> bool:
    """A frame round a face of another colour, not the rim of a solid shape (a bar recoloured
    or grown draws its own colour along its edges and all through)."""
    x0, y0, x1, y1 = frame
    if x1 - x0 <= 2 * OUTLINE_INSET or y1 - y0 <= 2 * OUTLINE_INSET:
        return False
    edge = np.median(cmp.ref[y0, x0 + INSET:x1 - INSET].astype(np.int16), axis=0)
    inside = cmp.ref[y0 + OUTLINE_INSET:y1 - OUTLINE_INSET,
                     x0 + OUTLINE_INSET:x1 - OUTLINE_INSET].astype(np.int16)
    return bool((np.abs(inside - edge).max(axis=2) <= SLACK).mean() < 0.5)


def _edge(cmp: Comparison, lines: list[tuple[int, int, int]], *, rows: bool) -> int | None:
    """The first of ``lines`` (index, start, stop) along which the reference draws one even,
    non-ground colour and the render does not."""
    ground = np.array(cmp.ref_background, dtype=np.int16)
    slack, even = (LOSSY_SLACK, LOSSY_EVEN) if cmp.lossy else (SLACK, EVEN)
    for at, start, stop in lines:
        if stop - start <= 2 * INSET + 4:
            return None
        sl = (at, slice(start + INSET, stop - INSET)) if rows else (slice(start + INSET,
                                                                          stop - INSET), at)
        ref = cmp.ref[sl].astype(np.float32)
        ren = cmp.render[sl].astype(np.float32)
        for alpha in ALPHAS:
            # A translucent frame over what the render shows there: ref = α·edge + (1-α)·render
            edge = (ref - (1 - alpha) * ren) / alpha
            median = np.median(edge, axis=0)
            if np.abs(median - ground).max() <= FRAME_INK:
                continue
            if (np.abs(edge - median).max(axis=1) <= slack).mean() < even:
                continue
            if (np.abs(ren - median).max(axis=1) <= SLACK).mean() >= 0.5:
                continue  # the render draws this edge too: not what it lacks
            return at
    return None


def _handles(cmp: Comparison, box: Box, plot: Placed) -> bool:
    """Whether the reference draws, inside the frame, a handle in the colour of one of the
    plot's labelled series (a run of HANDLE_RUN px of it along a row: a line's stroke, a
    patch, a marker): a legend, not a framed note (``ax.text(…, bbox=…)``), whose glyphs'
    soft edges take every grey but only in short runs."""
    x0, y0, x1, y1 = (int(v) for v in box)
    inside = cmp.ref[y0:y1, x0:x1]
    radius = LOSSY_RADIUS if cmp.lossy else HANDLE_RADIUS
    return any(longest_run(near_color(inside, color, radius)).max(initial=0)
               >= HANDLE_RUN
               for _, hexed in plot.anchor.props.get("unshown_handles") or ()
               if (color := parse_hex(hexed)) is not None)


def _owner(plots: list[Placed], box: Box) -> Placed | None:
    """The plot holding the box's centre, else the nearest one (a legend placed outside)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2

    def gap(p: Placed) -> float:
        x0, y0, x1, y1 = p.tight
        return float(np.hypot(max(x0 - cx, 0, cx - x1), max(y0 - cy, 0, cy - y1)))

    return min(plots, key=gap, default=None)
