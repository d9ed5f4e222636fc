"""An icon's shape the reference draws and the render lacks: one missing element, placed where
its code would go.

Against a screenshot (no sidecar) a deleted ``<circle>`` leaves a patch where the reference
shows one flat colour and the render shows what lies under it (a bigger shape, or the canvas).
Blamed pixel by pixel it reads as the shape underneath resized or recoloured, on that shape's
line. Here the patch is recognised as a whole: flat in the reference, not drawn by any render
element of its colour (one shrunk, grown or moved is a change of that element, left to the
pixel blame), and small against what shows through it. Its line is where the element would be
written: between the neighbours of its series (same colour or same size, in reading order along
the axis they run), else right after the element it lay on, else before the first element drawn
on top of it.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison, Region
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import (
    SAME_COLOR,
    Finding,
    Placed,
    area,
    first_line,
    grow,
    inside,
    int_box,
    last_line,
    overlaps,
    texty,
    union,
    written,
)
from verm.critic.analytic.moves import EXACT_RMS, LOSSY_RMS, matcher_of
from verm.critic.analytic.pixels import (
    Color,
    change_share,
    color_distance,
    dominant_color,
    near_color,
)
from verm.critic.taxonomy import TOP_CONTAINERS
from verm.types import Box

WHOLE = 0.95  # of the canvas a patch covering it is the canvas, not a shape on it
FLAT_SHARE = 0.6  # of a patch's reference pixels in its one colour: a filled shape
SHOWS_THROUGH = 0.6  # of its render pixels in the colour of what lies under it
MIN_PATCH = 20  # differing pixels below which a patch is a rim, not a shape
NEAR = 3.0  # px: a same-coloured element this close has itself changed shape
UNDER = 2.0  # what shows through covers this many times the patch's box
JOIN = 8.0  # px between patches of one colour that are one shape (a line drawn across it)
MOVED_SHARE = 0.3  # of a same-coloured element's box that differs: it moved away from here
SAME_SIZE = 0.1  # relative size difference of a series' members (plus 2 px)
NEW_SHARE = 0.3  # of a copy's box its finding covers (new ink, not a nudged rim)
NEW_OVER = 0.1  # … of a copy drawn over much of its twin (the rest of it is the twin's ink)
OVER_TWIN = 0.25  # of a copy's box its twin's covers: drawn over it, not beside it
MIN_COPY = 64  # px² of box under which a nudged speck is not told from a copy
SHRUNK = 0.4  # of the lost shape's width and height a shape drawn smaller keeps at least
RIM_SHARE = 0.05  # of an element's box its rim's recoloured pixels cover at most
MAX_GAP = 3  # lines a missing element's range spans at most
EDGE = 1.5  # px: a patch this close to a side of the shape it lies on reaches that side
EDGE_SPAN = 0.9  # of that side's length a moved or grown shape's patch runs along


def lost_shapes(cmp: Comparison, placed: list[Placed], explained: np.ndarray) -> list[Finding]:
    """One ``missing`` finding per flat shape of the reference the render lacks; its pixels are
    marked in ``explained``."""
    elements = [p for p in placed if not p.anchor.container and p.anchor.range is not None]
    canvas = max((p.tight for p in placed if p.anchor.container), key=area, default=None)
    # Beyond the render's canvas a cropped or shifted screenshot's content is registration's
    # business, not a missing shape.
    regions = [r for r in cmp.regions if canvas is not None and inside(_box(r), canvas, 0.95)]
    if canvas is not None:
        # The backdrop recoloured: one region the canvas's size, with shapes lost inside it.
        backdrops = [p.color for p in elements if p.color is not None
                     and inside(canvas, p.tight, WHOLE)]
        regions = [part for r in regions for part in (
            _on_new_ground(cmp, r, backdrops) if area(_box(r)) >= WHOLE * area(canvas)
            else [r])]
    patches = [_patch(cmp, r, explained) for r in regions]
    out: list[Finding] = []
    for members in _joined([p for p in patches if p is not None]):
        color = members[0][1]
        box = union([m[0].box for m in members])
        if canvas is not None and area(box) >= WHOLE * area(canvas):
            continue  # the whole canvas another colour (a transparent icon shot on black)
        under = _under(elements, box)
        if not _shows_through(cmp, members, under):
            continue
        shrunk = next((p for p in elements if p.color is not None
                       and color_distance(p.color, color) <= SAME_COLOR
                       and inside(p.tight, box, 0.8) and _shrunk_within(cmp, p, box, color)),
                      None)
        if shrunk is not None:
            # Its own shape drawn smaller in the middle of it: a geometry change of that one.
            for region, _ in members:
                explained[region.ys, region.xs] = True
            out.append(Finding("resized", shrunk.anchor, None, shrunk.tight, box,
                               sum(region.pixels for region, _ in members),
                               ref_color=color, render_color=color,
                               evidence=[m[0].box for m in members]))
            continue
        if _own_change(cmp, elements, box, color) or _grown_into(cmp, elements, under, box,
                                                                  color):
            continue
        spot = _written_at(elements, placed, box, color, under)
        if spot is None:
            continue
        lines, where = spot
        ground = under.color if under is not None else cmp.render_background
        assert ground is not None
        pixels = 0
        for region, _ in members:
            # Only what its absence explains: a change of what was drawn on it is judged on
            # its own.
            own = _its_absence(cmp, region, color, ground)
            explained[region.ys[own], region.xs[own]] = True
            pixels += int(np.count_nonzero(own))
        out.append(Finding("missing", None, None, None, box, pixels, ref_color=color,
                           evidence=[m[0].box for m in members], name=where,
                           lines=lines))
    return out


def _on_new_ground(cmp: Comparison, r: Region, backdrops: list[Color]) -> list[Region]:
    """A canvas-wide region whose commonest render colour is a backdrop's (a shape covering
    the canvas, recoloured): its parts where the render shows that backdrop and the
    reference something other than its own commonest colour are shapes that were there. The
    backdrop's own change is blamed elsewhere; any other canvas-wide region stays whole."""
    ref, render = cmp.ref[r.ys, r.xs], cmp.render[r.ys, r.xs]
    ground = dominant_color(render)
    if not any(color_distance(ground, c) <= SAME_COLOR for c in backdrops):
        return [r]
    keep = ~near_color(ref[None], dominant_color(ref), SAME_COLOR)[0] & near_color(
        render[None], ground, SAME_COLOR)[0]
    if np.count_nonzero(keep) < MIN_PATCH:
        return []
    x0, y0, x1, y1 = r.box
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    mask[r.ys[keep] - y0, r.xs[keep] - x0] = True
    labels, boxes = label(mask)
    out = []
    for i, (rows, cols) in enumerate(boxes, start=1):
        ys, xs = np.nonzero(labels[rows, cols] == i)
        if ys.size >= MIN_PATCH:
            out.append(Region((x0 + cols.start, y0 + rows.start, x0 + cols.stop,
                               y0 + rows.stop), ys + y0 + rows.start, xs + x0 + cols.start))
    return out


