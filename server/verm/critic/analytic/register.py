"""Register a render to its reference: the similarity ``x_ref = s·x_render + d`` that aligns them.

Real references are rarely pixel-aligned (tight crops, 2× HiDPI screenshots, padding, JPEG), so
the critic compares only after undoing that. One uniform scale: a change of aspect is content,
not registration, and is reported by the critic as a discrepancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from verm.critic.analytic.pixels import (
    Color,
    as_rgb,
    background,
    color_distance,
    dominant_color,
    ink_image,
    near_color,
    rgb_array,
    sample,
)
from verm.types import Box

WORK_SIDE = 192
"""Longest side of the grey thumbnails the search scores candidates on."""
KEEP_SCALES = 3  # scales (best by profile correlation) whose offsets are scored in 2-D
ODD_SCALE_PENALTY = 1.25
"""Screens scale by 1, 1.25, 1.5, 2, 3: another scale must fit clearly better to be believed
(a content change at the edge of the picture skews the box ratio, not the screenshot)."""

POOR_FIT = 0.3  # thumbnail residual from which no candidate explains the picture
NICE_SCALES = (1.0, 2.0, 0.5, 1.5, 3.0, 4.0, 1.25, 0.75, 2 / 3, 4 / 3, 0.25)
STRETCH_GAIN = 0.6  # a stretch must cut the residual to this share to count as a new shape
SNAP = 0.015  # relative distance within which an estimated scale snaps to a nice one
FRAME_MAX = 8  # px: a band of one colour at most this thick all round the canvas is a frame
FRAME_SHARE = 0.9  # share of a ring's pixels that makes it one colour
FRAME_NEAR = 24  # RGB distance within which a (JPEG) pixel is a ring's colour


@dataclass(frozen=True)
class Registration:
    """How render pixels map onto reference pixels, and what the images' backgrounds are."""

    scale: float
    dx: float
    dy: float
    residual: float  # mean |ink difference| / 255 over content at the chosen transform (thumbnail)
    ref_size: tuple[int, int]
    render_size: tuple[int, int]
    ref_background: Color
    render_background: Color
    ref_content: tuple[int, int, int, int] | None = None  # content bbox, reference pixels
    render_content: tuple[int, int, int, int] | None = None  # content bbox, render pixels
    method: str = "search"  # identical | sidecar | same-canvas | crop | search | canvas
    expected_size: tuple[int, int] | None = None  # sidecar: the render size the reference shows
    render_frame: int = 0  # px of a one-colour frame round the render's canvas (see framed)
    # A crop whose content all moved: the (dx, dy) of the crop's own least-differing place.
    crop_place: tuple[float, float] | None = None

    def to_ref(self, box: Box) -> Box:
        s = self.scale
        x0, y0, x1, y1 = box
        return (s * x0 + self.dx, s * y0 + self.dy, s * x1 + self.dx, s * y1 + self.dy)

    def to_render(self, box: Box) -> Box:
        s = self.scale
        x0, y0, x1, y1 = box
        return ((x0 - self.dx) / s, (y0 - self.dy) / s, (x1 - self.dx) / s, (y1 - self.dy) / s)

    def meta(self) -> dict[str, Any]:
        return {
            "scale": round(self.scale, 4),
            "dx": round(self.dx, 2),
            "dy": round(self.dy, 2),
            "residual": round(self.residual, 4),
            "method": self.method,
        }


