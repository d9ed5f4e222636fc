"""Pixels → findings: which element each differing pixel belongs to, and what happened to it.

Each differing pixel belongs to the smallest render anchor that contains it (containers only as a
last resort), corrected by colour (who drew it); the ink on either side then tells missing,
extra, recoloured, moved or reshaped.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison, Region
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import (
    LIGHT_INK,
    SAME_COLOR,
    Finding,
    Placed,
    crop_ink,
    grow,
    inside,
    int_box,
    moved_or_resized,
    norm_text,
    overlaps,
    texty,
    union,
    written,
)
from verm.critic.analytic.pixels import (
    Color,
    change_share,
    color_distance,
    differs_from,
    dominant_color,
    near_color,
    parse_hex,
)
from verm.critic.taxonomy import CHART_MARKS, TOP_CONTAINERS
from verm.types import Anchor, Box

WHOLE_SHAPE = 2.0  # times the render box's area the reference's overlapping shape spans at most
TOUCH = 2.5  # a container-owned patch this close to an element of its colour is that element
OWN_AREA = 8000  # differing pixels above which an element's patch is not re-examined
MAX_SAMPLES = 60_000  # differing pixels examined one by one; beyond, an even sample
LOST_SHARE = 0.6  # of a patch beside a text that must be reference-only ink to be its words
WORD_GAP = 0.8  # text heights between a text's end and ink still on its line (a word space)
CLUSTER = 8  # px between unanchored patches that still make one thing
REF_MARGIN = 6  # a lost pixel this close to a smaller element of its old colour is its
SMEAR_LUMA = 16  # luma difference within which a thin stroke's new hue is JPEG's chroma smear
SMEAR_SIDE = 6  # px: an element this narrow is a stroke to JPEG (a histogram's bar)
SMEAR_PIXELS = 150  # a change this small is a stroke's rim, whatever its element
SMEAR_SPARSE = 0.2  # changed pixels under this share of their box: strokes, not a fill
NOT_ITS_MIN = 20  # differing pixels below which a shape's own colours are not looked for
NOT_ITS_SHARE = 0.02  # of them in its fill or stroke colour, at most, to be none of its doing
WHOLE = 0.5  # of an element's box that differs for it to be new as a whole (else it grew)
GROUND_SHARE = 0.2  # of the frame a shape covers to be the ground others are drawn on
FLAT_SHAPE = 0.3  # of a shape's box that must differ for its whole fill to have changed
FLAT_SHARE = 0.6  # of those pixels in one colour on each side: a flat fill recoloured


class Samples:
    """The differing pixels: coordinates and both pictures' colours as 1-D channel arrays.

    Computed once per judgement; every test below indexes into it (1-D element-wise numpy is
    ~10× faster than reductions over a trailing colour axis).
    """

    def __init__(self, cmp: Comparison, ys: np.ndarray, xs: np.ndarray, step: int = 1) -> None:
        self.ys, self.xs = ys, xs
        self.step = step  # each sample stands for this many differing pixels
        self.a = np.ascontiguousarray(cmp.ref[ys, xs].T, dtype=np.int32)  # (3, P)
        self.b = np.ascontiguousarray(cmp.render[ys, xs].T, dtype=np.int32)
        self.a_ink = self._ink(self.a, cmp.ref_background)
        self.b_ink = self._ink(self.b, cmp.render_background)

    @staticmethod
    def _ink(ch: np.ndarray, bg: Color) -> np.ndarray:
        """Not background. Lower than register's INK: a pale card on white is content."""
        return ((np.abs(ch[0] - bg[0]) > LIGHT_INK) | (np.abs(ch[1] - bg[1]) > LIGHT_INK)
                | (np.abs(ch[2] - bg[2]) > LIGHT_INK))

    @staticmethod
    def near(ch: np.ndarray, idx: np.ndarray, color: Color) -> np.ndarray:
        c = ch[:, idx]
        d = (c[0] - color[0]) ** 2 + (c[1] - color[1]) ** 2 + (c[2] - color[2]) ** 2
        return d <= SAME_COLOR**2

    @staticmethod
    def dominant(ch: np.ndarray, idx: np.ndarray) -> Color | None:
        if idx.size == 0:
            return None
        step = max(1, idx.size // 4096)  # a colour census needs no more than a few thousand
        return dominant_color(ch[:, idx[::step]].T)


def blame_pixels(cmp: Comparison, placed: list[Placed], explained: np.ndarray
                 ) -> list[Finding]:
    """Findings for the differing pixels not yet ``explained``: background changes, one per
    element blamed, and unanchored patches clustered."""
    regions = [_unexplained_part(r, explained) for r in cmp.regions]
    regions = [r for r in regions if r is not None]
    if not regions:
        return []
    window = int_box(union([r.box for r in regions]), cmp.frame)
    owner_map = _owner_map(placed, window)
    ys = np.concatenate([r.ys for r in regions])
    xs = np.concatenate([r.xs for r in regions])
    rid = np.concatenate([np.full(r.ys.size, i) for i, r in enumerate(regions)])
    # Pictures with nothing in common differ everywhere: a sample tells the same story.
    step = max(1, -(-ys.size // MAX_SAMPLES))
    if step > 1:
        ys, xs, rid = ys[::step], xs[::step], rid[::step]
    px = Samples(cmp, ys, xs, step)
    backgrounds, keep = _background_changes(cmp, px, placed)
    if not keep.all():
        ys, xs, rid = ys[keep], xs[keep], rid[keep]
        if ys.size == 0:
            return backgrounds
        px = Samples(cmp, ys, xs, step)
    owner = _color_owners(px, placed, owner_map[ys - window[1], xs - window[0]])
    is_container = np.array([p.anchor.container for p in placed] + [True], dtype=bool)[owner]
    # Several patches on one element are one discrepancy; on a container, each is its own.
    group = np.where(is_container, rid, -1)
    # One integer key per (owner, patch), grouped by a stable sort of small integers.
    base = len(regions) + 1
    key = ((owner + 1) * base + (group + 1)).astype(np.int64)
    counts = np.bincount(key)
    present = np.flatnonzero(counts)
    order = np.argsort(key, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts[present])])
    index = {id(p): i for i, p in enumerate(placed)}
    # First settle who owns each patch (adoption included), then judge each element once on
    # all its pixels: a moved button is one move, not a move plus a text change.
    per_element: dict[int, list[np.ndarray]] = {}
    loose: list[Finding] = []
    for gi, k in enumerate(present):
        sel = order[starts[gi] : starts[gi + 1]]
        if sel.size < 3:
            continue
        o = int(k // base) - 1
        pl = placed[o] if o >= 0 else None
        if pl is None or pl.anchor.container or _foreign(px, sel, pl):
            adopted = _adopt(px, sel, placed, _bounds(px, sel))
            if adopted is not None:
                o, pl = index[id(adopted)], adopted
        if pl is not None and not pl.anchor.container:
            per_element.setdefault(o, []).append(sel)
            continue
        f = _classify(cmp, px, sel, pl, _bounds(px, sel), placed)
        if f is not None:
            loose.append(f)
    owned: list[Finding] = []
    for o, parts in per_element.items():
        sel = np.concatenate(parts)
        f = _classify(cmp, px, sel, placed[o], _bounds(px, sel), placed)
        if f is not None:
            f.evidence = [_bounds(px, p) for p in parts]
            owned.append(f)
    if step > 1:
        for f in (*owned, *loose):
            f.pixels *= step
    return backgrounds + owned + _cluster(loose)


def _background_changes(cmp: Comparison, px: Samples, placed: list[Placed]
                        ) -> tuple[list[Finding], np.ndarray]:
    """Canvases and containers whose background colour changed: one finding each, and the
    differing pixels that change explains (flat fill, and anti-aliased rims of everything drawn
    on it: B − A is a fraction of the background's change)."""
    found: list[Finding] = []
    keep = np.ones(px.ys.size, dtype=bool)
    w, h = cmp.frame.size
    scopes: list[tuple[Placed | None, tuple[int, int, int, int], Color, Color]] = [
        (None, (0, 0, w, h), cmp.ref_background, cmp.render_background)]
    # A container's fill, or a shape big enough to be what others stand on (an icon's
    # backdrop): its change shows in the rims of everything drawn on it.
    grounds = (p for p in placed if p.anchor.container or (
        p.anchor.role == "shape" and p.area >= GROUND_SHARE * w * h))
    for p in sorted(grounds, key=lambda p: -p.area):
        if p.area >= 0.9 * w * h and p.anchor.container:
            continue  # the canvas itself: judged by the border colours above
        if any(q is not p and not q.anchor.container and inside(p.tight, q.tight, 0.9)
               for q in placed):
            continue  # a group round one shape: that shape's fill, judged as the shape's
        within = ((px.xs >= p.box[0]) & (px.xs < p.box[2]) & (px.ys >= p.box[1])
                  & (px.ys < p.box[3]))
        if np.count_nonzero(within) * px.step < 0.2 * p.area:
            continue  # too few differing pixels for the whole fill to have changed
        # Its ground is what its marks leave bare: wide bars can cover most of a plot.
        holes = [q.box for q in placed if q is not p and not q.anchor.container
                 and q.anchor.role in CHART_MARKS and inside(q.tight, p.tight, 0.9)]
        bg_a = _fill(cmp.ref, p.box, holes)
        bg_b = _fill(cmp.render, p.box, holes)
        if bg_a is not None and bg_b is not None:
            scopes.append((p, p.box, bg_a, bg_b))
    for p, box, bg_a, bg_b in scopes:
        if color_distance(bg_a, bg_b) <= LIGHT_INK:
            continue
        x0, y0, x1, y1 = box
        idx = np.flatnonzero((px.xs >= x0) & (px.xs < x1) & (px.ys >= y0) & (px.ys < y1)
                             & keep)
        if idx.size == 0:
            continue
        delta = (px.b[:, idx] - px.a[:, idx]).astype(np.float32).T
        v = np.array(bg_b, dtype=np.float32) - np.array(bg_a, dtype=np.float32)
        t, rest = change_share(delta, v)
        explained = (t >= -0.1) & (t <= 1.1) & (rest <= (SAME_COLOR / 2) ** 2)
        keep[idx[explained]] = False
        anchor = p.anchor if p is not None else next(
            (q.anchor for q in placed if q.anchor.role in TOP_CONTAINERS
             and q.anchor.container and q.area >= 0.9 * w * h), None)
        found.append(Finding("background", anchor, None, p.tight if p else (0, 0, w, h), None,
                             int(np.count_nonzero(explained)) * px.step, ref_color=bg_a,
                             render_color=bg_b, evidence=[p.tight if p else (0, 0, w, h)]))
    return found, keep


def _fill(img: np.ndarray, box: tuple[int, int, int, int],
          holes: list[tuple[int, int, int, int]] = ()) -> Color | None:
    """The dominant colour inside ``box`` outside ``holes`` (a sample of ≤ ~4k pixels);
    None when the holes leave less than a tenth of it."""
    x0, y0, x1, y1 = box
    crop = img[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    bare = np.ones(crop.shape[:2], dtype=bool)
    for hx0, hy0, hx1, hy1 in holes:
        bare[max(0, hy0 - y0):max(0, hy1 - y0), max(0, hx0 - x0):max(0, hx1 - x0)] = False
    if holes and np.count_nonzero(bare) < 0.1 * bare.size:
        return None
    pixels = crop[bare]
    return dominant_color(pixels[:: max(1, len(pixels) // 4096)])


def _cluster(loose: list[Finding]) -> list[Finding]:
    """Unanchored patches of one kind lying close together are one thing (a vanished table row:
    its borders and its texts)."""
    boxes = [grow(f.box, CLUSTER) for f in loose]
    parent = list(range(len(loose)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(loose)):
        for j in range(i + 1, len(loose)):
            if loose[i].nature == loose[j].nature and overlaps(boxes[i], boxes[j]):
                parent[root(j)] = root(i)
    clusters: dict[int, list[Finding]] = {}
    for i, f in enumerate(loose):
        clusters.setdefault(root(i), []).append(f)
    out: list[Finding] = []
    for members in clusters.values():
        head = max(members, key=lambda f: f.pixels)
        if len(members) > 1:
            head.evidence = [e for m in members for e in (m.evidence or [m.box])]
            head.pixels = sum(m.pixels for m in members)
            whole = union(head.evidence)
            if head.ref_box is not None:
                head.ref_box = whole
            if head.render_box is not None:
                head.render_box = whole
        out.append(head)
    return out


def _bounds(px: Samples, sel: np.ndarray) -> Box:
    gy, gx = px.ys[sel], px.xs[sel]
    return (float(gx.min()), float(gy.min()), float(gx.max() + 1), float(gy.max() + 1))


def _color_owners(px: Samples, placed: list[Placed], owner: np.ndarray) -> np.ndarray:
    """The smallest box is not always the culprit; colour says who drew a differing pixel.

    A pixel that has the owner's colour in neither picture goes to the smallest element that
    contains it and whose colour it is (or a blend of it with the owner's: the anti-aliased rim
    of white text on a recoloured circle belongs to the circle). A pixel the owner still draws
    but whose reference colour was another, smaller element's nearby is that element's loss
    (the glyph of an old label where the shape behind it now shows).
    """
    colors = [p.color for p in placed]
    owner = owner.copy()
    for o in np.unique(owner):
        own = colors[o] if o >= 0 else None
        if own is None or placed[o].anchor.container:
            continue
        sel = np.flatnonzero(owner == o)
        if sel.size > OWN_AREA:
            continue  # a large patch inside an element is that element's
        # The owner is (partly) there: its colour, or its anti-aliased mix with what the other
        # picture shows at that pixel.
        a, b = px.a[:, sel], px.b[:, sel]
        b_own = px.near(px.b, sel, own) | _between(b, own, a)
        a_own = px.near(px.a, sel, own) | _between(a, own, b)
        # Neither picture has the owner's colour here: someone else's change shows through.
        drawn_by_other = sel[~b_own & ~a_own]
        lost_from_other = sel[b_own & ~a_own]
        for pending, ch, margin, smaller_only in (
            (drawn_by_other, px.b, 0, False),
            (lost_from_other, px.a, REF_MARGIN, True),
        ):
            if pending.size == 0:
                continue
            new = _best_by_color(px, placed, colors, o, pending, ch, own, margin, smaller_only)
            moved = new >= 0
            owner[pending[moved]] = new[moved]
            if ch is px.b and not moved.all():
                # The render shows its ground there: the ink of an element the reference has
                # there went (a line's dashes opened gaps).
                gone = pending[~moved]
                gone = gone[~px.b_ink[gone]]
                if gone.size == 0:
                    continue
                lost = _best_by_color(px, placed, colors, o, gone, px.a, own, 0, False)
                owner[gone[lost >= 0]] = lost[lost >= 0]
    return owner


def _best_by_color(px: Samples, placed: list[Placed], colors: list[Color | None], o: int,
                   pending: np.ndarray, ch: np.ndarray, own: Color, margin: int,
                   smaller_only: bool) -> np.ndarray:
    """For each pending pixel, the smallest other element (box grown by ``margin``) whose colour,
    or a blend of it with ``own``, the pixel has in ``ch``; −1 where none."""
    py, pxs = px.ys[pending], px.xs[pending]
    y0, y1, x0, x1 = py.min(), py.max() + 1, pxs.min(), pxs.max() + 1
    best = np.full(pending.size, -1)
    best_area = np.full(pending.size, np.iinfo(np.int64).max)
    limit = placed[o].area if smaller_only else np.iinfo(np.int64).max
    for i, p in enumerate(placed):
        c = colors[i]
        b0, b1, b2, b3 = (p.box[0] - margin, p.box[1] - margin, p.box[2] + margin,
                          p.box[3] + margin)
        if (i == o or c is None or p.anchor.container or p.area >= limit or b0 >= x1
                or b2 <= x0 or b1 >= y1 or b3 <= y0):
            continue
        hits = np.flatnonzero((pxs >= b0) & (pxs < b2) & (py >= b1) & (py < b3)
                                & (p.area < best_area))
        if hits.size == 0:
            continue
        at = pending[hits]
        hit = hits[px.near(ch, at, c) | _blend(ch, at, own, c)]
        best[hit] = i
        best_area[hit] = p.area
    return best


def _between(x: np.ndarray, c0: Color, ends: np.ndarray) -> np.ndarray:
    """Columns of ``x`` (3, n) lying on the segment from ``c0`` to the matching column of
    ``ends``: an anti-aliased mix of the two."""
    base = np.array(c0, dtype=np.float32)[:, None]
    v = ends.astype(np.float32) - base
    w = x.astype(np.float32) - base
    vv = v[0] ** 2 + v[1] ** 2 + v[2] ** 2
    t = (v[0] * w[0] + v[1] * w[1] + v[2] * w[2]) / np.maximum(vv, 1.0)
    r = w - v * t
    dist2 = r[0] ** 2 + r[1] ** 2 + r[2] ** 2
    return (vv >= SAME_COLOR**2) & (t >= 0.0) & (t <= 1.0) & (dist2 <= (SAME_COLOR / 2) ** 2)


def _blend(ch: np.ndarray, idx: np.ndarray, c0: Color, c1: Color) -> np.ndarray:
    """Pixels whose colour lies on the segment between c0 and c1 (anti-aliased mixtures)."""
    v = np.array(c1, dtype=np.float32) - np.array(c0, dtype=np.float32)
    vv = float(v @ v)
    if vv < SAME_COLOR**2:
        return np.zeros(idx.size, dtype=bool)
    w = ch[:, idx].astype(np.float32) - np.array(c0, dtype=np.float32)[:, None]
    t = (v @ w) / vv
    resid = w - np.outer(v, t)
    dist2 = resid[0] ** 2 + resid[1] ** 2 + resid[2] ** 2
    return (t >= 0.1) & (t <= 1.0) & (dist2 <= (SAME_COLOR / 2) ** 2)


def _unexplained_part(r: Region, explained: np.ndarray) -> Region | None:
    keep = ~explained[r.ys, r.xs]
    if keep.all():
        return r
    if np.count_nonzero(keep) < 3:
        return None
    return Region(r.box, r.ys[keep], r.xs[keep])


def _owner_map(placed: list[Placed], window: tuple[int, int, int, int]) -> np.ndarray:
    """Index of the most specific anchor at each pixel of ``window`` (−1: none).

    Painted containers first then elements, each largest first, so the smallest element wins.
    """
    x0, y0, x1, y1 = window
    owners = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)
    order = sorted(range(len(placed)),
                   key=lambda i: (not placed[i].anchor.container, -placed[i].area))
    for i in order:
        bx0, by0, bx1, by1 = placed[i].box
        ax0, ay0 = max(bx0, x0), max(by0, y0)
        ax1, ay1 = min(bx1, x1), min(by1, y1)
        if ax1 > ax0 and ay1 > ay0:
            owners[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = i
    return owners


def _adopt(px: Samples, sel: np.ndarray, placed: list[Placed], ev: Box) -> Placed | None:
    """A container-owned patch touching an element of the same colour is that element's change
    (a bar drawn shorter leaves reference ink just above the render's bar)."""
    colors = [c for c in (px.dominant(px.a, sel[px.a_ink[sel]]),
                          px.dominant(px.b, sel[px.b_ink[sel]])) if c]
    if not colors:
        return None
    best: Placed | None = None
    for p in placed:
        a = p.anchor
        if a.container:
            continue
        c = p.color
        if c is None:
            continue
        x0, y0, x1, y1 = p.tight
        touching = not (ev[0] > x1 + TOUCH or ev[2] < x0 - TOUCH or ev[1] > y1 + TOUCH
                        or ev[3] < y0 - TOUCH)
        own_ink = touching and any(color_distance(c, k) <= SAME_COLOR for k in colors)
        if not own_ink and not (_word_beside(p, ev) and _lost_words(px, sel)
                                and _inked_with(px, sel, c)):
            continue
        if best is None or p.area < best.area:
            best = p
    return best


def _foreign(px: Samples, sel: np.ndarray, pl: Placed) -> bool:
    """A patch inside an element's box that neither picture draws in its colour: ink of
    something beside it (a legend entry's lost words over a line's box), not its change."""
    c = pl.color
    if c is None or pl.anchor.role not in ("line", "collection"):
        return False
    return not (px.near(px.a, sel, c) | px.near(px.b, sel, c)).any()


def _word_beside(p: Placed, ev: Box) -> bool:
    """Ink on a text's own line, a word space or so from its end: words the reference has
    there and the render does not ("Group A" shortened to "Group" leaves "A" beside it)."""
    if not texty(p.anchor):
        return False
    x0, y0, x1, y1 = p.tight
    height = y1 - y0
    if height <= 0 or ev[3] - ev[1] > 1.5 * height:
        return False
    shared = min(ev[3], y1) - max(ev[1], y0)
    gap = max(ev[0] - x1, x0 - ev[2])
    return shared >= 0.5 * (ev[3] - ev[1]) and gap <= WORD_GAP * height


def _lost_words(px: Samples, sel: np.ndarray) -> bool:
    """Mostly ink the reference has where the render shows its ground: words gone, not the
    same punctuation drawn a little differently (a JPEG's ringing round a comma)."""
    return int(np.count_nonzero(px.a_ink[sel] & ~px.b_ink[sel])) >= LOST_SHARE * sel.size


def _inked_with(px: Samples, sel: np.ndarray, color: Color) -> bool:
    """Some of the patch is drawn in ``color`` on either side (a small glyph's pixels are mostly
    its anti-aliased rim, so its dominant colour is not the text's)."""
    return int(np.count_nonzero(px.near(px.a, sel, color) | px.near(px.b, sel, color))) >= 3


def _underneath(placed: list[Placed], pl: Placed, color: Color, ev: Box) -> bool:
    """The element right under this evidence is of ``color`` (so the reference drew it there):
    the smallest bigger one covering it, which is what shows where this one is not."""
    below = _below(placed, pl, ev, 0.3, painted=True)
    c = below.color if below is not None else None
    return c is not None and color_distance(c, color) <= SAME_COLOR


def _crossed(placed: list[Placed], pl: Placed, color: Color, ev: Box) -> bool:
    """A line or marker set whose reference shows, where it differs, the colour of another
    mark its evidence overlaps: new ink of it (markers) drawn over that mark (a faint guide
    line of the same points), not a recolour of it."""
    if pl.anchor.role not in ("line", "collection"):
        return False
    for p in placed:
        if (p is pl or p.anchor.container or p.anchor.role not in CHART_MARKS
                or not inside(ev, p.box, 0.5)):
            continue
        shown = [c for c in (p.color, parse_hex(p.anchor.props.get("faint"))) if c is not None]
        if any(color_distance(c, color) <= SAME_COLOR for c in shown):
            return True
    return False


def _below(placed: list[Placed], pl: Placed, box: Box, share: float, *,
           painted: bool) -> Placed | None:
    """The smallest element bigger than ``pl`` holding ``share`` of ``box`` (``painted``: and
    painted before it): what shows where ``pl`` is not."""
    below = [p for p in placed if p is not pl and p.color is not None
             and not p.anchor.container and inside(box, p.box, share) and p.area > pl.area
             and (not painted or _painted_before(p, pl))]
    return min(below, key=lambda p: p.area, default=None)


def _classify(cmp: Comparison, px: Samples, sel: np.ndarray, pl: Placed | None,
              ev: Box, placed_all: list[Placed]) -> Finding | None:
    """What happened to ``pl`` (or, for a container or nothing, to the patch itself)."""
    n = sel.size
    a_ink, b_ink = px.a_ink[sel], px.b_ink[sel]
    missing = np.count_nonzero(a_ink & ~b_ink) / n
    extra = np.count_nonzero(b_ink & ~a_ink) / n
    col_a = px.dominant(px.a, sel[a_ink])
    col_b = px.dominant(px.b, sel[b_ink])
    anchor = pl.anchor if pl else None
    f = Finding("changed", anchor, None, pl.tight if pl else None, None, n,
                ref_color=col_a, render_color=col_b,
                render_text=norm_text(anchor.text) if anchor else None, evidence=[ev])
    if pl is None or anchor is None or anchor.container:
        area = pl.area if pl else cmp.frame.size[0] * cmp.frame.size[1]
        if n * px.step >= 0.3 * area:
            f.nature = "background"
            f.ref_color = px.dominant(px.a, sel)
            f.render_color = px.dominant(px.b, sel)
        elif missing >= 0.7:
            f.nature = "missing"
            f.ref_box, f.render_box = ev, None
        elif extra >= 0.7:
            f.nature = "extra"
            f.render_box = ev
        elif col_a and col_b and color_distance(col_a, col_b) > SAME_COLOR:
            f.nature = "recolor"
        if (anchor is not None and pl is not None and anchor.role not in TOP_CONTAINERS
                and f.nature in ("missing", "extra") and not inside(pl.tight, ev, 0.6)):
            f.nature = "changed"  # a part of a legend or group, not the whole of it
        return f
    both = 1.0 - missing - extra
    anchor_color = parse_hex(anchor.color)
    if _not_its_paint(px, sel, anchor, anchor_color):
        return None
    if (col_a is not None and col_b is not None and anchor_color is not None
            and np.count_nonzero(px.near(px.a, sel, anchor_color)) < 0.05 * n
            and n * px.step >= WHOLE * pl.area and _underneath(placed_all, pl, col_a, ev)):
        # The reference shows another element here (a bar under a new grid line): this one is
        # new on top of it, not recoloured.
        f.nature, f.render_box = "extra", pl.tight
        return f
    if anchor_color is not None and np.count_nonzero(
        px.near(px.a, sel, anchor_color) & px.near(px.b, sel, anchor_color)
    ) >= 0.8 * n:
        return None  # its own colour on both sides: faint rims of a change beside it
    flat = _flat_fill(cmp, px, sel, pl, placed_all, anchor_color)
    if flat is not None:
        # Filled in another colour that is not what lies under it (a white dot turned brown on
        # a blue disc: no "ink" against the white canvas, yet a recolour).
        f.nature, f.ref_color, f.render_color = "recolor", flat, anchor_color
        return f
    # Part of it shows what lies under it in the reference: it grew there, not recoloured.
    grew = (col_a is not None and n * px.step < WHOLE * pl.area
            and (_underneath(placed_all, pl, col_a, ev) or _crossed(placed_all, pl, col_a, ev)))
    if (col_a and col_b and both >= 0.5 and color_distance(col_a, col_b) > SAME_COLOR
            and not grew):
        exact = cmp.frame.scale == 1.0 and not cmp.lossy  # else shades are stroke weights
        if exact and texty(anchor) and anchor_color is not None and _shades(
                (col_a, col_b), anchor_color, cmp.ref_background, cmp.render_background):
            # Lighter and darker shades of the text's own ink: other glyphs, not a colour.
            f.nature = "text"
            return f
        if texty(anchor) and _glyphs_on_ground(anchor, anchor_color, col_a, col_b,
                                               _ground(pl, placed_all) or cmp.ref_background):
            # Its ink where the reference shows its ground: other words, not a colour.
            f.nature = "text"
            return f
        f.nature = "recolor"
        if anchor_color and color_distance(anchor_color, col_b) <= SAME_COLOR:
            f.render_color = anchor_color
        return f
    ref_box = _ref_extent(cmp, pl, anchor_color or col_b, ev)
    if ref_box is not None and moved_or_resized(ref_box, pl.tight) == "moved":
        f.nature, f.ref_box = "moved", ref_box  # same element, same size, elsewhere
        return f
    if anchor.text or texty(anchor):
        # New text where the reference shows nothing inside the element's box: it is extra.
        own_box = int_box(pl.tight, cmp.frame)
        shown = crop_ink(cmp.ref, cmp.ref_background, own_box, LIGHT_INK) > 0
        f.nature = "text" if ref_box is not None and shown else "extra"
        f.ref_box = ref_box if shown else None
        return f
    if ref_box is None:
        f.nature = "extra"
        return f
    f.ref_box = ref_box
    f.nature = moved_or_resized(ref_box, pl.tight)
    return f


def _glyphs_on_ground(anchor: Anchor, ink: Color | None, ref: Color, render: Color,
                      ground: Color) -> bool:
    """The render shows the text's own colour and the reference the ground it is written on."""
    if ink is None or color_distance(render, ink) > SAME_COLOR / 2:
        return False
    return color_distance(ref, ground) <= SAME_COLOR / 2


def _ground(pl: Placed, placed: list[Placed]) -> Color | None:
    """The background a page element is drawn on: its own, else the smallest box holding it
    that paints one."""
    for p in sorted((p for p in placed if p is pl or inside(pl.tight, p.tight, 0.95)),
                    key=lambda p: p.area):
        style = p.anchor.props.get("style")
        color = parse_hex(style.get("background-color")) if isinstance(style, dict) else None
        if color is not None:
            return color
    return None


def _not_its_paint(px: Samples, sel: np.ndarray, anchor: Anchor, fill: Color | None) -> bool:
    """An icon's shape whose fill and stroke colours neither picture shows at these pixels:
    its paint is where it was, and they are another shape's change seen through its box (a
    copy's ring round the triangle drawn over it)."""
    stroke = anchor.props.get("stroke")
    own = [c for c in (fill, parse_hex(stroke) if isinstance(stroke, str) else None)
           if c is not None]
    if anchor.role != "shape" or not own or sel.size < NOT_ITS_MIN:
        return False
    painted = np.zeros(sel.size, dtype=bool)
    for c in own:
        painted |= px.near(px.a, sel, c) | px.near(px.b, sel, c)
    return np.count_nonzero(painted) < NOT_ITS_SHARE * sel.size


def _painted_before(p: Placed, q: Placed) -> bool:
    """``p`` may lie under ``q``: an SVG paints in document order; elsewhere (a chart's
    z-order) the order is not the code's, so any may."""
    a, b = p.anchor, q.anchor
    if a.role != "shape" or b.role != "shape" or a.range is None or b.range is None:
        return True
    return written(a) < written(b)


def _flat_fill(cmp: Comparison, px: Samples, sel: np.ndarray, pl: Placed,
               placed_all: list[Placed], own: Color | None) -> Color | None:
    """The reference's colour where this shape, drawn in its own colour over most of its box,
    shows one other flat colour that is not what lies under it; else None."""
    if own is None or texty(pl.anchor) or sel.size * px.step < FLAT_SHAPE * max(1, pl.area):
        return None
    col = px.dominant(px.a, sel)
    if col is None or color_distance(col, own) <= SAME_COLOR:
        return None
    n = sel.size
    if (np.count_nonzero(px.near(px.a, sel, col)) < FLAT_SHARE * n
            or np.count_nonzero(px.near(px.b, sel, own)) < FLAT_SHARE * n):
        return None
    below = _below(placed_all, pl, pl.tight, 0.9, painted=False)
    ground = below.color if below is not None else cmp.ref_background
    if ground is None or color_distance(col, ground) <= SAME_COLOR:
        return None  # the reference shows what lies under it: this shape is new
    return col


def _shades(colors: tuple[Color, Color], ink: Color, *backgrounds: Color) -> bool:
    """Every colour is the ink, a background, or an anti-aliased mix of the two."""
    def shade(c: Color) -> bool:
        return any(color_distance(c, k) <= SAME_COLOR for k in (ink, *backgrounds)) or any(
            bool(_blend(np.array(c, dtype=np.int32)[:, None], np.array([0]), ink, bg)[0])
            for bg in backgrounds)
    return all(shade(c) for c in colors)


def _ref_extent(cmp: Comparison, pl: Placed, color: Color | None, ev: Box) -> Box | None:
    """Where the element is in the reference: its colour's ink around the render box — the
    whole of the shape of its colour that overlaps the render box, when there is one (moved
    by less than its size, the part of it beyond the patch blamed here is still it)."""
    whole = _overlapping_shape(cmp, pl, color) if color is not None and not texty(
        pl.anchor) else None
    if whole is not None:
        return whole
    m = 2 * TOUCH
    x0, y0, x1, y1 = int_box(union([pl.tight, ev]), cmp.frame)
    x0, y0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    x1, y1 = min(cmp.frame.size[0], int(x1 + m)), min(cmp.frame.size[1], int(y1 + m))
    crop = cmp.ref[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    if color is not None and not texty(pl.anchor):
        mask = near_color(crop, color, SAME_COLOR)
    else:
        mask = differs_from(crop, cmp.ref_background)
    if np.count_nonzero(mask) < 3:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1),
            float(y0 + rows[-1] + 1))


def _overlapping_shape(cmp: Comparison, pl: Placed, color: Color) -> Box | None:
    """The box of the reference's shapes of ``color`` that overlap the render box, searched
    as far round it as the element is big; None when that is not one shape's worth (a
    backdrop of the same colour it touches, several times its size)."""
    x0, y0, x1, y1 = int_box(pl.tight, cmp.frame)
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return None
    fw, fh = cmp.frame.size
    wx0, wy0 = max(0, x0 - w), max(0, y0 - h)
    wx1, wy1 = min(fw, x1 + w), min(fh, y1 + h)
    mask = near_color(cmp.ref[wy0:wy1, wx0:wx1], color, SAME_COLOR)
    labels, boxes = label(mask)
    inner = labels[y0 - wy0:y1 - wy0, x0 - wx0:x1 - wx0]
    ids = np.unique(inner[inner > 0])
    if ids.size == 0:
        return None
    rows = [boxes[i - 1][0] for i in ids]
    cols = [boxes[i - 1][1] for i in ids]
    box = (float(wx0 + min(c.start for c in cols)), float(wy0 + min(r.start for r in rows)),
           float(wx0 + max(c.stop for c in cols)), float(wy0 + max(r.stop for r in rows)))
    if _area(box) > WHOLE_SHAPE * max(1.0, w * h):
        return None
    return box


SMEAR_TINT = 12.0  # chroma (Cb, Cr distance from grey) of a colour clearly tinted
SMEAR_TURN = 60.0  # degrees of hue (in the Cb-Cr plane) a smear does not turn a colour by


def chroma_smear(f: Finding) -> bool:
    """A thin line or text "recoloured" with the same luma: JPEG keeps a thin stroke's
    brightness but smears its colour into the background (a red line turns brownish), so on a
    lossy reference that is compression, not a recolour."""
    if f.nature != "recolor" or f.anchor is None or f.ref_color is None or f.render_color is None:
        return False
    box = f.anchor.box
    own = parse_hex(f.anchor.color)
    edge = own is None or color_distance(own, f.render_color) > SAME_COLOR  # not its fill
    thin = (texty(f.anchor) or f.anchor.role in ("spine", "grid", "line", "text", "collection")
            or min(box[2] - box[0], box[3] - box[1]) <= SMEAR_SIDE or f.pixels <= SMEAR_PIXELS
            or edge or f.pixels <= SMEAR_SPARSE * max(1.0, _area(f.box)))
    return (thin and abs(_luma(f.ref_color) - _luma(f.render_color)) <= SMEAR_LUMA
            and not _other_hue(f.ref_color, f.render_color))


def _other_hue(a: Color, b: Color) -> bool:
    """Both colours clearly tinted, in directions more than SMEAR_TURN apart (light blue and
    light green): a smear dilutes a colour toward the white ground, keeping its hue."""
    ca, cb = _chroma(a), _chroma(b)
    na, nb = float(np.hypot(*ca)), float(np.hypot(*cb))
    if min(na, nb) < SMEAR_TINT:
        return False
    return (ca[0] * cb[0] + ca[1] * cb[1]) / (na * nb) < np.cos(np.radians(SMEAR_TURN))


def _chroma(c: Color) -> tuple[float, float]:
    """(Cb, Cr) about grey (JPEG's YCbCr)."""
    r, g, b = (float(v) for v in c[:3])
    return (-0.1687 * r - 0.3313 * g + 0.5 * b, 0.5 * r - 0.4187 * g - 0.0813 * b)


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _luma(c: Color) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def borrowed_colours(findings: list[Finding]) -> None:
    """Elements "recoloured" alike (the same reference and render colours): the one whose own
    colour is nearest that change owns it (bars drawn translucent too); the others, far from
    it (a legend entry or spine over the bars), show it through: its consequences."""
    changes = [f for f in findings if f.nature == "recolor" and f.anchor is not None
               and f.render_color is not None and f.ref_color is not None]
    for f in changes:
        alike = [g for g in changes if _same_change(f, g)]
        if len(alike) < 2:
            continue
        owner = min(alike, key=lambda g: (_own_distance(g), -g.pixels))
        for g in alike:
            if (g is not owner and g.anchor is not None and owner.anchor is not None
                    and g.anchor.role != owner.anchor.role
                    and _own_distance(g) > _own_distance(owner) + SAME_COLOR):
                g.consequence = True


def regrown_wedges(findings: list[Finding], placed: list[Placed]) -> None:
    """A wedge "recoloured" in the colour of another wedge of its pie: the reference draws
    that neighbour where this one is now — their sizes changed (the pie's data), not a
    colour."""
    wedges = [p for p in placed if p.anchor.role == "wedge" and p.color is not None]
    for f in findings:
        a = f.anchor
        if (f.nature != "recolor" or a is None or a.role != "wedge" or f.ref_color is None
                or f.consequence):
            continue
        plot = a.key.rsplit("/", 1)[0]
        other = next((p for p in wedges if p.anchor is not a
                      and p.anchor.key.rsplit("/", 1)[0] == plot
                      and color_distance(p.color, f.ref_color) <= SAME_COLOR), None)
        if other is not None:
            f.nature = "data"
            f.note = (f"wedge sizes differ: the reference draws {other.anchor.name} where the "
                      f"render draws {a.name}")
            f.ref_color = f.render_color = None


def _same_change(f: Finding, g: Finding) -> bool:
    assert f.ref_color and f.render_color and g.ref_color and g.render_color
    return (color_distance(f.ref_color, g.ref_color) <= SAME_COLOR / 2
            and color_distance(f.render_color, g.render_color) <= SAME_COLOR / 2)


def _own_distance(f: Finding) -> float:
    """How far the element's own colour is from the colour the render shows it in."""
    own = parse_hex(f.anchor.color) if f.anchor is not None else None
    return color_distance(own, f.render_color) if own and f.render_color else 1e9


def stroke_weight(f: Finding) -> bool:
    """Text or a thin line a little lighter or darker, both grey: a reference captured at another
    resolution draws strokes at other weights. Not a recolour."""
    if f.nature != "recolor" or f.anchor is None or f.ref_color is None or f.render_color is None:
        return False
    thin = texty(f.anchor) or f.anchor.role in ("spine", "grid", "line", "text")
    return thin and max(f.ref_color) - min(f.ref_color) <= 24 and (
        max(f.render_color) - min(f.render_color) <= 24)
