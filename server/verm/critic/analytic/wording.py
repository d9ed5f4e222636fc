"""Findings → discrepancies: category and severity from the taxonomy, a human location, a
concrete description (reference vs render) and the quick-fix payload."""

from __future__ import annotations

import difflib
from typing import Any

from verm.critic.analytic.compare import Comparison, Frame
from verm.critic.analytic.findings import SAME_COLOR, Context, Finding, texty, union
from verm.critic.analytic.pixels import Color, color_distance, hex_color, parse_hex
from verm.critic.taxonomy import categorize, numeric_looking
from verm.types import Anchor, Box, Discrepancy, Position, Range

MAX_OCR = 2  # OCR reads per judgement (~100 ms each)
FILL_PROPERTIES = ("background-color", "background", "fill")


def styled_property(anchor: Anchor | None, color: Color | None) -> str | None:
    """The style property of ``anchor`` (renderer's ``props['style']``) that has ``color``."""
    if anchor is None or color is None:
        return None
    style = anchor.props.get("style")
    if not isinstance(style, dict):
        return None
    for prop, value in style.items():
        c = parse_hex(value) if isinstance(value, str) else None
        if c is not None and color_distance(c, color) <= SAME_COLOR / 2:
            return str(prop)
    return None


def transposed(a: str, b: str) -> bool:
    """``b`` is ``a`` with two adjacent letters in the other order ('fruit' → 'friut')."""
    a, b = " ".join(a.split()), " ".join(b.split())
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]] and a[diff[0]].isalpha() and a[diff[1]].isalpha())


