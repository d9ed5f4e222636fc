"""Children laid out in another direction: a container's ``display`` (or ``flex-direction``).

A flex row made a block stacks its children; a column made a row puts them side by side.
Against a screenshot (no sidecar) that reads as its children's words changed (each now stands
where the reference shows another text), a box "extra", and everything below it moved: a
handful of findings, none on the declaration that did it. Here each container's children are
found in the reference (their ink searched for wherever it lies now), and when two of them
stood side by side there and stand one above the other in the render (or the other way round),
the container's layout is the one cause: a finding on its declaration, with what moved inside
it folded in.
"""

from __future__ import annotations

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, int_box, union
from verm.critic.analytic.moves import EXACT_RMS, LOSSY_RMS, ink_box, matcher_of
from verm.critic.taxonomy import TOP_CONTAINERS
from verm.types import Anchor, Box

SLACK = 2.0  # render px two edges may overlap and still be one beside or below the other
# Where a container's direction is written: on it (a flex or grid box, a block), else on its
# children (inline-block boxes in a row, floats).
ON_CONTAINER = ("flex-direction", "display", "flex-wrap", "grid-template-columns")
ON_CHILDREN = ("display", "float")
FOLDED = frozenset({"moved", "extra", "missing", "changed", "text", "background", "resized"})


def rearranged(findings: list[Finding], anchors: list[Anchor], cmp: Comparison,
               css: dict[str, dict[str, dict[str, object]]]) -> Finding | None:
    """The finding of the first container (in page order) whose children changed direction,
    its descendants' findings marked its consequences; None when none did. ``css``: each
    element's declarations written in this source, by key."""
    touched = {f.anchor.key for f in findings if f.anchor is not None}
    # A child's box in the reference where a finding measured it (resized, moved).
    measured = {f.anchor.key: f.ref_box for f in findings
                if f.anchor is not None and f.ref_box is not None
                and f.nature in ("resized", "relayout", "moved")}
    for c in anchors:
        if c.role in TOP_CONTAINERS or not c.container:
            continue
        if not any(k == c.key or k.startswith(c.key + ">") for k in touched):
            continue
        kids = [a for a in anchors if a.key.rsplit(">", 1)[0] == c.key and ">" in a.key]
        if len(kids) < 2:
            continue
        owner, prop = _declared(c, kids, css)
        if owner is None or prop is None:
            continue  # nothing this source writes sets their direction (a table's cells)
        found = _in_reference(kids, cmp, touched, measured)
        if found is None:
            continue
        ours, theirs, located = found
        for i in range(1, len(ours)):
            now, then = _relation(ours[i - 1], ours[i]), _relation(theirs[i - 1], theirs[i])
            if now is not None and then is not None and now != then:
                return _finding(c, owner, prop, now, then, ours, theirs, located, findings,
                                cmp, css)
    return None


def _in_reference(kids: list[Anchor], cmp: Comparison, touched: set[str],
                  measured: dict[str, Box]) -> tuple[list[Box], list[Box], set[str]] | None:
    """Each child's ink in the render and where the reference shows it (its place when it did
    not move: no finding on it or inside it; its box there when a finding measured it, resized),
    with the keys of those that moved; None when a child has no ink, or none moved."""
    grey = matcher_of(cmp)
    rms = LOSSY_RMS if cmp.lossy or cmp.frame.scale != 1.0 else EXACT_RMS
    ours: list[Box] = []
    theirs: list[Box] = []
    located: set[str] = set()
    for k in kids:
        ink = ink_box(grey.render, int_box(cmp.frame.from_render(k.box), cmp.frame))
        if ink is None:
            return None
        box = (float(ink[0]), float(ink[1]), float(ink[2]), float(ink[3]))
        changed = any(t == k.key or t.startswith(k.key + ">") for t in touched)
        at = grey.locate(ink, rms) if changed else None
        ours.append(box)
        theirs.append(at if at is not None else measured.get(k.key, box))
        if at is not None:
            located.add(k.key)
    return (ours, theirs, located) if located else None


def _relation(a: Box, b: Box) -> str | None:
    """``b`` after ``a``: "below" it, "beside" it (to its right, on a shared row), or neither."""
    if b[1] >= a[3] - SLACK:
        return "below"
    if b[0] >= a[2] - SLACK and min(a[3], b[3]) - max(a[1], b[1]) > 0:
        return "beside"
    return None


def _declared(c: Anchor, kids: list[Anchor], css: dict[str, dict[str, dict[str, object]]]
              ) -> tuple[Anchor | None, str | None]:
    """Which element's declaration sets the direction, and its property."""
    own = css.get(c.key, {})
    for prop in ON_CONTAINER:
        if prop in own:
            return c, prop
    for k in kids:
        theirs = css.get(k.key, {})
        for prop in ON_CHILDREN:
            if prop in theirs:
                return k, prop
    return None, None


def _finding(c: Anchor, owner: Anchor, prop: str, now: str, then: str, ours: list[Box],
             theirs: list[Box], located: set[str], findings: list[Finding], cmp: Comparison,
             css: dict[str, dict[str, dict[str, object]]]) -> Finding:
    box = cmp.frame.from_render(c.box)
    ref_box = union(theirs)
    ref_box = (box[0], box[1], max(box[2], ref_box[2]), box[1] + (ref_box[3] - union(ours)[1]))
    how = {"below": "one below the other", "beside": "side by side"}
    f = Finding("relayout", owner, None, box, ref_box, sum(g.pixels for g in findings),
                evidence=[union(ours), union(theirs)])
    value = css.get(owner.key, {}).get(prop, {}).get("value")
    f.style = (prop, None, " ".join(str(value).split()) if value is not None else None)
    f.note = (f"the children of {c.name} are {how[then]} in the reference, {how[now]} in the "
              "render")
    for g in findings:
        a = g.anchor
        if a is None or g.nature not in FOLDED:
            continue
        # The container's own box, and what lies in a child found elsewhere, moved with the
        # layout; a child that stayed and changed (resized, reworded) changed itself.
        if a.key == c.key or any(a.key == k or a.key.startswith(k + ">") for k in located):
            g.consequence = True
    findings.append(f)
    return f
