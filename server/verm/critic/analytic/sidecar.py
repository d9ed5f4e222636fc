"""Element to element: the reference's sidecar anchors against the render's, key by key.

Text, colour, box and presence are compared from the anchors themselves; a change counts only
where the pixels confirm a visible difference there.
"""

from __future__ import annotations

import difflib

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import (
    PAD,
    SAME_COLOR,
    Context,
    Finding,
    Placed,
    area,
    crop_ink,
    diff_in,
    grow,
    inside,
    int_box,
    moved_or_resized,
    norm_text,
    offset,
    union,
)
from verm.critic.analytic.pixels import Color, color_distance, near_color, parse_hex
from verm.critic.taxonomy import TOP_CONTAINERS
from verm.types import Anchor, Box

MIN_CONFIRM = 4  # differing pixels that confirm a sidecar change
DRAWN_MIN = 3  # pixels of a colour that show it drawn in a box


def compare_elements(cmp: Comparison, render: list[Placed], ref: list[Placed], ctx: Context,
                     explained: np.ndarray) -> list[Finding]:
    """Findings from comparing anchors by key; the area each explains is marked in
    ``explained`` so the pixel pass does not report it again."""
    by_key = {p.anchor.key: p for p in render}
    ref_by_key = {p.anchor.key: p for p in ref}
    out: list[Finding] = []
    boxy: list[Finding] = []  # containers whose box changed
    moves: list[tuple[tuple[float, float], Box]] = []  # containers moved: offset, old box

    def confirmed(box_a: tuple[int, int, int, int], box_b: tuple[int, int, int, int]) -> bool:
        if ctx.canvas_changed:
            return _crops_differ(cmp, box_a, box_b)
        return diff_in(cmp, int_box(union([box_a, box_b]), cmp.frame)) >= MIN_CONFIRM

    partner = pair(ref, render)
    paired = {id(p) for p in partner.values()}
    for rp in ref:
        ra = rp.anchor
        np_ = partner.get(id(rp))
        if np_ is None:
            if ra.role in TOP_CONTAINERS:
                continue
            seen = crop_ink(cmp.ref, cmp.ref_background, rp.box) > 0
            if seen and (ctx.canvas_changed or diff_in(cmp, rp.box) >= MIN_CONFIRM):
                out.append(Finding("missing", None, ra, None, rp.tight, diff_in(cmp, rp.box),
                                   ref_color=parse_hex(ra.color), ref_text=ra.text))
                _mark(explained, rp.box)
            continue
        na = np_.anchor
        data = data_changed(ra, na)
        if data and ra.role not in TOP_CONTAINERS and confirmed_near(cmp, rp, np_, by_key):
            out.append(Finding("data", na, ra, np_.tight, rp.tight,
                               diff_in(cmp, int_box(union([rp.box, np_.box]), cmp.frame)),
                               ref_color=parse_hex(ra.color), render_color=parse_hex(na.color),
                               note=data_note(ra, na, ref_by_key, by_key)))
            _mark(explained, rp.box)
            _mark(explained, np_.box)
            continue
        if not confirmed(rp.box, np_.box):
            continue
        f = Finding("", na, ra, np_.tight, rp.tight,
                    diff_in(cmp, int_box(union([rp.box, np_.box]), cmp.frame)),
                    ref_color=parse_hex(ra.color), render_color=parse_hex(na.color),
                    ref_text=norm_text(ra.text), render_text=norm_text(na.text))
        moved = max(abs(u - v) for u, v in zip(rp.tight, np_.tight, strict=True)) > PAD
        if f.ref_text is not None and f.render_text is not None and f.ref_text != f.render_text:
            f.nature = "text"
        elif (f.ref_color and f.render_color
              and color_distance(f.ref_color, f.render_color) > SAME_COLOR / 2
              and _drawn_in(cmp.ref, rp.box, f.ref_color)):
            # (Only a colour the reference shows there: a sidecar pinned by an older verm may
            # name one never drawn — a markers-only line's cycle colour.)
            f.nature = "recolor"
        elif (style := restyled(ra, na)) is not None:
            f.nature, f.style = "restyle", style
        elif (style := css_changed(ra, na)) is not None:
            # A declaration of its own set differently: the cause, on that declaration's line.
            f.nature = "restyle" if style[0] in FONT_CSS else "relayout"
            f.style = style
        elif (ctx.canvas_changed and na.role == "legend"
              and _moved_in_parent(rp.tight, np_.tight, ra.key, ref_by_key, by_key)):
            f.nature = "moved"  # placed elsewhere in its plot, whatever the canvas did
        elif moved and not ctx.canvas_changed:
            f.nature = moved_or_resized(rp.tight, np_.tight)
            # Same data, drawn elsewhere: its axis was rescaled or its plot resized.
            f.consequence = data is False
        else:
            continue
        if na.container and f.nature == "recolor":
            f.nature = "background"
        if na.container and f.nature == "resized":
            if na.role not in TOP_CONTAINERS:
                boxy.append(f)  # kept below only if none of its children explains it
            continue
        if na.container and f.nature == "moved":
            if na.role in TOP_CONTAINERS:
                continue
            moves.append((offset(rp.tight, np_.tight), rp.tight))
        out.append(f)
        _mark(explained, rp.box)
        _mark(explained, np_.box)
    for p in render:
        a = p.anchor
        if id(p) in paired or a.role in TOP_CONTAINERS:
            continue
        if ctx.canvas_changed or diff_in(cmp, p.box) >= MIN_CONFIRM:
            if crop_ink(cmp.render, cmp.render_background, p.box) == 0:
                continue
            out.append(Finding("extra", a, None, p.tight, None, diff_in(cmp, p.box),
                               render_color=parse_hex(a.color), render_text=a.text))
            _mark(explained, p.box)
    for f in boxy:
        if not any(inside(g.box, grow(f.box, PAD), 0.9) for g in out):
            out.append(f)
    out += _limits(out, render, ref, cmp, explained)
    if not ctx.canvas_changed:
        out += _relaid(out, render, ref, cmp)
    # Children that moved with their container (a legend's texts) are its move, not theirs.
    out = [f for f in out if not (
        f.nature == "moved" and f.ref_box is not None and f.render_box is not None
        and not (f.anchor and f.anchor.container)
        and any(inside(f.ref_box, old, 0.9)
                and max(abs(u - v) for u, v in zip(offset(f.ref_box, f.render_box), off,
                                                   strict=True)) <= PAD
                for off, old in moves))]
    return _shared_shift(_drop_nested(_drop_reflowed(out)), render)