def word(f: Finding, cmp: Comparison, ctx: Context) -> Discrepancy:
    """The discrepancy a finding reads as: category, severity, location, description, boxes."""
    frame = cmp.frame
    domain = ctx.domain
    anchor = f.anchor or f.ref_anchor
    canvas = {"chart": "figure", "svg": "canvas"}.get(domain, "page")
    name = f.name or (anchor.name if anchor else canvas)
    evidence_box = union(f.evidence) if f.evidence else f.box
    share = f.pixels / max(1, frame.size[0] * frame.size[1])
    texts = [t for t in (f.ref_text, f.render_text) if t]
    numeric = bool(texts) and all(numeric_looking(t) for t in texts)
    nature = f.nature
    prop = styled_property(f.anchor, f.render_color) if nature == "recolor" else None
    if prop in FILL_PROPERTIES and f.anchor is not None and texty(f.anchor):
        nature = "background"  # the fill behind a text element changed, not its text colour
    category, severity = categorize(
        domain, f.role, nature, share=share, container=f.container,
        has_text=bool(anchor and anchor.text), numeric=numeric,
    )
    fix: dict[str, object] | None = None
    ref_hex = hex_color(f.ref_color) if f.ref_color else None
    ren_hex = hex_color(f.render_color) if f.render_color else None
    if f.members > 1 and nature in ("missing", "extra"):
        where = ("in the reference but missing from the render" if nature == "missing"
                 else "in the render but not in the reference")
        desc = f"{f.members} elements {where}"
        texts = f.ref_text if nature == "missing" else f.render_text
        if texts and texts.strip(" |"):
            desc += f": '{texts}'"
    elif nature in ("recolor", "background"):
        what = "background colour" if nature == "background" else "colour"
        desc = f"reference {what} {ref_hex or 'unknown'}, render {ren_hex or 'unknown'}"
        if ref_hex and ren_hex:
            fix = {"kind": "color", "expected": ref_hex, "actual": ren_hex}
            if prop:
                fix["property"] = prop  # which declaration to edit (HTML/SVG styles)
    elif nature == "data":
        desc = f"its data differ from the reference{': ' + f.note if f.note else ''}"
    elif nature == "limits":
        desc = f.note or "axis limits differ from the reference"
    elif nature == "subplots":
        desc = f.note or "the subplot layout differs from the reference"
    elif nature == "retyped":
        desc = f.note or "the chart type differs from the reference"
        fix = {"kind": "chart-type"}
    elif nature in ("rows-missing", "rows-extra", "columns-moved", "cells-missing"):
        desc = f.note or "the table's rows or columns differ from the reference"
    elif nature in ("restyle", "relayout") and f.style is not None:
        prop, ref_value, render_value = f.style
        if ref_value is None:  # a screenshot says the box differs, not the value it had
            desc = (f"laid out differently from the reference by its {prop} "
                    f"(render {render_value})")
            fix = {"kind": "layout", "properties": [prop]}
        else:
            desc = f"reference {prop.replace('-', ' ')} {ref_value}, render {render_value}"
            fix = {"kind": "style", "property": prop, "expected": ref_value,
                   "actual": render_value}
    elif nature == "text":
        if f.ref_text and f.render_text:
            desc = f"reference text '{f.ref_text}', render '{f.render_text}'"
            fix = {"kind": "text", "expected": f.ref_text, "actual": f.render_text}
            if transposed(f.ref_text, f.render_text):
                # A typo reads through (the same letters, two in another order): it says
                # what the reference says, which another word would not.
                severity = 1
                desc += " (two letters swapped)"
        elif f.render_text:
            desc = f"text differs from the reference (render shows '{f.render_text}')"
        else:
            desc = "text differs from the reference"
    elif nature == "missing":
        w, h = _px(f.ref_box or evidence_box, frame)
        color = f" ({ref_hex})" if ref_hex and not f.ref_anchor else ""
        desc = (f"element present in the reference is missing from the render{color}: "
                f"{w}×{h} px at {_at(f.ref_box or evidence_box, frame)}")
        if f.ref_text:
            desc += f", reference text '{f.ref_text}'"
        fix = {"kind": "missing", "expected": f.ref_text} if f.ref_text else None
    elif nature == "extra":
        box = f.render_box or evidence_box
        w, h = _px(box, frame)
        desc = (f"element in the render is absent from the reference: {w}×{h} px at "
                f"{_at(box, frame)}")
        if f.render_text:
            desc += f", render text '{f.render_text}'"
    elif nature == "shifted" and f.ref_box and f.render_box:
        dx = round((f.render_box[0] - f.ref_box[0]) / frame.px_per_render_px)
        dy = round((f.render_box[1] - f.ref_box[1]) / frame.px_per_render_px)
        dw = round(float(f.style[2]) / frame.px_per_render_px) if f.style else 0  # type: ignore[arg-type]
        size = f" and is {abs(dw)} px {'wider' if dw > 0 else 'narrower'}" if abs(dw) > 2 else ""
        desc = (f"everything inside moved by ({dx:+d}, {dy:+d}) px{size}: its margin or "
                f"padding changed")
        fix = layout_fix(dx, dy)
    elif nature in ("moved", "resized") and f.ref_box and f.render_box:
        rw, rh = _px(f.ref_box, frame)
        nw, nh = _px(f.render_box, frame)
        if nature == "moved":
            dx = round((f.render_box[0] - f.ref_box[0]) / frame.px_per_render_px)
            dy = round((f.render_box[1] - f.ref_box[1]) / frame.px_per_render_px)
            desc = (f"moved by ({dx:+d}, {dy:+d}) px: reference at {_at(f.ref_box, frame)}, "
                    f"render at {_at(f.render_box, frame)}")
            fix = {"kind": "position", "expected": list(_at_xy(f.ref_box, frame)),
                   "actual": list(_at_xy(f.render_box, frame))}
        elif abs(rw - nw) <= 2 and abs(rh - nh) > 2:
            desc = f"reference height {rh} px, render {nh} px"
            fix = {"kind": "size", "axis": "height", "expected": rh, "actual": nh}
        elif abs(rh - nh) <= 2 and abs(rw - nw) > 2:
            desc = f"reference width {rw} px, render {nw} px"
            fix = {"kind": "size", "axis": "width", "expected": rw, "actual": nw}
        else:
            desc = f"reference size {rw}×{rh} px, render {nw}×{nh} px"
            fix = {"kind": "size", "expected": [rw, rh], "actual": [nw, nh]}
    else:
        w, h = _px(evidence_box, frame)
        desc = f"drawn differently from the reference over {w}×{h} px at {_at(evidence_box, frame)}"
    if f.members > 1 and nature not in ("missing", "extra"):
        desc += f" ({f.members} elements)"
    if f.also:
        desc += f"; also in {', '.join(dict.fromkeys(f.also))}"
    if f.members > 1:  # merged: the boxes of the whole group
        ref_box, render_box = frame.to_ref(evidence_box), frame.to_render(evidence_box)
    else:
        ref_box = frame.to_ref(f.ref_box or evidence_box)
        render_box = frame.to_render(f.render_box or evidence_box)
    if f.note and nature not in ("data", "limits", "subplots", "retyped", "rows-missing",
                                 "rows-extra", "columns-moved", "cells-missing"):
        desc += f"; {f.note}"
    return Discrepancy(
        category=category,
        severity=severity,
        location=name,
        description=desc,
        ref_box=tuple(round(v, 1) for v in ref_box),  # type: ignore[arg-type]
        render_box=tuple(round(v, 1) for v in render_box),  # type: ignore[arg-type]
        anchor=f.anchor or f.ref_anchor,  # a missing element: its anchor in the reference
        range=(Range.of_line(f.line) if f.line is not None
               else Range(Position(f.lines[0], 0), Position(f.lines[1] + 1, 0))
               if f.lines is not None
               # Gone from the render: where the pinned version drew it (its key may now
               # name the element after it).
               else f.ref_anchor.range if nature == "missing" and f.anchor is None
               and f.ref_anchor is not None else None),
        fix=fix,
    )


