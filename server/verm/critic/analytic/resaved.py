"""A JPEG screenshot's thin lines, judged against the render saved the same way.

JPEG smears a thin line's colour (its chroma is stored at half resolution): a 1.5-px line made
dashed, or recoloured, differs from the reference by less than the slack a lossy comparison
needs everywhere else, and no region shows it. But the reference carries its quantization
tables and sampling: saved with them, the render goes through the very same loss. Line by line,
the ink of its colour the reference shows and the resaved render shows are then equal where
nothing changed (to the pixel, on every line of the benchmark's charts), and differ by
half or more where the line was made dashed or dotted (or solid), or recoloured.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import (
    SAME_COLOR,
    Finding,
    changed_marks,
    crowded,
    int_box,
)
from verm.critic.analytic.pixels import (
    Color,
    color_distance,
    content_box,
    dilate,
    dominant_color,
    ink_mask,
    near_color,
    parse_hex,
)
from verm.critic.taxonomy import TOP_CONTAINERS
from verm.types import JPEG_INFO, Anchor

MIN_INK = 40  # px of a line's colour below which its ink says nothing
MORE = 1.5  # reference/render ink of the line's colour from which the render draws less of it
FEWER = 0.6  # … up to which it draws more of it
ON_PATH = 0.9  # of the reference's ink within PATH px of the render's: the same path
PATH = 3
ZONE = 4  # px round the render's line that its dashes' gaps lie within
MORE_WEIGHT = 1.25  # reference/render ink round the line from which one draws less of it
STEP = 24  # per-channel step by which a text's pixel differs from the same loss
MIN_CHANGED = 12  # such pixels that make other glyphs
INKED = 0.6  # of the render's path the reference inks (in another colour: a recolour)


def resaved_render(cmp: Comparison, reference: Image.Image) -> np.ndarray | None:
    """The render's pixels saved as the JPEG reference was (its tables, its sampling) and read
    back; None unless the reference is a JPEG on the render's own canvas, pixel for pixel."""
    spec = reference.info.get(JPEG_INFO)
    f = cmp.frame
    if (not cmp.lossy or not isinstance(spec, dict) or f.scale != 1.0 or f.dx or f.dy
            or f.origin != (0, 0) or cmp.ref.shape != cmp.render.shape
            or reference.size != (cmp.ref.shape[1], cmp.ref.shape[0])):
        return None
    options: dict[str, object] = {"qtables": spec.get("qtables")}
    if isinstance(spec.get("subsampling"), int) and spec["subsampling"] >= 0:
        options["subsampling"] = spec["subsampling"]
    buf = io.BytesIO()
    try:
        Image.fromarray(cmp.render).save(buf, "JPEG", **options)
        buf.seek(0)
        with Image.open(buf) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, TypeError):  # tables PIL cannot write back: no comparison
        return None


def faint_lines(findings: list[Finding], cmp: Comparison, anchors: list[Anchor],
                resaved: np.ndarray) -> list[Finding]:
    """A finding for each chart line with none of its own whose ink of its colour differs
    between the reference and the resaved render: a restyle (the same path, more or less of
    it drawn) or a recolour (the reference inks its path in another colour)."""
    blamed = {f.anchor.key for f in findings if f.anchor is not None}
    marks = changed_marks(findings)
    for a in anchors:
        color = parse_hex(a.color)
        if a.role != "line" or a.key in blamed or color is None:
            continue
        box = cmp.frame.from_render(a.box)
        if crowded(box, marks):
            continue  # a changed mark drawn over much of it: its ink there is that change's
        size = a.props.get("marker_px")
        reach = 2 + (size / 2 if isinstance(size, (int, float)) else 0)
        x0, y0, x1, y1 = int_box((box[0] - reach, box[1] - reach, box[2] + reach,
                                  box[3] + reach), cmp.frame)
        ref = cmp.ref[y0:y1, x0:x1]
        ren = near_color(resaved[y0:y1, x0:x1], color, SAME_COLOR)
        mine = near_color(ref, color, SAME_COLOR)
        nb, na = int(np.count_nonzero(ren)), int(np.count_nonzero(mine))
        if nb < MIN_INK:
            # Compressed harder, a thin line keeps too little of its colour to count: weigh
            # all the ink round where the render draws it instead.
            f = _by_weight(a, box, cmp, resaved, (x0, y0, x1, y1), color)
            if f is not None:
                findings.append(f)
            continue
        ratio = na / nb
        f = None
        # Drawn with less ink, the render's lies on the reference's path (its dashes on the
        # solid line); with more, the reference's lies on the render's.
        if ratio >= MORE and np.count_nonzero(ren & dilate(mine, PATH)) >= ON_PATH * nb:
            f = _restyle(a, box, na - nb, "less ink (dashes or dots)")
        elif ratio <= FEWER and na >= MIN_INK and np.count_nonzero(mine & dilate(ren, PATH)) >= (
                ON_PATH * na):
            f = _restyle(a, box, nb - na, "more ink (a solid or thicker line)")
        elif ratio <= FEWER:
            other = _other_colour(ref, ren, mine, cmp.ref_background, color)
            if other is not None:
                f = Finding("recolor", a, None, box, box, nb, ref_color=other,
                            render_color=color, evidence=[box])
        if f is not None:
            findings.append(f)
    return findings