def _moved_in_parent(ref_box: Box, render_box: Box, key: str, ref_by_key: dict[str, Placed],
                     by_key: dict[str, Placed], share: float = 0.1) -> bool:
    """Whether an element sits elsewhere in its parent (a legend in its axes) by more than
    ``share`` of the parent's size: on a resized canvas everything moves, so only the place
    within the parent says the script put it elsewhere."""
    parent = key.rsplit("/", 1)[0] if "/" in key else ""
    pa, pb = ref_by_key.get(parent), by_key.get(parent)
    if not parent or pa is None or pb is None:
        return False

    def rel(box: Box, outer: Box) -> tuple[float, float]:
        w, h = max(1e-9, outer[2] - outer[0]), max(1e-9, outer[3] - outer[1])
        return ((box[0] + box[2]) / 2 - outer[0]) / w, ((box[1] + box[3]) / 2 - outer[1]) / h

    (ax, ay), (bx, by) = rel(ref_box, pa.tight), rel(render_box, pb.tight)
    return abs(ax - bx) > share or abs(ay - by) > share


def _signature(a: Anchor) -> tuple[object, ...]:
    """What an element is, whatever its ordinal key: kind, colour, text, box (to 2 px)."""
    return (a.role, a.props.get("tag"), a.color, a.text,
            tuple(round(v / 2) for v in a.box))


def pair(ref: list[Placed], render: list[Placed]) -> dict[int, Placed]:
    """Each reference element's render counterpart (by ``id`` of the reference's Placed).

    Keys name elements by position ("the 5th <path>"), so removing one would shift every key
    after it and every later element would look changed. Elements are first aligned as
    sequences of what they are (identical elements pair up across the gap), then the rest
    by key when that render element is still free."""
    out: dict[int, Placed] = {}
    taken: set[int] = set()
    sig_a = [_signature(p.anchor) for p in ref]
    sig_b = [_signature(p.anchor) for p in render]
    matcher = difflib.SequenceMatcher(None, sig_a, sig_b, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            rp, np_ = ref[block.a + k], render[block.b + k]
            out[id(rp)] = np_
            taken.add(id(np_))
    by_key = {p.anchor.key: p for p in render}
    for rp in ref:
        if id(rp) in out:
            continue
        np_ = by_key.get(rp.anchor.key)
        if np_ is not None and id(np_) not in taken:
            out[id(rp)] = np_
            taken.add(id(np_))
    return out


def data_changed(ref: Anchor, render: Anchor) -> bool | None:
    """Whether a mark's data differ (the renderer's digest, or a bar's or wedge's value);
    None when the sidecar does not say."""
    for prop in ("data", "value"):
        a, b = ref.props.get(prop), render.props.get(prop)
        if a is not None and b is not None:
            if isinstance(a, float) or isinstance(b, float):
                try:
                    return abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(a)))
                except (TypeError, ValueError):
                    return a != b
            return a != b
    return None