def register(
    reference: Image.Image,
    render: Image.Image,
    *,
    expected_size: tuple[int, int] | None = None,
) -> Registration:
    """Find scale and offset of ``render`` inside ``reference``.

    ``expected_size`` is the render size a sidecar says the reference was pinned at: it fixes
    the scale exactly, and a render of that size needs no search at all.
    """
    reference, render = as_rgb(reference), as_rgb(render)
    (wa, ha), (wb, hb) = reference.size, render.size
    sizes = {"ref_size": (wa, ha), "render_size": (wb, hb), "expected_size": expected_size}
    same_canvas = (wa, ha) == (wb, hb)
    if same_canvas:
        a, b = rgb_array(reference), rgb_array(render)
        if np.array_equal(a, b):
            bg = background(a)
            return Registration(1.0, 0.0, 0.0, 0.0, ref_background=bg, render_background=bg,
                                method="identical", **sizes)
    bg_a, bg_b, frame_b = _backgrounds(reference, render)
    if same_canvas and expected_size in (None, (wb, hb)):
        # The same renderer redrawing the same canvas: most pixels are bit-identical, so the
        # canvas is aligned as is (~0.3 ms instead of measuring content boxes).
        same = np.count_nonzero(a.reshape(-1) == b.reshape(-1))
        if same >= 0.9 * a.size and (expected_size is not None or same >= 0.99 * a.size
                                     or not _translated(reference, render, bg_a, bg_b)):
            method = "same-canvas" if expected_size is None else "sidecar"
            return Registration(1.0, 0.0, 0.0, 0.0, ref_background=bg_a,
                                render_background=bg_b, method=method, **sizes)
    sidecar_scale = None
    if expected_size and expected_size[0] > 0 and expected_size[1] > 0:
        sidecar_scale = (wa / expected_size[0] + ha / expected_size[1]) / 2
        if abs(wb - expected_size[0]) <= 1 and abs(hb - expected_size[1]) <= 1:
            return Registration(sidecar_scale, 0.0, 0.0, 0.0, ref_background=bg_a,
                                render_background=bg_b, method="sidecar", **sizes)
    ink_a, ink_b = ink_image(reference, bg_a), ink_image(render, bg_b)
    box_a, box_b = ink_a.getbbox(), ink_b.getbbox()
    common = {"ref_background": bg_a, "render_background": bg_b, "ref_content": box_a,
              "render_content": box_b, "render_frame": frame_b, **sizes}
    if box_a is None or box_b is None:
        # A blank side has no content to align: same-shaped canvases scale onto each other,
        # anything else is compared as drawn, from the top left.
        s = sidecar_scale or 1.0
        ratio_w, ratio_h = wa / wb, ha / hb
        if sidecar_scale is None and abs(ratio_w / ratio_h - 1) <= 0.03 and 0.2 <= ratio_w <= 6:
            s = (ratio_w + ratio_h) / 2
        return Registration(s, 0.0, 0.0, 1.0, method="canvas", **common)
    if same_canvas and all(abs(u - v) <= 2 for u, v in zip(box_a[:2], box_b[:2], strict=True)):
        # Content starting where it did on a canvas of the same size: whatever grew inside
        # it (a bigger heading pushing the rest down) is judged in place, not as a shift.
        return Registration(1.0, 0.0, 0.0, 0.0, method="same-canvas", **common)
    places = _crop_places(reference, render) if sidecar_scale is None else None
    if places is not None and (crop := _crop_fit(places)) is not None:
        ox, oy, share = crop
        return Registration(1.0, float(-ox), float(-oy), share, method="crop", **common)
    s, dx, dy, residual = _search(reference, render, bg_a, bg_b, ink_a, ink_b, box_a, box_b,
                                  sidecar_scale)
    if (places is not None and not _crop_like(s, dx, dy, wb - wa, hb - ha)
            and crop_sized(wa, ha, wb, hb)):  # (a crop both ways: not a chart half as tall)
        # A picture a few px smaller than the render is a crop of it far likelier than a
        # copy at 0.7×, or one reaching past the render's canvas: most of a page relaid (a
        # padding) or a chart turned on its side (bar → barh) fits no place well, and the
        # search then "finds" a scale or an offset no crop has. Its least-differing place is
        # the crop's, by its ink and all its pixels together: where a shape moved past the
        # crop's edge, its ink differs alike at many places, all its pixels least at the
        # crop's. (A page's flat blocks match at any place: there the ink tells.)
        whole = {(ox, oy): share for share, ox, oy in places[0]}
        share, ox, oy = min(places[1], key=lambda p: p[0] + whole[p[1], p[2]])
        if abs(s - 1) <= 0.005 and _fits_far_better(reference, render, dx, dy,
                                                     whole[ox, oy]):
            # Unscaled, past the crop's px, and far better than its place: the crop of a
            # page whose content all moved (a margin). The critic judges it at the crop's
            # place too, and keeps the lighter verdict.
            return Registration(s, dx, dy, residual, method="search",
                                crop_place=(float(-ox), float(-oy)), **common)
        return Registration(1.0, float(-ox), float(-oy), share, method="crop", **common)
    return Registration(s, dx, dy, residual, method="search", **common)