def _patch(cmp: Comparison, r: Region, explained: np.ndarray) -> tuple[Region, Color] | None:
    """The region with its reference colour, when the reference fills it with one colour."""
    keep = ~explained[r.ys, r.xs]
    if np.count_nonzero(keep) < MIN_PATCH:
        return None
    ys, xs = r.ys[keep], r.xs[keep]
    a = cmp.ref[ys, xs]
    color = dominant_color(a)
    if color is None:
        return None
    if np.count_nonzero(near_color(a[None], color, SAME_COLOR / 2)) < FLAT_SHARE * ys.size:
        return None
    b = cmp.render[ys, xs]
    if np.count_nonzero(near_color(b[None], color, SAME_COLOR)) > (1 - FLAT_SHARE) * ys.size:
        return None  # the render draws that colour here too: a change inside a shape
    return Region(r.box, ys, xs), color


def _its_absence(cmp: Comparison, r: Region, color: Color, ground: Color) -> np.ndarray:
    """Pixels of ``r`` the missing shape explains: its colour in the reference, or a mix where
    something drawn over it shows (reference − render is a share of colour − ground)."""
    a = cmp.ref[r.ys, r.xs].astype(np.float32)
    b = cmp.render[r.ys, r.xs].astype(np.float32)
    own = near_color(a[None], color, SAME_COLOR)[0]
    v = np.array(color, dtype=np.float32) - np.array(ground, dtype=np.float32)
    if float(v @ v) < SAME_COLOR**2:
        return own
    t, rest = change_share(a - b, v)
    return own | ((t > 0.1) & (t <= 1.05) & (rest <= (SAME_COLOR / 2) ** 2))


