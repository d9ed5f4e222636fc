"""Difference regions and anchors → discrepancies: blame the most specific element, say how.

Two sources of evidence, in order. With a sidecar (the reference's own anchors) elements are
compared key by key — text, colour, box, presence — and kept only where the pixels confirm a
visible difference. Whatever difference is left is explained from pixels: each differing pixel
belongs to the smallest render anchor that contains it (containers only as a last resort), and
the ink on either side tells missing, extra, recoloured or reshaped.
"""

from __future__ import annotations

import re

import numpy as np

from verm.critic.analytic.bars import turned_bars
from verm.critic.analytic.blame import (
    blame_pixels,
    borrowed_colours,
    chroma_smear,
    regrown_wedges,
    stroke_weight,
)
from verm.critic.analytic.causes import group_causes
from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.declarations import declare_layout, scaled_texts
from verm.critic.analytic.findings import (
    PAD,
    SAME_COLOR,
    Context,
    Finding,
    Placed,
    crop_ink,
    diff_in,
    grow,
    inside,
    overlaps,
    place,
    texty,
    union,
)
from verm.critic.analytic.gaps import missing_between
from verm.critic.analytic.grids import missing_grids
from verm.critic.analytic.inked import changed_under_marks, frames_of
from verm.critic.analytic.legends import missing_legends
from verm.critic.analytic.linestyle import (
    reshaped_markers,
    restyled_handles,
    restyled_lines,
)
from verm.critic.analytic.moves import legend_reflow, relocate
from verm.critic.analytic.pixels import Color, color_distance, hex_color, parse_hex
from verm.critic.analytic.resaved import faint_lines, faint_texts, resaved_render
from verm.critic.analytic.rescale import explain_rescale, label_shifts
from verm.critic.analytic.shapes import duplicates, lost_shapes, moved_groups
from verm.critic.analytic.sidecar import compare_elements
from verm.critic.analytic.subplots import relaid_plots
from verm.critic.analytic.tables import (
    realigned_columns,
    repeated_rows,
    reread_cells,
    short_rows,
    sideways_in_cells,
    swapped_by_words,
    swapped_columns,
    table_structure,
    words_in_place,
)
from verm.critic.analytic.wording import read_reference_text, word
from verm.critic.analytic.wordmatch import changed_entries, moved_texts, words_nearby
from verm.critic.taxonomy import CHART_GUIDES, TOP_CONTAINERS
from verm.types import Discrepancy

_ROW = re.compile(r"^(row \d+)\b")
MERGED_ROLES = {
    "grid": "grid lines",
    "spine": "axis spines",
    "xticklabel": "x tick labels",
    "yticklabel": "y tick labels",
}
"""Roles whose many small anchors read as one thing: their findings merge into one."""