CROP_MAX = 0.05  # share of each side a screenshot cropped from the render may have lost
CROP_PX = 10  # px a small picture (an icon) may have lost all told and still be its crop
CROP_FIT = 0.1  # share of differing pixels at which the crop's place is the one
CROP_INK_FIT = 0.25  # … share of the reference's ink
CROP_DISTINCT = 0.5  # … and at most this share of the next best place's
CROP_INK_CHANGED = 0.5  # a changed series may be half a small chart's ink: still its place
CROP_INK_DISTINCT = 0.7  # … when every other place differs in ~all of it (edges 2 px off)
CROP_INK_THIN = 0.6  # share of the ink that differs anywhere else: thin lines and text only
CROP_REACH = 2  # px a crop's placement may lie past the px cut off (anti-aliased edges)
CROP_RESCALE = 0.1  # a search's scale this far from 1, on a near-crop: the crop's place instead
SHIFT_BETTER = 0.5  # share of the crop place's differing pixels an unscaled search's place
# may have at most: perhaps the crop of a page whose content all moved
CROP_BUDGET = 8e7  # pixel comparisons a crop search may spend (all places together) at most


def crop_placed(reg: Registration) -> bool:
    """A search that placed the picture, unscaled, where a crop of the render a few px off
    each side would be — too much changed inside for any crop place to fit clearly, yet the
    same canvas cropped, not a figure of another size."""
    (wa, ha), (wb, hb) = reg.ref_size, reg.render_size
    return (reg.method == "search" and reg.scale == 1.0 and crop_sized(wa, ha, wb, hb)
            and _crop_like(reg.scale, reg.dx, reg.dy, wb - wa, hb - ha))


def cut_beyond_crop(reg: Registration) -> bool:
    """Placed unscaled, the reference lacks far more of the render's width or height than a
    screenshot's crop cuts off (twice the most a crop may): the figure itself is another size
    (a pie centred in a wider figure is the same picture, cropped by a third)."""
    (wa, ha), (wb, hb) = reg.ref_size, reg.render_size
    return abs(reg.scale - 1) <= 0.01 and (wb - wa > 2 * max(CROP_MAX * wb, CROP_PX)
                                           or hb - ha > 2 * max(CROP_MAX * hb, CROP_PX))


def crop_sized(wa: int, ha: int, wb: int, hb: int) -> bool:
    """The reference is the render with a few px cut off each way (an icon may lose more of
    its size than a page)."""
    return (0 <= wb - wa <= max(CROP_MAX * wb, CROP_PX)
            and 0 <= hb - ha <= max(CROP_MAX * hb, CROP_PX))


def _crop_like(s: float, dx: float, dy: float, dw: int, dh: int) -> bool:
    """Could a search's placement be a crop of the render (``dw``×``dh`` px cut off)? At
    about its scale, the reference's corner within the px cut off (2 px slack)."""
    if abs(s - 1) > CROP_RESCALE:
        return False
    if abs(s - 1) > 0.005:
        return True  # another dpi, a little: the redraw at the reference's size judges it
    return -CROP_REACH <= -dx <= dw + CROP_REACH and -CROP_REACH <= -dy <= dh + CROP_REACH


