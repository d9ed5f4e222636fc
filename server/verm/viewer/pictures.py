"""The three pictures the visual-diff viewer overlays, aligned in one frame.

A reference is rarely pixel-aligned with its render (cropped tight, 2× HiDPI, padded), so
swiping or fading between the raw files would show a shift that is no discrepancy. The
critic's registration already knows the frame where the two line up: the reference, the
render and their difference are drawn there, all the same size, and each discrepancy's boxes
are mapped into it. No boxes are burnt into the pictures: the viewer draws them, numbered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from verm.critic.analytic.compare import compare
from verm.critic.analytic.pixels import differs_from
from verm.critic.analytic.register import register
from verm.types import Box, Discrepancy, Reference, Render

# Difference picture: the render faded; ink only the reference has is red, ink only the render
# has is green, ink both have in different colours is orange (as in critic/diffimage.py).
MISSING = (220, 40, 40)
EXTRA = (30, 150, 60)
CHANGED = (240, 140, 0)
FADE = 0.3


@dataclass
class Pictures:
    """Reference, render and difference in one frame, and each discrepancy's boxes there."""

    reference: Image.Image
    render: Image.Image
    diff: Image.Image
    ref_boxes: list[Box | None]  # per discrepancy: where it is in the reference
    render_boxes: list[Box | None]  # per discrepancy: where it is in the render

    @property
    def size(self) -> tuple[int, int]:
        return self.reference.size


def aligned(reference: Reference, render: Render,
            discrepancies: list[Discrepancy]) -> Pictures:
    """Register ``render`` to ``reference`` and draw both, and their difference, in that frame."""
    if render.image is None:  # nothing rendered: the reference beside a blank canvas
        ref = reference.image.convert("RGB")
        blank = Image.new("RGB", ref.size, "white")
        boxes = [d.ref_box for d in discrepancies]
        return Pictures(ref, blank, ref.copy(), boxes, [None] * len(discrepancies))
    expected = reference.anchors_size if reference.anchors is not None else None
    reg = register(reference.image, render.image, expected_size=expected)
    cmp = compare(reference.image, render.image, reg)
    a, b, diff = cmp.ref, cmp.render, cmp.diff
    faded = (b.astype(np.float32) * FADE + 255 * (1 - FADE)).astype(np.uint8)
    a_ink = differs_from(a, cmp.ref_background)
    b_ink = differs_from(b, cmp.render_background)
    faded[diff & a_ink & ~b_ink] = MISSING
    faded[diff & b_ink & ~a_ink] = EXTRA
    faded[diff & (a_ink == b_ink)] = CHANGED
    frame = cmp.frame
    ref_boxes = [_clip(frame.from_ref(d.ref_box), frame.size) if d.ref_box else None
                 for d in discrepancies]
    render_boxes = [_clip(frame.from_render(d.render_box), frame.size) if d.render_box else None
                    for d in discrepancies]
    return Pictures(Image.fromarray(np.ascontiguousarray(a)),
                    Image.fromarray(np.ascontiguousarray(b)), Image.fromarray(faded),
                    ref_boxes, render_boxes)


def _clip(box: Box, size: tuple[int, int]) -> Box | None:
    """``box`` inside the frame, rounded to 0.1 px; None when it lies wholly outside."""
    w, h = size
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(float(w), box[2]), min(float(h), box[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1))