def attribute(cmp: Comparison, ctx: Context) -> list[Discrepancy]:
    """All discrepancies between the two pictures, most severe first."""
    frame = cmp.frame
    placed = [place(a, frame.from_render(a.box), frame) for a in ctx.render_anchors]
    placed = [p for p in placed if p is not None]
    findings: list[Finding] = []
    explained = np.zeros(cmp.diff.shape, dtype=bool)
    # A screenshot of the same canvas: only pixels to go on (no sidecar, no resize to explain).
    pixels_only = ctx.ref_anchors is None and not ctx.canvas_changed
    if ctx.ref_anchors is not None:
        ref_placed = [place(a, frame.from_ref(a.box), frame) for a in ctx.ref_anchors]
        findings += compare_elements(cmp, placed, [p for p in ref_placed if p is not None], ctx,
                             explained)
    if ctx.domain == "chart" and pixels_only:
        findings += missing_grids(cmp, placed, explained)
        findings += missing_legends(cmp, placed, explained)
    if ctx.domain == "svg" and pixels_only:
        findings += lost_shapes(cmp, placed, explained)
    if not ctx.canvas_changed:
        pixel_findings = blame_pixels(cmp, placed, explained)
        if frame.scale != 1.0:
            pixel_findings = [f for f in pixel_findings if not stroke_weight(f)]
        if cmp.lossy:
            pixel_findings = [f for f in pixel_findings if not chroma_smear(f)]
        if ctx.domain == "chart" and pixels_only:
            borrowed_colours(pixel_findings)
            regrown_wedges(pixel_findings, placed)
        findings += pixel_findings
    # Children drawn elsewhere are moves before a container can look wholly new.
    findings = _collapse_containers(relocate(findings, cmp), placed, cmp)
    findings = relocate(_pair_moves(findings), cmp, placed if pixels_only else None)
    if ctx.domain == "chart" and pixels_only:
        findings = legend_reflow(changed_entries(findings, placed, cmp), placed, cmp)
    if ctx.domain == "svg" and pixels_only:
        findings = duplicates(moved_groups(findings, placed, cmp), placed)
    # A JPEG screenshot: the render saved the same way shows what its loss hides.
    resaved = resaved_render(cmp, ctx.reference_image) if cmp.lossy and pixels_only else None
    if resaved is not None:
        findings = faint_texts(findings, cmp, ctx.render_anchors, resaved)
    if ctx.domain == "chart" and pixels_only:
        frames = frames_of(placed)
        findings = restyled_lines(explain_rescale(findings, placed, cmp), cmp, frames)
        if resaved is not None:
            findings = faint_lines(findings, cmp, ctx.render_anchors, resaved)
        findings = restyled_handles(reshaped_markers(findings, cmp, ctx.render_anchors, resaved),
                                    cmp, ctx.render_anchors)
        findings = changed_under_marks(findings, cmp, frames)
        findings = turned_bars(relaid_plots(findings, placed, cmp), placed, cmp)
    findings = _merge(findings, (cmp.ref_background, cmp.render_background))
    if ctx.domain == "table" and ctx.ref_anchors is not None:
        findings = table_structure(findings, ctx.render_anchors, ctx.ref_anchors)
    elif ctx.domain == "table":
        in_place = sideways_in_cells(findings, cmp, ctx.render_anchors)
        findings = swapped_columns(findings, ctx.render_anchors, cmp)
        findings = realigned_columns(findings, ctx.render_anchors, in_place,
                                     exact=not cmp.lossy and frame.scale == 1.0)
        findings = repeated_rows(findings, ctx.render_anchors, cmp)
    if ctx.domain == "html" and ctx.ref_anchors is None:
        words_in_place(findings, cmp)
        sideways_in_cells(findings, cmp, ctx.render_anchors)
        findings = short_rows(findings, ctx.render_anchors, cmp)
        scaled_texts(findings, cmp, ctx.render_anchors)
    elif ctx.domain == "chart" and pixels_only:
        findings = moved_texts(findings, cmp)
    read_reference_text(findings, cmp, ctx)
    if ctx.domain == "table" and ctx.ref_anchors is None:
        findings = swapped_by_words(reread_cells(findings), ctx.render_anchors, cmp)
    if ctx.domain == "chart" and ctx.ref_anchors is None:
        findings = label_shifts(findings, cmp)
    elif ctx.domain == "html" and ctx.ref_anchors is None:
        findings = declare_layout(findings, ctx.render_anchors, cmp)
    if ctx.domain in ("html", "table") and ctx.ref_anchors is None:
        missing_between(findings, placed, rows=ctx.domain == "table")
    out = group_causes(findings, [word(f, cmp, ctx) for f in findings], ctx.domain,
                       _totals(ctx))
    out.sort(key=lambda d: (-d.severity, d.location))
    return out


def _totals(ctx: Context) -> dict[tuple[int | None, str], int]:
    """How many render elements of each role each source line drew ("3 of 8 bars")."""
    out: dict[tuple[int | None, str], int] = {}
    for a in ctx.render_anchors:
        key = (a.range.start.line if a.range is not None else None, a.role)
        out[key] = out.get(key, 0) + 1
    return out


def _pair_moves(findings: list[Finding]) -> list[Finding]:
    """An element drawn elsewhere leaves reference ink far from it: pair the two as a move."""
    out = [f for f in findings if f.anchor is not None and f.anchor.role not in TOP_CONTAINERS]
    loose = [f for f in findings if f not in out]
    used: set[int] = set()
    for f in out:
        if f.nature != "extra" or f.render_box is None or f.ref_anchor is not None:
            continue
        w, h = f.render_box[2] - f.render_box[0], f.render_box[3] - f.render_box[1]
        for i, g in enumerate(loose):
            if i in used or g.nature != "missing" or g.ref_box is None:
                continue
            gw, gh = g.ref_box[2] - g.ref_box[0], g.ref_box[3] - g.ref_box[1]
            near_size = abs(gw - w) <= 0.25 * max(w, 2) + 2 and abs(gh - h) <= 0.25 * max(h, 2) + 2
            same_color = (f.render_color is None or g.ref_color is None
                          or color_distance(f.render_color, g.ref_color) <= SAME_COLOR)
            if near_size and same_color:
                same_size = abs(gw - w) <= PAD + 1 and abs(gh - h) <= PAD + 1
                is_text = f.anchor is not None and texty(f.anchor)
                f.nature = "text" if is_text and not same_size else "moved"
                f.ref_box = g.ref_box
                f.evidence += g.evidence
                f.pixels += g.pixels
                used.add(i)
                break
    return out + [g for i, g in enumerate(loose) if i not in used]