def layout_fix(dx: int, dy: int) -> dict[str, Any]:
    """The quick-fix payload of content moved by (dx, dy): the declarations that move it, most
    specific first (locate points at the first one the element's styles have)."""
    sides = [side for side, d in (("top", dy), ("left", dx)) if d]
    props = [f"{box}-{side}" for box in ("margin", "padding") for side in sides]
    return {"kind": "layout", "properties": [*props, "margin", "padding"], "offset": [dx, dy]}


def _px(box: Box, frame: Frame) -> tuple[int, int]:
    """Width × height in render pixels."""
    f = frame.px_per_render_px
    return round((box[2] - box[0]) / f), round((box[3] - box[1]) / f)


def _at(box: Box, frame: Frame) -> str:
    b = frame.to_render(box)
    return f"({round(b[0])}, {round(b[1])})"


def _at_xy(box: Box, frame: Frame) -> tuple[int, int]:
    b = frame.to_render(box)
    return round(b[0]), round(b[1])


def read_reference_text(findings: list[Finding], cmp: Comparison, ctx: Context) -> None:
    """OCR the reference for a few text changes the sidecar cannot name (optional, slow)."""
    reader = ctx.reader
    if reader is None or not reader.available:
        return
    reads = 0
    for f in findings:
        if reads >= MAX_OCR:
            break
        if f.nature != "text" or f.ref_text is not None or not f.render_text:
            continue
        box = f.ref_box or f.render_box
        if box is None:
            continue
        rb = cmp.frame.to_ref(box)
        vertical = (box[3] - box[1]) > 1.5 * (box[2] - box[0])
        reads += 1
        text = reader.read(ctx.reference_image, rb, vertical=vertical)
        if text:
            text = text.strip(" |") or None  # a cell's border at the crop's edge read as '|'
        if text and " ".join(text.split()) == " ".join(f.render_text.split()):
            f.nature = "resized"  # the same words: the box around them changed, not the text
        elif text and text != f.render_text and _plausible(text, f.render_text):
            f.ref_text = text


def _plausible(ocr: str, render_text: str) -> bool:
    """A reading to trust: it shares much with the render's text (a changed label), or it is a
    clean run of words (a replaced one). The reader already rejects symbol soup."""
    if len(ocr) < 2:
        # One character: only a digit read where the render has a number (a cell's '1').
        return ocr.isdigit() and render_text.strip().isdigit()
    similar = difflib.SequenceMatcher(None, ocr.lower(), render_text.lower()).ratio() >= 0.4
    words = [w for w in ocr.split() if w]
    return similar or (len(ocr) >= 4 and all(w.isalnum() or len(w) > 1 for w in words))
