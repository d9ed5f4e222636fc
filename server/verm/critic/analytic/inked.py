"""What changed only where a changed mark's ink came or went is that mark's consequence.

A line given markers covers the lines and spans it crosses; a line made dashed uncovers what
lies under its gaps; a line drawn as scattered points does both. Each of those other elements
then differs from the reference, but only under the changed mark's ink: their findings are
folded into the mark's, not reported as changes of their own.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, Placed, int_box, union
from verm.critic.analytic.pixels import dilate, near_color, parse_hex

UNDER_INK = 0.8  # of a finding's differing pixels under a mark's changed ink: its doing
REACH = 2  # px round the changed ink
MARKS = frozenset({"line", "collection"})
CHANGES = frozenset({"data", "changed", "resized", "extra", "missing", "moved", "retyped"})
SAME_FRAME = 1.0  # px between two plots' frames that are one frame (twin axes)
INK_COLOR = 24.0  # RGB distance from the mark's own colour that is still its ink


def frames_of(placed: list[Placed]) -> dict[str, str]:
    """Each plot's key → the key of the first plot drawn in the same frame: a twin axis
    (``twinx``) is another plot over the same picture, whose lines a change of the first
    plot's covers or uncovers."""
    plots = [(p.anchor.key, p.tight) for p in placed if p.anchor.role == "axes"]
    return {key: next(k for k, b in plots
                      if max(abs(u - v) for u, v in zip(b, box, strict=True)) <= SAME_FRAME)
            for key, box in plots}


def changed_under_marks(findings: list[Finding], cmp: Comparison,
                        frames: dict[str, str]) -> list[Finding]:
    """For each changed line or marker set (biggest first), fold the smaller findings of its
    plot (or its twins, ``frames``) whose differences lie under its changed ink."""
    marks = sorted((f for f in findings if f.anchor is not None and f.anchor.role in MARKS
                    and f.nature in CHANGES and not f.consequence), key=lambda f: -f.pixels)
    for f in marks:
        if f.consequence or f.anchor is None or (color := parse_hex(f.anchor.color)) is None:
            continue
        x0, y0, x1, y1 = int_box(union([b for b in (f.render_box, f.ref_box, f.box) if b]),
                                 cmp.frame)
        if x1 <= x0 or y1 <= y0:
            continue
        ink = (near_color(cmp.ref[y0:y1, x0:x1], color, INK_COLOR)
               | near_color(cmp.render[y0:y1, x0:x1], color, INK_COLOR))
        under_ink(f, (x0, y0, x1, y1), dilate(ink & cmp.diff[y0:y1, x0:x1], REACH),
                  [g for g in findings if g.pixels < f.pixels], cmp, frames)
    return findings


def _frame(key: str, frames: dict[str, str]) -> str:
    plot = key.split("/", 1)[0]
    return frames.get(plot, plot)


def under_ink(f: Finding, box: tuple[int, int, int, int], changed: np.ndarray,
              findings: list[Finding], cmp: Comparison, frames: dict[str, str]) -> None:
    """Mark as ``f``'s consequences the other findings of its plot (or a twin of it) whose
    differing pixels lie (UNDER_INK of them) in ``changed`` (``f``'s ink that came or went,
    over ``box``)."""
    assert f.anchor is not None
    plot = _frame(f.anchor.key, frames)
    x0, y0, x1, y1 = box
    for g in findings:
        a = g.anchor or g.ref_anchor
        if g is f or g.consequence or a is None or _frame(a.key, frames) != plot:
            continue
        gx0, gy0, gx1, gy1 = int_box(g.box, cmp.frame)
        diff = cmp.diff[gy0:gy1, gx0:gx1]
        total = int(np.count_nonzero(diff))
        if not total:
            continue
        ix0, iy0, ix1, iy1 = max(gx0, x0), max(gy0, y0), min(gx1, x1), min(gy1, y1)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        inside = diff[iy0 - gy0:iy1 - gy0, ix0 - gx0:ix1 - gx0] & changed[iy0 - y0:iy1 - y0,
                                                                         ix0 - x0:ix1 - x0]
        if np.count_nonzero(inside) >= UNDER_INK * total:
            g.consequence = True
