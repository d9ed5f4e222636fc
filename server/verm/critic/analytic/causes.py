"""Causal grouping: one discrepancy per cause, its consequences folded in as ``related``.

One edit changes many pixels: a bar's new value rescales the axis, so every bar, tick label and
grid line moves; a longer cell widens its column, so every cell below it moves. Reporting each
as its own diagnostic buries the cause. Here the findings are split into *causes* (what the code
said differently: data, text, colour, style, presence) and *consequences* (what moved or resized
because of them: guides of a rescaled axis, reflowed cells, stray fragments), and every
consequence is attached to the cause that explains it, with its own range for the editor's
related information. Several causes on one source line are one cause (the eight bars of one
``ax.bar`` call).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from verm.critic.analytic.findings import SAME_COLOR, Finding, inside, numeric, union
from verm.critic.analytic.pixels import color_distance, parse_hex
from verm.critic.taxonomy import CHART_GUIDES, CHART_MARKS, TOP_CONTAINERS
from verm.types import Discrepancy

GUIDES = CHART_GUIDES | {"xticklabel", "yticklabel"}
LAYOUT = frozenset({"moved", "resized", "shifted"})
SHOWN_THROUGH = frozenset({"changed", "recolor", "resized", "background"})
_COLUMN = re.compile(r"(?:column|header) '([^']*)'")
PLURAL = {"bar": "bars", "wedge": "wedges", "line": "lines", "collection": "marker sets",
          "patch": "shapes", "image": "images", "cell": "cells", "header": "header cells"}


@dataclass
class Item:
    """A finding and the discrepancy it reads as, with what it explains."""

    finding: Finding
    d: Discrepancy
    related: list[Item] = field(default_factory=list)

    @property
    def role(self) -> str:
        return self.finding.role

    @property
    def line(self) -> int | None:
        """The line the finding is reported on (a realigned column's delimiter row, not the
        cell its evidence came from)."""
        if self.d.range is not None:
            return self.d.range.start.line
        a = self.d.anchor
        return a.range.start.line if a is not None and a.range is not None else None

    @property
    def group(self) -> str:
        """The plot (chart) or table column the element belongs to, for matching causes."""
        a = self.d.anchor
        if a is None:
            return ""
        return a.key.split("/", 1)[0]

    @property
    def rank(self) -> tuple[int, int]:
        return (self.d.severity, self.finding.pixels)


def group_causes(findings: list[Finding], found: list[Discrepancy], domain: str,
                 totals: dict[tuple[int | None, str], int] | None = None) -> list[Discrepancy]:
    """``found`` (one per finding, same order) with consequences folded into their causes.

    ``totals``: how many render anchors of each (line, role) exist, to say "3 of 8 bars"."""
    items = [Item(f, d) for f, d in zip(findings, found, strict=True)]
    if len(items) <= 1:
        return found
    if domain == "chart":
        roots = _fold_chart(items)
    elif domain in ("html", "table"):
        roots = _fold_layout(items, domain)
    else:
        roots = _fold_marked(items)
    roots = _fold_orphans(roots)
    roots = _one_per_line(roots, totals or {})
    return [_emit(r) for r in roots]


def _evidence(it: Item) -> tuple[float, float, float, float]:
    """Where the finding's pixels differ (its element's box can be far bigger)."""
    return union(it.finding.evidence) if it.finding.evidence else it.finding.box


def _beneath(it: Item, lost: Item) -> bool:
    """``it``'s element is written before the lost shape's place: drawn under it."""
    assert lost.finding.lines is not None
    return it.line is not None and it.line < lost.finding.lines[0]


def _left_behind(it: Item, moved: Item) -> bool:
    """``it`` is where a moved shape was: the reference shows that shape's colour there,
    inside its old box."""
    m = moved.finding
    color = parse_hex(moved.d.anchor.color) if moved.d.anchor else None
    return (m.ref_box is not None and color is not None and it.finding.ref_color is not None
            and it is not moved and color_distance(it.finding.ref_color, color) <= SAME_COLOR
            and inside(_evidence(it), m.ref_box, 0.9))


def _fold_marked(items: list[Item]) -> list[Item]:
    """Icons: what an analysis marked as another change's consequence (a shape's rim over a
    copy drawn under it) joins the change whose box covers most of it; what differs inside a
    lost shape's patch on an element drawn beneath it, other than a text, is what showed
    through it (a lossy screenshot's rim of it blamed on the shape beneath), and what differs
    where a moved shape was is its move."""
    lost = [it for it in items if it.finding.nature == "missing" and it.d.anchor is None
            and it.finding.lines is not None]
    moved = [it for it in items if it.finding.nature == "moved"
             and it.finding.ref_box is not None and it.d.anchor is not None]
    for it in items:
        if (not it.finding.consequence and it.finding.nature in SHOWN_THROUGH
                and not it.finding.ref_text and not it.finding.render_text
                and (any(inside(_evidence(it), g.finding.box, 0.9) and _beneath(it, g)
                         for g in lost)
                     or any(_left_behind(it, m) for m in moved))):
            it.finding.consequence = True
    roots = [it for it in items if not it.finding.consequence]
    if not roots:
        return items
    for it in items:
        if it.finding.consequence:
            max(roots, key=lambda r: _overlap(r.finding.box, it.finding.box)).related.append(it)
    return roots


def _rescaled(items: list[Item], renamed: set[int]) -> set[str]:
    """Plots whose scale visibly changed: tick texts or places, a mark resized or moved, or
    the sidecar saying their data or limits changed."""
    out = set()
    for it in items:
        f = it.finding
        if id(it) in renamed:
            continue  # a category renamed: its axis is not rescaled for it
        if (f.nature in ("data", "limits") or f.consequence
                or (it.role in ("xticklabel", "yticklabel") and f.nature in (*LAYOUT, "text"))
                or (it.role in CHART_MARKS and f.nature in LAYOUT)):
            out.add(it.group)
    return out


def _renamed_categories(items: list[Item]) -> set[int]:
    """Tick labels whose words changed on a categorical axis (a category renamed in the data
    list): a cause of their own, where a rescale changes numbers (and a date axis changes many
    labels at once). At most two renamed labels per axis count; more is a rescale."""
    by_axis: dict[tuple[str, str], list[Item]] = {}
    for it in items:
        f = it.finding
        # The reference's words unread (OCR off or unsure) still leave the render's: a word
        # where a rescale would draw a number.
        if (it.role in ("xticklabel", "yticklabel") and f.nature == "text" and f.render_text
                and not numeric(f.ref_text) and not numeric(f.render_text)):
            by_axis.setdefault((it.group, it.role), []).append(it)
    # Unread, a label is less sure to be a renamed category: one per axis only.
    return {id(it) for members in by_axis.values()
            if len(members) <= (2 if all(m.finding.ref_text for m in members) else 1)
            for it in members}


def _is_guide(it: Item, rescaled: set[str], renamed: set[int] = frozenset()) -> bool:
    """What an axis rescale or a plot resize changes by itself: ticks, grid and spines that
    moved (or appeared at new places), the plot area's box, texts that only moved. A grid
    switched on or recoloured is a cause of its own, and so is a renamed category."""
    f = it.finding
    if f.consequence:  # an analysis said what caused it (a move, an axis, a layout)
        return True
    if id(it) in renamed:
        return False
    if it.role == "grid" and f.nature == "missing" and f.ref_anchor is not None:
        return False  # the sidecar's grid of an axis is gone: switched off, not rescaled
    if it.role in GUIDES or (it.role in ("axes", "figure") and f.nature in LAYOUT):
        if f.nature in (*LAYOUT, "text"):
            return True
        return f.nature in ("extra", "missing", "changed") and it.group in rescaled
    return f.nature in ("moved", "shifted") and it.role not in CHART_MARKS | {"legend"}


def _fold_chart(items: list[Item]) -> list[Item]:
    renamed = _renamed_categories(items)
    rescaled = _rescaled(items, renamed)
    guides = [it for it in items if _is_guide(it, rescaled, renamed)]
    roots = [it for it in items if not _is_guide(it, rescaled, renamed)]
    if not roots:
        # No cause among the findings (limits or ticks set differently): one per plot.
        by_plot: dict[str, list[Item]] = {}
        for it in guides:
            by_plot.setdefault(it.group, []).append(it)
        for members in by_plot.values():
            head = max(members, key=_guide_rank)
            head.related += [m for m in members if m is not head]
            roots.append(head)
        return roots
    for it in guides:
        _best_cause(it, roots).related.append(it)
    return _legend_handles(_legend_fit(_legend_over(_data_labels(_cycle_shift(
        _covered(roots))))))


def _data_labels(roots: list[Item]) -> list[Item]:
    """A text placed at a data point (a bar's value label) of a plot whose data changed shows
    the new value or sits at the new place: the data change's consequence."""
    data = [it for it in roots if it.d.category == "data_error" and it.role in CHART_MARKS]

    def cause(it: Item) -> Item | None:
        a = it.d.anchor
        if (a is None or it.role != "text" or not a.props.get("at_data")
                or it.finding.nature not in ("text", "extra", "moved", "resized")):
            return None
        return next((r for r in data if r.group == it.group), None)

    return _fold_into(roots, cause) if data else roots


UNDER_LEGEND = 0.5  # of a finding's box inside a moved legend's old or new box


def _legend_over(roots: list[Item]) -> list[Item]:
    """A legend moved over a value label or a mark hides it, and uncovers what was under its
    old place: those changes are the move's, not changes of their own."""
    moved = [it for it in roots if it.role == "legend" and it.finding.nature == "moved"
             and it.finding.ref_box is not None and it.finding.render_box is not None]

    def cause(it: Item) -> Item | None:
        f = it.finding
        if it.role == "legend" or f.nature not in ("text", "recolor", "changed", "resized",
                                                   "extra", "missing"):
            return None
        return next((m for m in moved if it.group == m.group and not _entry_of(it, m) and any(
            b is not None and inside(f.box, b, UNDER_LEGEND)
            for b in (m.finding.ref_box, m.finding.render_box))), None)

    return _fold_into(roots, cause) if moved else roots


def _entry_of(it: Item, legend: Item) -> bool:
    """A changed entry of the moved legend itself (its words differ where it was)."""
    a, b = it.finding.anchor, legend.finding.anchor
    return (a is not None and b is not None and it.finding.nature == "text"
            and a.key.startswith(b.key + "/"))


def _legend_fit(roots: list[Item]) -> list[Item]:
    """A legend frame drawn differently around an entry whose words changed has only grown or
    shrunk to fit them: the entry's consequence. (A legend moved, added or removed stays.)"""
    entries = {it.group: it for it in roots
               if it.role == "legend-text" and it.finding.nature == "text"}
    return _fold_into(roots, lambda it: entries.get(it.group) if (
        it.role == "legend" and it.finding.nature in ("changed", "resized")) else None)


def _legend_handles(roots: list[Item]) -> list[Item]:
    """A legend recoloured to the colour a changed series of its plot is drawn in shows that
    series' handle: the series' consequence (its recolour merged with a data change reads
    as a new series, not as a recolour the legend's could join)."""
    def cause(it: Item) -> Item | None:
        f = it.finding
        if it.role != "legend" or f.nature != "recolor" or f.render_color is None:
            return None
        return next((r for r in roots if r.group == it.group and r.role in CHART_MARKS
                     and r.d.anchor is not None
                     and (c := parse_hex(r.d.anchor.color)) is not None
                     and color_distance(c, f.render_color) <= SAME_COLOR), None)

    return _fold_into(roots, cause)


def _fold_into(roots: list[Item], cause_of: Callable[[Item], Item | None]) -> list[Item]:
    """The roots ``cause_of`` names no cause for; each other one joins its cause's related."""
    out = []
    for it in roots:
        cause = cause_of(it)
        if cause is None:
            out.append(it)
        else:
            cause.related.append(it)
    return out


def _cycle_shift(roots: list[Item]) -> list[Item]:
    """A series given a colour of its own no longer takes one from the colour cycle: every
    later series of its plot takes the colour the one before it had. Those "recoloured"
    series are the first one's consequences. (Two series that swapped colours are both
    causes: neither comes first.)"""
    shifted: dict[int, Item] = {}
    for group in {it.group for it in roots}:
        marks = sorted((it for it in roots if it.group == group and it.role in CHART_MARKS
                        and it.finding.nature == "recolor" and it.finding.ref_color
                        and it.finding.render_color), key=lambda it: (it.line or 0))
        if len(marks) < 2:
            continue
        head = marks[0]
        if any(color_distance(head.finding.render_color, m.finding.ref_color) <= SAME_COLOR
               for m in marks[1:]):
            continue  # the first took another series' colour: a swap, not a shift
        for prev, it in pairwise(marks):
            if color_distance(it.finding.render_color, prev.finding.ref_color) <= SAME_COLOR:
                shifted[id(it)] = head
    if not shifted:
        return roots
    for it in roots:
        head = shifted.get(id(it))
        if head is not None:
            head.related.append(it)
    return [it for it in roots if id(it) not in shifted]


def _covered(roots: list[Item]) -> list[Item]:
    """A mark "recoloured" in the colour of a new element drawn over it (grid lines switched
    on across the bars) is that element's consequence, not a colour change of its own."""
    shown = [it for it in roots if it.finding.nature in ("extra", "missing")
             and it.d.anchor is not None and it.d.anchor.color]
    if not shown:
        return roots
    out = []
    for it in roots:
        f = it.finding
        cover = None
        if f.nature == "recolor" and it.role in CHART_MARKS:
            for s in shown:
                color = parse_hex(s.d.anchor.color) if s.d.anchor else None
                seen = f.render_color if s.finding.nature == "extra" else f.ref_color
                if (color is not None and seen is not None
                        and color_distance(color, seen) <= SAME_COLOR
                        and _gap(s.finding.box, f.box) <= 0):
                    cover = s
                    break
        if cover is None:
            out.append(it)
        else:
            cover.related.append(it)
    return out


def _guide_rank(it: Item) -> tuple[int, int, int]:
    """The guide that says most about the change: tick texts (the new range) first."""
    return (it.finding.nature == "text", it.role in ("xticklabel", "yticklabel"), it.rank[1])


def _best_cause(it: Item, roots: list[Item]) -> Item:
    """The cause that explains ``it``: in the same plot, marks (data) before the rest."""
    def score(r: Item) -> tuple[int, int, int, int]:
        return (r.group == it.group, r.role in CHART_MARKS | {"cell", "header"},
                *r.rank)
    return max(roots, key=score)


def _column(it: Item) -> str | None:
    m = _COLUMN.search(it.d.location)
    return m.group(1) if m else None


def _fold_layout(items: list[Item], domain: str) -> list[Item]:
    """Pages and tables: what moved or resized because another element changed is that
    element's consequence (a longer cell widens its column; a taller box pushes what follows)."""
    moved = [it for it in items if it.finding.nature in LAYOUT or it.finding.consequence]
    # Where a moved element used to be, the reference shows its ink over what now lies
    # there (a shifted column's header over the widened one): that is the move, too.
    left = [it.finding.ref_box for it in moved
            if it.finding.nature == "moved" and it.finding.ref_box is not None]
    # (A text drawn in another colour than its rule's is that rule's change, wherever it is.)
    uncovered = [it for it in items if it.finding.nature in ("background", "recolor", "changed")
                 and any(_overlap(it.finding.box, box) >= 0.5 for box in left)
                 and _declared_line(it) is None]
    moved += uncovered
    # A box that looks different only because something inside it changed (a card whose
    # bottom edge moved when its paragraph went) follows that change.
    others = [it for it in items if it.finding.nature not in LAYOUT and it not in uncovered
              and not it.finding.consequence]
    wrapping = [it for it in others if it.finding.nature in ("changed", "resized")
                and any(o is not it and _inside_element(o, it) for o in others)]
    moved += wrapping
    roots = [it for it in others if it not in wrapping]
    if not roots:
        if not moved:
            return []
        # One box grew (or a margin changed): the largest change is the cause, the rest follow.
        head = max(moved, key=lambda it: (it.finding.nature == "resized", it.rank))
        head.related += [it for it in moved if it is not head]
        return [head]
    for it in moved:
        col = _column(it) if domain == "table" else None
        same = [r for r in roots if col is not None and _column(r) == col]
        cause = max(same or roots, key=lambda r: (_before(r, it), *r.rank))
        cause.related.append(it)
    return roots


def _inside_element(inner: Item, outer: Item) -> bool:
    """``inner``'s element lies within ``outer``'s element (their anchors' boxes)."""
    a, b = outer.d.anchor, inner.d.anchor
    return a is not None and b is not None and a is not b and _overlap(a.box, b.box) >= 0.8


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
             ) -> float:
    """Share of ``b`` covered by ``a``."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(1e-9, (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / area


def _before(cause: Item, it: Item) -> bool:
    """``cause`` sits above or left of ``it``: it can have pushed it."""
    a, b = cause.finding.box, it.finding.box
    return a[1] <= b[1] + 1 or a[0] <= b[0] + 1


def _orphan(it: Item) -> bool:
    """A difference no element explains: unanchored, or only the whole canvas / plot area."""
    a = it.d.anchor
    return a is None or (a.role in TOP_CONTAINERS and it.finding.nature not in
                         ("background", "recolor", "limits", "subplots"))


def _fold_orphans(roots: list[Item]) -> list[Item]:
    """Stray fragments go to the cause whose box they touch (else the nearest in their plot);
    alone, they are one finding, not many. A vanished element put where its code was (a
    page's or table's by ``gaps``, an icon's by ``shapes``) is a cause of its own, not a
    fragment."""
    orphans = [it for it in roots if _orphan(it) and not (
        it.d.anchor is None and it.finding.lines is not None)]
    lone = {id(it) for it in orphans}
    causes = [it for it in roots if id(it) not in lone]
    if not orphans:
        return roots
    if not causes:
        head = max(orphans, key=lambda it: it.rank)
        if len(orphans) > 1:
            head.finding.evidence = [o.finding.box for o in orphans]
        head.related += [o for o in orphans if o is not head]
        return [head]
    for o in orphans:
        box = o.finding.box
        cause = min(causes, key=lambda c: (c.group != o.group, _gap(c.finding.box, box)))
        cause.related.append(o)
    return causes


def _gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return dx + dy


def _one_per_line(roots: list[Item], totals: dict[tuple[int | None, str], int]) -> list[Item]:
    """Causes blamed on one source line are one cause: the worst leads, the others follow,
    and a line's marks are counted ("8 of 8 bars")."""
    by_line: dict[object, list[Item]] = {}
    order: list[object] = []
    for it in roots:
        key: object = it.line if it.line is not None else ("loc", it.d.location)
        if (it.finding.nature == "text" and it.finding.render_text
                and any(o.finding.nature == "relayout" and o.d.anchor is not None
                        and it.d.anchor is not None and o.d.anchor.key == it.d.anchor.key
                        for o in roots)):
            # Other words in a box laid out anew: the words are the tag's, the layout is a
            # declaration's (its own line, found later) — two changes.
            key = ("words", key)
        elif (declared := _declared_line(it, roots)) is not None:
            key = declared  # a page text's colour: its style rule's line, not its tag's
        if key not in by_line:
            order.append(key)
        by_line.setdefault(key, []).append(it)
    out: list[Item] = []
    for key in order:
        members = by_line[key]
        if len(members) == 1:
            out.append(members[0])
            continue
        head = max(members, key=lambda it: it.rank)
        same_kind = [m for m in members if m.role == head.role
                     and m.d.category == head.d.category]
        if len(same_kind) > 1 and head.role in PLURAL:
            total = totals.get((head.line, head.role), 0)
            head.d.description = _counted(head, len(same_kind), total)
            boxes = [m.finding.box for m in same_kind]
            head.finding.evidence = boxes
            head.d.ref_box = _round(union([m.d.ref_box for m in same_kind if m.d.ref_box]
                                          or [head.d.ref_box or (0, 0, 0, 0)]))
            head.d.render_box = _round(union([m.d.render_box for m in same_kind
                                              if m.d.render_box]
                                             or [head.d.render_box or (0, 0, 0, 0)]))
        for m in members:
            if m is not head:
                head.related.append(m)
        out.append(head)
    return out


def _declared_line(it: Item, roots: Sequence[Item] = ()) -> int | None:
    """The line of the text colour declaration a recolour's fix names, where the renderer
    knows it (a page's CSS rule): where the finding will be shown. (A box's ground recoloured
    is often what another box's growth uncovered: it stays with its box — unless it is the
    very colour change of a text in it or round it, by another name.)"""
    a, prop = it.d.anchor, (it.d.fix or {}).get("property")
    if it.finding.nature not in ("recolor", "background") or a is None:
        return None
    if prop != "color" or it.finding.nature != "recolor":
        twin = next((o for o in roots if o is not it and _same_colours(o, it)
                     and o.d.anchor is not None and _nested(o.d.anchor.key, a.key)
                     and (o.d.fix or {}).get("property") == "color"), None)
        return _declared_line(twin) if twin is not None else None
    css = (a.props.get("css") or {}).get(prop)
    line = css.get("line") if isinstance(css, dict) else None
    return line if isinstance(line, int) else None


def _same_colours(a: Item, b: Item) -> bool:
    fa, fb = a.finding, b.finding
    return (fa.ref_color is not None and fa.render_color is not None
            and fa.ref_color == fb.ref_color and fa.render_color == fb.render_color)


def _nested(k1: str, k2: str) -> bool:
    """One page element holds the other (or they are one)."""
    return k1 == k2 or k1.startswith(k2 + ">") or k2.startswith(k1 + ">")


def _round(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(round(v, 1) for v in box)  # type: ignore[return-value]


def _counted(head: Item, n: int, total: int) -> str:
    """"bar heights differ for 8 of 8 bars (most: bar 'Delta', reference height …)"."""
    plural = PLURAL.get(head.role, "elements")
    nature = head.finding.nature
    what = {"resized": "sizes", "moved": "positions", "recolor": "colours", "data": "values",
            "text": "texts", "missing": "", "extra": ""}.get(nature, "shapes")
    if head.role == "bar" and nature == "resized":
        what = "heights" if "height" in head.d.description else "sizes"
    of = f"{n} of {max(total, n)}" if total else f"{n}"
    if nature == "missing":
        lead = f"{of} {plural} of the reference are missing from the render"
    elif nature == "extra":
        lead = f"{of} {plural} in the render are not in the reference"
    else:
        lead = f"{plural[:-1] if plural.endswith('s') else plural} {what} differ for {of} {plural}"
    return f"{lead} (most: {head.d.location}, {head.d.description})"


def _emit(it: Item) -> Discrepancy:
    """The cause's discrepancy with every consequence (depth-first) as ``related``."""
    related: list[Discrepancy] = []
    stack = list(it.related)
    while stack:
        r = stack.pop(0)
        r.d.related = []
        related.append(r.d)
        stack[0:0] = r.related
    it.d.related = related
    guide_texts = [r for r in it.related if r.role in ("xticklabel", "yticklabel")
                   and r.finding.nature == "text" and r.finding.ref_text and
                   r.finding.render_text]
    if guide_texts and it.role not in GUIDES:
        g = guide_texts[0]
        axis = "y" if g.role == "yticklabel" else "x"
        it.d.description += (f"; {axis}-axis ticks now '{g.finding.render_text}', reference "
                             f"'{g.finding.ref_text}'")
    return it.d
