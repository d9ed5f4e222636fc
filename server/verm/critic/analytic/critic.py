"""The analytic critic, verm's embedded default: classical vision, no model, CPU, milliseconds.

register (scale + offset) → compare (noise-blind difference regions) → attribute (regions and
anchors → discrepancies in the taxonomy). A blank render scores 0; a changed canvas is one
discrepancy rather than a cascade of moved elements.
"""

from __future__ import annotations

import time
from dataclasses import replace

from PIL import Image

from verm.critic.analytic.attribute import Context, attribute
from verm.critic.analytic.compare import Comparison, compare
from verm.critic.analytic.ocr import TextReader
from verm.critic.analytic.pixels import as_rgb, hex_color
from verm.critic.analytic.register import (
    NICE_SCALES,
    Registration,
    crop_placed,
    crop_sized,
    cut_beyond_crop,
    register,
    stretch_fits_better,
)
from verm.critic.analytic.wording import layout_fix
from verm.critic.taxonomy import blank_category, size_category
from verm.types import JPEG_INFO, TAXONOMY, Anchor, Critique, Discrepancy, Reference, Render

MISFIT = 0.10  # share of content that differs above which a changed canvas explains it all
GROSS_MISFIT = 0.5  # a canvas of another shape that leaves most content unexplained: resized
ASPECT = 0.03  # relative change of content aspect that is a real change of shape
FIGURE_SLACK = 16  # px two whole figures' sizes may differ by and still be a crop's
CANVAS_NAMES = {"chart": "figure", "svg": "canvas", "html": "page", "table": "page"}


class AnalyticCritic:
    """Judges pixels against pixels, attributed to the render's anchors (and the sidecar's)."""

    name = "analytic"

    def __init__(self, *, ocr: bool | None = None, tolerance: int | None = None) -> None:
        """``ocr``: None uses tesseract when installed, False never; ``tolerance`` overrides the
        colour slack of the comparison (default: by how noisy the reference is)."""
        self.reader = TextReader(enabled=ocr is not False)
        self.tolerance = tolerance

    def judge(self, reference: Reference, render: Render) -> Critique:
        t0 = time.perf_counter()
        if not render.ok or render.image is None:
            return Critique(rendered=False, critic=self.name, elapsed_ms=_ms(t0))
        domain = render.kind if render.kind in TAXONOMY else "chart"
        if reference.image.mode != "RGB":
            reference = replace(reference, image=as_rgb(reference.image))
        if render.image.mode != "RGB":
            render = replace(render, image=as_rgb(render.image))
        blank = _blank(render, domain)
        if blank is not None and _flat(reference.image):
            # The reference is one colour too: nothing else was to be drawn (a plain square,
            # or a backdrop filling the canvas recoloured) — compared as any other picture.
            blank = None
        if blank is not None:
            return Critique(rendered=False, discrepancies=[blank], critic=self.name,
                            elapsed_ms=_ms(t0), meta={"blank": True})
        sidecar = reference.anchors is not None and reference.anchors_size is not None
        reg = register(reference.image, render.image,
                       expected_size=reference.anchors_size if sidecar else None)
        t1 = time.perf_counter()
        if reg.method == "identical":
            return Critique(rendered=True, critic=self.name, elapsed_ms=_ms(t0),
                            meta={"registration": reg.meta(), "regions": 0,
                                  "timing_ms": {"register": round((t1 - t0) * 1000, 2)}})
        cmp = compare(reference.image, render.image, reg, tolerance=self.tolerance)
        t2 = time.perf_counter()
        found: list[Discrepancy] = []
        canvas = _canvas_change(reg, cmp, domain, reference, render)
        if canvas is not None:
            found.append(canvas)
        # With a sidecar each element's own move is known: no page-wide guess needed.
        shifted = None if sidecar else _content_shift(reg, domain, render)
        if shifted is not None:
            found.append(shifted)
        # A lossy screenshot's faint lines (an alpha 0.3 grid), or a digit turned into one
        # of much the same shape, fall under its tolerance: it is read for them even when no
        # region differs.
        faint = (cmp.lossy and not sidecar and canvas is None
                 and (domain == "chart" or JPEG_INFO in reference.image.info))
        if cmp.regions or faint or (sidecar and (canvas is not None or cmp.diff.any())):
            ctx = Context(
                domain=domain,
                render_anchors=render.anchors,
                ref_anchors=_sidecar_in_ref_pixels(reference) if sidecar else None,
                reference_image=reference.image,
                reader=self.reader,
                canvas_changed=canvas is not None,
            )
            found += attribute(cmp, ctx)
            if shifted is not None and retyped(found):
                # Bars turned on their side: the other axis's tick labels are wider, and the
                # plot moved over with them — the type change's doing, not a layout setting.
                found.remove(shifted)
                shifted = None
            if shifted is not None and domain == "html":
                cmp, found = _in_place_if_better(reference, render, reg, cmp, ctx, found,
                                                 self.tolerance)
        t3 = time.perf_counter()
        meta = {
            "registration": reg.meta(),
            "frame": "render" if cmp.frame.on_render else "reference",
            "tolerance": cmp.tolerance,
            "regions": len(cmp.regions),
            "changed_pixels": cmp.changed_pixels,
            "timing_ms": {
                "register": round((t1 - t0) * 1000, 2),
                "compare": round((t2 - t1) * 1000, 2),
                "attribute": round((t3 - t2) * 1000, 2),
            },
            "ocr": self.reader.available,
        }
        return Critique(rendered=True, discrepancies=found, critic=self.name,
                        elapsed_ms=_ms(t0), meta=meta)