Places = list[tuple[float, int, int]]  # (share that differs, ox, oy) of each place tried


def _crop_places(reference: Image.Image, render: Image.Image) -> tuple[Places, Places] | None:
    """A reference a few px narrower than the render, some cut off its left or top, may be a
    crop of it at scale 1. Its height may differ more (a page's height is its content's: a
    shorter block shortens the page), so only the rows both have are compared.

    Each place the crop can have come from is tried at full resolution: the share of all its
    pixels, and of its ink, that differ there. (Profiles and thumbnails misjudge this case:
    a change pulls them towards a slightly other scale.) None: not narrower by a crop's few
    px (an icon's: CROP_PX all told)."""
    (wa, ha), (wb, hb) = reference.size, render.size
    dw = wb - wa
    if not (0 <= dw <= max(CROP_MAX * wb, CROP_PX)) or (dw == 0 and ha >= hb):
        return None
    a = np.asarray(reference.convert("L"), dtype=np.int16)
    b = np.asarray(render.convert("L"), dtype=np.int16)
    values, counts = np.unique(a[::4, ::4], return_counts=True)
    ink = np.abs(a - values[np.argmax(counts)]) > 24
    whole: list[tuple[float, int, int]] = []  # share of all pixels that differ
    inked: list[tuple[float, int, int]] = []  # … of the reference's ink (not its flat ground)
    dh = hb - ha  # a crop's rows lost, unless the height changed more (a page's content)
    heights = (dh if 0 <= dh <= max(CROP_MAX * hb, CROP_PX) else int(CROP_MAX * hb)) + 1
    # Every other row; on a big page cut by many px, sparser samples keep this to ~50 ms.
    step = max(2, int(np.ceil(np.sqrt(heights * (dw + 1) * wa * ha / CROP_BUDGET))))
    cols = 1 if step == 2 else step
    for oy in range(heights):
        rows = min(ha, hb - oy)
        if rows < 0.5 * ha:
            break
        ref, seen = a[:rows:step, ::cols], ink[:rows:step, ::cols]
        n = max(1, int(np.count_nonzero(seen)))
        for ox in range(dw + 1):
            differ = np.abs(b[oy:oy + rows:step, ox:ox + wa:cols] - ref) > 24
            whole.append((float(np.count_nonzero(differ)) / ref.size, ox, oy))
            inked.append((float(np.count_nonzero(differ & seen)) / n, ox, oy))
    return (whole, inked) if inked else None


def _fits_far_better(reference: Image.Image, render: Image.Image, dx: float, dy: float,
                     crop_share: float) -> bool:
    """Does the reference, unscaled at (dx, dy) (past the px a crop cuts off), differ in far
    fewer of the pixels it shares with the render than at the crop's best place?"""
    a = np.asarray(reference.convert("L"), dtype=np.int16)
    b = np.asarray(render.convert("L"), dtype=np.int16)
    ox, oy = round(-dx), round(-dy)
    # Reference pixel (x, y) shows render pixel (x + ox, y + oy): the rows and columns both have.
    x0, y0 = max(0, -ox), max(0, -oy)
    x1, y1 = min(a.shape[1], b.shape[1] - ox), min(a.shape[0], b.shape[0] - oy)
    if x1 - x0 < 0.5 * a.shape[1] or y1 - y0 < 0.5 * a.shape[0]:
        return False
    differ = np.abs(a[y0:y1:2, x0:x1:2] - b[y0 + oy:y1 + oy:2, x0 + ox:x1 + ox:2]) > 24
    return float(np.count_nonzero(differ)) / differ.size <= SHIFT_BETTER * crop_share


