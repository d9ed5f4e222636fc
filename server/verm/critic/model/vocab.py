"""The words a model uses for what it sees, per domain: element words (most specific phrase
first), colour names, ordinals, quotes, tags, "missing". ``words`` reads a location with them."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One element word of a domain: the roles or tags it names (best first) and its weight."""

    pattern: re.Pattern[str]
    targets: tuple[str, ...]
    weight: float = 3.0


def word(pattern: str, *targets: str, weight: float = 3.0) -> Word:
    return Word(re.compile(rf"\b(?:{pattern})\b"), targets, weight)


# Most specific phrases first: a phrase consumes its words, so "x-axis tick labels" is ticks and
# not also "label", and "grid lines" is the grid and not a line.
AXIS = r"(?:{a}[- ]?axis|{a}[- ]?axes|{a}|{h} axis)"
CHART: tuple[Word, ...] = (
    word(r"legend(?:'s)? (?:entry|entries|labels?|items?|texts?|handles?)", "legend-text"),
    word(r"legend|key", "legend", "legend-text"),
    *(word(AXIS.format(a=a, h=h) + r"(?:'s)? ?(?:tick|ticks|tick labels?|tick marks?|labels? of "
         r"the ticks|ticklabels?|values|numbers)|" + a + r"ticks?", f"{a}ticklabel")
      for a, h in (("x", "horizontal"), ("y", "vertical"))),
    *(word(AXIS.format(a=a, h=h) + r"(?:'s)? ?(?:label|title|name)|" + a + r"label",
         f"{a}label") for a, h in (("x", "horizontal"), ("y", "vertical"))),
    word(r"super ?title|suptitle|figure title|overall title|main title", "suptitle"),
    word(r"titles?|headings?", "title", "suptitle"),
    word(r"tick labels?|ticks?|ticklabels?", "xticklabel", "yticklabel"),
    word(r"grid ?lines?|grid", "grid"),
    word(r"colou?r ?bar|colou?r scale", "colorbar"),
    *(word(rf"{a}[- ]?ax[ie]s|{h} axis", f"{a}ticklabel", f"{a}label", weight=2.5)
      for a, h in (("x", "horizontal"), ("y", "vertical"))),
    word(r"spines?|axis lines?|frame|border", "spine"),
    word(r"bars?|columns?|histogram|bins?", "bar"),
    word(r"pie|wedges?|slices?|sectors?", "wedge"),
    word(r"scatter|points?|markers?|dots?", "collection", "line"),
    word(r"lines?|curves?|series|trend ?lines?|plot line", "line"),
    word(r"annotations?|text|labels?|captions?", "text", "legend-text", "xlabel", "ylabel",
       weight=2.0),
    word(r"image|heat ?map", "image", weight=2.0),
    word(r"plot area|axes|subplots?|panels?|plots?|charts?|graphs?", "axes", weight=1.5),
)

SVG: tuple[Word, ...] = (
    word(r"rect(?:angle)?s?|squares?|boxe?s?|bars?|background", "rect"),
    word(r"circles?|dots?|discs?|rings?", "circle", "ellipse"),
    word(r"ellipses?|ovals?", "ellipse", "circle"),
    word(r"stars?|polygons?|triangles?|hexagons?|pentagons?|arrows?", "polygon", "path"),
    word(r"paths?|curves?|glyphs?", "path", "polygon", weight=2.0),
    word(r"shapes?|elements?|objects?", "shape", weight=2.0),
    word(r"polylines?|zig-?zags?", "polyline", "line"),
    word(r"lines?|strokes? line|dividers?|rules?", "line", "polyline"),
    word(r"texts?|labels?|captions?|letters?|words?|titles?", "text", "tspan"),
    word(r"groups?", "g"),
    word(r"images?|pictures?", "image"),
    word(r"icons?|svg|canvas|view ?box|root", "svg", weight=1.5),
)

