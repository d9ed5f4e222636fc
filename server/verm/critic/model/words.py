"""A model's free-text location → the render anchor it means → the source line to blame.

A Visual-ERM model names what differs in words ("Bar for Q3", "the red line", "row 3, column
Qty", "the 'Submit' button", "second subplot's x label"); it draws no boxes. This module reads
those words the way a person would — element words, quoted or named texts (fuzzily: the render
may show the typo the reference lacks), colour names, ordinals, subplot and table positions,
tag names, ids and classes — scores every anchor that has a source range, and returns the best.
When nothing specific matches it blames the enclosing element (the named subplot, the axes,
the ``<svg>``, the table, the ``<body>``), never nothing and never line 0 by default: a
finding the editor cannot place is a finding the user never fixes.
"""

from __future__ import annotations

import colorsys
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from verm.critic.model import vocab
from verm.types import Anchor, Render

BLIND_SCORE = 0.05
"""Score of a match made when not one word was understood: ``locate`` keeps such findings at
the top of the file (a whole-canvas remark), while a caller may still show the container."""

SPECIFIC = 1.25  # the least evidence (one element word, a colour, a name) to call a match specific


@dataclass(frozen=True)
class WordMatch:
    anchor: Anchor  # the element blamed
    score: float  # 0..1 confidence
    why: str  # "text 'Q3' of bar" / "enclosing axes (left subplot)": for hover and logs
    specific: bool  # False when it fell back to an enclosing element


