"""A grid the screenshot has and the render lacks: one finding, not a dozen "changed" marks.

Without a sidecar, a grid switched off leaves thin reference lines across the plot area that
no render element explains; the pixel pass used to hand their pieces to whatever they crossed
(a line "drawn differently", bars "recoloured" where the grid ran over them). Here a plot area
with no grid in the render is searched for differing rows (or columns) that span most of it and
are a few pixels thick and run where a tick's label is, at least two of them: those are the
reference's grid, reported once, with their pixels explained, on the plot's last line (where a
deleted `ax.grid` call was, or would go back).
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, Placed, at_last_line, union
from verm.critic.analytic.pixels import dilate
from verm.types import Anchor, Box

SPAN = 0.55  # share of the plot area's width (height) a grid line's difference must cover
THICK = 4  # px: thicker runs of differing rows are not grid lines
MIN_LINES = 2
TICK_REACH = 4  # px between a grid line and the middle of its tick's label
BARE = 0.2  # share of a row (column) of the plot that must be bare ground to read a grid on
CLEAR = 2  # px of bare ground round a faint pixel
DASH_GAP = 2  # render px each side: a dotted or dashed grid line's gaps this wide are closed
FAINT = 8  # per channel: a faint line's step over bare ground that a JPEG's noise is not


def missing_grids(cmp: Comparison, placed: list[Placed], explained: np.ndarray
                  ) -> list[Finding]:
    """One finding per plot area whose reference grid is missing from the render; its pixels
    are marked in ``explained``."""
    keys = {p.anchor.key for p in placed}
    # Grid lines run where the ticks are (a plot's own, or its shared axis's labelled
    # neighbour's); the edges of bars that grew with a rescale do not.
    xs = [(p.tight[0] + p.tight[2]) / 2 for p in placed if p.anchor.role == "xticklabel"]
    ys = [(p.tight[1] + p.tight[3]) / 2 for p in placed if p.anchor.role == "yticklabel"]
    out = []
    for p in placed:
        a = p.anchor
        if a.role != "axes" or f"{a.key}/xgrid" in keys or f"{a.key}/ygrid" in keys:
            continue
        x0, y0, x1, y1 = p.box
        if x1 - x0 < 20 or y1 - y0 < 20:
            continue
        diff = cmp.diff[y0:y1, x0:x1] & ~explained[y0:y1, x0:x1]
        # A dotted or dashed grid differs in dashes: its gaps closed along each line.
        gap = max(1, round(DASH_GAP * cmp.frame.px_per_render_px))
        rows = _lines(_along(diff, 1, gap).mean(axis=1))
        cols = _lines(_along(diff, 0, gap).mean(axis=0))
        if cmp.lossy and not (rows or cols):
            # A faint grid (alpha 0.3) differs by ~20 in luma, and JPEG spreads that over two
            # rows: under a lossy comparison's tolerance. Taken as it is drawn: ink the
            # reference has over the render's bare ground, along most of that ground (bars
            # drawn over the grid hide it).
            bare, faint = _faint_ink(cmp, p.box)
            diff = diff | faint
            rows = _lines(_share(faint, bare, 1))
            cols = _lines(_share(faint, bare, 0))
        boxes: list[Box] = [(x0, y0 + r0, x1, y0 + r1) for r0, r1 in rows
                            if _at_tick(y0 + (r0 + r1) / 2, ys)]
        boxes += [(x0 + c0, y0, x0 + c1, y1) for c0, c1 in cols
                  if _at_tick(x0 + (c0 + c1) / 2, xs)]
        boxes = [b for b in boxes if _reference_only(cmp, b, diff=diff, origin=(x0, y0))]
        if len(boxes) < MIN_LINES:
            continue
        pixels = 0
        for bx0, by0, bx1, by1 in boxes:
            ix0, iy0, ix1, iy1 = int(bx0), int(by0), int(bx1), int(by1)
            pixels += int(cmp.diff[iy0:iy1, ix0:ix1].sum())
            explained[iy0:iy1, ix0:ix1] |= cmp.diff[iy0:iy1, ix0:ix1]
        ref_box = union(boxes)
        color = _ink(cmp, boxes)
        grid = Anchor(box=a.box, role="grid", key=f"{a.key}/grid", name="grid lines",
                      range=at_last_line(a), color=color)
        out.append(Finding("missing", None, grid, None, ref_box, pixels, evidence=boxes,
                           name=f"grid lines{_suffix(a.name)}",
                           note=f"{len(boxes)} grid lines of the reference are not drawn; "
                                "the script draws no grid on this plot"))
    return out


def _along(mask: np.ndarray, axis: int, reach: int) -> np.ndarray:
    """``mask`` with gaps of up to 2×``reach`` px closed along ``axis`` (1: rows, 0: columns)."""
    out = mask.copy()
    n = mask.shape[axis]
    for k in range(1, min(reach, n - 1) + 1):
        if axis == 1:
            out[:, k:] |= mask[:, :-k]
            out[:, :-k] |= mask[:, k:]
        else:
            out[k:] |= mask[:-k]
            out[:-k] |= mask[k:]
    return out


def _at_tick(at: float, ticks: list[float]) -> bool:
    return any(abs(at - t) <= TICK_REACH for t in ticks)


def _lines(share: np.ndarray) -> list[tuple[int, int]]:
    """Runs of at most THICK indices whose share of differing pixels is at least SPAN, when
    there are at least MIN_LINES of them."""
    hot = share >= SPAN
    runs: list[tuple[int, int]] = []
    i, n = 0, hot.size
    while i < n:
        if not hot[i]:
            i += 1
            continue
        j = i
        while j < n and hot[j]:
            j += 1
        if j - i <= THICK:
            runs.append((i, j))
        i = j
    return runs if len(runs) >= MIN_LINES else []


def _faint_ink(cmp: Comparison, box: tuple[int, int, int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """The render's bare ground in ``box`` (frame px), and where on it the reference is darker
    by more than a JPEG's noise on flat ground."""
    x0, y0, x1, y1 = box
    ref = cmp.ref[y0:y1, x0:x1].astype(np.int16).sum(axis=2)
    ren = cmp.render[y0:y1, x0:x1].astype(np.int16)
    bare = np.abs(ren - np.array(cmp.render_background, dtype=np.int16)).max(axis=2) <= FAINT
    # Next to the render's own ink a JPEG rings and smears its chroma (a thick line's
    # neighbouring rows darken): only ground bare all round counts.
    bare &= ~dilate(~bare, CLEAR)
    return bare, bare & (ren.sum(axis=2) - ref > 3 * FAINT)