def _in_place_if_better(reference: Reference, render: Render, reg: Registration,
                        cmp: Comparison, ctx: Context, found: list[Discrepancy],
                        tolerance: int | None) -> tuple[Comparison, list[Discrepancy]]:
    """A page whose content all moved by one offset reads as a margin changed; but a first
    heading drawn at another font size moves everything below it by such an offset (its em
    margins too), and it alone is the cause. Judged in place, a scaled heading is one finding
    with what it pushed folded in, while a real margin change leaves everything differing:
    the in-place verdict is kept when it names a text's font size and weighs less (total
    severity, then findings). A crop's "place" is the crop's own least-differing one, and
    there any lighter verdict is kept: content that moved inside a frame that did not (a
    card's heading margin) fits the crop's place better than "everything moved"."""
    dx, dy = reg.crop_place or (0.0, 0.0)
    in_place = replace(reg, dx=dx, dy=dy,
                       method="same-canvas" if reg.crop_place is None else "crop")
    cmp2 = compare(reference.image, render.image, in_place, tolerance=tolerance)
    if not cmp2.regions:
        return cmp, found
    found2 = attribute(cmp2, ctx)
    scaled = any((d.fix or {}).get("property") in ("font-size", "font") for d in found2)
    if (scaled or reg.crop_place is not None) and _score(found2) < _score(found):
        return cmp2, found2
    return cmp, found


def _score(found: list[Discrepancy]) -> tuple[int, int]:
    return sum(d.severity for d in found), len(found)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


def _blank(render: Render, domain: str) -> Discrepancy | None:
    """Every pixel one colour: nothing was drawn (reward 0, like a failed render)."""
    image = render.image
    assert image is not None
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    extrema = rgb.getextrema()
    if any(lo != hi for lo, hi in extrema):  # type: ignore[misc]
        return None
    color = hex_color(tuple(lo for lo, _ in extrema))  # type: ignore[misc]
    w, h = image.size
    return Discrepancy(
        category=blank_category(domain),
        severity=3,
        location=CANVAS_NAMES.get(domain, "figure"),
        description=f"the render is blank: all {w}×{h} pixels are {color}; nothing was drawn",
        render_box=(0.0, 0.0, float(w), float(h)),
    )


def _one_colour(image: Image.Image) -> tuple[int, ...] | None:
    """The colour of a picture that is one colour throughout, else None."""
    extrema = image.getextrema()
    if any(lo != hi for lo, hi in extrema):  # type: ignore[misc]
        return None
    return tuple(lo for lo, _ in extrema)  # type: ignore[misc]


FLAT = 12  # per channel: a JPEG of one flat colour wobbles about this much (and rounds it)


def _flat(reference: Image.Image) -> bool:
    """The reference is one colour throughout, up to lossy-compression noise (a JPEG of a
    plain green square is not exactly one green)."""
    ref = reference.convert("RGB") if reference.mode != "RGB" else reference
    return all(hi - lo <= 2 * FLAT for lo, hi in ref.getextrema())  # type: ignore[misc]


def _sidecar_in_ref_pixels(reference: Reference) -> list[Anchor]:
    """Sidecar anchors are in the pinned render's pixels; the reference may have been resized."""
    assert reference.anchors is not None and reference.anchors_size is not None
    aw, ah = reference.anchors_size
    sx, sy = reference.image.width / max(1, aw), reference.image.height / max(1, ah)
    if abs(sx - 1) < 1e-9 and abs(sy - 1) < 1e-9:
        return list(reference.anchors)
    return [replace(a, box=(a.box[0] * sx, a.box[1] * sy, a.box[2] * sx, a.box[3] * sy))
            for a in reference.anchors]


def _content_shift(reg: Registration, domain: str, render: Render) -> Discrepancy | None:
    """Content aligned by a plain translation on a canvas of the same size (or its crop):
    everything moved (a page's margin, a figure's layout). One discrepancy for it, on the
    page's own margin declarations when the renderer knows them; what else differs is judged
    aligned. Against a crop the move is told as from a crop of as many px each side."""
    (wa, ha), (wb, hb) = reg.ref_size, reg.render_size
    cut = reg.ref_size != reg.render_size
    if (reg.method != "search" or abs(reg.scale - 1) > 0.005
            or (cut and (crop_placed(reg) or not crop_sized(wa, ha, wb, hb)))):
        return None
    # Where in the px cut off the crop sat is unknown: from a centred crop, and a move past
    # half of them.
    mx, my = -reg.dx - (wb - wa) / 2, -reg.dy - (hb - ha) / 2
    if max(abs(mx), abs(my)) <= 1.5 + (wb - wa + hb - ha) / 4:
        return None
    dx, dy = round(mx), round(my)
    name = CANVAS_NAMES.get(domain, "figure")
    body = next((a for a in render.anchors if a.key.endswith("body")), None)
    w, h = reg.render_size
    where = (f"a {name} of the same size" if not cut else
             f"the {name} cropped by about {(wb - wa) / 2:g}×{(hb - ha) / 2:g} px each side")
    return Discrepancy(
        category=size_category(domain),
        severity=2,
        location=body.name if body is not None else name,
        description=(f"everything moved by ({dx:+d}, {dy:+d}) px on {where}: "
                     "a margin, padding or layout setting changed"),
        ref_box=(0.0, 0.0, float(w), float(h)),
        render_box=(0.0, 0.0, float(w), float(h)),
        anchor=body,
        fix=layout_fix(dx, dy),
    )