WORDS_REACH = 4  # px above or below which a container's words still show it is there


def _collapse_containers(findings: list[Finding], placed: list[Placed],
                         cmp: Comparison) -> list[Finding]:
    """A legend (or group) the reference lacks altogether is one extra element, not many."""
    for p in placed:
        a = p.anchor
        if not a.container or a.role in TOP_CONTAINERS:
            continue
        children = [f for f in findings if f.anchor is not a and inside(f.box, p.tight, 0.9)]
        if not children:
            continue
        ink_b = crop_ink(cmp.render, cmp.render_background, p.box)
        differing = diff_in(cmp, p.box)
        # Absent from the reference, none of its texts would be drawn there as they are.
        kept = any(q is not p and q.anchor.text and not q.anchor.container
                   and inside(q.tight, p.tight, 0.9)
                   and (diff_in(cmp, q.box) == 0
                        or words_nearby(cmp, tuple(round(v) for v in q.tight), WORDS_REACH))
                   for q in placed)
        if not kept and ink_b >= 20 and differing >= 0.6 * ink_b and all(
            f.nature in ("extra", "text", "changed") for f in children
        ):
            merged = Finding("extra", a, None, p.tight, None, sum(f.pixels for f in children),
                             render_color=parse_hex(a.color), evidence=[p.tight])
            findings = [f for f in findings if f not in children and f.anchor is not a]
            findings.append(merged)
    return findings


def _merge_lines(findings: list[Finding]) -> list[Finding]:
    """Cells of one table row (or column) that all appeared or vanished: one row, not N cells."""
    out: list[Finding] = []
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        a = f.anchor or f.ref_anchor
        m = _ROW.match(a.name) if a is not None and f.nature in ("missing", "extra") else None
        if m is None:
            out.append(f)
            continue
        groups.setdefault((f.nature, m.group(1)), []).append(f)
    for (_, line), members in groups.items():
        members.sort(key=lambda f: (f.box[0], f.box[1]))
        if len(members) == 1:
            out.extend(members)
            continue
        head = members[0]
        head.name = line
        head.pixels = sum(m.pixels for m in members)
        head.evidence = [m.box for m in members]
        head.render_box = union([m.render_box for m in members if m.render_box] or [head.box])
        if head.ref_box is not None:
            head.ref_box = union([m.ref_box for m in members if m.ref_box])
        head.members = len(members)
        head.render_text = " | ".join(m.render_text or "" for m in members) or None
        head.ref_text = " | ".join(m.ref_text or "" for m in members) or None
        out.append(head)
    return out


def _merge_recolors(findings: list[Finding], backgrounds: tuple[Color, ...] = ()
                    ) -> list[Finding]:
    """One colour changed in the code shows in several places (a line and its legend handle,
    the anti-aliased rim of text drawn on a recoloured shape): one finding, on the biggest."""
    out: list[Finding] = []
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: -f.pixels):
        if f.nature != "recolor" or f.ref_color is None or f.render_color is None:
            out.append(f)
            continue
        g = next((g for g in kept if _same_change(f, g, backgrounds)), None)
        if g is not None:
            g.pixels += f.pixels
            if hex_color(f.render_color) == hex_color(g.render_color):
                # The same colour drawn elsewhere (a legend handle); a blended rim is not news.
                g.also.append(f.name or (f.anchor.name if f.anchor else "figure"))
            continue
        kept.append(f)
        out.append(f)
    return out


def _same_change(f: Finding, g: Finding, backgrounds: tuple[Color, ...] = ()) -> bool:
    """``f`` shows ``g``'s colour change: the same colours, or f's own colour mixed with them."""
    assert f.ref_color and f.render_color and g.ref_color and g.render_color
    if hex_color(f.ref_color) == hex_color(g.ref_color) and hex_color(f.render_color) == (
        hex_color(g.render_color)
    ):
        return True
    own = parse_hex(f.anchor.color) if f.anchor else None
    # Mixed with the element's own colour (drawn over it) or with a background (the change's
    # anti-aliased rim where it crosses this element).
    bases = [c for c in (own, *backgrounds) if c is not None]
    if any(_mixes(f.ref_color, base, g.ref_color) and _mixes(f.render_color, base,
                                                             g.render_color)
           for base in bases):
        return True
    # One side shows the element's own colour, the other its mix with the change: the rim of
    # a smaller shape drawn on it (a recoloured dot on a disc). A "mix" that is the change's
    # colour all but a JPEG's noise is no rim: the element drawn where the reference had the
    # changed shape (a copy of it laid over it).
    return own is not None and (
        (_mixes(f.ref_color, own, g.ref_color, RIM) and color_distance(f.render_color, own) <= 8)
        or (_mixes(f.render_color, own, g.render_color, RIM)
            and color_distance(f.ref_color, own) <= 8))