def _by_weight(a: Anchor, box: tuple[float, float, float, float], cmp: Comparison,
               resaved: np.ndarray, window: tuple[int, int, int, int], color: Color
               ) -> Finding | None:
    """The line judged by how much ink both pictures lay round the render's own line (its
    pixels before compression, grown to bridge a dash's gap), and in what colour."""
    x0, y0, x1, y1 = window
    crisp = near_color(cmp.render[y0:y1, x0:x1], color, SAME_COLOR)
    if np.count_nonzero(crisp) < MIN_INK:
        return None
    zone = dilate(crisp, ZONE)
    ref, ren = cmp.ref[y0:y1, x0:x1][zone], resaved[y0:y1, x0:x1][zone]
    wa = _weight(ref, cmp.ref_background)
    wb = _weight(ren, cmp.render_background)
    if wb.sum() < MIN_INK or wa.sum() < MIN_INK:
        return None
    ratio = float(wa.sum() / wb.sum())
    if ratio >= MORE_WEIGHT:
        return _restyle(a, box, int(wa.sum() - wb.sum()), "less ink (dashes or dots)")
    if ratio <= 1 / MORE_WEIGHT:
        return _restyle(a, box, int(wb.sum() - wa.sum()), "more ink (a solid or thicker line)")
    ca = (ref * wa[:, None]).sum(axis=0) / wa.sum()
    cb = (ren * wb[:, None]).sum(axis=0) / wb.sum()
    if color_distance(tuple(ca), tuple(cb)) <= SAME_COLOR / 2:  # type: ignore[arg-type]
        return None
    strong = ref[wa >= np.quantile(wa, 0.9)]
    other = dominant_color(strong) if len(strong) else None
    return Finding("recolor", a, None, box, box, int(np.count_nonzero(zone)),
                   ref_color=other, render_color=color, evidence=[box])


def _weight(pixels: np.ndarray, ground: Color) -> np.ndarray:
    """Each pixel's ink: how far (0–1) it lies from the ground, its largest channel's step."""
    g = np.asarray(ground, dtype=np.float32)
    return np.abs(pixels.astype(np.float32) - g).max(axis=1) / 255.0


def _restyle(a: Anchor, box: tuple[float, float, float, float], pixels: int,
             how: str) -> Finding:
    f = Finding("restyle", a, None, box, box, max(1, pixels), evidence=[box])
    f.note = f"its path is the reference's, drawn with {how}"
    return f


def _other_colour(ref: np.ndarray, ren: np.ndarray, mine: np.ndarray, ground: Color,
                  color: Color) -> Color | None:
    """The colour the reference inks the render's line path in, when it inks most of it and
    not in the line's own colour."""
    on = ren & ~mine
    if not on.any():
        return None
    inked = ink_mask(ref, ground)[on]
    if np.count_nonzero(inked) < INKED * np.count_nonzero(on):
        return None
    other = dominant_color(ref[on][inked])
    if other is None or color_distance(other, color) <= SAME_COLOR:
        return None
    return other


def faint_texts(findings: list[Finding], cmp: Comparison, anchors: list[Anchor],
                resaved: np.ndarray) -> list[Finding]:
    """When the lossy comparison saw no change at all: a text finding for each text whose
    pixels differ from the resaved render's — a digit or a letter changed into one of much the
    same shape ('3' and '5') hides in a lossy comparison's slack, not in the same loss. (Where
    anything else changed, a text moved by a fraction of a pixel differs as much.)"""
    if findings:
        return findings
    for a in anchors:
        if not a.text or a.container or a.role in TOP_CONTAINERS:
            continue
        box = cmp.frame.from_render(a.box)
        x0, y0, x1, y1 = int_box(box, cmp.frame)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        step = np.abs(cmp.ref[y0:y1, x0:x1].astype(np.int16)
                      - resaved[y0:y1, x0:x1].astype(np.int16)).max(axis=2)
        changed = step > STEP
        inked = content_box(changed)
        if inked is None or np.count_nonzero(changed) < MIN_CHANGED:
            continue
        cx0, cy0, cx1, cy1 = inked
        ev = (float(x0 + cx0), float(y0 + cy0), float(x0 + cx1), float(y0 + cy1))
        findings.append(Finding("text", a, None, box, box, int(np.count_nonzero(changed)),
                                render_text=a.text, evidence=[ev]))
    return findings