@dataclass
class _Cues:
    """What the words say: everything ``_score`` weighs, parsed once."""

    location: str  # lower case, quotes removed, consumed phrases blanked
    description: str
    raw: str  # the location as given, lower case (anchor names are matched against it)
    quotes: list[str] = field(default_factory=list)
    wants: list[tuple[tuple[str, ...], float]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    colours: list[tuple[tuple[int, int, int], float]] = field(default_factory=list)
    ordinal: int | None = None  # 1-based; negative counts from the end
    direction: str | None = None  # "x", "-x", "y", "-y": how the ordinal counts
    superlative: int = 0  # +1 tallest/largest, -1 shortest/smallest
    spot: tuple[float | None, float | None] | None = None  # (fx, fy) in 0..1 of the image
    scope: Anchor | None = None  # the subplot named
    scope_why: str = ""
    row: int | None = None
    column: int | None = None
    column_name: str | None = None
    missing: bool = False
    understood: bool = False


def match_location(location: str, description: str, render: Render,
                   category: str | None = None) -> WordMatch | None:
    """The render anchor a model's ``location``/``description`` names; None only when no anchor
    of the render has a source range."""
    ranged = [a for a in render.anchors if a.range is not None]
    if not ranged:
        return None
    cues = _parse(location or "", description or "", render, ranged)
    pool = [a for a in ranged if cues.scope is None or _inside(a, cues.scope)
            or a is cues.scope]
    scores = {id(a): _score(a, cues, render, category) for a in pool}
    if render.kind in ("html", "svg"):
        _credit_containers(pool, scores)
    best = max(pool, key=lambda a: scores[id(a)][0], default=None)
    if best is None or scores[id(best)][0] < 1.0:
        return _fallback(render, cues, ranged)
    chosen, alike = _pick(pool, scores, best, cues)
    total, reasons = scores[id(chosen)]
    # "X is missing" while X is drawn — by its text, or as the one element of its kind — is X;
    # "the bar for March is missing" among many bars is only the call that draws bars
    named = alike == 1 or any(r.startswith("text") for r in reasons)
    specific = total >= SPECIFIC and (not cues.missing or named)
    why = "; ".join(reasons) or "words"
    if cues.missing and not named:
        why = f"not drawn: blamed what draws {chosen.role}s ({why})"
    return WordMatch(chosen, round(min(1.0, total / 8.0), 3), why, specific)


# ---------------------------------------------------------------------------------------------
# Reading the words


def _parse(location: str, description: str, render: Render, ranged: list[Anchor]) -> _Cues:
    loc, desc = location.lower(), description.lower()
    quotes = [next(g for g in m.groups() if g) for t in (location, description)
              for m in vocab.QUOTE.finditer(t)]
    cues = _Cues(vocab.QUOTE.sub(" ", loc), vocab.QUOTE.sub(" ", desc), loc, quotes=quotes)
    cues.missing = bool(vocab.MISSING.search(loc + " " + desc))
    cues.tags = [m.group(1) for m in vocab.TAG.finditer(loc)]
    cues.location = vocab.TAG.sub(" ", cues.location)
    _colours(cues)
    if render.kind == "chart":
        _subplot(cues, ranged)
    cells = [a.props["cell"] for a in ranged if isinstance(a.props.get("cell"), dict)]
    if cells:
        _table_position(cues)
        # "last row", "last column": counted from the end of this table
        if cues.row is not None and cues.row < 0:
            cues.row = max(int(c.get("row", 0)) for c in cells) + 1 + cues.row
        if cues.column is not None and cues.column < 0:
            cues.column = max(int(c.get("column", 0)) for c in cells) + 1 + cues.column
        _table_names(cues, ranged)
    _ordinal(cues)
    _spot(cues)
    words = vocab.WORDS.get(render.kind, vocab.CHART)
    cues.location = _wants(cues, words, cues.location, 1.0)
    if not cues.wants:
        _wants(cues, words, cues.description, 0.5)
    cues.understood = bool(cues.quotes or cues.wants or cues.tags or cues.colours
                           or cues.scope or cues.row is not None or cues.column is not None
                           or cues.column_name or cues.spot or any(
                               _unquoted(lab, cues.location) for a in ranged
                               for lab in _labels(a)) or any(
                               a.name.lower() in cues.raw for a in ranged if len(a.name) > 2))
    return cues


def _wants(cues: _Cues, words: Iterable[vocab.Word], text: str, scale: float) -> str:
    """Element words in ``text``, each phrase consumed so a shorter word cannot reuse it."""
    length = max(1, len(text))
    for word in words:
        if m := word.pattern.search(text):
            # the subject comes first: "paragraph under the heading" is the paragraph
            lead = 1.0 - 0.3 * m.start() / length
            cues.wants.append((word.targets, word.weight * scale * lead))
            text = word.pattern.sub(" ", text)
    return text


def _colours(cues: _Cues) -> None:
    for text, weight in ((cues.location, 1.0), (cues.description, 0.4)):
        for m in vocab.COLOUR_WORD.finditer(text):
            word = m.group(0).removesuffix("ish")
            rgb = _rgb(word if word.startswith("#") else vocab.COLOURS.get(word)
                       or vocab.COLOURS.get(word.split()[-1]))
            if rgb is not None:
                cues.colours.append((rgb, weight))
        if text is cues.location:
            cues.location = vocab.COLOUR_WORD.sub(" ", cues.location)


def _subplot(cues: _Cues, ranged: list[Anchor]) -> None:
    """Which axes a chart phrase names: by position, ordinal, grid cell or title."""
    axes = [a for a in ranged if a.role == "axes"]
    if len(axes) < 2:
        return
    text = cues.location + " " + cues.description
    subplot = vocab.SUBPLOT
    pos = re.search(r"\b((?:upper|lower|top|bottom)?[- ]?(?:left|right|middle|cent(?:er|re)|top|"
                    rf"bottom))(?:most|-hand| hand)?(?: side)? {subplot}\b|\b{subplot} (?:on|at|"
                    r"in) the ((?:upper |lower |top |bottom )?(?:left|right|middle|top|bottom))",
                    text)
    nth = re.search(rf"\b{vocab.ORDINAL} {vocab.SUBPLOT}\b|\b{vocab.SUBPLOT} #?(\d+)\b", text)
    grid = re.search(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)|\brow (\d+),? col(?:umn)? (\d+)", text)
    chosen: Anchor | None = None
    if grid:
        r, c = (int(v) for v in (grid.group(1) or grid.group(3), grid.group(2) or grid.group(4)))
        chosen = _grid_cell(axes, r, c)
        cues.scope_why = f"subplot ({r},{c})"
    elif pos:
        target = _spot_of(pos.group(1) or pos.group(2) or "")
        chosen = _nearest_to(axes, target, cues)
        cues.scope_why = f"{(pos.group(1) or pos.group(2)).strip()} subplot"
    elif nth:
        n = _ordinal_value(nth.group(1) or nth.group(2)) or 0
        chosen = axes[n - 1 if n > 0 else n] if 0 < abs(n) <= len(axes) else None
        cues.scope_why = f"subplot {nth.group(0)}"
    else:
        chosen = _titled(axes, ranged, cues)
    if chosen is not None:
        cues.scope = chosen
        for m in (grid, pos, nth):
            if m:
                cues.location = cues.location.replace(m.group(0), " ")
        # the subplot word said where, not what: "subplot (1,2)" + "the pie is rotated"
        cues.location = re.sub(rf"\b{vocab.SUBPLOT}(?:'s)?\b", " ", cues.location)


def _titled(axes: list[Anchor], ranged: list[Anchor], cues: _Cues) -> Anchor | None:
    """The subplot whose title the words quote or name next to a subplot word."""
    if not re.search(rf"\b{vocab.SUBPLOT}\b", cues.location + " " + cues.description):
        return None
    for ax in axes:
        title = next((a.text for a in ranged if a.key == f"{ax.key}/title" and a.text), None)
        if title and (any(_text_score(q, title) >= 4 for q in cues.quotes)
                      or _unquoted(title, cues.location)):
            cues.scope_why = f"subplot '{title}'"
            return ax
    return None


def _grid_cell(axes: list[Anchor], row: int, col: int) -> Anchor | None:
    rows = sorted({round(_centre(a)[1] / 20) for a in axes})
    cols = sorted({round(_centre(a)[0] / 20) for a in axes})
    for a in axes:
        cx, cy = _centre(a)
        if 0 < row <= len(rows) and 0 < col <= len(cols) and round(cy / 20) == rows[row - 1] \
                and round(cx / 20) == cols[col - 1]:
            return a
    return None


def _table_position(cues: _Cues) -> None:
    text = cues.location + " " + cues.description
    if m := re.search(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", text):  # "cell (3, 2)": row, column
        cues.row, cues.column = int(m.group(1)), int(m.group(2)) - 1
        cues.location = cues.location.replace(m.group(0), " ")
    elif m := re.search(r"\brow\s*#?\s*(\d+)\b", text):
        cues.row = int(m.group(1))
    elif m := re.search(rf"\b{vocab.ORDINAL} row\b", text):
        cues.row = _ordinal_value(m.group(1))
    elif re.search(r"\b(?:header|heading|top|title) row\b", text):
        cues.row = 0
    if m := re.search(r"\bcol(?:umn)?\s*#?\s*(\d+)\b", text):
        cues.column = int(m.group(1)) - 1
    elif m := re.search(rf"\b{vocab.ORDINAL} column\b", text):
        n = _ordinal_value(m.group(1))
        cues.column = n - 1 if n and n > 0 else n
    elif m := (re.search(r"\bcolumn:?\s+([a-z][\w ]*?)\s*(?:$|[,.;)]| column| row| cell)", text)
               or re.search(r"\b([a-z]\w*) column\b", cues.location)):
        cues.column_name = m.group(1)
    for pat in (r"\brow\s*#?\s*\d+\b", rf"\b{vocab.ORDINAL} (?:row|column)\b",
                r"\bcol(?:umn)?\s*#?\s*\d+\b"):
        cues.location = re.sub(pat, " ", cues.location)


def _table_names(cues: _Cues, ranged: list[Anchor]) -> None:
    """"Qty of Plums": a header's text names the column, then a cell's text names the row."""
    for a in ranged:
        cell = a.props.get("cell")
        if not isinstance(cell, dict) or not a.text:
            continue
        if not (any(_text_score(q, a.text) >= 4.5 for q in cues.quotes)
                or _unquoted(a.text, cues.location)):
            continue
        if a.role == "header" and cues.column_name is None and cues.column is None:
            cues.column_name = a.text.lower()
        elif a.role == "cell" and cues.row is None and (
                cues.column_name is not None or cues.column is not None):
            cues.row = int(cell.get("row", 0))


def _ordinal(cues: _Cues) -> None:
    text = cues.location
    if m := re.search(r"from the (left|right|top|bottom)|\b(leftmost|rightmost|topmost|"
                      r"bottommost)\b", text):
        side = m.group(1) or m.group(2).removesuffix("most")
        cues.direction = {"left": "x", "right": "-x", "top": "y", "bottom": "-y"}[side]
        if m.group(2):
            cues.ordinal = 1
        text = text.replace(m.group(0), " ")
    if m := re.search(rf"\b{vocab.ORDINAL}\b|#(\d+)\b", text):
        cues.ordinal = _ordinal_value(m.group(1) or m.group(2))
        text = text.replace(m.group(0), " ")
    if m := re.search(r"\b(tallest|highest|largest|biggest|longest|widest|shortest|lowest|"
                      r"smallest|narrowest)\b", text):
        cues.superlative = 1 if m.group(1) in ("tallest", "highest", "largest", "biggest",
                                               "longest", "widest") else -1
        text = text.replace(m.group(0), " ")
    cues.location = text


def _spot(cues: _Cues) -> None:
    """Where on the image the words point ("top-right", "at the bottom"), as a 0..1 point."""
    m = re.search(r"\b((?:top|upper|bottom|lower)[- ]?(?:left|right)|(?:left|right)[- ]?(?:top|"
                  r"bottom)|top|upper|bottom|lower|left|right|cent(?:er|re)|middle)\b(?! spine)",
                  cues.location)
    if m:
        cues.spot = _spot_of(m.group(1))


def _spot_of(words: str) -> tuple[float | None, float | None]:
    fx = 0.0 if "left" in words else 1.0 if "right" in words else None
    fy = 0.0 if ("top" in words or "upper" in words) else 1.0 if (
        "bottom" in words or "lower" in words) else None
    if fx is None and fy is None:
        return (0.5, 0.5)
    return (fx, fy)


def _ordinal_value(word: str | None) -> int | None:
    if not word:
        return None
    word = word.lower()
    if word in vocab.ORDINALS:
        return vocab.ORDINALS[word]
    digits = re.match(r"\d+", word)
    return int(digits.group(0)) if digits else None


# ---------------------------------------------------------------------------------------------
# Scoring anchors


def _score(a: Anchor, cues: _Cues, render: Render,
           category: str | None) -> tuple[float, list[str]]:
    """Evidence that ``a`` is the element the words name, with the reasons for ``why``."""
    total, why = 0.0, []
    tag = str(a.props.get("tag") or "")
    for targets, weight in cues.wants:
        for rank, target in enumerate(targets):
            if a.role == target or tag == target:
                total += weight * (1 - 0.15 * rank)
                why.append(f"{target} word")
                break
    if tag and tag in cues.tags:
        total += 4.0
        why.append(f"<{tag}>")
    if len(a.name) > 2 and a.name.lower() in cues.raw:
        # a full name ("bar 'Q3'", "row 2, column 'Qty'") is as good as it gets; a bare one
        # ("legend", "title") says no more than the element word
        total += 6.0 if re.search(r"['\"\d ]", a.name) else 1.0
        why.append(f"named {a.name}")
    text = max(((_text_score(q, lab), lab) for q in cues.quotes for lab in _labels(a, render)),
               default=(0.0, ""))
    if text[0] == 0.0:
        text = max(((3.5 if _unquoted(lab, cues.location) else 1.5 if _unquoted(
            lab, cues.description) else 0.0, lab) for lab in _labels(a, render)),
            default=(0.0, ""))
    if text[0]:
        total += text[0]
        why.append(f"text '{text[1]}' of {a.role}")
    total += _cell_score(a, cues, why)
    if cues.colours:
        bonus = max((_colour_bonus(c, rgb) * w for c in _anchor_colours(a)
                     for rgb, w in cues.colours), default=0.0)
        if category == "style_error":
            bonus *= 1.5
        if bonus > 0.3:
            total += bonus
            why.append("colour")
    if cues.spot and not a.container and render.image is not None:
        total += 1.2 * _closeness(a, cues.spot, render.size)
    if total > 0 and category:
        texty = category in vocab.TEXT_CATEGORIES and a.role in vocab.TEXT_ROLES and bool(a.text)
        if texty or (category in vocab.DATA_CATEGORIES and a.role in vocab.MARK_ROLES):
            total += 0.75
    return total, why


def _cell_score(a: Anchor, cues: _Cues, why: list[str]) -> float:
    cell = a.props.get("cell")
    if not isinstance(cell, dict):
        return 0.0
    total = 0.0
    if cues.row is not None and cell.get("row") == cues.row:
        total += 3.0
        why.append(f"row {cues.row}")
    col = cell.get("column")
    if cues.row is not None and cell.get("row") != cues.row:
        return total  # another row: its column is not the one meant
    if cues.column is not None and col == cues.column:
        total += 3.0
        why.append(f"column {col + 1}")
    header = str(cell.get("header") or "").lower()
    if cues.column_name and header and (header == cues.column_name
                                        or _text_score(cues.column_name, header) >= 3.5):
        total += 3.0
        why.append(f"column '{header}'")
    return total


def _labels(a: Anchor, render: Render | None = None) -> list[str]:
    """Texts a model may use for ``a``: its text, series and category, id, class, alt, the
    quoted part of its name, and — for a bar with no category — the tick under it."""
    out = [a.text] if a.text else []
    for key in ("label", "series", "category", "alt", "id"):
        value = a.props.get(key)
        if value:
            out.append(str(value))
    out += str(a.props.get("class") or "").split()
    out += [s or d for s, d in re.findall(r"'([^']+)'|\"([^\"]+)\"", a.name)]
    if a.key.startswith("#"):
        out.append(a.key[1:])  # an SVG element's id
    if a.role == "bar" and not a.props.get("category") and render is not None:
        tick = _tick_under(a, render)
        if tick:
            out.append(tick)
    return [s for s in out if s.strip()]


def _tick_under(bar: Anchor, render: Render) -> str | None:
    axes = bar.key.split("/")[0]
    cx = _centre(bar)[0]
    width = bar.box[2] - bar.box[0]
    ticks = [a for a in render.anchors if a.role == "xticklabel" and a.key.startswith(axes + "/")
             and a.text]
    near = min(ticks, key=lambda t: abs(_centre(t)[0] - cx), default=None)
    if near is not None and abs(_centre(near)[0] - cx) <= width + 2:
        return near.text
    return None


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _text_score(quote: str, label: str) -> float:
    """How well a quoted string names a label: exact 5, contained 3–4.5, a typo away 3–4."""
    q, lab = _norm(quote), _norm(label)
    if not q or not lab:
        return 0.0
    if q == lab:
        return 5.0
    if len(q) >= 3 and q in lab:
        return 3.0 + 1.5 * len(q) / len(lab)
    if len(lab) >= 3 and lab in q:
        return 2.0 + 1.5 * len(lab) / len(q)
    ratio = SequenceMatcher(None, q, lab).ratio()
    return 4.0 * ratio if ratio >= 0.72 and min(len(q), len(lab)) >= 3 else 0.0


def _unquoted(label: str, text: str) -> bool:
    """``label`` as whole words of ``text``: only labels with a letter (numbers need quotes)."""
    lab = _norm(label)
    if len(lab) < 2 or not re.search(r"[a-z]", lab) or lab in ("the", "a", "an", "of", "on"):
        return False
    return re.search(rf"(?<!\w){re.escape(lab)}(?!\w)", text) is not None


def _rgb(hex_: str | None) -> tuple[int, int, int] | None:
    if not hex_ or not hex_.startswith("#"):
        return None
    h = hex_[1:]
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    if len(h) != 6 or not re.fullmatch(r"[0-9a-fA-F]{6}", h):
        return None
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def _anchor_colours(a: Anchor) -> list[tuple[int, int, int]]:
    style = a.props.get("style") or {}
    values = [a.color, a.props.get("fill"), a.props.get("stroke"), a.props.get("handle_color"),
              style.get("color") if isinstance(style, dict) else None,
              style.get("background-color") if isinstance(style, dict) else None]
    out = []
    for v in values:
        rgb = _rgb(v) if isinstance(v, str) else None
        if rgb is None and isinstance(v, str):
            rgb = _rgb(vocab.COLOURS.get(v.lower()))
        if rgb is not None:
            out.append(rgb)
    return out


def _colour_bonus(have: tuple[int, int, int], want: tuple[int, int, int]) -> float:
    """Up to 2.5 for a colour a person would call by the same name: hue for chromatic colours
    (tab:blue is "blue"), lightness for black, white and grey."""
    h1, s1, v1 = colorsys.rgb_to_hsv(*(c / 255 for c in have))
    h2, s2, v2 = colorsys.rgb_to_hsv(*(c / 255 for c in want))
    if s2 < 0.2 or v2 < 0.15:  # achromatic word
        if s1 > 0.35 and v1 > 0.2:
            return 0.0
        return 2.5 * max(0.0, 1 - abs(v1 - v2) / 0.5)
    if s1 < 0.2 or v1 < 0.15:
        return 0.0
    dh = abs(h1 - h2) * 360
    dh = min(dh, 360 - dh)
    return 2.5 * max(0.0, 1 - dh / 90) * (1 - 0.3 * abs(v1 - v2))


def _centre(a: Anchor) -> tuple[float, float]:
    return ((a.box[0] + a.box[2]) / 2, (a.box[1] + a.box[3]) / 2)


def _closeness(a: Anchor, spot: tuple[float | None, float | None],
               size: tuple[int, int]) -> float:
    cx, cy = _centre(a)
    fx, fy = cx / max(1, size[0]), cy / max(1, size[1])
    dx = abs(fx - spot[0]) if spot[0] is not None else 0.0
    dy = abs(fy - spot[1]) if spot[1] is not None else 0.0
    return max(0.0, 1 - (dx * dx + dy * dy) ** 0.5)


def _nearest_to(axes: list[Anchor], spot: tuple[float | None, float | None],
                cues: _Cues) -> Anchor:
    x0 = min(a.box[0] for a in axes)
    y0 = min(a.box[1] for a in axes)
    size = (max(a.box[2] for a in axes) - x0, max(a.box[3] for a in axes) - y0)
    shifted = {id(a): Anchor((a.box[0] - x0, a.box[1] - y0, a.box[2] - x0, a.box[3] - y0),
                             a.role, a.key, a.name) for a in axes}
    return max(axes, key=lambda a: _closeness(shifted[id(a)], spot, (int(size[0]),
                                                                     int(size[1]))))


def _inside(a: Anchor, outer: Anchor) -> bool:
    if a.key.startswith(outer.key + "/") or a.key.startswith(outer.key + ">"):
        return True
    x0, y0, x1, y1 = a.box
    return (x0 >= outer.box[0] - 1 and y0 >= outer.box[1] - 1 and x1 <= outer.box[2] + 1
            and y1 <= outer.box[3] + 1 and a.key.split("/")[0] == outer.key)


def _credit_containers(pool: list[Anchor], scores: dict[int, tuple[float, list[str]]]) -> None:
    """'nav link', 'the circle in the group': an element that matches on its own gains half
    the score of the named container around it."""
    named = [c for c in pool if c.container and scores[id(c)][0] > 0 and c.role not in (
        "svg", "page")]
    for a in pool:
        own, why = scores[id(a)]
        if own <= 0 or a.container:
            continue
        outer = [scores[id(c)][0] for c in named if c is not a and _within(a.box, c.box)]
        if outer:
            scores[id(a)] = (own + 0.5 * max(outer), [*why, "inside a named container"])


def _within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (inner[0] >= outer[0] - 1 and inner[1] >= outer[1] - 1 and inner[2] <= outer[2] + 1
            and inner[3] <= outer[3] + 1)


# ---------------------------------------------------------------------------------------------
# Choosing


def _pick(pool: list[Anchor], scores: dict[int, tuple[float, list[str]]], best: Anchor,
          cues: _Cues) -> tuple[Anchor, int]:
    """Among the anchors about as good as the best (same role), apply the ordinal or
    superlative; else take the line most of them share (all tick labels of one axis). Also
    how many were alike: 1 when the words singled the element out."""
    top = scores[id(best)][0]
    group = [a for a in pool if a.role == best.role and scores[id(a)][0] >= top - 0.75]
    if cues.superlative and len(group) > 1:
        return max(group, key=lambda a: cues.superlative * _size(a)), 1
    if cues.ordinal and len(group) > 1:
        ordered = _ordered(group, cues.direction)
        n = cues.ordinal
        if 0 < n <= len(ordered):
            return ordered[n - 1], 1
        if n < 0 and -n <= len(ordered):
            return ordered[n], 1
    exact = [a for a in group if scores[id(a)][0] >= top - 1e-9]
    lines = Counter(a.range.start.line for a in exact if a.range is not None)
    common = lines.most_common(1)[0][0]
    chosen = next(a for a in exact if a.range is not None and a.range.start.line == common)
    return chosen, len(exact)


def _ordered(group: list[Anchor], direction: str | None) -> list[Anchor]:
    if direction is None:
        if all(a.role in ("bar", "xticklabel", "cell", "header") for a in group):
            direction = "x"
        else:
            return group  # document order: legend entries, lines, elements, wedges
    axis = 0 if "x" in direction else 1
    return sorted(group, key=lambda a: _centre(a)[axis], reverse=direction.startswith("-"))


def _size(a: Anchor) -> float:
    value = a.props.get("value")
    if isinstance(value, int | float):
        return float(value)
    return a.area


def _fallback(render: Render, cues: _Cues, ranged: list[Anchor]) -> WordMatch:
    """The best enclosing element: the named subplot, the only axes or the figure, the
    ``<svg>``, the table, the ``<body>``; then any ranged container; then any ranged anchor."""
    score = 0.15 if cues.understood else BLIND_SCORE
    if cues.scope is not None:
        # "left subplot" and nothing else names the axes itself
        alone = not cues.wants and not cues.quotes and not cues.colours
        return WordMatch(cues.scope, 0.5 if alone else score,
                         f"{'' if alone else 'enclosing '}axes ({cues.scope_why})", alone)
    preferred = {
        "chart": ("axes",) if sum(a.role == "axes" for a in ranged) == 1 else ("figure",),
        "svg": ("svg",),
        "html": ("body", "page"),
        "table": ("table", "page"),
    }.get(render.kind, ())
    for want in preferred:
        for a in ranged:
            if a.role == want or a.props.get("tag") == want or a.key.endswith(want):
                return WordMatch(a, score, f"enclosing {a.name}", False)
    for roles in (("axes", "figure", "svg", "table", "page", "group"), None):
        for a in ranged:
            if (roles is None and a.container) or (roles is not None and a.role in roles):
                return WordMatch(a, score, f"enclosing {a.name}", False)
    return WordMatch(ranged[0], score, f"first element {ranged[0].name}", False)


__all__ = ["BLIND_SCORE", "WordMatch", "match_location"]
