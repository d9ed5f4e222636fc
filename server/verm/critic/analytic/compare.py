"""Pixel difference → regions, in the coarser of the two frames, blind to rendering noise.

Two images "agree" at a pixel when its colour lies within the per-channel range of the other
image's 3×3 neighbourhood (± a tolerance), both ways. That forgives anti-aliasing, sub-pixel
font hinting, resampling and JPEG ringing, yet a 1-px line, a recoloured bar or a changed glyph
is outside any such range and shows up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from verm.critic.analytic.components import label
from verm.critic.analytic.pixels import (
    Color,
    abs_diff,
    as_rgb,
    channel_max,
    differs_from,
    dilate,
    ink_mask,
    longest_run,
    neighbourhood_range,
    rgb_array,
    sample,
)
from verm.critic.analytic.register import Registration
from verm.types import LOSSY_INFO, Box

TOLERANCE = 10
"""Colour slack (per channel) beyond the neighbourhood range; lossy references get more."""
NOISY_TOLERANCE = 40
FAINT = 14  # lossy references: smaller differences count where both pictures are flat
FLAT = 10  # per-channel 3×3 range under which a neighbourhood is flat
GROUP_RADIUS = 3  # dilation that joins the glyphs of a word into one region
MIN_PIXELS = 6  # a region with fewer differing pixels is a speck
EXACT_MIN_PIXELS = 3  # same renderer, same canvas: no noise, so one changed glyph counts
JITTER = 2  # px a resampled reference's glyphs may land off (see forgive_jitter)
JITTER_AREA = 20_000  # regions larger than this (box px) are never jitter
JITTER_TILE = 12  # px: glyph-sized tiles, each with its own shift
CUT_REACH = 2  # px along a cut edge its content's anti-aliased rim may reach past the ink
HIDPI = 1.5  # reference/render scale from which a screenshot reads as a HiDPI screen's
LINE_SHARE = 0.3  # a row (column) faintly different unbroken along this share of it: a line
FEW_LINES = 0.1  # … and a picture with at most this share of such rows is lines, not noise
SPARSE = 0.05  # below this share of candidate pixels, test them one by one (gathered)


@dataclass(frozen=True)
class Frame:
    """The comparison frame: render pixels when the reference is larger, else reference pixels.

    ``origin`` is where the frame starts in those base pixels: the frame covers both pictures,
    so reference content beyond the render's canvas (a table row the render lacks) is compared
    too.
    """

    scale: float  # x_ref = scale·x_render + dx
    dx: float
    dy: float
    on_render: bool
    size: tuple[int, int]
    origin: tuple[int, int] = (0, 0)

    def from_render(self, box: Box) -> Box:
        b = box if self.on_render else _affine(box, self.scale, self.dx, self.dy)
        return _affine(b, 1.0, -self.origin[0], -self.origin[1])

    def to_render(self, box: Box) -> Box:
        b = _affine(box, 1.0, self.origin[0], self.origin[1])
        if self.on_render:
            return b
        s = self.scale
        return _affine(b, 1 / s, -self.dx / s, -self.dy / s)

    def from_ref(self, box: Box) -> Box:
        s = self.scale
        b = _affine(box, 1 / s, -self.dx / s, -self.dy / s) if self.on_render else box
        return _affine(b, 1.0, -self.origin[0], -self.origin[1])

    def to_ref(self, box: Box) -> Box:
        b = _affine(box, 1.0, self.origin[0], self.origin[1])
        return _affine(b, self.scale, self.dx, self.dy) if self.on_render else b

    @property
    def px_per_render_px(self) -> float:
        return 1.0 if self.on_render else self.scale


def _affine(box: Box, s: float, dx: float, dy: float) -> Box:
    return (s * box[0] + dx, s * box[1] + dy, s * box[2] + dx, s * box[3] + dy)


@dataclass
class Region:
    """One connected patch of difference: its box and differing pixels, comparison frame."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive)
    ys: np.ndarray
    xs: np.ndarray

    @property
    def pixels(self) -> int:
        return int(self.ys.size)