def _crop_fit(places: tuple[Places, Places]) -> tuple[int, int, float] | None:
    """The place the crop came from, when one fits: few of its pixels differ there (a changed
    series moves only some of them), clearly fewer than anywhere else."""
    whole, inked = (sorted(p) for p in places)
    # A chart's change moves a share of all its pixels; a page's big flat blocks match at any
    # place, so there only the ink tells the places apart.
    # (fits, most that may differ at the place, its share of the rival's, the rival's least)
    for fits, limit, distinct, rival in ((whole, CROP_FIT, CROP_DISTINCT, 0.0),
                                         (inked, CROP_INK_FIT, CROP_DISTINCT, 0.0),
                                         (inked, CROP_INK_CHANGED, CROP_INK_DISTINCT,
                                          CROP_INK_THIN)):
        if len(fits) < 2:
            return None
        share, ox, oy = fits[0]
        # The best place's next neighbours fit almost as well (anti-aliased edges are two px
        # wide): another place is one at least two px away.
        runner_up = next((f for f, x, y in fits[1:] if max(abs(x - ox), abs(y - oy)) >= 2),
                         fits[1][0])
        # At (0, 0) it is content that grew right or down (a wider column); a place that
        # fits hardly better than another is content that moved inside (right of a wider
        # column).
        if (share <= limit and (ox, oy) != (0, 0) and share <= distinct * runner_up
                and runner_up >= rival):
            return ox, oy, share
    return None


def _backgrounds(reference: Image.Image, render: Image.Image) -> tuple[Color, Color, int]:
    """Both pictures' backgrounds, and the px of frame round the render (0: none).

    Each is its border's colour, unless the two disagree and one of them is a thin frame round
    the other's background (a figure's edge line that the screenshot was cropped inside of):
    then the content sits on the colour inside the frame. Taking the frame's colour for the
    background would make the whole inside "content", with nothing left to align on.
    """
    bg_a, bg_b = background(reference), background(render)
    if color_distance(bg_a, bg_b) <= FRAME_NEAR:
        # Both framed alike (a figure drawn with an edge line): the ground is inside. (A
        # screenshot cropped into the frame is aligned on it as the frame's colour; see below.)
        inner_a, t_a = framed(reference)
        inner_b, t_b = framed(render) if t_a else (bg_b, 0)
        if t_a and t_a == t_b and color_distance(inner_a, inner_b) <= FRAME_NEAR:
            return inner_a, inner_b, 0
        return bg_a, bg_b, 0
    inner, t = framed(render)
    if t and color_distance(inner, bg_a) <= FRAME_NEAR:
        return bg_a, inner, t
    inner, t = framed(reference)
    if t and color_distance(inner, bg_b) <= FRAME_NEAR:
        return inner, bg_b, 0
    return bg_a, bg_b, 0


def framed(image: Image.Image) -> tuple[Color, int]:
    """The colour inside a frame of one colour drawn all round the canvas, and how many px
    thick the frame is; the border's colour and 0 where there is no such frame."""
    bg = background(image)
    a = rgb_array(image)
    h, w = a.shape[:2]
    if min(w, h) <= 4 * FRAME_MAX or _share(_ring(a, 0), bg) < FRAME_SHARE:
        return bg, 0
    for t in range(1, FRAME_MAX + 1):
        ring = _ring(a, t)
        if _share(ring, bg) >= 1 - FRAME_SHARE:
            continue  # still the frame, or its anti-aliased inner edge
        inner = dominant_color(ring)
        if inner is not None and _share(ring, inner) >= FRAME_SHARE and _share(
                _ring(a, t + 1), inner) >= FRAME_SHARE:
            return inner, t
    return bg, 0


def _ring(a: np.ndarray, t: int) -> np.ndarray:
    """The pixels ``t`` px in from the canvas edge, all round, as an (N, 3) array."""
    h, w = a.shape[:2]
    inner = a[t : h - t, t : w - t]
    return np.concatenate([inner[0], inner[-1], inner[1:-1, 0], inner[1:-1, -1]])


def _share(ring: np.ndarray, color: Color) -> float:
    return float(np.count_nonzero(near_color(ring[None], color, FRAME_NEAR))) / max(1, len(ring))


