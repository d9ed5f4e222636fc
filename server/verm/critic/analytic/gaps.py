"""Where a vanished page element's code was: between the elements drawn before and after it.

Without a sidecar, an element the reference draws and the render lacks (a removed ``<tr>``, a
``<span>`` deleted from the body) is blamed on the element its ink now lies in — the ``<body>``
or ``<table>`` line, or a CSS rule of its colour — though nothing there changed. A page is laid
out in document order, so the element drawn last above the missing ink is the one written
before it, and the missing element's code belongs right after that one's lines: the finding
points at that gap (as a missing SVG shape does, ``shapes._written_at``).
"""

from __future__ import annotations

from verm.critic.analytic.findings import (
    Finding,
    Placed,
    first_line,
    inside,
    last_line,
    union,
)
from verm.types import Anchor

SLACK = 2.0  # px an element above may reach into the missing ink (anti-aliased edges)
MAX_GAP = 3  # lines the range spans at most
ROW_SHARE = 0.9  # of a table's width a missing band spans to be one of its rows
RULE = 2.0  # px: a border's thickness, and how near the vanished element it runs


def missing_between(findings: list[Finding], placed: list[Placed], rows: bool = False) -> None:
    """Point each missing element's finding at the lines between its neighbours in the source;
    ``rows`` (a Markdown table): one as wide as the table's rows is a row of it."""
    written = [p for p in placed if p.anchor.range is not None]
    cells = [p.tight for p in placed if rows and p.anchor.role in ("cell", "header")]
    if cells:
        _merge_bands(findings)
    for f in findings:
        if f.nature != "missing" or f.line is not None or f.lines is not None:
            continue
        box = f.ref_box or f.box
        above = [p for p in written if p.tight[3] <= box[1] + SLACK
                 and p.tight[0] < box[2] and box[0] < p.tight[2]
                 and not inside(box, p.tight, 0.5)]
        if not above:
            continue
        prev = max(above, key=lambda p: (first_line(p.anchor), -p.tight[1])).anchor
        if cells and box[2] - box[0] >= ROW_SHARE * (max(c[2] for c in cells)
                                                     - min(c[0] for c in cells)):
            f.nature = "rows-missing"
            moved = _rows_moved_up(findings, f)
            if moved is not None:
                # The rows below the one taken out moved up into its place: the last row's
                # band is empty, but the row went where the first of them is now drawn.
                line = first_line(moved)
                f.lines, f.name = (max(0, line - 1), line), f"row before {moved.name}"
                f.note = ("a row of the reference is missing from the render; the rows after "
                          "it moved up")
                continue
            f.note = f"a row of the reference is missing from the render, after {prev.name}"
        if f.anchor is None and f.name is None:
            f.name = f"element after {prev.name}"
        end = last_line(prev)
        after = [first_line(p.anchor) for p in written if first_line(p.anchor) > end]
        if not after:
            f.lines = (end + 1, end + 1)
            continue
        start = min(after)
        f.lines = ((end, start) if start == end + 1
                   else (max(end + 1, start - MAX_GAP), start - 1))
    for f in findings:
        if f.nature in ("missing", "rows-missing") and f.lines is not None:
            _rules_along(findings, f)


def _merge_bands(findings: list[Finding]) -> None:
    """Pieces of one vanished row (its words, where a resampled reference leaves the rest
    alike) that share a band of rows are one missing row: merged, in place."""
    missing = sorted((f for f in findings if f.nature == "missing" and f.line is None
                      and f.lines is None), key=lambda f: (f.ref_box or f.box)[1])
    merged: list[Finding] = []
    for f in missing:
        box = f.ref_box or f.box
        head = merged[-1] if merged else None
        if head is not None:
            hb = head.ref_box or head.box
            overlap = min(hb[3], box[3]) - max(hb[1], box[1])
            if overlap >= 0.5 * min(hb[3] - hb[1], box[3] - box[1]):
                head.ref_box = union([hb, box])
                head.evidence += f.evidence or [box]
                head.pixels += f.pixels
                findings.remove(f)
                continue
        merged.append(f)


def _rows_moved_up(findings: list[Finding], gone: Finding) -> Anchor | None:
    """The topmost table cell changed above the vanished row's band, when cells below it were
    found one row higher in the reference (moved up); None otherwise."""
    band = gone.ref_box or gone.box
    height = band[3] - band[1]
    cells = [g for g in findings if g is not gone and g.anchor is not None
             and g.anchor.role == "cell" and g.anchor.range is not None
             and g.render_box is not None and g.render_box[3] <= band[1] + RULE]
    up = [g for g in cells if g.nature == "moved" and g.ref_box is not None
          and g.render_box is not None
          and abs(g.ref_box[1] - g.render_box[1] - height) <= max(2.0, 0.2 * height)]
    if not up:
        return None
    for g in cells:
        g.consequence = True
    top = min(cells, key=lambda g: g.render_box[1])  # type: ignore[index]
    return top.anchor


def _rules_along(findings: list[Finding], gone: Finding) -> None:
    """A rule a px or two thick along the vanished element's edge (a table's border that
    followed its last row up) is that element's consequence, not a change of the table."""
    x0, y0, x1, y1 = gone.ref_box or gone.box
    for g in findings:
        if g is gone or g.nature != "changed":
            continue
        gx0, gy0, gx1, gy1 = g.box
        thin = min(gx1 - gx0, gy1 - gy0) <= RULE
        touching = (gx0 <= x1 + RULE and x0 <= gx1 + RULE and gy0 <= y1 + RULE
                    and y0 <= gy1 + RULE)
        if thin and touching:
            g.consequence = True