def confirmed_near(cmp: Comparison, rp: Placed, np_: Placed, by_key: dict[str, Placed]
                   ) -> bool:
    """Changed data shows somewhere in the element's plot (a series that set the axis limits
    may itself be drawn in the same pixels while everything else moved)."""
    box = int_box(union([rp.box, np_.box]), cmp.frame)
    if diff_in(cmp, box) >= MIN_CONFIRM:
        return True
    plot = by_key.get(_parent_key(np_.anchor.key))
    return plot is not None and diff_in(cmp, plot.box) >= MIN_CONFIRM


def _span(values: object) -> str | None:
    if not isinstance(values, list) or len(values) != 2:
        return None
    return f"{_num(values[0])}–{_num(values[1])}"


def _num(v: object) -> str:
    try:
        return f"{float(v):.4g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)


def data_note(ref: Anchor, render: Anchor, ref_by_key: dict[str, Placed],
              by_key: dict[str, Placed]) -> str:
    """What the sidecar says about changed data: values, spans, and the axis they moved."""
    parts = []
    if ref.role == "bar" and "value" in ref.props and "value" in render.props:
        parts.append(f"value {_num(render.props['value'])}, reference {_num(ref.props['value'])}")
    elif ref.role == "wedge" and "value" in ref.props and "value" in render.props:
        parts.append(f"angle {_num(render.props['value'])}°, reference "
                     f"{_num(ref.props['value'])}°")
    else:
        for axis in ("y", "x"):
            a, b = _span(ref.props.get(f"{axis}range")), _span(render.props.get(f"{axis}range"))
            if a and b and a != b:
                parts.append(f"{axis} values span {b}, reference {a}")
    plot = _parent_key(render.key)
    ra, na = ref_by_key.get(plot), by_key.get(plot)
    if ra is not None and na is not None:
        for axis in ("y", "x"):
            a = _span(ra.anchor.props.get(f"{axis}lim"))
            b = _span(na.anchor.props.get(f"{axis}lim"))
            if a and b and a != b:
                parts.append(f"{axis}-axis now {b}, reference {a}")
    return "; ".join(parts)


RELAID = 0.08  # share of the canvas a plot area moved or resized by: another subplot layout
LAID_OUT = frozenset({"moved", "resized", "extra", "missing", "changed", "shifted"})


def _relaid(findings: list[Finding], render: list[Placed], ref: list[Placed],
            cmp: Comparison) -> list[Finding]:
    """Plot areas placed or sized differently on the same canvas (`plt.subplots(2, 1)` made
    `(1, 2)`): one cause per plot, on the line that made it; what moved, grew or seems to
    appear and vanish inside it follows from it. Its data, texts and colours stay causes."""
    ref_by_key = {p.anchor.key: p for p in ref}
    render_keys = {p.anchor.key for p in render}
    height, width = cmp.diff.shape
    out: list[Finding] = []

    def follows(f: Finding, prefix: str) -> bool:
        b = f.anchor or f.ref_anchor
        if b is None or not b.key.startswith(prefix) or f.nature not in LAID_OUT:
            return False
        # An element on both sides only looks new or gone where the plot moved; one the
        # sidecar has on one side only (a scatter made a line, a grid switched off) is news.
        return f.nature not in ("extra", "missing") or (b.key in ref_by_key
                                                        and b.key in render_keys)

    for p in render:
        a = p.anchor
        rp = ref_by_key.get(a.key)
        if a.role != "axes" or "/" in a.key or rp is None:
            continue
        (x0, y0, x1, y1), (u0, v0, u1, v1) = p.tight, rp.tight
        change = max(abs(x0 - u0) / width, abs(x1 - u1) / width, abs(y0 - v0) / height,
                     abs(y1 - v1) / height)
        if change < RELAID:
            continue
        for f in findings:
            if follows(f, a.key + "/"):
                f.consequence = True
        out.append(Finding("subplots", a, rp.anchor, p.tight, rp.tight, 0,
                           note=(f"the plot area is {round(x1 - x0)}×{round(y1 - y0)} px at "
                                 f"({round(x0)}, {round(y0)}), in the reference "
                                 f"{round(u1 - u0)}×{round(v1 - v0)} px at ({round(u0)}, "
                                 f"{round(v0)}): the subplot layout differs")))
    return out