def _joined(patches: list[tuple[Region, Color]]) -> list[list[tuple[Region, Color]]]:
    """Patches of one colour close together: one shape cut by something drawn across it."""
    groups: list[list[tuple[Region, Color]]] = []
    for patch in sorted(patches, key=lambda p: -p[0].pixels):
        box = grow(_box(patch[0]), JOIN)
        home = next((g for g in groups if color_distance(g[0][1], patch[1]) <= SAME_COLOR / 2
                     and any(overlaps(box, _box(m[0])) for m in g)), None)
        if home is None:
            groups.append([patch])
        else:
            home.append(patch)
    return groups


def _box(r: Region) -> Box:
    return tuple(float(v) for v in r.box)  # type: ignore[return-value]


def _under(elements: list[Placed], box: Box) -> Placed | None:
    """The last-drawn element whose box holds the patch: what shows through where it was."""
    holding = [p for p in elements if inside(box, p.tight, 0.8)]
    return max(holding, key=_order, default=None)


def _order(p: Placed) -> tuple[int, int]:
    return written(p.anchor)


def _shows_through(cmp: Comparison, members: list[tuple[Region, Color]],
                   under: Placed | None) -> bool:
    """The render shows what lies under the patch there (that element's colour, or the canvas),
    and that is much bigger than the patch: not the element itself recoloured or grown."""
    box = union([_box(m[0]) for m in members])
    if under is not None and area(under.tight) < UNDER * max(1.0, area(box)):
        return False
    ground = under.color if under is not None else cmp.render_background
    if ground is None:
        return False
    ys = np.concatenate([m[0].ys for m in members])
    xs = np.concatenate([m[0].xs for m in members])
    shown = near_color(cmp.render[ys, xs][None], ground, SAME_COLOR)
    return bool(np.count_nonzero(shown) >= SHOWS_THROUGH * ys.size)


def _own_change(cmp: Comparison, elements: list[Placed], box: Box, color: Color) -> bool:
    """An element of the patch's colour that changed itself: it touches the patch (drawn
    smaller, or partly moved) or, of the patch's size, its own box differs (moved away): not a
    lost element. One of another size drawn elsewhere (resized where it stands) leaves no
    patch of its shape here."""
    for p in elements:
        if p.color is None or color_distance(p.color, color) > SAME_COLOR:
            continue
        if inside(box, p.tight, 0.8) or inside(p.tight, box, 0.8):
            continue  # under the patch, or drawn on top of it
        if overlaps(grow(p.tight, NEAR), box):
            return True
        x0, y0, x1, y1 = p.box
        if (_same_size(p.tight, box)
                and np.count_nonzero(cmp.diff[y0:y1, x0:x1]) >= MOVED_SHARE * max(1, p.area)):
            return True
    return False


def _grown_into(cmp: Comparison, elements: list[Placed], under: Placed | None, box: Box,
                color: Color) -> bool:
    """What the patch lies on changed itself there: a text (its new words cover the ground the
    reference shows), or a shape moved or grown over the ground beside it (the patch, in the
    colour of what lies beneath that shape, runs along one whole side of it)."""
    if under is None:
        return False
    if texty(under.anchor) or under.anchor.text:
        return True
    x0, y0, x1, y1 = under.tight
    w, h = max(1.0, x1 - x0), max(1.0, y1 - y0)
    along_y = (box[3] - box[1]) >= EDGE_SPAN * h and (
        abs(box[0] - x0) <= EDGE or abs(box[2] - x1) <= EDGE)
    along_x = (box[2] - box[0]) >= EDGE_SPAN * w and (
        abs(box[1] - y0) <= EDGE or abs(box[3] - y1) <= EDGE)
    if not (along_x or along_y):
        return False
    beneath = max((p for p in elements if p is not under and inside(under.tight, p.tight, 0.95)
                   and _order(p) < _order(under)), key=_order, default=None)
    ground = beneath.color if beneath is not None else cmp.render_background
    return ground is not None and color_distance(ground, color) <= SAME_COLOR / 2


