"""The editable literals of a source — colours, strings, numbers — with their exact spans.

Revise searches over these: without a model, the only edits it can make with confidence are
replacements of one literal by another in the same notation, so the scanner must find every
literal a user would touch and nothing a replacement could corrupt (comments, pragmas, URLs).
Python is read with ``tokenize``; HTML, SVG and Markdown with regular expressions.
"""

from __future__ import annotations

import ast
import functools
import html
import io
import itertools
import re
import tokenize
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from verm.critic.analytic.pixels import Color, parse_hex
from verm.types import LINE_BREAK, Kind, Position, Range

LiteralKind = TypingLiteral["color", "string", "number"]




class LineIndex:
    """Offsets ↔ 0-based (line, column in code points), lines ended as ``LINE_BREAK`` says."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]

    def position(self, offset: int) -> Position:
        line = bisect_right(self.starts, offset) - 1
        return Position(line, offset - self.starts[line])

    def offset(self, line: int, column: int) -> int:
        return self.starts[min(line, len(self.starts) - 1)] + column

    def range(self, start: int, end: int) -> Range:
        return Range(self.position(start), self.position(end))


@dataclass(frozen=True)
class SourceLiteral:
    """One literal: ``text`` is its exact source text, ``value`` what it means."""

    start: int
    end: int
    line: int
    kind: LiteralKind
    text: str
    value: str | float
    color: Color | None = None
    prop: str | None = None  # the keyword, CSS property or attribute it is the value of
    lang: TypingLiteral["python", "markup", "markdown"] = "markup"

    def overlaps(self, other: SourceLiteral) -> bool:
        return self.start < other.end and other.start < self.end


# --- colours ---------------------------------------------------------------------------------

_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+%?)\s*)?\)", re.I)
_PY_COLOR_PROPS = {"color", "c", "colors", "facecolor", "edgecolor", "fc", "ec", "mfc", "mec",
                   "markerfacecolor", "markeredgecolor", "ecolor", "labelcolor"}


@functools.cache
def _named_colors() -> dict[str, str]:
    """Named colours (CSS4, matplotlib's base and Tableau names), imported once when needed."""
    from matplotlib import colors

    table = {k.lower(): v for k, v in colors.CSS4_COLORS.items()}
    table.update({k: colors.to_hex(v) for k, v in colors.TABLEAU_COLORS.items()})
    return table


def parse_color(value: str, *, python: bool = False, prop: str | None = None) -> Color | None:
    """The RGB a colour string means (hex, ``rgb()``, a name; for charts matplotlib's too)."""
    s = value.strip()
    if s.startswith("#"):
        return parse_hex(s) if re.fullmatch(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})",
                                            s) else None
    m = _RGB.fullmatch(s)
    if m:
        return (int(m.group(1)) & 255, int(m.group(2)) & 255, int(m.group(3)) & 255)
    hexed = _named_colors().get(s.lower())
    if hexed is None and python and (prop in _PY_COLOR_PROPS or re.fullmatch(r"C\d", s)):
        hexed = _matplotlib_color(s)
    return parse_hex(hexed) if hexed else None


def _matplotlib_color(s: str) -> str | None:
    """Single letters and ``C0``: colours only where the keyword says so (else a label 'b')."""
    from matplotlib import colors

    if re.fullmatch(r"[\d.]+", s):
        return None
    try:
        return str(colors.to_hex(s))
    except ValueError:
        return None


def format_color(like: str, rgb: Color) -> str:
    """``rgb`` written the way ``like`` (a colour literal's value) is written: case, length."""
    r, g, b = rgb
    s = like.strip()
    if s.startswith("#"):
        digits = s[1:]
        upper = any(c.isupper() for c in digits) and not any(c.islower() for c in digits)
        full = f"{r:02x}{g:02x}{b:02x}"
        out = full
        if len(digits) in (3, 4) and all(full[i] == full[i + 1] for i in (0, 2, 4)):
            out = full[0::2] + digits[3:]
        elif len(digits) == 8:
            out = full + digits[6:]
        return "#" + (out.upper() if upper else out)
    m = _RGB.fullmatch(s)
    if m:
        sep = ", " if ", " in s else ","
        name = s[: s.index("(")]
        parts = [str(r), str(g), str(b)] + ([m.group(4)] if m.group(4) else [])
        return f"{name}({sep.join(parts)})"
    return f"#{r:02x}{g:02x}{b:02x}"


# --- numbers ---------------------------------------------------------------------------------