def _limits(findings: list[Finding], render: list[Placed], ref: list[Placed], cmp: Comparison,
            explained: np.ndarray) -> list[Finding]:
    """A plot whose axis limits or scale changed while none of its data did: the limits are
    the cause (on the line that set them), its moved marks and ticks the consequences."""
    ref_by_key = {p.anchor.key: p for p in ref}
    out: list[Finding] = []
    for p in render:
        a = p.anchor
        if a.role != "axes":
            continue
        rp = ref_by_key.get(a.key)
        if rp is None or diff_in(cmp, p.box) < MIN_CONFIRM:
            continue
        if any(f.nature == "data" and f.anchor is not None
               and f.anchor.key.startswith(a.key + "/") for f in findings):
            continue
        for axis in ("y", "x"):
            old = (rp.anchor.props.get(f"{axis}lim"), rp.anchor.props.get(f"{axis}scale"))
            new = (a.props.get(f"{axis}lim"), a.props.get(f"{axis}scale"))
            if None in old or None in new or old == new:
                continue
            what = ("scale" if old[1] != new[1] else "limits")
            shown = (f"{new[1]}, reference {old[1]}" if what == "scale" else
                     f"{_span(new[0])}, reference {_span(old[0])}")
            lines = a.props.get("limit_lines") or {}
            out.append(Finding("limits", a, rp.anchor, p.tight, rp.tight, diff_in(cmp, p.box),
                               note=f"{axis}-axis {what} {shown}",
                               line=lines.get(axis) if isinstance(lines, dict) else None))
            break
    return out


def _parent_key(key: str) -> str:
    cut = max(key.rfind("/"), key.rfind(">"))
    return key[:cut] if cut > 0 else ""


def _shared_shift(findings: list[Finding], render: list[Placed]) -> list[Finding]:
    """Elements that all moved the same way inside a parent that did not move: the parent's
    margin or padding changed. One finding on the parent instead of one per child."""
    by_key = {p.anchor.key: p for p in render}
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if (f.nature in ("moved", "resized") and not f.container and f.anchor is not None
                and f.ref_box is not None and f.render_box is not None):
            parent = _parent_key(f.anchor.key)
            if parent in by_key and by_key[parent].anchor.container:
                groups.setdefault(parent, []).append(f)
    for parent, group in groups.items():
        if len(group) < 2:
            continue
        shifts = [offset(f.ref_box, f.render_box) for f in group]  # type: ignore[arg-type]
        dx, dy = shifts[0]
        if max(abs(dx), abs(dy)) <= PAD or any(
                abs(x - dx) > PAD or abs(y - dy) > PAD for x, y in shifts):
            continue
        widths = {round((f.render_box[2] - f.render_box[0])  # type: ignore[index]
                        - (f.ref_box[2] - f.ref_box[0])) for f in group}  # type: ignore[index]
        members = {id(f) for f in group}
        findings = [f for f in findings if id(f) not in members]
        findings.append(Finding(
            "shifted", by_key[parent].anchor, None,
            render_box=union([f.render_box for f in group]),  # type: ignore[misc]
            ref_box=union([f.ref_box for f in group]),  # type: ignore[misc]
            pixels=sum(f.pixels for f in group), members=len(group),
            style=("width", 0, widths.pop()) if len(widths) == 1 else None,
        ))
    return findings


def _drop_reflowed(findings: list[Finding]) -> list[Finding]:
    """An element that grew pushes what follows it: those moves are its change, not theirs.

    A move is dropped when it goes the way an element before it grew, below it (block flow) or
    to its right (inline flow). Not by exactly as much: margins in `em` grow with a font.
    """
    growth = []
    for g in findings:
        if g.nature in ("resized", "restyle", "relayout") and g.ref_box and g.render_box:
            dw = (g.render_box[2] - g.render_box[0]) - (g.ref_box[2] - g.ref_box[0])
            dh = (g.render_box[3] - g.render_box[1]) - (g.ref_box[3] - g.ref_box[1])
            growth.append((g.ref_box, dw, dh))

    def pushed(f: Finding) -> bool:
        if f.nature != "moved" or not f.ref_box or not f.render_box:
            return False
        dx, dy = offset(f.ref_box, f.render_box)
        for box, dw, dh in growth:
            below = f.ref_box[1] >= box[3] - PAD
            right = f.ref_box[0] >= box[2] - PAD and f.ref_box[1] < box[3]
            if below and abs(dx) <= PAD and abs(dh) > PAD and dy * dh > 0:
                return True
            if right and abs(dy) <= PAD and abs(dw) > PAD and dx * dw > 0:
                return True
        return False

    return [f for f in findings if not pushed(f)]


