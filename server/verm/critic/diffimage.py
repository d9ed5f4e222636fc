"""The visual diff for humans: reference | render | difference, discrepancies outlined.

In the difference panel the render is faded; ink only the reference has is red, ink only the
render has is green, ink both have in different colours is orange.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from verm.critic.analytic.compare import compare
from verm.critic.analytic.pixels import differs_from
from verm.critic.analytic.register import register
from verm.types import Critique, Reference, Render

GAP = 8
HEADER = 18
MISSING = (220, 40, 40)
EXTRA = (30, 150, 60)
CHANGED = (240, 140, 0)
SEVERITY_COLORS = {3: (200, 0, 0), 2: (230, 120, 0), 1: (40, 90, 220)}


def diff_image(reference: Reference, render: Render, critique: Critique) -> Image.Image:
    """Side-by-side image of the judgement, in the comparison frame (the coarser picture)."""
    if render.image is None:
        return _captioned([(reference.image.convert("RGB"), "reference"),
                           (Image.new("RGB", reference.image.size, "white"), "no render")])
    expected = reference.anchors_size if reference.anchors is not None else None
    reg = register(reference.image, render.image, expected_size=expected)
    cmp = compare(reference.image, render.image, reg)
    a, b, diff = cmp.ref, cmp.render, cmp.diff
    faded = (b.astype(np.float32) * 0.3 + 255 * 0.7).astype(np.uint8)
    a_ink = differs_from(a, cmp.ref_background)
    b_ink = differs_from(b, cmp.render_background)
    faded[diff & a_ink & ~b_ink] = MISSING
    faded[diff & b_ink & ~a_ink] = EXTRA
    faded[diff & a_ink & b_ink] = CHANGED
    faded[diff & ~a_ink & ~b_ink] = CHANGED
    panels = [Image.fromarray(np.ascontiguousarray(a)), Image.fromarray(np.ascontiguousarray(b)),
              Image.fromarray(faded)]
    for i, d in enumerate(critique.discrepancies, start=1):
        if d.render_box is None:
            continue
        x0, y0, x1, y1 = cmp.frame.from_render(d.render_box)
        color = SEVERITY_COLORS.get(d.severity, SEVERITY_COLORS[2])
        for p in panels:
            draw = ImageDraw.Draw(p)
            draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=color, width=2)
            draw.text((x0, max(0, y0 - 12)), str(i), fill=color)
    title = f"difference (reward {critique.reward:.2f}, {len(critique.discrepancies)} found)"
    return _captioned([(panels[0], "reference"), (panels[1], "render"), (panels[2], title)])


def _captioned(panels: list[tuple[Image.Image, str]]) -> Image.Image:
    w = sum(p.width for p, _ in panels) + GAP * (len(panels) - 1)
    h = max(p.height for p, _ in panels) + HEADER
    out = Image.new("RGB", (w, h), (245, 245, 245))
    draw = ImageDraw.Draw(out)
    x = 0
    for p, caption in panels:
        out.paste(p, (x, HEADER))
        draw.text((x + 4, 3), caption, fill=(30, 30, 30))
        x += p.width + GAP
    return out