_UNITS = r"px|em|rem|pt|pc|cm|mm|in|ex|ch|vw|vh|vmin|vmax|deg|rad|turn|ms|s|fr|%"
_NUMBER = re.compile(rf"(?<![\w#.\-])(-?(?:\d+(?:\.\d+)?|\.\d+))({_UNITS})?(?![\w.])")


def parse_number(value: object) -> float | None:
    """The number at the front of a value (``24px`` → 24.0); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(rf"\s*(-?(?:\d+(?:\.\d+)?|\.\d+))\s*(?:{_UNITS})?\s*", str(value))
    return float(m.group(1)) if m else None


def format_number(like: str, value: float) -> str:
    """``value`` in the notation of the number literal ``like``: its decimals, its unit."""
    m = re.fullmatch(rf"(-?[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?)({_UNITS})?", like.strip())
    body, unit = (m.group(1), m.group(2) or "") if m else (like, "")
    decimals = len(body.split(".", 1)[1]) if "." in body and "e" not in body.lower() else 0
    if abs(value - round(value)) < 1e-9 and "." not in body:
        return f"{round(value)}{unit}"
    if decimals > 0 and abs(round(value, decimals) - value) < 1e-9:
        return f"{value:.{decimals}f}{unit}"
    text = f"{value:.4g}"
    if "e" in text:
        text = repr(value)
    elif "." not in text:
        text += ".0"
    return f"{text}{unit}"


# --- Python ----------------------------------------------------------------------------------

_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


def python_literals(text: str) -> list[SourceLiteral]:
    """STRING and NUMBER tokens of a chart script (f- and byte strings left alone)."""
    index = LineIndex(text)
    tokens: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in _SKIP:
                tokens.append(tok)
    except (tokenize.TokenError, SyntaxError):
        pass  # a broken script: the literals before the break are still editable
    found: list[SourceLiteral] = []
    for i, tok in enumerate(tokens):
        start = index.offset(tok.start[0] - 1, tok.start[1])
        end = index.offset(tok.end[0] - 1, tok.end[1])
        if tok.type == tokenize.STRING:
            lit = _python_string(tok.string, start, end, tok.start[0] - 1, _prop(tokens, i))
        elif tok.type == tokenize.NUMBER:
            lit = _python_number(tok.string, start, end, tok.start[0] - 1, _prop(tokens, i))
        else:
            continue
        if lit is not None:
            found.append(lit)
    return found


def _python_string(raw: str, start: int, end: int, line: int,
                   prop: str | None) -> SourceLiteral | None:
    prefix = raw[: len(raw) - len(raw.lstrip("rRuUbBfF"))].lower()
    if "f" in prefix or "b" in prefix:
        return None
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if not isinstance(value, str):
        return None
    color = parse_color(value, python=True, prop=prop) if len(value) < 40 else None
    return SourceLiteral(start, end, line, "color" if color else "string", raw, value, color,
                         prop, "python")


def _python_number(raw: str, start: int, end: int, line: int,
                   prop: str | None) -> SourceLiteral | None:
    if raw[:2].lower() in ("0x", "0o", "0b") or raw[-1:] in "jJ":
        return None
    try:
        value = float(ast.literal_eval(raw))
    except (ValueError, SyntaxError):
        return None
    return SourceLiteral(start, end, line, "number", raw, value, None, prop, "python")


def _prop(tokens: list[tokenize.TokenInfo], i: int) -> str | None:
    """What a literal sets: ``lw=3`` → lw, ``{"color": x}`` → color, ``set_color(x)`` → color,
    ``figsize=(6, 4)`` → figsize."""
    depth = 0
    for j in range(i - 1, max(-1, i - 40), -1):
        t = tokens[j]
        if t.type == tokenize.OP and t.string in ")]}":
            depth += 1
        elif t.type == tokenize.OP and t.string in "([{":
            if depth == 0:
                before = tokens[j - 1] if j > 0 else None
                if before is not None and before.type == tokenize.NAME \
                        and before.string.startswith("set_"):
                    return before.string[4:]
                if t.string == "(" and before is not None and before.type == tokenize.NAME:
                    return None  # a positional argument of a call
            else:
                depth -= 1
        elif depth == 0 and t.type == tokenize.OP and t.string in ("=", ":") and j > 0:
            key = tokens[j - 1]
            if key.type == tokenize.NAME:
                return key.string
            if key.type == tokenize.STRING:
                try:
                    return str(ast.literal_eval(key.string))
                except (ValueError, SyntaxError):
                    return None
            return None
        elif depth == 0 and t.type == tokenize.OP and t.string in (",", ";"):
            continue
        if t.type == tokenize.NEWLINE:
            return None
    return None


def python_requote(lit: SourceLiteral, value: str) -> str:
    """A Python string token with ``value``, in ``lit``'s prefix and quotes where possible."""
    raw = lit.text
    prefix = raw[: len(raw) - len(raw.lstrip("rRuU"))]
    body = raw[len(prefix):]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if "r" in prefix.lower():
        if quote not in value and "\\" not in value and (len(quote) == 3 or "\n" not in value):
            return f"{prefix}{quote}{value}{quote}"
        prefix = ""
    escaped = value.replace("\\", "\\\\")
    if len(quote) == 1:
        escaped = escaped.replace(quote, "\\" + quote).replace("\n", "\\n").replace("\r", "\\r")
    elif escaped.endswith(quote[0]) or quote in escaped:
        escaped = escaped.replace(quote[0], "\\" + quote[0])
    return f"{prefix}{quote}{escaped}{quote}"