def _translated(reference: Image.Image, render: Image.Image, bg_a: Color, bg_b: Color) -> bool:
    """Same canvas, content of the same size in another place: a page whose margin changed is
    mostly identical background, yet every element moved. Align the content, not the canvas."""
    box_a = ink_image(reference, bg_a).getbbox()
    box_b = ink_image(render, bg_b).getbbox()
    if box_a is None or box_b is None:
        return False
    wa, ha = box_a[2] - box_a[0], box_a[3] - box_a[1]
    wb, hb = box_b[2] - box_b[0], box_b[3] - box_b[1]
    moved = max(abs(box_a[0] - box_b[0]), abs(box_a[1] - box_b[1])) > 2
    return moved and abs(wa - wb) <= 2 and abs(ha - hb) <= 2


def stretch_fits_better(reference: Image.Image, render: Image.Image, reg: Registration) -> bool:
    """Does stretching the render (separate x and y scales) fit the reference much better than
    the uniform registration? Then the figure itself changed shape (matplotlib stretches the axes
    of a wider figure); a content change at the edge of the picture fits no better stretched."""
    if reg.ref_content is None or reg.render_content is None:
        return False
    ca, cb = reg.ref_content, reg.render_content
    sx = (ca[2] - ca[0]) / max(1, cb[2] - cb[0])
    sy = (ca[3] - ca[1]) / max(1, cb[3] - cb[1])
    thumbs = _Thumbs(reference, render, reg.ref_background, reg.render_background)
    uniform = thumbs.residual(reg.scale, reg.dx, reg.dy)
    stretched = thumbs.residual_xy(sx, sy, ca[0] - sx * cb[0], ca[1] - sy * cb[1])
    return stretched < STRETCH_GAIN * uniform


def _candidate_scales(
    box_a: tuple[int, int, int, int],
    box_b: tuple[int, int, int, int],
    canvas: tuple[float, float],
    sidecar_scale: float | None,
) -> list[float]:
    sw = (box_a[2] - box_a[0]) / max(1, box_b[2] - box_b[0])
    sh = (box_a[3] - box_a[1]) / max(1, box_b[3] - box_b[1])
    nice = [*NICE_SCALES, *canvas] + ([sidecar_scale] if sidecar_scale else [])
    raw = [sw, sh, (sw + sh) / 2, 1.0, 2.0, 0.5, *canvas]
    if sidecar_scale:
        raw.insert(0, sidecar_scale)
    out: list[float] = []
    for s in raw:
        snapped = min(nice, key=lambda n: abs(s / n - 1))
        if abs(s / snapped - 1) <= SNAP:
            s = snapped
        if 0.2 <= s <= 6 and all(abs(s / t - 1) > 0.005 for t in out):
            out.append(s)
    return out


def _resample_profile(p: np.ndarray, s: float) -> np.ndarray:
    """Area-resample a 1-D ink profile by ``s`` (output bin u covers input [u/s, (u+1)/s))."""
    n = p.size
    cum = np.concatenate([[0.0], np.cumsum(p, dtype=np.float64)])
    edges = np.arange(int(np.ceil(n * s)) + 1, dtype=np.float64) / s
    c = np.interp(np.minimum(edges, n), np.arange(n + 1, dtype=np.float64), cum)
    return np.diff(c)