RIM = 0.1  # share of either colour a rim's mixture holds at least


def _mixes(c: Color, a: Color, b: Color, margin: float = 0.0) -> bool:
    """``c`` lies on the segment from ``a`` to ``b`` (an anti-aliased mixture of the two),
    ``margin`` of its length or more from either end."""
    along = _along([ci - ai for ai, ci in zip(a, c, strict=True)],
                   [bi - ai for ai, bi in zip(a, b, strict=True)])
    return along is not None and margin < along < 1.0 - margin


def _along(w: list[int], v: list[int]) -> float | None:
    """The share t of ``v`` that ``w`` is (w ≈ t·v within half of SAME_COLOR), else None; None
    too when ``v`` is too short to tell."""
    vv = sum(x * x for x in v)
    if vv < SAME_COLOR**2:
        return None
    t = sum(x * y for x, y in zip(v, w, strict=True)) / vv
    r2 = sum((wi - t * vi) ** 2 for vi, wi in zip(v, w, strict=True))
    return t if r2 <= (SAME_COLOR / 2) ** 2 else None


def _fold_rims(findings: list[Finding]) -> list[Finding]:
    """A line drawn across a shape that changed colour or extent anti-aliases with it: its
    rim there "recoloured" by a share of that very change (reference − render is t × the
    shape's), folded into the shape's finding. So is a small shape's rim "drawn differently"
    on a recoloured one (a dot on a sign's recoloured triangle). (Two recolours are merged
    before, when one's colours mix the other's.)"""
    out: list[Finding] = []
    for f in findings:
        host = None
        if f.nature in ("recolor", "changed") and f.ref_color and f.render_color:
            host = next((g for g in findings if g is not f and g.pixels > f.pixels
                         and g.ref_color and g.render_color
                         and (g.nature != "recolor" or f.nature == "changed")
                         and any(overlaps(grow(e, 2), grow(b, 2)) for e in f.evidence
                                 for b in g.evidence or [g.box])
                         and _share_of(f.ref_color, f.render_color, g.ref_color,
                                       g.render_color)), None)
        if host is None:
            out.append(f)
        else:
            host.pixels += f.pixels
    return out


def _share_of(fa: Color, fb: Color, ga: Color, gb: Color) -> bool:
    """``fa − fb`` is a share (0.1 … 1) of ``ga − gb``: a mix of that change with another
    colour drawn over it."""
    t = _along([a - b for a, b in zip(fa, fb, strict=True)],
               [a - b for a, b in zip(ga, gb, strict=True)])
    return t is not None and 0.1 < t <= 1.05


def _merge(findings: list[Finding], backgrounds: tuple[Color, ...] = ()) -> list[Finding]:
    """One finding per element, and one per kind of guide (all grid lines, all x ticks)."""
    findings = _fold_rims(_merge_recolors(_merge_lines(findings), backgrounds))
    out: list[Finding] = []
    by_group: dict[tuple[str, str], Finding] = {}
    by_anchor: dict[int, Finding] = {}
    for f in findings:
        role = f.role
        if role in MERGED_ROLES or role in CHART_GUIDES:
            # Grid lines cross spines: one guide change, named for what changed most.
            k = ("guides" if role in CHART_GUIDES else role, "")
            if k in by_group:
                g = by_group[k]
                if f.pixels > g.pixels:
                    g.nature, g.ref_color, g.render_color = f.nature, f.ref_color, f.render_color
                    g.ref_text, g.render_text = f.ref_text, f.render_text
                    g.anchor, g.ref_anchor = f.anchor, f.ref_anchor
                g.pixels += f.pixels
                g.evidence += f.evidence or [f.box]
                g.name = MERGED_ROLES.get(g.role, g.role)
                g.members += 1
                continue
            f.evidence = f.evidence or [f.box]
            by_group[k] = f
        elif f.anchor is not None and not f.anchor.container:
            k2 = id(f.anchor)
            if k2 in by_anchor:
                g = by_anchor[k2]
                g.pixels += f.pixels
                g.evidence += f.evidence
                continue
            by_anchor[k2] = f
        out.append(f)
    return out