# --- HTML, SVG, Markdown ---------------------------------------------------------------------

_PROTECTED = re.compile(
    r"<!--.*?-->|<!doctype[^>]*>|<\?xml.*?\?>|url\([^)]*\)"
    r"|\b(?:xmlns(?::\w+)?|href|xlink:href|src|id|class|charset|lang)\s*=\s*(?:\"[^\"]*\"|'[^']*')",
    re.I | re.S)
_RAW_TEXT = re.compile(r"<(style|script)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[A-Za-z][^<>]*>", re.S)
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(\"([^\"]*)\"|'([^']*)')")
_DECL = re.compile(r"([\w-]+)\s*:\s*([^;{}<>\"]*)")
_HEX = re.compile(r"(?<![\w&])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})(?![\w-])")
_WORD = re.compile(r"[A-Za-z]+")
_TEXT_NODE = re.compile(r">([^<>]+)<")
_COLOR_ATTRS = {"fill", "stroke", "color", "stop-color", "flood-color", "lighting-color",
                "bgcolor"}


class _Spans:
    """Which offsets lie in protected text, and which property owns a value span."""

    def __init__(self, text: str, markdown: bool) -> None:
        self.protected = [m.span() for m in _PROTECTED.finditer(text)]
        if markdown:
            self.protected += [m.span() for m in re.finditer(r"\]\([^)]*\)|`[^`\n]*`", text)]
        self.values: list[tuple[int, int, str]] = []  # (start, end, property) of values
        if markdown:
            return
        for tag in _TAG.finditer(text):
            for a in _ATTR.finditer(tag.group(0)):
                group = 3 if a.group(3) is not None else 4
                s, e = tag.start() + a.start(group), tag.start() + a.end(group)
                name = a.group(1).lower()
                if name == "style":
                    self._declarations(text, s, e)
                else:
                    self.values.append((s, e, name))
        for block in _RAW_TEXT.finditer(text):
            if block.group(1).lower() == "style":
                self._declarations(text, block.start(), block.end())

    def _declarations(self, text: str, start: int, end: int) -> None:
        for d in _DECL.finditer(text, start, end):
            self.values.append((d.start(2), d.end(2), d.group(1).lower()))

    def is_protected(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.protected)

    def prop_at(self, start: int, end: int) -> str | None:
        for s, e, name in self.values:
            if s <= start and end <= e:
                return name
        return None


class _Collector:
    """Literals found so far: a new one is kept unless protected or overlapping its own kind."""

    def __init__(self, text: str, spans: _Spans, lang: TypingLiteral["markup", "markdown"]):
        self.text, self.spans, self.lang = text, spans, lang
        self.index = LineIndex(text)
        self.found: list[SourceLiteral] = []

    def add(self, start: int, end: int, kind: LiteralKind, value: str | float,
            color: Color | None = None) -> None:
        if self.spans.is_protected(start, end) or any(
                start < f.end and f.start < end for f in self.found if f.kind == kind):
            return
        self.found.append(SourceLiteral(
            start, end, self.index.position(start).line, kind, self.text[start:end], value,
            color, self.spans.prop_at(start, end), self.lang))