def retyped(found: list[Discrepancy]) -> bool:
    """A verdict that names the chart type changed (bars turned on their side)."""
    return any((d.fix or {}).get("kind") == "chart-type" for d in found)


def whole_tenths(px: int, dpi: float) -> bool:
    """Whether ``px`` is a size matplotlib draws for a figure sized in tenths of an inch (its
    pixels are the size times the dpi, rounded down): scripts size figures so (``figsize=(6.4,
    4.8)``); a screenshot cropped by a few pixels mostly is not."""
    tenths = round(px / dpi * 10)
    return tenths > 0 and 0 <= tenths * dpi / 10 - px < 1


def _two_figures(reg: Registration, render: Render) -> bool:
    """A chart's reference and render are both whole figures (each side whole tenths of an
    inch at the script's dpi, at one resolution) of sizes more than a crop's few px apart: a
    figure resized, even where its content kept its shape (an ``imshow`` of equal aspect
    centred in a taller figure) — a crop or a padded screenshot is not sized so."""
    dpi = render.meta.get("dpi")
    if not isinstance(dpi, (int, float)) or dpi <= 0 or abs(reg.scale - 1) > 0.01:
        return False
    (wa, ha), (wb, hb) = reg.ref_size, reg.render_size
    return (max(abs(wa - wb), abs(ha - hb)) > FIGURE_SLACK
            and all(whole_tenths(px, dpi) for px in (wa, ha, wb, hb)))


def _canvas_change(reg: Registration, cmp: Comparison, domain: str, reference: Reference,
                   render: Render) -> Discrepancy | None:
    """A real change of figure size or aspect (not a crop, pad or HiDPI scale), or None."""
    wb, hb = reg.render_size
    if domain == "table":
        return None  # a table's canvas is cropped to its content: rows and columns say it all
    if reg.method == "crop" or crop_placed(reg):
        return None  # the same canvas with a few px cut off: placed pixel for pixel
    if domain == "html" and abs(reg.ref_size[0] / reg.scale - wb) <= 1:
        return None  # same viewport width: a taller full-page shot is its content, not a layout
    if reg.expected_size is not None:
        ew, eh = reg.expected_size
        if abs(wb - ew) <= 1 and abs(hb - eh) <= 1:
            return None
        ref_w, ref_h = ew, eh
    else:
        if reg.ref_size == reg.render_size or reg.method in ("identical", "same-canvas"):
            return None  # same canvas: a change inside it is content, judged element by element
        if reg.ref_content is None or reg.render_content is None:
            return None
        ca, cb = reg.ref_content, reg.render_content
        aspect_a = (ca[2] - ca[0]) / max(1, ca[3] - ca[1])
        aspect_b = (cb[2] - cb[0]) / max(1, cb[3] - cb[1])
        # A HiDPI screenshot is a nice scale of the same picture; anything else that leaves much
        # of the content unexplained is a figure of another shape.
        reshaped = abs(aspect_a / aspect_b - 1) > ASPECT or (
            abs(reg.scale - 1) > 0.01 and reg.scale not in NICE_SCALES)
        resized = domain == "chart" and (_two_figures(reg, render) or cut_beyond_crop(reg))
        if not resized and (not reshaped or cmp.misfit() < MISFIT):
            return None
        assert render.image is not None
        # matplotlib stretches the axes of a wider figure but not its texts: a big change of
        # width fits no stretch either, yet a picture of another shape that still leaves most
        # of its content unexplained is not the same figure cropped or scaled.
        if not resized and cmp.misfit() < GROSS_MISFIT and not stretch_fits_better(
                reference.image, render.image, reg):
            return None
        ref_w, ref_h = reg.ref_size
    name = CANVAS_NAMES.get(domain, "figure")
    desc = (f"{name} size differs: reference {ref_w}×{ref_h} px, render {wb}×{hb} px "
            f"(aspect {ref_w / max(1, ref_h):.2f} vs {wb / max(1, hb):.2f})")
    return Discrepancy(
        category=size_category(domain),
        severity=2,
        location=name,
        description=desc,
        ref_box=(0.0, 0.0, float(reg.ref_size[0]), float(reg.ref_size[1])),
        render_box=(0.0, 0.0, float(wb), float(hb)),
        fix={"kind": "size", "expected": [ref_w, ref_h], "actual": [wb, hb]},
    )
