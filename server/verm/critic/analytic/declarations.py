"""Page layout against a screenshot: blame the CSS declaration that laid a box out, not its tag.

With a sidecar the critic compares each element's declarations with the pinned ones. Against a
plain screenshot it only sees boxes: one that grew or shrank with the same words inside, or a
run of content that moved down the page. The text a fix must change is then a declaration, not
the element's tag: a grown heading is its ``font-size``; a box wider than the reference is its
``width`` (or ``display``, when it now fills its parent or stopped doing so), else its
``padding``; content pushed down with nothing changed above it is the ``margin`` between it and
the element before it. The HTML renderer records, per element, where each declaration that
applies to it is written (``props['css']``), so the finding is re-pointed there; values the
reference had are estimated from its drawn size where a number says it (a font size from the
text's height, a width from the box's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from verm.critic.analytic.arrangement import rearranged
from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import SAME_COLOR, Color, Finding, int_box
from verm.critic.analytic.moves import EXACT_RMS, INK_GREY, LOSSY_RMS, ink_box, matcher_of
from verm.critic.analytic.pixels import color_distance, content_box, near_color, parse_hex
from verm.critic.taxonomy import TOP_CONTAINERS
from verm.types import Anchor, Box

SLACK = 2.0  # render px within which two box sides are the same
FILLS = 0.9  # share of its parent's width a box that fills it spans
FITS = 0.8  # share below which a box does not fill its parent
SCALED = 0.12  # relative change of a text's ink height that is a new font size
SAME_SHAPE = 0.12  # width and height ratios this close: the same words drawn at another size
LINE = 0.8  # share of a region's height (width) a border's column (row) of ink spans
REACH = 40  # px: the least offset sought for what lies below a change
MARGIN_REACH = 16  # px a scaled text's first line may sit off its old top (its em margins)
SAME_WORDS = 0.5  # overlap (intersection over union) of two inks that draw the same words
GROUND = 16.0  # RGB distance within which a box's ground is its own colour
SOLID = 0.5  # of a box its ground fills at least (the rest: its words)
SOME_GROUND = 0.25  # of the biggest patch of a box's ground colour a patch is, to be its ground
LOSSY_INK = 1.5  # times SAME_COLOR two words' colours may differ, read from a JPEG
RIM_PX = 2  # render px in from a box's ground edge where its border's rim may still show
WORDS_OFF = 64  # RGB step (largest channel) off a box's ground that its words' ink takes
_PX = re.compile(r"^\s*(-?\d+(?:\.\d+)?)px\s*$")


def _css(anchor: Anchor) -> dict[str, dict[str, object]]:
    css = anchor.props.get("css")
    if not isinstance(css, dict):
        return {}
    # A declaration of a linked stylesheet is not a line of this source: nothing to point at.
    return {k: v for k, v in css.items() if isinstance(v, dict) and "line" in v
            and not v.get("file")}


def _value(anchor: Anchor, prop: str) -> str | None:
    span = _css(anchor).get(prop)
    value = span.get("value") if span else None
    return " ".join(str(value).split()) if value is not None else None


def _px(value: str | None) -> float | None:
    m = _PX.match(value or "")
    return float(m.group(1)) if m else None


def _parent_key(key: str) -> str:
    return key[: key.rfind(">")] if ">" in key else ""


def _size(box: tuple[float, float, float, float], scale: float) -> tuple[float, float]:
    return (box[2] - box[0]) / scale, (box[3] - box[1]) / scale


def declare_layout(findings: list[Finding], anchors: list[Anchor],
                   cmp: Comparison) -> list[Finding]:
    """``findings`` with page boxes that resized, or content that moved, re-pointed at the
    declaration that lays them out (nature ``restyle`` for a font, ``relayout`` otherwise)."""
    by_key = {a.key: a for a in anchors}
    scale = cmp.frame.px_per_render_px
    turned = rearranged(findings, anchors, cmp, {a.key: _css(a) for a in anchors})
    if turned is not None and turned.ref_box and turned.render_box:
        _pushed_below(turned, findings, cmp, turned.render_box[3] - turned.ref_box[3], by_key)
    for f in findings:
        if f.nature == "resized" and not f.consequence:
            _resized(f, by_key, scale)
    for f in findings:
        if f.nature == "relayout" and f.ref_box and f.render_box:
            _pushed_below(f, findings, cmp, f.render_box[3] - f.ref_box[3], by_key)
    moved = _first_moved(findings, anchors, by_key, scale)
    if moved is not None and moved.ref_box and moved.render_box:
        _pushed_below(moved, findings, cmp, moved.render_box[1] - moved.ref_box[1], by_key)
    return findings


def scaled_texts(findings: list[Finding], cmp: Comparison, anchors: list[Anchor]) -> None:
    """Texts the reference draws at another size (before OCR: they need no reading), from
    the top: what a grown text pushed down is its consequence, not another text to test."""
    by_key = {a.key: a for a in anchors}
    for f in sorted(findings, key=lambda f: f.box[1]):
        # A text drawn smaller no longer covers its old place: it reads as new ("extra").
        if f.nature in ("text", "extra") and f.ref_text is None:
            _scaled_text(f, cmp)
            if f.nature == "restyle" and f.ref_box and f.render_box:
                _pushed_below(f, findings, cmp, f.render_box[3] - f.ref_box[3], by_key)


def _band(grey: np.ndarray, box: tuple[int, int, int, int], top: int, reach: int,
          lead: int, below: int | None = None) -> Box | None:
    """The line of ink starting at ``box``'s left edge (ink in its first ``lead`` columns) whose
    top is within ``reach`` rows above ``top`` or ``below`` (default ``reach``) under it: its
    rows (gaps of a row allowed: an i's dot) and, from its left end, its run of ink (gaps under
    its own height allowed: the spaces between words), then every row of that run (a
    descender beyond the first letter's)."""
    x0, y0, x1, y1 = box
    crop = grey[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    values, counts = np.unique(np.round(crop), return_counts=True)
    ink = np.abs(crop - values[np.argmax(counts)]) > INK_GREY
    # Rules and borders crossing the region are not words: a box's edges, a table's lines.
    ink[:, ink.mean(axis=0) > LINE] = False
    ink[ink.mean(axis=1) > LINE, :] = False
    # Rows of the line that starts at the region's left edge (the render's words' left end):
    # its first letter, whatever its size, has ink there.
    rows = np.flatnonzero(ink[:, :lead].any(axis=1))
    lowest = reach if below is None else below
    start = next((int(r) for r in rows if -reach <= y0 + int(r) - top <= lowest), None)
    if start is None:
        return None
    end = start
    for r in rows[rows > start]:
        if r - end > 2:
            break
        end = int(r)
    cols = np.flatnonzero(ink[start:end + 1].any(axis=0))
    if cols.size == 0:
        return None
    height = end - start + 1
    left = right = int(cols[0])
    for c in cols[1:]:
        if c - right > height:
            break
        right = int(c)
    # The whole line's rows, over its whole run: a descender ('y', a 'Q' tail) beyond the first
    # letter's, so that two sizes of the same words measure alike.
    rows = np.flatnonzero(ink[:, left:right + 1].any(axis=1))
    for r in rows[rows < start][::-1]:
        if start - r > 2:
            break
        start = int(r)
    for r in rows[rows > end]:
        if r - end > 2:
            break
        end = int(r)
    return (x0 + left, y0 + start, x0 + right + 1, y0 + end + 1)


def _scaled_text(f: Finding, cmp: Comparison) -> None:
    """The same words drawn at another font size read as a changed text: the reference's line
    of ink that starts where the render's does, its width and height in one ratio to the
    render's, is that text at another size. The finding becomes a resize (kept as text when
    the shapes differ: new words)."""
    a = f.anchor
    if a is None or not a.text or f.render_box is None or not ({"font-size", "font"}
                                                                & set(_css(a))):
        return
    grey = matcher_of(cmp)
    ink = ink_box(grey.render, int_box(f.render_box, cmp.frame))
    if ink is None:
        return
    w, h = ink[2] - ink[0], ink[3] - ink[1]
    if w < 4 or h < 4:
        return
    height, width = grey.ref.shape
    # Room below for the reference's line drawn up to three times as tall, and lower (a
    # heading's em margins scale with its font).
    region = (max(0, ink[0] - 1), max(0, ink[1] - 2 * h), min(width, ink[2] + 2 * w),
              min(height, ink[3] + 3 * h + MARGIN_REACH))
    # Its own rows with a text height above and below: cropped to the ink alone, a letter's
    # upright stroke spans the crop and reads as a border. Its first letter may start lower
    # than its tallest (a capital beside an 'l'): by an eighth of the line's height.
    mine = _band(grey.render, (ink[0], max(0, ink[1] - h), ink[2], min(height, ink[3] + h)),
                 ink[1], 1, h, max(1, h // 8))
    # A heading drawn smaller sat lower in the reference (its larger em margin above it).
    theirs = _band(grey.ref, region, ink[1], max(3, h // 2), h, max(3, h // 2, MARGIN_REACH))
    if mine is None or theirs is None:
        return
    hr = (theirs[3] - theirs[1]) / max(1, mine[3] - mine[1])
    wr = (theirs[2] - theirs[0]) / max(1, mine[2] - mine[0])
    # A small text's height is a few px: one px off is a large share of it.
    if abs(hr - 1) < SCALED or abs(wr / hr - 1) > SAME_SHAPE + 1 / max(1, mine[3] - mine[1]):
        return
    x0, y0, x1, y1 = f.render_box
    f.ref_box = (x0, y0, x1, y0 + (y1 - y0) * hr)  # its line's height scales with its font
    font = "font-size" if "font-size" in _css(a) else "font"
    have = _px(_value(a, "font-size")) if font == "font-size" else None
    _blame(f, "restyle", font, f"{round(have * hr)}px" if have else None, _value(a, font),
           f"the same words drawn {hr:.2f}× as {'large' if hr > 1 else 'small'} in the "
           "reference" + ("; its font size estimated from that" if have else ""))


def _pushed_below(cause: Finding, findings: list[Finding], cmp: Comparison, dy: float,
                  by_key: dict[str, Anchor] | None = None) -> None:
    """What lies below a box that grew (or content that moved) and matches the reference drawn
    higher or lower by one shared offset moved with it: the cause's consequence, not a change.
    ``dy`` is the estimate (a grown text's margins scale with its font too): the offset is the
    one, of that sign, that best matches everything below at once."""
    if cause.render_box is None or abs(dy) < 1:
        return
    grey = matcher_of(cmp)
    height = grey.ref.shape[0]
    # (finding, box, drawn in the render): a render element, or ink the reference alone has.
    below: list[tuple[Finding, tuple[int, int, int, int], bool]] = []
    ref_bottom = (cause.ref_box or cause.render_box)[3]
    for g in findings:
        if g is cause or g.nature in ("restyle", "relayout"):
            continue
        drawn = g.render_box is not None
        box = int_box(g.render_box if drawn else g.box, cmp.frame)  # type: ignore[arg-type]
        if box[1] < (cause.render_box[3] if drawn else ref_bottom) - SLACK:
            continue
        if box[3] > box[1] and box[2] > box[0]:
            below.append((g, box, drawn))
    if not below:
        return
    sign = 1 if dy > 0 else -1
    reach = max(3 * abs(round(dy)), REACH)

    def rms(box: tuple[int, int, int, int], drawn: bool, shift: int) -> float:
        x0, y0, x1, y1 = box
        mine, theirs = (grey.render, grey.ref) if drawn else (grey.ref, grey.render)
        s = shift if drawn else -shift
        if y0 - s < 0 or y1 - s > height:
            return float("inf")
        a, b = mine[y0:y1, x0:x1], theirs[y0 - s:y1 - s, x0:x1]
        return float(np.sqrt(np.mean((a - b) ** 2)))

    shifts = [sign * s for s in range(1, reach + 1)]
    best = min(shifts, key=lambda s: float(np.median([rms(b, d, s) for _, b, d in below])))
    limit = LOSSY_RMS if cmp.lossy or cmp.frame.scale != 1.0 else EXACT_RMS
    odd = []
    checked: set[str] = set()
    for g, box, drawn in below:
        shift = min((best - 1, best, best + 1), key=lambda s: rms(box, drawn, s))
        if shift == 0 or rms(box, drawn, shift) > limit:
            if _same_declaration(cause, g, by_key or {}):
                # Laid out by the cause's own declaration (the next box of its class, grown
                # alike): its ground where the reference's was is the same change. Its words
                # may have changed too (read on its ground, once per box).
                g.consequence = True
                findings += _words_in_grown(cause, g, cmp, best, checked, by_key or {})
                continue
            odd.append(g)
            continue
        # (Against a JPEG a box of the class matches at the shift with other words in it.)
        findings += _words_in_grown(cause, g, cmp, best, checked, by_key or {})
        g.nature, g.consequence = "moved", True
        if drawn:
            assert g.render_box is not None
            g.ref_box = (g.render_box[0], g.render_box[1] - shift, g.render_box[2],
                         g.render_box[3] - shift)
    if len(odd) == len(below):
        return
    if by_key is not None:
        # A painted box that does not match at the shift may have resized where it now is.
        for g in list(odd):
            inner = _changed_inside(g, by_key, lambda b: rms(b, True, best), limit, cmp, best)
            if inner is not None:
                # A box that moved whole but for words changed inside it: those words.
                g.nature, g.consequence = "moved", True
                findings.extend(inner)
                odd.remove(g)
                continue
            findings += _resized_where_pushed(g, cmp, best, by_key)
            if g.nature == "relayout" and _same_rule(cause, g):
                g.consequence = True  # another box of the cause's class, grown alike
        odd = [g for g in odd if g.nature != "resized" or g.ref_text is not None]
    if len(below) - len(odd) < max(2, len(below) / 2):
        return
    # Everything else below moved by ``best``: a text matched in another line (a cell's words
    # found in another row) but not ``best`` higher is a changed text, where it was drawn.
    for g in odd:
        a = g.anchor
        if (g.nature == "moved" and a is not None and a.text and g.render_box is not None
                and g.ref_box is not None and abs(g.render_box[1] - g.ref_box[1] - best)
                > (g.render_box[3] - g.render_box[1]) / 2):
            g.nature, g.consequence, g.ref_text = "text", False, None
            g.ref_box = (g.render_box[0], g.render_box[1] - best, g.render_box[2],
                         g.render_box[3] - best)


def _changed_inside(g: Finding, by_key: dict[str, Anchor],
                    rms: Callable[[tuple[int, int, int, int]], float], limit: float,
                    cmp: Comparison, shift: int) -> list[Finding] | None:
    """Text findings for the words inside ``g``'s box that alone do not match at the shift,
    when ``g``'s other words all do (a stats bar pushed down, one of its labels reworded);
    None when ``g`` holds no words, or all or none of them match."""
    a = g.anchor
    if a is None or g.render_box is None or g.nature not in ("extra", "changed", "background"):
        return None
    texts = [k for k, b in by_key.items() if k.startswith(a.key + ">") and b.text]
    holders = {t[:i] for t in texts for i, c in enumerate(t) if c == ">"}
    words = [by_key[k] for k in texts if k not in holders]  # innermost: a span, not its div
    if len(words) < 2:
        return None
    odd = [b for b in words if rms(int_box(cmp.frame.from_render(b.box), cmp.frame)) > limit]
    if not odd or len(odd) == len(words):
        return None
    grey = matcher_of(cmp)
    out = []
    for b in odd:
        box = cmp.frame.from_render(b.box)
        ib = int_box(box, cmp.frame)
        row = (0, ib[1] - shift - 2, cmp.frame.size[0], ib[3] - shift + 2)
        if grey.locate(ib, limit, row) is not None:
            continue  # the same words further along its row: pushed by the reworded one
        out.append(Finding("text", b, None, box, (box[0], box[1] - shift, box[2], box[3] - shift),
                           g.pixels // len(odd), render_text=b.text, evidence=[box]))
    return out or None


def _resized_where_pushed(g: Finding, cmp: Comparison, shift: int,
                          by_key: dict[str, Anchor]) -> list[Finding]:
    """A painted box among what moved by ``shift`` that does not match there: its ground in
    the reference, ``shift`` higher or lower, is another size — the box itself resized (its
    display, width or padding), its words read against the wrong place before. Returns a
    text (and a colour) finding of the same element when its words changed too."""
    a = _element(g)
    if a is None or g.render_box is None or g.nature in ("restyle", "relayout"):
        return []
    pushed = _pushed_ground(a, g, cmp, shift)
    if pushed is None:
        return []
    ground, ref_box = pushed
    scale = cmp.frame.px_per_render_px
    rw, rh = _size(ref_box, scale)
    nw, nh = _size(g.render_box, scale)
    if abs(rw - nw) <= SLACK and abs(rh - nh) <= SLACK:
        return []
    g.nature, g.consequence, g.ref_text, g.ref_box = "resized", False, None, ref_box
    _resized(g, by_key, scale)
    # Its words stay where they were in a box made wider or narrower (not in one padded
    # otherwise): the same words draw the same ink there.
    if g.style is not None and g.style[0] in ("display", "width", "min-width", "max-width"):
        words = _other_words(g, cmp, ref_box)
        return [words] if words is not None else []
    # Padded otherwise, its words moved inside it by the padding: compared as drawn on its
    # ground, wherever they sit in it.
    return _padded_words(g, cmp, ref_box, ground) if g.style is not None else []


def _words_in_grown(cause: Finding, g: Finding, cmp: Comparison, shift: int,
                    checked: set[str], by_key: dict[str, Anchor]) -> list[Finding]:
    """Text and colour findings for the words of a box of the cause's class, padded alike,
    where the reference paints its ground."""
    a = _element(g)
    if (a is None or g.render_box is None or a.key in checked or cause.style is None
            or cause.style[0] != "padding" or not _same_declaration(cause, g, by_key)):
        return []
    checked.add(a.key)
    pushed = _pushed_ground(a, g, cmp, shift)
    if pushed is None:
        return []
    ground, ref_box = pushed
    box = cmp.frame.from_render(a.box)
    return _padded_words(replace(g, render_box=box, render_text=a.text), cmp, ref_box, ground)


def _pushed_ground(a: Anchor, g: Finding, cmp: Comparison, shift: int
                   ) -> tuple[Color, Box] | None:
    """The ground colour of ``a``'s box (its background) and where the reference paints it,
    pushed by ``shift`` (``_ground_where_pushed``); None without either."""
    ground = parse_hex((a.props.get("style") or {}).get("background-color"))
    ref_box = _ground_where_pushed(g, cmp, shift, ground) if ground is not None else None
    return (ground, ref_box) if ground is not None and ref_box is not None else None


def _ground_where_pushed(g: Finding, cmp: Comparison, shift: int, ground: Color
                         ) -> Box | None:
    """Where the reference paints the ground of ``g``'s box, ``shift`` higher or lower (or
    up to as much again): None when it paints none there."""
    assert g.render_box is not None
    x0, y0, x1, y1 = int_box(g.render_box, cmp.frame)
    y0, y1 = y0 - shift, y1 - shift
    height, width = cmp.ref.shape[:2]
    pad = max(2, round(SLACK * cmp.frame.px_per_render_px))
    # Boxes of one class that grew alike each moved by another offset (the first by the
    # growth above it, the next by twice that): its top is looked for up to ``shift`` on
    # either side of the shared one.
    reach = pad + abs(shift)
    wx0, wy0 = max(0, x0 - pad), max(0, y0 - reach)
    crop = cmp.ref[wy0:min(height, y1 + reach), wx0:min(width, x1 + pad)]
    if crop.size == 0:
        return None
    # A pale ground is told from the page by a few levels: its own colour, tightly.
    if cmp.ref_background is not None and color_distance(ground, cmp.ref_background) <= GROUND:
        return None
    own = near_color(crop, ground, GROUND)
    _, boxes = label(own)
    # Laid out in flow, a box that grew or shrank keeps its left edge (and its top, but for
    # what grew above it), and is filled with its ground (not a few specks of its colour).
    # (Not a speck of its colour in a rounded corner's rim: a ground of some size.)
    grounds: list[tuple[Box, float]] = []
    for rows, cols in boxes:
        b = (float(wx0 + cols.start), float(wy0 + rows.start), float(wx0 + cols.stop),
             float(wy0 + rows.stop))
        area = (b[2] - b[0]) * (b[3] - b[1])
        filled = np.count_nonzero(own[rows, cols]) / max(1.0, area)
        if abs(b[0] - x0) <= pad and abs(b[1] - y0) <= reach and filled >= SOLID:
            grounds.append((b, area))
    if not grounds:
        return None
    biggest = max(area for _, area in grounds)
    grounds = [b for b, area in grounds if area >= SOME_GROUND * biggest]
    return min(grounds, key=lambda b: abs(b[1] - y0))


def _padded_words(g: Finding, cmp: Comparison, ref_box: Box, ground: Color) -> list[Finding]:
    """A text finding when the padded box's words, inked on its ground, are other words
    (another shape of ink), and a colour finding when they are drawn in another colour."""
    a, box = g.anchor, g.render_box
    if a is None or not a.text or box is None:
        return []
    # Inside its ground (its border, another colour, is not words).
    x0, y0, x1, y1 = int_box(box, cmp.frame)
    _, parts = label(near_color(cmp.render[y0:y1, x0:x1], ground, GROUND))
    if not parts:
        return []
    rows, cols = max(parts, key=lambda p: (p[0].stop - p[0].start) * (p[1].stop - p[1].start))
    box = (float(x0 + cols.start), float(y0 + rows.start), float(x0 + cols.stop),
           float(y0 + rows.stop))
    # A few px in from its ground's edge: a border's anti-aliased inner rim is not words.
    rim = round(RIM_PX * cmp.frame.px_per_render_px)
    mine = _off_ground(cmp.render, _inset(int_box(box, cmp.frame), rim), ground)
    theirs = _off_ground(cmp.ref, _inset(int_box(ref_box, cmp.frame), rim), ground)
    if mine is None or theirs is None:
        return []
    (m, _, m_color), (t, tbox, t_color) = mine, theirs
    out = []
    if not _same_ink(m, t, _slack(cmp)):
        out.append(Finding("text", a, None, box, tbox, g.pixels, render_text=g.render_text,
                           evidence=list(g.evidence)))
    # A JPEG smears thin letters' colour into their ground: read with its slack.
    if color_distance(m_color, t_color) > SAME_COLOR * (LOSSY_INK if cmp.lossy else 1.0):
        out.append(Finding("recolor", a, None, box, tbox, g.pixels, ref_color=t_color,
                           render_color=m_color, evidence=list(g.evidence)))
    return out


def _off_ground(img: np.ndarray, box: tuple[int, int, int, int], ground: Color
                ) -> tuple[np.ndarray, Box, Color] | None:
    """The mask of what is drawn on ``ground`` inside ``box`` (its words), cropped to them,
    where they lie, and their colour (the median of their cores: the strongest quarter)."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), box[2], box[3]
    crop = img[y0:y1, x0:x1].astype(np.int16)
    if crop.size == 0:
        return None
    off = np.abs(crop - np.array(ground, dtype=np.int16)).max(axis=2)
    # Words lie inside the ground, between its pixels both ways; a rounded corner's rim lies
    # past them, at the end of its row or column.
    mask = (off > WORDS_OFF) & _between(off <= GROUND, 1) & _between(off <= GROUND, 0)
    inked = content_box(mask)
    if inked is None or np.count_nonzero(mask) < 4:
        return None
    core = crop[off >= np.percentile(off[mask], 75)]
    r, g_, b = (int(v) for v in np.median(core, axis=0))
    cx0, cy0, cx1, cy1 = inked
    return mask[cy0:cy1, cx0:cx1], (float(x0 + cx0), float(y0 + cy0), float(x0 + cx1),
                                    float(y0 + cy1)), (r, g_, b)


def _inset(box: tuple[int, int, int, int], by: int) -> tuple[int, int, int, int]:
    return box[0] + by, box[1] + by, box[2] - by, box[3] - by


def _between(mask: np.ndarray, axis: int) -> np.ndarray:
    """Where a row (``axis`` 1) or column has ``mask`` pixels on both sides, or is one."""
    ahead = np.maximum.accumulate(mask, axis=axis)
    behind = np.flip(np.maximum.accumulate(np.flip(mask, axis=axis), axis=axis), axis=axis)
    return ahead & behind


def _slack(cmp: Comparison) -> int:
    """px two inks of the same words may differ in size (resampled or lossy: one more)."""
    return 1 + (cmp.frame.scale != 1.0 or cmp.lossy)


def _same_ink(m: np.ndarray, t: np.ndarray, slack: int) -> bool:
    """Two masks of words of about one size that overlap as the same words do."""
    if abs(m.shape[0] - t.shape[0]) > slack or abs(m.shape[1] - t.shape[1]) > slack:
        return False
    h, w = min(m.shape[0], t.shape[0]), min(m.shape[1], t.shape[1])
    a_, b_ = m[:h, :w], t[:h, :w]
    union_ = np.count_nonzero(a_ | b_)
    return bool(union_) and np.count_nonzero(a_ & b_) / union_ >= SAME_WORDS


def _other_words(g: Finding, cmp: Comparison, ref_box: Box) -> Finding | None:
    """A text finding when the resized box's words differ too (their ink, in the text's
    colour, another size or shape): a second change of the same element."""
    a, box = g.anchor, g.render_box
    ink = parse_hex((a.props.get("style") or {}).get("color")) if a is not None else None
    if a is None or not a.text or box is None or ink is None:
        return None
    mine = _ink_of(cmp.render, int_box(box, cmp.frame), ink)
    theirs = _ink_of(cmp.ref, int_box(ref_box, cmp.frame), ink)
    if mine is None or theirs is None:
        return None
    (m, _), (t, tbox) = mine, theirs
    if _same_ink(m, t, _slack(cmp)):
        return None
    return Finding("text", a, None, g.render_box, tbox, g.pixels, render_text=g.render_text,
                   evidence=list(g.evidence))


def _ink_of(img: np.ndarray, box: tuple[int, int, int, int], color: tuple[int, int, int]
            ) -> tuple[np.ndarray, Box] | None:
    """The mask of ``color``'s pixels (a text's ink) inside ``box``, cropped to them, and
    where they lie."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), box[2], box[3]
    crop = img[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    mask = near_color(crop, color, SAME_COLOR)
    inked = content_box(mask)
    if inked is None or np.count_nonzero(mask) < 4:
        return None
    cx0, cy0, cx1, cy1 = inked
    return mask[cy0:cy1, cx0:cx1], (float(x0 + cx0), float(y0 + cy0), float(x0 + cx1),
                                    float(y0 + cy1))


def _same_declaration(cause: Finding, g: Finding, by_key: dict[str, Anchor]) -> bool:
    """``g``'s element, or a box holding it, is laid out by the very declaration ``cause``
    blames (a rule its class shares), and ``g`` shows only that: its own ground drawn where
    the reference's was, or its same words found moved by more than the rest (its box grew
    too)."""
    if (cause.nature != "relayout" or cause.style is None or cause.anchor is None
            or g.nature not in ("background", "recolor", "moved") or g.anchor is None):
        return False
    if g.nature == "recolor" and not _own_paint(g):
        return False
    prop = cause.style[0]
    theirs = _css(cause.anchor).get(prop)
    if not theirs:
        return False
    a: Anchor | None = g.anchor
    for _ in range(4):  # the element, then the boxes round it
        if a is None:
            return False
        mine = _css(a).get(prop)
        if mine and mine.get("line") == theirs.get("line"):
            return True
        if g.nature != "moved":
            return False  # a ground or an edge is its own element's
        a = by_key.get(_parent_key(a.key))
    return False


def _same_rule(cause: Finding, g: Finding) -> bool:
    """Both blame one declaration (the same property written on the same line)."""
    if cause.style is None or g.style is None or cause.style[0] != g.style[0]:
        return False
    if cause.anchor is None or g.anchor is None:
        return False
    mine, theirs = _css(g.anchor).get(g.style[0]), _css(cause.anchor).get(cause.style[0])
    return bool(mine and theirs and mine.get("line") == theirs.get("line"))


def _own_paint(g: Finding) -> bool:
    """Both colours of a recolour are the element's own (its ground where its border was, or
    the other way round): its box's edge moved, nothing was repainted."""
    style = (g.anchor.props.get("style") or {}) if g.anchor is not None else {}
    own = [c for c in (parse_hex(style.get(k)) for k in ("background-color", "border-color"))
           if c is not None]
    return (g.ref_color is not None and g.render_color is not None and len(own) == 2
            and all(any(color_distance(c, o) <= SAME_COLOR for o in own)
                    for c in (g.ref_color, g.render_color)))


def _element(f: Finding) -> Anchor | None:
    """The finding's page element when it is one the renderer knows declarations of."""
    a = f.anchor
    if a is None or a.role in TOP_CONTAINERS:
        return None
    return a if _css(a) else None


def _resized(f: Finding, by_key: dict[str, Anchor], scale: float) -> None:
    """A box drawn at another size: its font size when its text grew or shrank in height,
    its display when it now fills its parent (or stopped), its width, else its padding."""
    a = _element(f)
    if a is None or f.ref_box is None or f.render_box is None:
        return
    rw, rh = _size(f.ref_box, scale)
    nw, nh = _size(f.render_box, scale)
    css = _css(a)
    font = "font-size" if "font-size" in css else "font" if "font" in css else None
    if a.text and font and abs(nh - rh) > SLACK and rh > 0 and (nw - rw) * (nh - rh) >= 0:
        have = _px(_value(a, "font-size")) if font == "font-size" else None
        want = f"{round(have * rh / nh)}px" if have else None
        _blame(f, "restyle", font, want, _value(a, font),
               "the reference's font size is estimated from its text's height" if want else
               f"its text is {round(rh)} px tall in the reference, {round(nh)} px in the render")
        return
    if abs(nw - rw) <= SLACK:
        if abs(nh - rh) > SLACK and "height" in css:
            have = _px(_value(a, "height"))
            want = f"{round(have + rh - nh)}px" if have is not None else None
            _blame(f, "relayout", "height", want, _value(a, "height"),
                   "the reference's value estimated from its box")
        elif abs(nh - rh) > SLACK and "padding" in css:
            _padding(f, a, rw, rh, nw, nh)
        return
    parent = by_key.get(_parent_key(a.key))
    if parent is not None and "display" in css:
        pw = parent.box[2] - parent.box[0]
        fills_now, filled = nw >= FILLS * pw, rw >= FILLS * pw
        if pw > 0 and ((fills_now and rw < FITS * pw) or (filled and nw < FITS * pw)):
            how = "fills its parent" if fills_now else "no longer fills its parent"
            _blame(f, "relayout", "display", None, _value(a, "display"),
                   f"the box {how}: {round(rw)} px wide in the reference, {round(nw)} px in "
                   "the render")
            return
    for prop in ("width", "min-width", "max-width"):
        if prop in css:
            have = _px(_value(a, prop))
            want = f"{round(have + rw - nw)}px" if have is not None else None
            _blame(f, "relayout", prop, want, _value(a, prop),
                   "the reference's value estimated from its box")
            return
    if "padding" in css:
        _padding(f, a, rw, rh, nw, nh)


def _padding(f: Finding, a: Anchor, rw: float, rh: float, nw: float, nh: float) -> None:
    _blame(f, "relayout", "padding", None, _value(a, "padding"),
           f"the box is {round(rw)}×{round(rh)} px in the reference, {round(nw)}×{round(nh)} px"
           " in the render")


def _first_moved(findings: list[Finding], anchors: list[Anchor], by_key: dict[str, Anchor],
                 scale: float) -> Finding | None:
    """Content pushed along with nothing changed before it: the margin between the first
    element that moved and the one before it (its own top margin, that element's bottom
    margin, the parent's top padding, then its own: a table cell's words moved up within
    it)."""
    moved = [f for f in findings if f.nature == "moved" and _element(f) is not None
             and f.ref_box is not None and f.render_box is not None]
    if not moved:
        return None
    first = min(moved, key=lambda f: (f.ref_box[1], f.ref_box[0]))  # type: ignore[index]
    top = first.ref_box[1]  # type: ignore[index]
    if any(g is not first and g.nature != "moved" and g.box[1] <= top + SLACK * scale
           and not _encloses(g, first) for g in findings):
        return None  # something above changed too: the cause (causes.py folds the move)
    a = first.anchor
    assert a is not None and first.render_box is not None and first.ref_box is not None
    dy = round((first.render_box[1] - first.ref_box[1]) / scale)
    dx = round((first.render_box[0] - first.ref_box[0]) / scale)
    side = "top" if abs(dy) >= abs(dx) else "left"
    parent = _parent_key(a.key)
    index = next((i for i, b in enumerate(anchors) if b is a), None)
    before = None
    if index is not None:
        before = next((b for b in reversed(anchors[:index])
                       if _parent_key(b.key) == parent and b.key != a.key), None)
    after = {"top": "bottom", "left": "right"}[side]
    tried: list[tuple[Anchor | None, tuple[str, ...]]] = [
        (a, (f"margin-{side}",)),
        (before, (f"margin-{after}",)),
        (a, ("margin",)),
        (before, ("margin",)),
        (by_key.get(parent), (f"padding-{side}", "padding")),
        # Nothing round it spaces it: its own padding moved its content within its box.
        (a, (f"padding-{side}", "padding")),
    ]
    for owner, props in tried:
        if owner is None:
            continue
        css = _css(owner)
        prop = next((p for p in props if p in css), None)
        if prop is None:
            continue
        first.anchor = owner
        first.name = owner.name
        _blame(first, "relayout", prop, None, _value(owner, prop),
               f"{a.name} and what follows moved by ({dx:+d}, {dy:+d}) px")
        return first
    return None


def _encloses(outer: Finding, inner: Finding) -> bool:
    """``outer``'s element holds ``inner``'s: a list that grew because its item moved."""
    a, b = outer.anchor, inner.anchor
    return a is not None and b is not None and b.key.startswith(a.key + ">")


def _blame(f: Finding, nature: str, prop: str, want: str | None, have: str | None,
           note: str) -> None:
    f.nature = nature
    f.style = (prop, want, have)
    f.note = note