def markup_literals(text: str, markdown: bool = False) -> list[SourceLiteral]:
    """Colours, numbers (with units) and text (nodes, cells, CSS keywords) of HTML/SVG/Markdown."""
    spans = _Spans(text, markdown)
    out = _Collector(text, spans, "markdown" if markdown else "markup")
    for m in _HEX.finditer(text):
        out.add(m.start(), m.end(), "color", m.group(0), parse_hex(m.group(0)))
    for m in _RGB.finditer(text):
        out.add(m.start(), m.end(), "color", m.group(0), parse_color(m.group(0)))
    for s, e, name in spans.values:
        if _colourish(name):
            for w in _WORD.finditer(text, s, e):
                rgb = parse_color(w.group(0))
                if rgb is not None:
                    out.add(w.start(), w.end(), "color", w.group(0), rgb)
    colours = [f for f in out.found if f.kind == "color"]
    for m in _NUMBER.finditer(text):
        if not any(c.start <= m.start() < c.end for c in colours):
            out.add(m.start(), m.end(), "number", float(m.group(1)))
    for s, e, _name in spans.values:  # single-word CSS values: bold, italic, center
        value = text[s:e].strip()
        if re.fullmatch(r"[A-Za-z-]+", value) and parse_color(value) is None:
            at = text.index(value, s)
            out.add(at, at + len(value), "string", value)
    if markdown:
        _markdown_text(text, out)
    else:
        _text_nodes(text, out)
    return sorted(out.found, key=lambda f: (f.start, f.kind))


def _colourish(prop: str) -> bool:
    return prop in _COLOR_ATTRS or prop.endswith(("color", "colour")) or prop in (
        "background", "outline") or prop.startswith("border")


def _text_nodes(text: str, out: _Collector) -> None:
    """Text between tags (not inside <style> or <script>), unescaped."""
    raw = [b.span() for b in _RAW_TEXT.finditer(text)]
    for m in _TEXT_NODE.finditer(text):
        if any(s <= m.start(1) < e for s, e in raw):
            continue
        chunk = m.group(1)
        stripped = chunk.strip()
        if stripped:
            start = m.start(1) + chunk.index(stripped)
            out.add(start, start + len(stripped), "string", html.unescape(stripped))


def _markdown_text(text: str, out: _Collector) -> None:
    """Table cells, and the text of headings, list items and paragraph lines."""
    for m in re.finditer(r"^.*$", text, re.M):
        line = m.group(0)
        if re.fullmatch(r"[\s|:\-]*", line) or line.lstrip().startswith("<!--"):
            continue
        if "|" in line:
            for cs, ce in _cells(line):
                out.add(m.start() + cs, m.start() + ce, "string",
                        line[cs:ce].replace("\\|", "|"))
            continue
        body = re.match(r"\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)?", line)
        cs = body.end() if body else 0
        ce = len(line.rstrip())
        if ce > cs:
            out.add(m.start() + cs, m.start() + ce, "string", line[cs:ce])


def _cells(line: str) -> list[tuple[int, int]]:
    """Column spans of a table row's cell contents (pipes escaped with a backslash kept)."""
    bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    edges = [-1, *bounds, len(line)]
    cells = []
    for a, b in itertools.pairwise(edges):
        seg = line[a + 1 : b]
        stripped = seg.strip()
        if stripped:
            start = a + 1 + seg.index(stripped)
            cells.append((start, start + len(stripped)))
    return cells


def markup_text(lit: SourceLiteral, value: str) -> str:
    """``value`` written where ``lit`` stood: escaped for HTML/SVG, pipes for a Markdown cell."""
    if lit.lang == "markdown":
        return value.replace("|", "\\|")
    return html.escape(value, quote=False)


def scan(text: str, kind: Kind) -> list[SourceLiteral]:
    """Every editable literal of a source of ``kind``, in text order."""
    if kind == "chart":
        return python_literals(text)
    return markup_literals(text, markdown=kind == "table")


def write_string(lit: SourceLiteral, value: str) -> str:
    """The source text that makes ``lit`` read ``value``."""
    if lit.lang == "python":
        return python_requote(lit, value)
    return markup_text(lit, value)


def write_color(lit: SourceLiteral, rgb: Color) -> str:
    """The source text that makes the colour literal ``lit`` be ``rgb``, in its notation."""
    if lit.lang == "python":
        return python_requote(lit, format_color(str(lit.value), rgb))
    return format_color(lit.text, rgb)


def write_number(lit: SourceLiteral, value: float) -> str:
    """The source text that makes the number literal ``lit`` be ``value``, in its notation."""
    return format_number(lit.text, value)