def _share(mask: np.ndarray, bare: np.ndarray, axis: int) -> np.ndarray:
    """Per row (``axis`` 1) or column: the share of its bare ground under ``mask``; 0 where
    less than BARE of it is bare."""
    ground = bare.sum(axis=axis)
    share = mask.sum(axis=axis) / np.maximum(ground, 1)
    share[ground < BARE * bare.shape[axis]] = 0.0
    return share


def _reference_only(cmp: Comparison, box: Box, share: float = 0.3,
                    diff: np.ndarray | None = None, origin: tuple[int, int] = (0, 0)) -> bool:
    """Whether the difference along ``box`` is reference ink over what the render leaves
    empty (a grid line gone), in at least ``share`` of it — not a line drawn elsewhere, whose
    new place shows render ink instead. ``diff``: the differing pixels to read (a crop of the
    frame whose top left is ``origin``), else the comparison's."""
    bx0, by0, bx1, by1 = (int(v) for v in box)
    if diff is None:
        mask = cmp.diff[by0:by1, bx0:bx1]
    else:
        ox, oy = origin
        mask = diff[by0 - oy:by1 - oy, bx0 - ox:bx1 - ox]
    if not mask.any():
        return False
    ref = cmp.ref[by0:by1, bx0:bx1].astype(np.int16)[mask]
    ren = cmp.render[by0:by1, bx0:bx1].astype(np.int16)[mask]
    ref_ink = np.abs(ref - np.array(cmp.ref_background, dtype=np.int16)).max(axis=1) > FAINT
    ren_bare = np.abs(ren - np.array(cmp.render_background, dtype=np.int16)).max(axis=1) <= 12
    return bool((ref_ink & ren_bare).mean() >= share)


def _ink(cmp: Comparison, boxes: list[Box]) -> str | None:
    """The reference's colour along the lines: the median of its ink over the render's bare
    ground (over a recoloured bar a translucent grid takes the bar's hue, and a "grid" in a
    bar's colour passes for a cover drawn over the bars), else of their differing pixels."""
    ground, samples = [], []
    for bx0, by0, bx1, by1 in boxes:
        region = cmp.ref[int(by0):int(by1), int(bx0):int(bx1)].reshape(-1, 3)
        ren = cmp.render[int(by0):int(by1), int(bx0):int(bx1)].astype(np.int16).reshape(-1, 3)
        bare = np.abs(ren - np.array(cmp.render_background, dtype=np.int16)).max(axis=1) <= FAINT
        ink = np.abs(region.astype(np.int16) - np.array(cmp.ref_background, dtype=np.int16)
                     ).max(axis=1) > FAINT
        ground.append(region[bare & ink])
        samples.append(region[cmp.diff[int(by0):int(by1), int(bx0):int(bx1)].reshape(-1)])
    pool = np.concatenate(ground)
    if len(pool) == 0:
        pool = np.concatenate(samples)
    if len(pool) == 0:
        return None
    # A thin or dotted line's anti-aliased rims are paler than the line: its core, the
    # strongest quarter of its ink.
    strength = np.abs(pool.astype(np.int16) - np.array(cmp.ref_background, dtype=np.int16)
                      ).max(axis=1)
    pool = pool[strength >= np.percentile(strength, 75)]
    r, g, b = np.median(pool, axis=0).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def _suffix(axes_name: str) -> str:
    """" (subplot 2)" for a named plot area, else nothing."""
    start = axes_name.find(" (")
    return axes_name[start:] if start >= 0 else ""