def _shrunk_within(cmp: Comparison, p: Placed, box: Box, color: Color) -> bool:
    """``p`` is the patch's shape drawn smaller: centred in it, and shown in its colour over
    most of its own box in the render (not a shape the patch used to cover)."""
    px, py = (p.tight[0] + p.tight[2]) / 2, (p.tight[1] + p.tight[3]) / 2
    bx, by = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = p.tight[2] - p.tight[0], p.tight[3] - p.tight[1]
    if (max(abs(px - bx), abs(py - by)) > NEAR or w * h < MIN_COPY
            or w < SHRUNK * (box[2] - box[0]) or h < SHRUNK * (box[3] - box[1])):
        return False  # off centre, or a speck in the middle of a larger shape
    x0, y0, x1, y1 = (round(v) for v in p.tight)
    own = near_color(cmp.render[y0:y1, x0:x1], color, SAME_COLOR / 2)
    return own.size > 0 and float(own.mean()) >= FLAT_SHARE * np.pi / 4


def _written_at(elements: list[Placed], placed: list[Placed], box: Box, color: Color,
                under: Placed | None) -> tuple[tuple[int, int], str] | None:
    """The lines where the missing element's code would be, and a name for that place:
    between its series' neighbours, else after what it lay on, else before the first element
    drawn on it."""
    ordered = sorted((p for p in placed if p.anchor.range is not None), key=_order)
    series = [p for p in elements if p is not under and not inside(p.tight, box, 0.2)
              and not inside(box, p.tight, 0.2) and _same_kind(p, box, color)]
    spot = _in_series(series, box)
    if spot is not None:
        prev, nxt = spot
    elif under is not None:
        prev, nxt = under, None
    else:
        on_top = [p for p in elements if inside(p.tight, box, 0.8)]
        if not on_top:
            return None
        prev, nxt = None, min(on_top, key=_order)
    if nxt is None and prev is not None:
        nxt = next((p for p in ordered if _order(p) > _order(prev)
                    and first_line(p.anchor) > last_line(prev.anchor)), None)
    elif prev is None and nxt is not None:
        prev = next((p for p in reversed(ordered) if _order(p) < _order(nxt)), None)
    if prev is None and nxt is None:
        return None
    if prev is None:
        assert nxt is not None
        return (max(0, first_line(nxt.anchor) - 1), first_line(nxt.anchor)), \
            f"shape before {nxt.anchor.name}"
    where = f"shape after {prev.anchor.name}"
    if nxt is None:
        return (last_line(prev.anchor) + 1, last_line(prev.anchor) + 1), where
    first, last = last_line(prev.anchor) + 1, first_line(nxt.anchor) - 1
    if first > last:  # no line between them: the two it goes between
        return (last_line(prev.anchor), first_line(nxt.anchor)), where
    return (max(first, last - MAX_GAP + 1), last), where


def _same_kind(p: Placed, box: Box, color: Color) -> bool:
    """A member of the missing element's series: its colour, or its size (a text is not)."""
    if texty(p.anchor) or p.anchor.text:
        return False
    if p.color is not None and color_distance(p.color, color) <= SAME_COLOR / 2:
        return True
    return _same_size(p.tight, box)


def _in_series(series: list[Placed], box: Box) -> tuple[Placed | None, Placed | None] | None:
    """Where the box falls among a series laid out along one axis in reading order: the members
    before and after it (None past either end); None when there is no such series."""
    if not series:
        return None
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    centres = [((p.tight[0] + p.tight[2]) / 2, (p.tight[1] + p.tight[3]) / 2) for p in series]
    xs, ys = [c[0] for c in centres] + [cx], [c[1] for c in centres] + [cy]
    axis = 0 if max(xs) - min(xs) >= max(ys) - min(ys) else 1
    by_place = sorted(zip(series, centres, strict=True), key=lambda pc: pc[1][axis])
    lines = [_order(p) for p, _ in by_place]
    if lines != sorted(lines):
        return None  # not written in the order it is drawn along the axis
    at = (cx, cy)[axis]
    before = [p for p, c in by_place if c[axis] < at]
    after = [p for p, c in by_place if c[axis] >= at]
    return (before[-1] if before else None, after[0] if after else None)