HTML: tuple[Word, ...] = (
    word(r"table header|header (?:row|cells?)|column (?:headers?|headings?)", "th", "header"),
    word(r"nav(?:igation)?(?: ?bar| menu)?|menu(?: ?bar)?|top bar", "nav"),
    word(r"headers?|banners?|masthead|hero", "header"),
    word(r"page title|headings?|headlines?|titles?|h[1-6]", "h1", "h2", "h3", "h4"),
    word(r"buttons?|btn|call to action|cta", "button"),
    word(r"footers?|bottom bar", "footer"),
    word(r"links?|anchors?|hyperlinks?|nav items?|menu items?", "a"),
    word(r"paragraphs?|lead|intro", "p"),
    word(r"body text|copy|text", "p", "footer", "span", weight=2.0),
    word(r"images?|logos?|pictures?|photos?|img|icons?", "img", "svg"),
    word(r"inputs?|text ?(?:field|box)|fields?|search box", "input", "textarea", "select"),
    word(r"forms?", "form"),
    word(r"list items?|bullets?", "li"),
    word(r"lists?", "ul", "ol"),
    word(r"tables?", "table"),
    word(r"cells?", "td", "cell"),
    word(r"rows?", "tr"),
    word(r"labels?", "label"),
    word(r"main content|main|content area", "main", weight=2.0),
    word(r"sidebar|aside", "aside"),
    word(r"sections?|articles?", "section", "article", weight=2.0),
    word(r"cards?|boxe?s?|panels?|containers?|div|blocks?", "div", weight=1.5),
)

TABLE: tuple[Word, ...] = (
    word(r"header(?: row| cells?)?|column (?:headers?|headings?|names)|heading row", "header"),
    word(r"page title|headings?|titles?|captions?", "h1", "h2", "h3"),
    word(r"cells?|values?|entry|entries|numbers?", "cell", weight=2.0),
    word(r"tables?|grid|borders?|layout", "table", weight=1.5),
)

WORDS = {"chart": CHART, "svg": SVG, "html": HTML, "table": TABLE}

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "last": -1, "final": -1, "leftmost": 1, "top": 1,
    "topmost": 1, "rightmost": -1, "bottommost": -1,
}
ORDINAL = r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final|" \
    r"\d+(?:st|nd|rd|th))"
SUBPLOT = r"(?:subplots?|sub-plots?|panels?|plots?|axes|charts?|graphs?)"

COLOURS = {
    "red": "#ff0000", "dark red": "#8b0000", "crimson": "#dc143c", "maroon": "#800000",
    "orange": "#ffa500", "yellow": "#ffff00", "gold": "#ffd700", "amber": "#ffbf00",
    "green": "#008000", "lime": "#00ff00", "dark green": "#006400", "olive": "#808000",
    "teal": "#008080", "cyan": "#00ffff", "turquoise": "#40e0d0", "blue": "#0000ff",
    "light blue": "#add8e6", "sky blue": "#87ceeb", "navy": "#000080", "dark blue": "#00008b",
    "purple": "#800080", "violet": "#ee82ee", "magenta": "#ff00ff", "pink": "#ffc0cb",
    "brown": "#8b4513", "black": "#000000", "white": "#ffffff", "gray": "#808080",
    "grey": "#808080", "light gray": "#d3d3d3", "light grey": "#d3d3d3", "dark gray": "#404040",
    "dark grey": "#404040", "silver": "#c0c0c0", "beige": "#f5f5dc",
}
COLOUR_WORD = re.compile(r"#[0-9a-f]{6}\b|#[0-9a-f]{3}\b|\b(?:(?:dark|light|sky) )?(?:"
                          + "|".join(sorted({k.split()[-1] for k in COLOURS}, key=len,
                                            reverse=True)) + r")(?:ish)?\b")
QUOTE = re.compile(r"(?<![\w])'([^']+)'(?![\w])|\"([^\"]+)\"|‘([^’]+)’|“([^”]+)”|`([^`]+)`")
TAG = re.compile(r"<\s*([a-z][a-z0-9]*)[^>]*>")
MISSING = re.compile(r"\b(?:missing|absent|omitted|not (?:shown|drawn|rendered|present|"
                      r"visible|displayed)|lacks?|lacking|dropped|no longer)\b")
TEXT_CATEGORIES = ("text_error", "text_symbol_error")
DATA_CATEGORIES = ("data_error", "numeric_error", "shape_error")
MARK_ROLES = ("bar", "line", "wedge", "collection", "patch", "cell", "shape", "image")
TEXT_ROLES = ("title", "suptitle", "xlabel", "ylabel", "xticklabel", "yticklabel",
               "legend-text", "text", "header", "cell")
