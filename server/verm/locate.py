"""Discrepancy → source range: the blamed anchor's line, else location words, else line 0.

A colour discrepancy on an element styled by a CSS declaration or an SVG attribute points at
that declaration, since that is the text a fix must change.
"""

from __future__ import annotations

import re

from verm.critic.model.words import BLIND_SCORE, match_location
from verm.types import TOP_OF_FILE, Anchor, Discrepancy, Range, Render

# Words a critic (or a model) may use in `location`, and the anchor roles they name.
LOCATION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"legend", ("legend-text", "legend")),
    (r"super ?title|suptitle", ("suptitle",)),
    (r"title|heading", ("title", "suptitle")),
    (r"x[- ]?(axis )?label|xlabel", ("xlabel",)),
    (r"y[- ]?(axis )?label|ylabel", ("ylabel",)),
    (r"x[- ]?(axis )?ticks?|x tick", ("xticklabel",)),
    (r"y[- ]?(axis )?ticks?|y tick", ("yticklabel",)),
    (r"grid", ("grid",)),
    (r"colou?r ?bar", ("colorbar",)),
    (r"\bbars?\b", ("bar",)),
    (r"\blines?\b|series", ("line",)),
    (r"pie|wedge|slice", ("wedge",)),
    (r"scatter|points?|markers?", ("collection",)),
    (r"\bcell\b|row|column", ("cell", "header")),
    (r"header", ("header",)),
    (r"\btext\b|label", ("text",)),
    (r"plot area|axes|subplot", ("axes",)),
)

_STYLE_PROPS = {
    "color": ("color", "fill", "stroke", "background-color", "border-color"),
    "background": ("background-color", "background", "fill"),
}


def _style_range(anchor: Anchor, d: Discrepancy) -> Range | None:
    """The declaration that sets the colour a colour fix must change, when the renderer knows."""
    wording = d.category in ("text_error", "text_symbol_error")
    if wording:  # where the words are (an SVG <text> whose content is on a later line)
        span = (anchor.props.get("attr_spans") or {}).get("text")
        if isinstance(span, dict) and "line" in span:
            return Range.span(int(span["line"]), int(span.get("start", 0)),
                              int(span.get("end", span.get("start", 0))))
    if not d.fix or d.fix.get("kind") not in ("color", "style", "layout"):
        return None
    prop = str(d.fix.get("property") or "")
    candidates = (prop,) if prop else _STYLE_PROPS["color"]
    if d.fix.get("kind") == "layout":
        candidates = tuple(str(p) for p in d.fix.get("properties") or ())
    if prop in ("font-size", "font-weight", "font-family"):
        candidates = (prop, "font")  # the shorthand sets it too
    for table_name in ("css", "attr_spans"):
        table = anchor.props.get(table_name) or {}
        for name in candidates:
            span = table.get(name)
            if isinstance(span, dict) and "line" in span and not span.get("file"):
                # A declaration in a linked stylesheet is not a line of this source.
                start = int(span.get("start", 0))
                end = int(span.get("end", start))
                return Range.span(int(span["line"]), start, end)
    return None


def _data_range(anchor: Anchor, d: Discrepancy) -> Range | None:
    """Wrong data of a series whose values are written out above its plotting call (a list
    assigned to a name): that list's line, which is what a fix edits. The values are the last
    positional argument (`ax.bar(x, height)`, `ax.plot(x, y)`, `ax.pie(x)`), or the first when
    only the x values differ."""
    if d.category != "data_error":
        return None
    args = anchor.props.get("arg_lines")
    if not isinstance(args, list) or not args:
        return None
    index = len(args) - 1
    if "x values span" in d.description and "y values span" not in d.description:
        index = 0
    line = args[index]
    return Range.of_line(int(line)) if isinstance(line, int) else None


# What a chart finding's fix edits, by the words of its description: the keyword of its call.
_KEYWORDS_BY_FIX: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("colour", ("color", "c", "colors", "facecolor", "fc", "edgecolor", "ec")),
    ("marker", ("marker", "markersize", "ms")),
    ("dashes", ("linestyle", "ls", "dashes")),
    ("thicker", ("linewidth", "lw")),
)


def _keyword_range(anchor: Anchor, d: Discrepancy) -> Range | None:
    """A style finding of a chart mark whose call sets that style on a later line (a call
    written over several lines): the keyword's line, which is what a fix edits."""
    lines = anchor.props.get("style_lines")
    if d.category != "style_error" or not isinstance(lines, dict):
        return None
    text = d.description.lower()
    for word, names in _KEYWORDS_BY_FIX:
        if word in text or (word == "colour" and (d.fix or {}).get("kind") == "color"):
            line = next((lines[n] for n in names if isinstance(lines.get(n), int)), None)
            if line is not None:
                return Range.of_line(int(line))
    return None


def _by_key(render: Render, key: str) -> Anchor | None:
    """The render's anchor with ``key``, else its nearest ancestor by key path."""
    index = {a.key: a for a in render.anchors}
    while key:
        hit = index.get(key)
        if hit is not None and hit.range is not None:
            return hit
        cut = max(key.rfind("/"), key.rfind(">"))
        key = key[:cut] if cut > 0 else ""
    return None


def _by_words(render: Render, location: str, description: str = "",
              category: str | None = None) -> Anchor | None:
    """An anchor named by the words: an anchor's own name (what the analytic critic writes),
    else what a model's words mean (element words, quoted texts, colours, ordinals, subplots,
    rows and columns, tags; the enclosing element when they name something not drawn), else a
    bare role word. Words with nothing understood at all stay at the top of the file."""
    loc = location.lower()
    named = [a for a in render.anchors if a.range is not None and a.name.lower() in loc]
    if named:
        return max(named, key=lambda a: len(a.name))
    found = match_location(location, description, render, category)
    if found is not None and (found.specific or found.score > BLIND_SCORE):
        return found.anchor
    for pattern, roles in LOCATION_WORDS:
        if re.search(pattern, loc):
            hits = [a for a in render.anchors if a.role in roles and a.range is not None]
            if hits:
                return min(hits, key=lambda a: a.area or float("inf"))
    return None


def locate(d: Discrepancy, render: Render) -> Range:
    """The source range to show ``d`` on."""
    anchor = d.anchor
    if anchor is not None and not any(a is anchor for a in render.anchors):
        # An element of the reference: the render's element of the same key when it has one;
        # one the render lacks is blamed where the pinned version drew it (the deleted call's
        # line), else the nearest element it would sit in (a legend → its axes).
        same = next((a for a in render.anchors if a.key == anchor.key), None)
        if same is None and anchor.range is not None:
            return anchor.range
        found = _by_key(render, anchor.key)
        if found is not None:
            return found.range or TOP_OF_FILE
        anchor = None
    if anchor is not None:
        written = _data_range(anchor, d)
        if written is not None:
            return written
        styled = _style_range(anchor, d) or _keyword_range(anchor, d)
        if styled is not None:
            return styled
        if anchor.range is not None:
            return anchor.range
    found = _by_words(render, d.location, d.description, d.category)
    if found is not None and found.range is not None:
        if (found.role == "figure" and (d.fix or {}).get("kind") == "size"
                and isinstance(line := found.props.get("size_line"), int)):
            return Range.of_line(line)  # `figsize=` on the figure call's second line
        return found.range
    return TOP_OF_FILE


def locate_all(discrepancies: list[Discrepancy], render: Render) -> list[Discrepancy]:
    for d in discrepancies:
        if d.range is None:
            d.range = locate(d, render)
        for r in d.related:
            if r.range is None:
                r.range = locate(r, render)
    return discrepancies
