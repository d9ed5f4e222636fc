"""Where a vanished page element's code was: between the elements drawn before and after it.

Without a sidecar, an element the reference draws and the render lacks (a removed ``<tr>``, a
``<span>`` deleted from the body) is blamed on the element its ink now lies in — the ``<body>``
or ``<table>`` line, or a CSS rule of its colour — though nothing there changed. A page is laid
out in document order, so the element drawn last above the missing ink is the one written
before it, and the missing element's code belongs right after that one's lines: the finding
points at that gap (as a missing SVG shape does, ``shapes._written_at``).
"""

from __future__ import annotations

from verm.critic.analytic.findings import Finding, Placed, inside
from verm.types import Anchor

SLACK = 2.0  # px an element above may reach into the missing ink (anti-aliased edges)
MAX_GAP = 3  # lines the range spans at most


def missing_between(findings: list[Finding], placed: list[Placed]) -> None:
    """Point each missing element's finding at the lines between its neighbours in the source."""
    written = [p for p in placed if p.anchor.range is not None]
    for f in findings:
        if f.nature != "missing" or f.line is not None or f.lines is not None:
            continue
        box = f.ref_box or f.box
        above = [p for p in written if p.tight[3] <= box[1] + SLACK
                 and p.tight[0] < box[2] and box[0] < p.tight[2]
                 and not inside(box, p.tight, 0.5)]
        if not above:
            continue
        prev = max(above, key=lambda p: (_first(p.anchor), -p.tight[1])).anchor
        if f.anchor is None and f.name is None:
            f.name = f"element after {prev.name}"
        end = _last(prev)
        after = [_first(p.anchor) for p in written if _first(p.anchor) > end]
        if not after:
            f.lines = (end + 1, end + 1)
            continue
        start = min(after)
        f.lines = ((end, start) if start == end + 1
                   else (max(end + 1, start - MAX_GAP), start - 1))


def _first(a: Anchor) -> int:
    assert a.range is not None
    return a.range.start.line


def _last(a: Anchor) -> int:
    assert a.range is not None
    return a.range.end.line