@dataclass
class Comparison:
    """Both images in one frame, where they differ, and the regions of difference."""

    frame: Frame
    ref: np.ndarray  # (H, W, 3) uint8, reference resampled into the frame
    render: np.ndarray
    ref_background: Color
    render_background: Color
    diff: np.ndarray  # (H, W) bool
    regions: list[Region] = field(default_factory=list)
    tolerance: int = TOLERANCE
    lossy: bool = False  # judged in YCbCr with a wide tolerance (JPEG, resampled references)
    matcher: Any = None  # moves.Matcher: the template searches' shared work, made on first use

    def unexplained(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The two-way test as this comparison runs it, on any pair of same-size crops.

        Lossy references are compared in YCbCr: chroma subsampling turns a thin red line's
        pixels darker in R yet keeps its luma, which an RGB range test would call a change.
        """
        if self.lossy:
            ya, yb = ycbcr(a), ycbcr(b)
            out = unexplained(ya, yb, self.tolerance, FAINT)
            if out.any() and self.frame.scale == 1.0:
                # Only what JPEG's chroma round trip does not explain either: a pixel that
                # matches as drawn stays matched (a change's smoothed chroma must not spill onto
                # its unchanged neighbours). At another scale a 2×2 chroma block is about a
                # pixel of the frame: nothing to model, and the resampling is judged as is.
                out &= unexplained(jpeg_chroma(ya), jpeg_chroma(yb), self.tolerance, FAINT)
            elif out.any() and self.frame.scale >= HIDPI and self.frame.on_render:
                # A HiDPI screenshot draws the page's bitmaps (an <img>, a canvas) upsampled
                # from their own pixels, smoothed: back at the render's scale they are the
                # render's bitmap blurred, a crisp icon's edges a grey step wider. Only what
                # that blur does not explain either is a change. (A reference only a little
                # larger is another dpi, not a screen's scale: the check redraws at its size.)
                out &= unexplained(ya, upsampled(yb), self.tolerance, FAINT)
            return out
        return unexplained(a, b, self.tolerance)

    @property
    def changed_pixels(self) -> int:
        return int(sum(r.pixels for r in self.regions))

    def misfit(self) -> float:
        """Share of the content area that differs (0 identical … 1 nothing in common)."""
        content = ink_mask(self.ref, self.ref_background) | ink_mask(
            self.render, self.render_background
        )
        area = max(1, int(content.sum()))
        return min(1.0, self.changed_pixels / area)


def to_frame(
    reference: Image.Image, render: Image.Image, reg: Registration
) -> tuple[np.ndarray, np.ndarray, Frame]:
    """Resample the larger picture into the smaller one's pixels (antialiased, sub-pixel), on a
    frame that covers both canvases."""
    s = reg.scale
    if s >= 1.0:
        base, other, fill = render, reference, reg.render_background
        # The reference's canvas in render pixels.
        ox0, oy0 = -reg.dx / s, -reg.dy / s
        ox1, oy1 = (reference.width - reg.dx) / s, (reference.height - reg.dy) / s
    else:
        base, other, fill = reference, render, reg.ref_background
        ox0, oy0 = reg.dx, reg.dy
        ox1, oy1 = reg.dx + s * render.width, reg.dy + s * render.height
    w, h = base.size
    # Grow the frame over the other canvas, by at most half the base canvas each way.
    ux0 = max(-w // 2, min(0, int(np.floor(ox0 + 0.5))))
    uy0 = max(-h // 2, min(0, int(np.floor(oy0 + 0.5))))
    ux1 = min(w + w // 2, max(w, int(np.ceil(ox1 - 0.5))))
    uy1 = min(h + h // 2, max(h, int(np.ceil(oy1 - 0.5))))
    size = (ux1 - ux0, uy1 - uy0)
    frame = Frame(s, reg.dx, reg.dy, s >= 1.0, size, (ux0, uy0))
    if (ux0, uy0) == (0, 0) and size == (w, h):
        base_arr = rgb_array(base)
    else:
        canvas = Image.new("RGB", size, tuple(fill))
        canvas.paste(base if base.mode == "RGB" else base.convert("RGB"), (-ux0, -uy0))
        base_arr = np.asarray(canvas)
    if s >= 1.0:
        # Frame pixel f ↔ render x = f + ux0 ↔ reference s·(f + ux0) + dx.
        a = sample(other, reg.ref_background, size, s, reg.dx + s * ux0, reg.dy + s * uy0)
        return a, base_arr, frame
    # Frame pixel f ↔ reference x = f + ux0 ↔ render (x − dx)/s.
    b = sample(other, reg.render_background, size, 1 / s, (ux0 - reg.dx) / s,
               (uy0 - reg.dy) / s)
    return base_arr, b, frame


def unexplained(a: np.ndarray, b: np.ndarray, tolerance: int,
                faint: int | None = None) -> np.ndarray:
    """Pixels where either image has a colour the other lacks nearby (two-way range test).

    ``faint`` (below ``tolerance``): also flag smaller differences where both pictures are flat
    around the pixel. A lossy reference needs a wide tolerance at edges, yet a pale card that
    vanished from a white page differs by only ~15 over a large flat area.
    """
    h, w = a.shape[:2]
    diff = np.zeros((h, w), dtype=bool)
    d = channel_max(abs_diff(a, b))
    low = tolerance if faint is None else min(faint, tolerance)
    cand = d > low
    ys, xs = np.nonzero(cand)
    if ys.size == 0:
        return diff
    if ys.size <= SPARSE * cand.size:
        ranges = _ranges_at(a, b, ys, xs)
        out = _verdict(a[ys, xs], b[ys, xs], ranges, d[ys, xs], tolerance, low)
        diff[ys[out], xs[out]] = True
        return diff
    y0, y1 = max(0, int(ys.min()) - 1), min(h, int(ys.max()) + 2)
    x0, x1 = max(0, int(xs.min()) - 1), min(w, int(xs.max()) + 2)
    wa, wb = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
    ranges = (*neighbourhood_range(wa), *neighbourhood_range(wb))
    out = _verdict(wa, wb, ranges, d[y0:y1, x0:x1], tolerance, low)
    diff[y0:y1, x0:x1] = out & cand[y0:y1, x0:x1]
    return diff


def _verdict(pa: np.ndarray, pb: np.ndarray,
             ranges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
             d: np.ndarray, tolerance: int, low: int) -> np.ndarray:
    lo_a, hi_a, lo_b, hi_b = ranges
    out = _outside(pa, lo_b, hi_b, tolerance) | _outside(pb, lo_a, hi_a, tolerance)
    if low < tolerance:
        flat = channel_max(hi_a - lo_a) <= FLAT
        flat &= channel_max(hi_b - lo_b) <= FLAT
        out |= flat & (d > low)
    return out


def _ranges_at(a: np.ndarray, b: np.ndarray, ys: np.ndarray, xs: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """3×3 neighbourhood min/max of both images at a few pixels only (gathered)."""
    h, w = a.shape[:2]
    pa, pb = a[ys, xs], b[ys, xs]
    lo_a, hi_a, lo_b, hi_b = pa.copy(), pa.copy(), pb.copy(), pb.copy()
    for dy in (-1, 0, 1):
        yy = np.clip(ys + dy, 0, h - 1)
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            xx = np.clip(xs + dx, 0, w - 1)
            na, nb = a[yy, xx], b[yy, xx]
            np.minimum(lo_a, na, out=lo_a)
            np.maximum(hi_a, na, out=hi_a)
            np.minimum(lo_b, nb, out=lo_b)
            np.maximum(hi_b, nb, out=hi_b)
    return lo_a, hi_a, lo_b, hi_b


def _outside(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: int) -> np.ndarray:
    """Some channel of x lies below lo − tol or above hi + tol (uint8, no widening)."""
    t = np.uint8(tol)
    floor = np.maximum(lo, t)
    floor -= t  # saturating lo − tol
    ceil = np.minimum(hi, np.uint8(255 - tol))
    ceil += t  # saturating hi + tol
    o = np.less(x, floor)
    o |= np.greater(x, ceil)
    return o[..., 0] | o[..., 1] | o[..., 2]


def noisy(a: np.ndarray, b: np.ndarray) -> bool:
    """A lossy or resampled reference: many faint differences spread over the whole picture,
    rather than a few exact ones. A pale grid switched off differs faintly too, but only along
    its few lines: faint differences must reach most of the rows that have any."""
    step = 4
    d = channel_max(abs_diff(a[::step, ::step], b[::step, ::step]))
    faint_mask = (d > 0) & (d <= 12)
    faint = np.count_nonzero(faint_mask)
    if faint <= 0.02 * d.size:
        return False
    # A pale grid with lines both ways reaches every row (its upright lines' soft edges): the
    # few rows and columns a faint difference runs along unbroken are lines, not noise (a lossy
    # copy's faint differences break off at every glyph), and they stay spread over the rest.
    along_rows = longest_run(faint_mask) >= LINE_SHARE * faint_mask.shape[1]
    along_cols = longest_run(faint_mask.T) >= LINE_SHARE * faint_mask.shape[0]
    if along_rows.mean() <= FEW_LINES and along_cols.mean() <= FEW_LINES:
        faint_mask = faint_mask & ~along_rows[:, None] & ~along_cols[None, :]
        if np.count_nonzero(faint_mask) <= 0.02 * d.size:
            return False
    rows = np.count_nonzero(faint_mask.any(axis=1))
    any_rows = np.count_nonzero((d > 0).any(axis=1))
    return rows >= 0.5 * max(1, any_rows) and rows >= 0.25 * d.shape[0]


def find_regions(diff: np.ndarray, radius: int = GROUP_RADIUS,
                 min_pixels: int = MIN_PIXELS) -> list[Region]:
    """Connected patches of difference (joined across ``radius`` px); specks dropped."""
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return []
    cols = np.flatnonzero(diff.any(axis=0))
    h, w = diff.shape
    y0, y1 = max(0, rows[0] - radius), min(h, rows[-1] + radius + 1)
    x0, x1 = max(0, cols[0] - radius), min(w, cols[-1] + radius + 1)
    window = diff[y0:y1, x0:x1]
    labels, boxes = label(dilate(window, radius))
    regions: list[Region] = []
    for i, sl in enumerate(boxes, start=1):
        sub = window[sl] & (labels[sl] == i)
        ys, xs = np.nonzero(sub)
        if ys.size < min_pixels:
            continue
        ys = ys + sl[0].start + y0
        xs = xs + sl[1].start + x0
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        regions.append(Region(box, ys, xs))
    regions.sort(key=lambda r: -r.pixels)
    return regions


def forgive_jitter(cmp: Comparison, regions: list[Region], max_shift: int = JITTER
                   ) -> list[Region]:
    """Clear differences that a small local shift explains; drop regions left as specks.

    A reference captured at another resolution is not a resampled copy: text is laid out and
    hinted anew, so glyphs drift 1–2 px, each by its own amount. Tile by tile, the best local
    shift is found on grey images and the two-way test rerun there. Only small (text-sized)
    regions, and only for resampled comparisons: at scale 1 a shifted word is a real change.
    """
    a, b, diff = cmp.ref, cmp.render, cmp.diff
    h, w = diff.shape
    m, t = max_shift, JITTER_TILE
    kept: list[Region] = []
    for r in regions:
        x0, y0, x1, y1 = r.box
        if (x1 - x0) * (y1 - y0) > JITTER_AREA:
            kept.append(r)
            continue
        # Grey (channel sum) of the region and its margin; offsets below are window-relative.
        wx0, wy0 = max(0, x0 - t - 2 * m), max(0, y0 - t - 2 * m)
        wx1, wy1 = min(w, x1 + t + 2 * m), min(h, y1 + t + 2 * m)
        grey_a = _grey_sum(a[wy0:wy1, wx0:wx1])
        grey_b = _grey_sum(b[wy0:wy1, wx0:wx1])
        for ty in range(y0, y1, t):
            for tx in range(x0, x1, t):
                bx0, by0 = max(m, tx - 1), max(m, ty - 1)
                bx1, by1 = min(w - m, tx + t + 1), min(h - m, ty + t + 1)
                if bx1 <= bx0 or by1 <= by0 or not diff[ty : ty + t, tx : tx + t].any():
                    continue
                gb = grey_b[by0 - wy0 : by1 - wy0, bx0 - wx0 : bx1 - wx0]
                best, best_err = (0, 0), None
                for sy in range(-m, m + 1):
                    for sx in range(-m, m + 1):
                        ga = grey_a[by0 + sy - wy0 : by1 + sy - wy0,
                                    bx0 + sx - wx0 : bx1 + sx - wx0]
                        err = int(np.abs(ga - gb).sum())
                        if best_err is None or err < best_err:
                            best, best_err = (sx, sy), err
                if best == (0, 0):
                    continue
                sx, sy = best
                pa = np.ascontiguousarray(a[by0 + sy : by1 + sy, bx0 + sx : bx1 + sx])
                left = cmp.unexplained(pa, np.ascontiguousarray(b[by0:by1, bx0:bx1]))
                # Only the tile's own pixels inside the compared window.
                cy0, cx0 = max(ty, by0), max(tx, bx0)
                cy1, cx1 = min(ty + t, by1), min(tx + t, bx1)
                if cy1 > cy0 and cx1 > cx0:
                    diff[cy0:cy1, cx0:cx1] &= left[cy0 - by0 : cy1 - by0, cx0 - bx0 : cx1 - bx0]
        keep = diff[r.ys, r.xs]
        if np.count_nonzero(keep) >= MIN_PIXELS:
            kept.append(Region(r.box, r.ys[keep], r.xs[keep]) if not keep.all() else r)
    return kept


def _grey_sum(x: np.ndarray) -> np.ndarray:
    g = x[..., 0].astype(np.int16)
    g += x[..., 1]
    g += x[..., 2]
    return g


def compare(
    reference: Image.Image,
    render: Image.Image,
    reg: Registration,
    *,
    tolerance: int | None = None,
) -> Comparison:
    """Both pictures in one frame and the regions where they visibly differ."""
    a, b, frame = to_frame(as_rgb(reference), as_rgb(render), reg)
    if tolerance is None:
        exact = (reg.method in ("identical", "sidecar", "same-canvas", "crop")
                 and reg.scale == 1.0 and not reference.info.get(LOSSY_INFO))
        tolerance = TOLERANCE if exact and not noisy(a, b) else NOISY_TOLERANCE
    cmp = Comparison(frame, a, b, reg.ref_background, reg.render_background,
                     np.zeros(a.shape[:2], dtype=bool), [], tolerance,
                     lossy=tolerance > TOLERANCE)
    if reg.method == "identical":
        return cmp
    cmp.diff = cmp.unexplained(a, b)
    if reg.method in ("search", "crop"):
        cmp.diff &= ~beyond_cut(a, frame, reference.size, reg.ref_background, render.size,
                                reg.render_frame)
    regions = find_regions(cmp.diff, min_pixels=MIN_PIXELS if cmp.lossy or reg.scale != 1.0
                           else EXACT_MIN_PIXELS)
    if reg.scale != 1.0 and regions:
        regions = forgive_jitter(cmp, regions)
    cmp.regions = regions
    return cmp


def beyond_cut(a: np.ndarray, frame: Frame, ref_size: tuple[int, int], ref_background: Color,
               render_size: tuple[int, int], render_frame: int = 0) -> np.ndarray:
    """Frame pixels a screenshot cut through its content could not show (True = unseen).

    A screenshot shows nothing beyond its canvas. Where it has blank margin along an edge,
    anything the render draws past that edge would have been seen, so it is a difference (a
    table row the reference lacks). Where its content runs into the edge, the picture was cut
    there: what the render draws past it, in the columns (rows) the cut content spans, is
    simply outside the shot. So is the render's own frame (``render_frame`` px of one colour
    round its canvas, see ``register.framed``) where the shot was cropped inside it.
    """
    h, w = a.shape[:2]
    unseen = np.zeros((h, w), dtype=bool)
    fx0, fy0, fx1, fy1 = frame.from_ref((0.0, 0.0, float(ref_size[0]), float(ref_size[1])))
    x0, y0 = max(0, int(np.ceil(fx0 - 1e-6))), max(0, int(np.ceil(fy0 - 1e-6)))
    x1, y1 = min(w, int(np.floor(fx1 + 1e-6))), min(h, int(np.floor(fy1 + 1e-6)))
    if x1 - x0 < 2 or y1 - y0 < 2 or (x0, y0, x1, y1) == (0, 0, w, h):
        return unseen
    r = CUT_REACH
    if y0 > 0:
        unseen[:y0, x0:x1] = _spread(differs_from(a[y0 : y0 + 1, x0:x1], ref_background)[0], r)
    if y1 < h:
        unseen[y1:, x0:x1] = _spread(differs_from(a[y1 - 1 : y1, x0:x1], ref_background)[0], r)
    if x0 > 0:
        col = _spread(differs_from(a[y0:y1, x0 : x0 + 1], ref_background)[:, 0], r)
        unseen[y0:y1, :x0] = col[:, None]
    if x1 < w:
        col = _spread(differs_from(a[y0:y1, x1 - 1 : x1], ref_background)[:, 0], r)
        unseen[y0:y1, x1:] = col[:, None]
    # Beyond a corner: unseen when the screenshot's corner pixel is content.
    for ys, row in ((slice(0, y0), y0), (slice(y1, h), y1 - 1)):
        for xs, col in ((slice(0, x0), x0), (slice(x1, w), x1 - 1)):
            unseen[ys, xs] = bool(differs_from(a[row : row + 1, col : col + 1],
                                               ref_background).any())
    if render_frame > 0:
        # The render's canvas in frame pixels, less its frame: what is left outside both it
        # and the screenshot is frame the shot was cropped inside of.
        t = render_frame * frame.px_per_render_px
        rx0, ry0, rx1, ry1 = frame.from_render((0.0, 0.0, *render_size))
        inner = np.zeros((h, w), dtype=bool)
        inner[max(0, round(ry0 + t)) : max(0, round(ry1 - t)),
              max(0, round(rx0 + t)) : max(0, round(rx1 - t))] = True
        inner[y0:y1, x0:x1] = True
        unseen |= ~inner
    return unseen


def _spread(line: np.ndarray, radius: int) -> np.ndarray:
    """A 1-D mask grown by ``radius`` each way (an edge pixel's anti-aliased neighbours)."""
    return dilate(line[None, :], radius)[0]


def ycbcr(x: np.ndarray) -> np.ndarray:
    """Luma and chroma: JPEG keeps luma and smears chroma, so each gets its own judgement."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(x)).convert("YCbCr"))


def jpeg_chroma(y: np.ndarray) -> np.ndarray:
    """A YCbCr picture with its chroma at the resolution a JPEG keeps it: 4:2:0 averages each
    2×2 block and interpolates it back, so a thin coloured stroke keeps its luma but loses most
    of its chroma to the background around it. The block grid of a cropped or offset picture
    is unknown: the round trip is modelled as the [1 2 1]² tent it amounts to at any phase."""
    out = y.copy()
    out[..., 1] = _tent(y[..., 1])
    out[..., 2] = _tent(y[..., 2])
    return out


def upsampled(y: np.ndarray) -> np.ndarray:
    """A picture as a screen of twice its resolution draws a bitmap of it, brought back to its
    own resolution: bilinear 2× then a 2×2 average is the separable [1 6 1] / 8 blur."""
    p = np.pad(y.astype(np.uint16), ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = p[:-2] + 6 * p[1:-1] + p[2:]
    out = rows[:, :-2] + 6 * rows[:, 1:-1] + rows[:, 2:]
    out += 32
    out >>= 6
    return out.astype(np.uint8)


def _tent(c: np.ndarray) -> np.ndarray:
    """3×3 [1 2 1]² / 16 smoothing of one uint8 channel (edges replicated)."""
    p = np.pad(c.astype(np.uint16), 1, mode="edge")
    rows = p[:-2] + 2 * p[1:-1] + p[2:]
    out = rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]
    out += 8
    out >>= 4
    return out.astype(np.uint8)