def _full_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``scipy.signal.fftconvolve(a, b, "full")`` with numpy's FFT: importing scipy.signal
    costs the language server ~50 MB and ~0.7 s of start-up for this one 1-D convolution."""
    n = a.size + b.size - 1
    size = 1 << max(0, (n - 1).bit_length())
    out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]
    return out


def _profile_offset(pa: np.ndarray, pb: np.ndarray, s: float) -> tuple[float, float]:
    """Offset d (x_ref = s·x + d) that best aligns two ink profiles, and its cosine score."""
    q = _resample_profile(pb, s)
    na, nq = float(np.linalg.norm(pa)), float(np.linalg.norm(q))
    if na == 0 or nq == 0:
        return 0.0, 0.0
    corr = _full_convolve(pa, q[::-1])
    i = int(np.argmax(corr))
    frac = 0.0
    if 0 < i < corr.size - 1:
        left, mid, right = corr[i - 1], corr[i], corr[i + 1]
        den = left - 2 * mid + right
        if den < 0:
            frac = float(0.5 * (left - right) / den)
    return i + frac - (q.size - 1), float(corr[i] / (na * nq))


class _Thumbs:
    """Grey ink thumbnails of the reference, and of the render placed by a candidate."""

    def __init__(self, a: Image.Image, b: Image.Image, bg_a: Color, bg_b: Color) -> None:
        wa, ha = a.size
        self.k = max(1.0, max(wa, ha) / WORK_SIDE)
        self.size = (max(1, round(wa / self.k)), max(1, round(ha / self.k)))
        grey_a = a.convert("L").resize(self.size, Image.Resampling.BOX)
        self.ink_a = _ink(np.asarray(grey_a, dtype=np.float32), bg_a)
        self.grey_b = b.convert("L")
        self.bg_b = bg_b
        self.bg_b_grey = round(0.299 * bg_b[0] + 0.587 * bg_b[1] + 0.114 * bg_b[2])

    def placed(self, s: float, dx: float, dy: float) -> np.ndarray:
        """The render's ink at scale s, offset (dx, dy) reference px, on the reference thumb."""
        k = self.k
        arr = sample(self.grey_b, self.bg_b_grey, self.size, k / s, -dx / s, -dy / s)
        return _ink(arr.astype(np.float32), self.bg_b)

    def residual(self, s: float, dx: float, dy: float) -> float:
        return self._residual(self.placed(s, dx, dy))

    def residual_xy(self, sx: float, sy: float, dx: float, dy: float) -> float:
        """Residual of the render stretched by (sx, sy) and offset by (dx, dy) reference px."""
        k = self.k
        w = max(1, round(self.grey_b.width * sx / k))
        h = max(1, round(self.grey_b.height * sy / k))
        src = _ink(np.asarray(self.grey_b.resize((w, h), Image.Resampling.BOX),
                              dtype=np.float32), self.bg_b)
        out = np.zeros_like(self.ink_a)
        ox, oy = round(dx / k), round(dy / k)
        th, tw = out.shape
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(tw, ox + w), min(th, oy + h)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        return self._residual(out)

    def _residual(self, p: np.ndarray) -> float:
        mask = (self.ink_a > 16) | (p > 16)
        if not mask.any():
            return 0.0
        return float(np.abs(self.ink_a - p)[mask].mean() / 255.0)


def _ink(grey: np.ndarray, bg: Color) -> np.ndarray:
    """|grey − background grey|: content brightness regardless of the background's colour."""
    bg_grey = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]
    return np.abs(grey - np.float32(bg_grey))