# Style properties renderers record (chart: props; SVG: props; HTML: props["style"]) whose change
# is visible though neither colour, text nor position changes: a thicker line, a bigger font.
STYLE_PROPS = ("linewidth", "linestyle", "marker", "markersize", "fontsize", "fontweight",
               "stroke-width", "font-size", "font-weight", "font-family", "text-align")


# Declarations whose change is a matter of colour: the colour comparison reports those.
COLOR_CSS = frozenset({"color", "background", "background-color", "border-color", "fill",
                       "stroke", "outline-color", "border"})
FONT_CSS = frozenset({"font-size", "font-weight", "font-family", "font-style", "font",
                      "letter-spacing", "text-decoration"})


def _css_value(anchor: Anchor, prop: str) -> str | None:
    css = anchor.props.get("css")
    if not isinstance(css, dict):
        return None
    span = css.get(prop)
    value = span.get("value") if isinstance(span, dict) else None
    return " ".join(str(value).lower().split()) if value is not None else None


def css_changed(ref: Anchor, render: Anchor) -> tuple[str, object, object] | None:
    """The first declaration applying to the element (HTML renderer's ``props['css']``) whose
    value differs between reference and render — a `display`, a `padding`, a font size —
    or None. Colours are left to the colour comparison."""
    a, b = ref.props.get("css"), render.props.get("css")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    for prop in sorted(set(a) | set(b)):
        if prop in COLOR_CSS:
            continue
        va, vb = _css_value(ref, prop), _css_value(render, prop)
        if va != vb and va is not None and vb is not None:
            return prop, va, vb
    return None


def _style_value(anchor: Anchor, prop: str) -> object:
    value = anchor.props.get(prop)
    if value is None and isinstance(anchor.props.get("style"), dict):
        value = anchor.props["style"].get(prop)
    return value


def _number(value: object) -> float | None:
    try:
        return float(str(value).removesuffix("px").removesuffix("pt"))
    except ValueError:
        return None


def restyled(ref: Anchor, render: Anchor) -> tuple[str, object, object] | None:
    """The first style property whose value differs visibly between the two anchors."""
    for prop in STYLE_PROPS:
        a, b = _style_value(ref, prop), _style_value(render, prop)
        if a is None or b is None or a == b:
            continue
        na, nb = _number(a), _number(b)
        if na is not None and nb is not None:
            if abs(na - nb) > 0.1 * max(abs(na), abs(nb), 1e-9):
                return prop, a, b
        elif str(a).strip().lower() != str(b).strip().lower():
            return prop, a, b
    return None


def _mark(mask: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True


def _drawn_in(image: np.ndarray, box: tuple[int, int, int, int], color: Color) -> bool:
    """Does the picture show ``color`` (or nearly) anywhere in ``box``?"""
    x0, y0, x1, y1 = box
    crop = image[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
    return crop.size > 0 and int(np.count_nonzero(near_color(crop, color, SAME_COLOR))) >= DRAWN_MIN


def _crops_differ(cmp: Comparison, a: tuple[int, int, int, int],
                  b: tuple[int, int, int, int]) -> bool:
    """Local test for frames that do not line up: same-size crops compared, else different."""
    wa, ha = a[2] - a[0], a[3] - a[1]
    wb, hb = b[2] - b[0], b[3] - b[1]
    if abs(wa - wb) > 1 or abs(ha - hb) > 1:
        return True
    w, h = min(wa, wb), min(ha, hb)
    ca = np.ascontiguousarray(cmp.ref[a[1] : a[1] + h, a[0] : a[0] + w])
    cb = np.ascontiguousarray(cmp.render[b[1] : b[1] + h, b[0] : b[0] + w])
    if ca.size == 0 or ca.shape != cb.shape:
        return False
    return int(np.count_nonzero(cmp.unexplained(ca, cb))) >= MIN_CONFIRM


def _drop_nested(findings: list[Finding]) -> list[Finding]:
    """A missing legend need not also report each of its missing texts."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: -area(f.box)):
        if f.nature in ("missing", "extra") and any(
            k.nature == f.nature and inside(f.box, k.box) for k in kept
        ):
            continue
        kept.append(f)
    return kept