def moved_groups(findings: list[Finding], placed: list[Placed], cmp: Comparison
                 ) -> list[Finding]:
    """A group drawn elsewhere as a whole (its ``transform`` changed): one move of the group,
    with what its members now cover or uncovered folded in, instead of each member extra,
    recoloured or reshaped where another one now stands."""
    w, h = cmp.frame.size
    rms = LOSSY_RMS if cmp.lossy or cmp.frame.scale != 1.0 else EXACT_RMS
    for p in sorted(placed, key=lambda p: -p.area):
        a = p.anchor
        if not a.container or (a.role in TOP_CONTAINERS and p.area >= 0.5 * w * h):
            continue
        if not any(f.anchor is not None and inside(f.box, p.tight, 0.8) for f in findings):
            continue
        box = int_box(p.tight, cmp.frame)
        mask = np.zeros((box[3] - box[1], box[2] - box[0]), dtype=bool)
        for q in placed:
            if not q.anchor.container and inside(q.tight, p.tight, 0.9):
                qx0, qy0, qx1, qy1 = int_box(q.tight, cmp.frame)
                mask[max(0, qy0 - box[1]):max(0, qy1 - box[1]),
                     max(0, qx0 - box[0]):max(0, qx1 - box[0])] = True
        found = matcher_of(cmp).locate_masked(box, mask, rms)
        if found is None:
            continue
        spots = (grow(p.tight, NEAR), grow(found, NEAR))
        folded = [f for f in findings if f.anchor is not a and all(
            any(inside(e, s, 0.8) for s in spots) for e in (f.evidence or [f.box]))]
        move = Finding("moved", a, None, p.tight, found, sum(f.pixels for f in folded),
                       evidence=[p.tight, found])
        findings = [f for f in findings if f not in folded and f.anchor is not a] + [move]
    return findings


def duplicates(findings: list[Finding], placed: list[Placed]) -> list[Finding]:
    """An element drawn twice: the copy, shifted over or beside its twin, reads as the twin
    moved or resized. Its twin (same colour, same size, unchanged itself) sits where the
    reference draws it, so the copy is an extra element."""
    changed = {id(f.anchor) for f in findings if f.anchor is not None}
    for f in findings:
        a = f.anchor
        if (a is None or a.container or texty(a) or a.text
                or f.nature not in ("moved", "resized", "changed", "recolor")):
            continue
        own = next((p for p in placed if p.anchor is a), None)
        if (own is None or own.color is None or area(own.tight) < MIN_COPY
                or f.pixels < NEW_OVER * area(own.tight)):
            continue  # a copy is new ink over much of its box, not a rim (nor a speck)
        for twin in placed:
            if (twin is own or twin.anchor.container or id(twin.anchor) in changed
                    or twin.color is None
                    or color_distance(twin.color, own.color) > SAME_COLOR / 2
                    or not _same_size(twin.tight, own.tight)
                    or max(abs(u - v) for u, v in zip(twin.tight, own.tight, strict=True)) <= 1):
                continue  # (exactly where it is: one drawing — a <use> and the shape it shows)
            if (f.pixels < NEW_SHARE * area(own.tight)
                    and _shared(own.tight, twin.tight) < OVER_TWIN * area(own.tight)):
                continue  # a neighbour touching it, not a copy drawn over it
            # Drawn in its own colour where the reference shows another (not moved nor
            # resized), it may stand beside its twin: a thin bar's copy shifted past it.
            reach = max(NEAR, min(_sides(own.tight))) if f.nature == "recolor" else NEAR
            if overlaps(grow(twin.tight, reach), own.tight) or (
                    f.ref_box is not None and inside(f.ref_box, grow(twin.tight, NEAR), 0.8)):
                f.nature, f.render_box, f.ref_box = "extra", own.tight, None
                _rims_over(findings, f, placed)
                break
    return findings


def _rims_over(findings: list[Finding], copy: Finding, placed: list[Placed]) -> None:
    """An element drawn over the copy keeps its colour but for its anti-aliased rim, which
    now blends with the copy's: that rim is the copy's consequence, not a recolour."""
    assert copy.render_box is not None
    for g in findings:
        a = g.anchor
        if g is copy or a is None or g.nature != "recolor" or g.consequence:
            continue
        own = next((p for p in placed if p.anchor is a), None)
        if (own is not None and inside(g.box, grow(copy.render_box, 1), 0.9)
                and g.pixels <= RIM_SHARE * max(1.0, area(own.tight))):
            g.consequence = True


def _sides(box: Box) -> tuple[float, float]:
    return box[2] - box[0], box[3] - box[1]


def _shared(a: Box, b: Box) -> float:
    """Area the two boxes share."""
    return (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))


def _same_size(a: Box, b: Box) -> bool:
    wa, ha, wb, hb = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
    return (abs(wa - wb) <= SAME_SIZE * max(wa, wb) + 2
            and abs(ha - hb) <= SAME_SIZE * max(ha, hb) + 2)