def _search(
    a: Image.Image,
    b: Image.Image,
    bg_a: Color,
    bg_b: Color,
    ink_a: Image.Image,
    ink_b: Image.Image,
    box_a: tuple[int, int, int, int],
    box_b: tuple[int, int, int, int],
    sidecar_scale: float | None,
) -> tuple[float, float, float, float]:
    """Scales from content boxes, canvases and nice ratios; offsets from boxes and profiles."""
    (wa, ha), (wb, hb) = a.size, b.size
    same_canvas = a.size == b.size
    ma, mb = np.asarray(ink_a), np.asarray(ink_b)
    pax, pay = ma.sum(axis=0, dtype=np.float64), ma.sum(axis=1, dtype=np.float64)
    pbx, pby = mb.sum(axis=0, dtype=np.float64), mb.sum(axis=1, dtype=np.float64)
    scales = _candidate_scales(box_a, box_b, (wa / wb, ha / hb), sidecar_scale)
    by_profile = []
    for s in scales:
        ox, cx = _profile_offset(pax, pbx, s)
        oy, cy = _profile_offset(pay, pby, s)
        nice = 1.02 if s in NICE_SCALES else 1.0
        by_profile.append((cx * cy * nice, s, ox, oy))
    by_profile.sort(key=lambda t: -t[0])
    cax, cay = (box_a[0] + box_a[2]) / 2, (box_a[1] + box_a[3]) / 2
    cbx, cby = (box_b[0] + box_b[2]) / 2, (box_b[1] + box_b[3]) / 2
    candidates: list[tuple[float, float, float]] = []
    if same_canvas:
        candidates.append((1.0, 0.0, 0.0))
    for _, s, ox, oy in by_profile[:KEEP_SCALES]:
        candidates += [
            (s, ox, oy),
            (s, cax - s * cbx, cay - s * cby),
            (s, box_a[0] - s * box_b[0], box_a[1] - s * box_b[1]),
        ]
    if same_canvas:
        # A canvas of the same size showing the content at another scale would have to cut it
        # off: a render whose content maps past the reference's edges is not that picture.
        candidates = [c for c in candidates if _within(c, box_b, (wa, ha))]
    thumbs = _Thumbs(a, b, bg_a, bg_b)
    scored = [(thumbs.residual(*c) * (1.0 if c[0] in NICE_SCALES else ODD_SCALE_PENALTY), *c)
              for c in candidates]
    best = min(scored, key=lambda t: t[0])
    if same_canvas and (scored[0][0] <= best[0] * 1.15 + 0.002 or best[0] >= POOR_FIT):
        # Same canvas: prefer "nothing moved" unless clearly worse, and when nothing fits at
        # all (an icon whose backdrop was deleted) compare it as drawn. Exactly: profiles of
        # content that changed at its edge would talk a refinement into a pixel or two.
        return 1.0, 0.0, 0.0, scored[0][0]
    r, s, dx, dy = best
    # Thumbnails cannot tell a pixel from the next: settle the offset on full-res profiles.
    dx = _refine_axis(pax, pbx, s, dx, whole=s in NICE_SCALES)
    dy = _refine_axis(pay, pby, s, dy, whole=s in NICE_SCALES)
    return s, dx, dy, r


def _within(c: tuple[float, float, float], box: tuple[int, int, int, int],
            size: tuple[int, int]) -> bool:
    """Render content ``box`` mapped by candidate ``c`` stays on a canvas of ``size`` (a few px
    of slack); the identity always does."""
    s, dx, dy = c
    slack = 2 + 0.02 * max(size)
    return (s * box[0] + dx >= -slack and s * box[1] + dy >= -slack
            and s * box[2] + dx <= size[0] + slack and s * box[3] + dy <= size[1] + slack)


def _shifted_profile(pb: np.ndarray, s: float, d: float, n: int) -> np.ndarray:
    """Render profile in reference bins: bin u covers render [(u − d)/s, (u + 1 − d)/s)."""
    cum = np.concatenate([[0.0], np.cumsum(pb, dtype=np.float64)])
    edges = (np.arange(n + 1, dtype=np.float64) - d) / s
    c = np.interp(np.clip(edges, 0, pb.size), np.arange(pb.size + 1, dtype=np.float64), cum)
    return np.diff(c) * s  # a reference line holds s× the ink pixels of a render line


def _refine_axis(pa: np.ndarray, pb: np.ndarray, s: float, d0: float, *, whole: bool) -> float:
    """The offset near ``d0`` whose shifted render profile best matches the reference's.

    ``whole``: crops and pads of a nicely scaled picture sit on whole reference pixels.
    """
    steps = np.arange(-2.0, 2.01, 1.0) if whole else np.arange(-1.5, 1.51, 0.25)
    base = float(round(d0)) if whole else d0
    best, best_err = base, np.inf
    for d in base + steps:
        err = float(np.abs(pa - _shifted_profile(pb, s, float(d), pa.size)).sum())
        if err < best_err - 1e-9:
            best, best_err = float(d), err
    return best
