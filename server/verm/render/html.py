"""HTML pages: render in the shared Chromium, and tie every drawn element to its source line.

Each start tag gets a ``data-verm="i"`` attribute (``i`` indexes the tag table: line and column
span of that tag), found with ``html.parser`` so the rest of the text stays byte-for-byte the
same. One ``evaluate`` then measures every element and reports which CSS declarations of the
page's ``<style>`` blocks and ``style=""`` attributes style it, so a style discrepancy can point
at the declaration's line rather than at the element.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import logging
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from PIL import Image

from verm.render.base import RenderOptions
from verm.render.browser import (
    Browser,
    BrowserError,
    BrowserPool,
    BrowserTimeout,
    Lease,
    Site,
    decode_png,
    path_of_url,
    url_for,
)
from verm.safeio import DEFAULT_LIMITS, ReadLimits, read_stylesheet
from verm.source import Source
from verm.types import LINE_BREAK, Anchor, Kind, Range, Render, RenderFailure

log = logging.getLogger(__name__)

ATTR = "data-verm"

# Elements whose content browsers treat as text: tags inside them are not elements.
_RAW_TEXT = frozenset({"textarea", "title", "xmp", "noscript", "noembed", "noframes", "iframe",
                       "plaintext"})
_IMAGE_TAGS = frozenset({"img", "svg", "canvas", "video", "picture", "object", "embed"})
_PAGE_TAGS = frozenset({"html", "body"})

# Shorthands whose declaration also sets a longhand the anchors report.
_SHORTHANDS: dict[str, tuple[str, ...]] = {
    "background": ("background-color",),
    "border": ("border-color",),
    "border-top": ("border-color",),
    "border-right": ("border-color",),
    "border-bottom": ("border-color",),
    "border-left": ("border-color",),
    "font": ("font-size", "font-weight", "font-family"),
}
# Properties a child takes from its parent when no rule sets them on the child itself.
_INHERITED = ("color", "font-size", "font-weight", "font-family", "font-style", "line-height",
              "text-align", "letter-spacing", "visibility", "white-space")


# ---- the render's deadline ---------------------------------------------------------------------


TIMEOUT_S_MAX = 600.0  # ceilings whatever the options say (defence behind the config's clamps)
MEMORY_MB_MAX = 64 << 10


def _within(value: float, high: float, default: float) -> float:
    return min(value, high) if value > 0 and math.isfinite(value) else default


class Deadline:
    """The render's ``timeout_s`` from its start, for the work outside the browser too (parsing
    a huge page, mapping its elements back): checked in the loops that grow with the input."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = _within(timeout_s, TIMEOUT_S_MAX, 10.0)
        self.at = time.monotonic() + self.timeout_s

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self, stage: str) -> None:
        if time.monotonic() > self.at:
            raise BrowserTimeout(f"timed out after {self.timeout_s:g} s while {stage} (a very "
                                 "large page? split it, or raise the timeout)")


class _Never(Deadline):
    """No deadline: for callers outside a render (tests, tools)."""

    def __init__(self) -> None:
        self.timeout_s = self.at = math.inf


NO_DEADLINE = _Never()


# ---- positions ---------------------------------------------------------------------------------


_LONE_CR = re.compile(r"\r(?!\n)")


class LineIndex:
    """Offsets ↔ (0-based line, column) in one text, lines ended at \\n, \\r\\n or a lone \\r
    as LSP ends them (``annotate_html`` feeds html.parser a lone \\r as \\n to agree)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]

    def offset(self, line: int, col: int) -> int:
        return self.starts[min(line, len(self.starts) - 1)] + col

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def line_end(self, line: int) -> int:
        """Column of the end of ``line`` (before its newline)."""
        start = self.starts[line]
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return len(self.text[start:end].rstrip("\r"))

    def span(self, start: int, end: int) -> tuple[int, int, int]:
        """(line, col0, col1) of [start, end), cut at the end of the first line."""
        line, c0 = self.pos(start)
        line1, c1 = self.pos(end)
        return line, c0, c1 if line1 == line else self.line_end(line)


# ---- CSS scanning ------------------------------------------------------------------------------


@dataclass
class Decl:
    """One CSS declaration and where it is written."""

    prop: str
    value: str
    line: int
    start: int
    end: int
    important: bool
    order: int
    selector: str = "style attribute"
    file: str | None = None  # a linked stylesheet; None: the source itself

    def entry(self) -> dict[str, Any]:
        """What ``anchor.props['css'][prop]`` holds."""
        d = {"line": self.line, "start": self.start, "end": self.end, "value": self.value,
             "selector": self.selector}
        if self.file:
            d["file"] = self.file
        return d


@dataclass
class CssRule:
    selector: str
    selectors: list[tuple[str, tuple[int, int, int]]]  # (selector, specificity), pseudo-free
    decls: list[Decl]


@dataclass
class _Css:
    """Where the CSS scanner writes: one source text, its lines, and the cascade order."""

    text: str  # comments blanked: same offsets as the original
    lines: LineIndex
    order: Iterator[int]
    file: str | None = None
    deadline: Deadline = NO_DEADLINE


_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"?|\'(?:\\.|[^\'\\\n])*\'?|[(){};,\[\]]')
_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_IMPORTANT = re.compile(r"!\s*important\s*$", re.I)
_PROP = re.compile(r"^(?:--[\w-]+|-?[a-zA-Z][\w-]*)$")
_PSEUDO_ELEMENT = re.compile(r"::|:(?:before|after|first-line|first-letter)\b", re.I)
_NESTING_AT = frozenset({"media", "supports", "layer", "container", "document", "scope"})


def _blank_comments(css: str) -> str:
    """Comments → spaces (newlines kept), so offsets still point into the original text."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), css)


def _find_top(text: str, i: int, end: int, stops: str) -> int:
    """Index of the first char of ``stops`` outside strings and brackets, or -1."""
    depth = 0
    for m in _TOKEN.finditer(text, i, end):
        ch = m.group()
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and len(ch) == 1 and ch in stops:
            return m.start()
    return -1


def _match_brace(text: str, open_at: int, end: int) -> int:
    """Index of the '}' closing the '{' at ``open_at`` (``end`` when unterminated)."""
    depth = 0
    for m in _TOKEN.finditer(text, open_at, end):
        ch = m.group()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return end


def split_selectors(selector: str) -> list[str]:
    """Top-level comma split of a selector list."""
    parts, i = [], 0
    while True:
        j = _find_top(selector, i, len(selector), ",")
        if j < 0:
            parts.append(selector[i:].strip())
            return [p for p in parts if p]
        parts.append(selector[i:j].strip())
        i = j + 1


def specificity(selector: str) -> tuple[int, int, int]:
    """CSS specificity (ids, classes/attributes/pseudo-classes, types), good enough to rank."""
    s = re.sub(r"\\.", "x", selector)
    s = re.sub(r"\[[^\]]*\]", " [] ", s)
    s = re.sub(r":where\((?:[^()]|\([^()]*\))*\)", " ", s, flags=re.I)
    s = re.sub(r":(?:not|is|has|matches|-webkit-any)\(", " ", s, flags=re.I)
    s = re.sub(r"\([^()]*\)", "", s).replace(")", " ")
    ids = len(re.findall(r"#[\w-]+", s))
    classes = (len(re.findall(r"\.[\w-]+", s)) + s.count("[]")
               + len(re.findall(r"(?<!:):[\w-]+", s)))
    types = len(re.findall(r"(?:^|[\s>+~|])[a-zA-Z][\w-]*", s)) + len(re.findall(r"::[\w-]+", s))
    return ids, classes, types


def parse_declarations(css: _Css, start: int, end: int,
                       selector: str = "style attribute") -> list[Decl]:
    """Declarations of ``css.text[start:end]`` (a rule body or a style attribute).

    Nested rules are skipped; positions are positions in the scanned file.
    """
    text, decls, i = css.text, [], start
    while i < end:
        j = _find_top(text, i, end, ";{")
        stop = end if j < 0 else j
        if j >= 0 and text[j] == "{":  # a nested rule: not a declaration of this element
            i = _match_brace(text, j, end) + 1
            continue
        decls.extend(_declaration(css, i, stop, selector))
        i = stop + 1
    return decls


def _declaration(css: _Css, i: int, stop: int, selector: str) -> list[Decl]:
    seg = css.text[i:stop]
    colon = seg.find(":")
    if colon < 0:
        return []
    prop = seg[:colon].strip().lower()
    value = " ".join(seg[colon + 1:].split())
    if not _PROP.match(prop) or not value:
        return []
    important = bool(_IMPORTANT.search(value))
    value = _IMPORTANT.sub("", value).strip()
    lead = len(seg) - len(seg.lstrip())
    line, c0, c1 = css.lines.span(i + lead, i + len(seg.rstrip()))
    decl = Decl(prop, value, line, c0, c1, important, next(css.order), selector, css.file)
    return [decl] + [dataclasses.replace(decl, prop=long) for long in _SHORTHANDS.get(prop, ())]


def scan_css(css: _Css, start: int, end: int) -> list[CssRule]:
    """Style rules of ``css.text[start:end]``, descending into @media and friends."""
    text, rules, i = css.text, [], start
    while i < end:
        css.deadline.check("reading the page's CSS")
        j = _find_top(text, i, end, "{;}")
        if j < 0:
            break
        prelude = " ".join(text[i:j].split())
        if text[j] != "{":
            i = j + 1
            continue
        close = _match_brace(text, j, end)
        if prelude.startswith("@"):
            name = prelude[1:].split(None, 1)[0].lower() if len(prelude) > 1 else ""
            if name in _NESTING_AT:
                rules.extend(scan_css(css, j + 1, close))
        elif prelude:
            sels = [(s, specificity(s)) for s in split_selectors(prelude)
                    if not _PSEUDO_ELEMENT.search(s)]
            decls = parse_declarations(css, j + 1, close, prelude)
            if sels and decls:
                rules.append(CssRule(prelude, sels, decls))
        i = close + 1
    return rules


# ---- annotation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """A start tag of the source: its name and where it is written."""

    name: str
    line: int
    start: int
    end: int

    @property
    def range(self) -> Range:
        return Range.span(self.line, self.start, self.end)


@dataclass
class Annotated:
    """The source with ``data-verm`` attributes, and what the page script needs to map back."""

    html: str
    tags: list[Tag] = field(default_factory=list)
    rules: list[CssRule] = field(default_factory=list)
    inline: dict[int, list[Decl]] = field(default_factory=dict)

    def decls(self) -> list[Decl]:
        """Every declaration, numbered as the page script refers to them."""
        out = [d for r in self.rules for d in r.decls]
        return out + [d for ds in self.inline.values() for d in ds]

    def script_arg(self) -> dict[str, Any]:
        """The collector's argument: selectors and declarations by number (small to send)."""
        number = {id(d): i for i, d in enumerate(self.decls())}
        return {
            "attr": ATTR, "all": True, "crop": None, "inherited": list(_INHERITED),
            "decls": [{"p": d.prop, "imp": d.important, "o": d.order} for d in self.decls()],
            "rules": [{"sels": r.selectors, "d": [number[id(d)] for d in r.decls]}
                      for r in self.rules],
            "inline": {str(i): [number[id(d)] for d in ds] for i, ds in self.inline.items()},
        }


_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


class _Annotator(HTMLParser):
    def __init__(self, text: str, path: Path | None, deadline: Deadline = NO_DEADLINE,
                 limits: ReadLimits = DEFAULT_LIMITS) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.path = path
        self.deadline = deadline
        self.limits = limits
        self.lines = LineIndex(text)
        self.css = _Css(_blank_comments(text), self.lines, itertools.count(), deadline=deadline)
        self.out = Annotated(html=text)
        self.inserts: list[tuple[int, str]] = []
        self.raw_until: str | None = None
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.deadline.check("reading the page's source")
        if self.raw_until is not None:
            return
        raw = self.get_starttag_text() or ""
        name = re.match(r"<([^\s/>]+)", raw)
        if name is None:
            return
        line, col = self.getpos()
        offset = self.lines.offset(line - 1, col)
        index = len(self.out.tags)
        _, c0, c1 = self.lines.span(offset, offset + len(raw))
        self.out.tags.append(Tag(tag, line - 1, c0, c1))
        self.inserts.append((offset + 1 + len(name.group(1)), f' {ATTR}="{index}"'))
        self._inline_style(raw, offset, index)
        if tag == "link":
            self._linked_sheet(dict(attrs))
        if tag in _RAW_TEXT:
            self.raw_until = tag
        self.in_style = tag == "style"

    def _inline_style(self, raw: str, offset: int, index: int) -> None:
        m = _STYLE_ATTR.search(raw)
        if m is None:
            return
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        start = offset + m.start(group)
        decls = parse_declarations(self.css, start, start + len(m.group(group)))
        if decls:
            self.out.inline[index] = decls

    def _linked_sheet(self, attrs: dict[str, str | None]) -> None:
        """Rules of a local ``<link rel=stylesheet>`` the page may load, in cascade order."""
        rel = (attrs.get("rel") or "").lower().split()
        href = attrs.get("href")
        if self.path is None or "stylesheet" not in rel or not href:
            return
        sheet = path_of_url(urljoin(url_for(self.path), href))
        try:
            if sheet is None:
                return
            sheet = sheet.resolve()
            sheet.relative_to(self.path.parent.resolve())
            # a regular file within the cap: a FIFO or a sparse 3 GB file must not hang us
            text = read_stylesheet(sheet, self.limits).decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return
        css = _Css(_blank_comments(text), LineIndex(text), self.css.order, str(sheet),
                   self.deadline)
        self.out.rules.extend(scan_css(css, 0, len(text)))

    def handle_endtag(self, tag: str) -> None:
        if tag == self.raw_until:
            self.raw_until = None
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style and self.raw_until is None:
            line, col = self.getpos()
            start = self.lines.offset(line - 1, col)
            self.out.rules.extend(scan_css(self.css, start, start + len(data)))

    def result(self) -> Annotated:
        pieces, last = [], 0
        for at, attr in self.inserts:
            pieces += [self.text[last:at], attr]
            last = at
        pieces.append(self.text[last:])
        self.out.html = "".join(pieces)
        return self.out


def annotate_html(text: str, path: Path | None = None,
                  deadline: Deadline = NO_DEADLINE,
                  limits: ReadLimits = DEFAULT_LIMITS) -> Annotated:
    """Mark every start tag of ``text`` with its index in the tag table; collect its CSS.

    With ``path``, local stylesheets the page links are scanned too (their declarations carry
    ``file``). Raises ``BrowserTimeout`` past ``deadline``.
    """
    # html.parser counts lines at \n only; browsers read a lone \r as \n anyway, and the swap
    # keeps every offset, so its positions become LSP's.
    text = _LONE_CR.sub("\n", text)
    parser = _Annotator(text, Path(path).absolute() if path else None, deadline, limits)
    try:
        parser.feed(text)
        parser.close()
    except BrowserError:
        raise
    except Exception as exc:  # html.parser is lenient; keep what it found
        log.debug("html.parser stopped early: %s", exc)
    return parser.result()


# ---- in the page -------------------------------------------------------------------------------

# One pass over the page: settle fonts and animations, then measure every element, resolve which
# CSS declarations style it, and describe table cells by their row and column header.
_COLLECT_JS = r"""
async ({attr, decls, rules, inline, all, crop, inherited}) => {
  try {
    await Promise.race([document.fonts ? document.fonts.ready : null,
                        new Promise(r => setTimeout(r, 500))]);
  } catch (e) {}
  try {
    for (const a of document.getAnimations()) { try { a.finish(); } catch (e) { a.cancel(); } }
  } catch (e) {}
  window.scrollTo(0, 0);
  const sx = window.scrollX, sy = window.scrollY;
  const root = document.documentElement;
  if (!root) return JSON.stringify({width: 0, height: 0, elements: [], crop: null});
  const SKIP = new Set(['head', 'meta', 'link', 'script', 'style', 'title', 'template', 'base',
                        'noscript', 'defs', 'clipPath', 'mask', 'symbol', 'linearGradient',
                        'radialGradient', 'filter', 'marker', 'pattern']);
  const page = (r) => [r.left + sx, r.top + sy, r.right + sx, r.bottom + sy];
  const clean = (s, n) => s.replace(/\s+/g, ' ').trim().slice(0, n);

  let ctx = null;  // colours as [r, g, b, a]; odd syntaxes (oklch, color()) via a 1px canvas
  const rgba = (c) => {
    const m = /^rgba?\(([^)]*)\)$/.exec(c || '');
    if (m) {
      const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    if (!c || c === 'transparent' || c === 'none') return [0, 0, 0, 0];
    if (!ctx) {
      ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
    }
    ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#000'; ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };

  // The cascade, roughly: !important, then style attribute, specificity, source order.
  const valid = (s) => { try { root.matches(s); return true; } catch (e) { return false; } };
  const sheet = rules.map(r => ({sels: r.sels.filter(s => valid(s[0])), d: r.d}));
  const beats = (x, y) => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] > y[i];
    return false;
  };
  const declared = (el, v) => {
    const best = {};
    const offer = (i, inl, spec) => {
      const d = decls[i], rank = [d.imp ? 1 : 0, inl, spec[0], spec[1], spec[2], d.o];
      if (!best[d.p] || beats(rank, best[d.p][0])) best[d.p] = [rank, i];
    };
    for (const r of sheet) {
      let spec = null;
      for (const [s, sp] of r.sels) {
        if (el.matches(s) && (spec === null || beats(sp, spec))) spec = sp;
      }
      if (spec !== null) for (const i of r.d) offer(i, 0, spec);
    }
    for (const i of (v !== null && inline[v]) || []) offer(i, 1, [0, 0, 0]);
    const out = {};
    for (const p in best) out[p] = best[p][1];
    return out;
  };

  // Table cells: data row number (header rows are 0) and the header text of their column.
  const tables = new Map();
  const tableInfo = (table) => {
    if (tables.has(table)) return tables.get(table);
    const rows = Array.from(table.rows), head = table.tHead;
    let header = null;
    if (head && head.rows.length) header = head.rows[head.rows.length - 1];
    else if (rows.length && rows[0].cells.length
             && Array.from(rows[0].cells).every(c => c.localName === 'th')) header = rows[0];
    const rowNo = new Map();
    let n = 0;
    for (const r of rows) {
      const inHead = r === header || (r.parentElement && r.parentElement.localName === 'thead');
      rowNo.set(r, inHead ? 0 : ++n);
    }
    const info = {header, rowNo};
    tables.set(table, info);
    return info;
  };
  const cellInfo = (el) => {
    const tr = el.parentElement, table = el.closest('table');
    if (!tr || !table || tr.localName !== 'tr') return null;
    const t = tableInfo(table);
    let col = 0;
    for (const c of tr.cells) { if (c === el) break; col += c.colSpan || 1; }
    let head = null;
    if (t.header) {
      let at = 0;
      for (const h of t.header.cells) {
        const span = h.colSpan || 1;
        if (col >= at && col < at + span) { head = clean(h.textContent, 40); break; }
        at += span;
      }
    }
    return {row: t.rowNo.get(tr) || 0, column: col, header: head};
  };

  // Stable keys: html>body>div[1]>p[0] (index among same-tag siblings), restarting at a unique id.
  const keys = new Map(), ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  const keyOf = (el) => {
    if (keys.has(el)) return keys.get(el);
    const tag = el.localName, parent = el.parentElement;
    let k;
    if (el.id && ids.get(el.id) === 1) k = '#' + el.id;
    else if (el === root || !parent) k = tag;
    else if (parent === root) k = keyOf(root) + '>' + tag;
    else {
      let i = 0;
      for (let s = el.previousElementSibling; s; s = s.previousElementSibling) {
        if (s.localName === tag) i++;
      }
      k = keyOf(parent) + '>' + tag + '[' + i + ']';
    }
    keys.set(el, k);
    return k;
  };

  const list = all ? [root, ...root.querySelectorAll('*')]
                   : Array.from(document.querySelectorAll('[' + attr + ']'));
  const index = new Map(), resolved = new Map(), skipped = new Set(), out = [];
  for (const el of list) {
    const parent = el.parentElement;
    if (SKIP.has(el.localName) || (parent && skipped.has(parent))) { skipped.add(el); continue; }
    const v = el.getAttribute(attr);
    const pi = parent && index.has(parent) ? index.get(parent) : -1;
    const pr = pi >= 0 ? out[pi] : null;
    let css = {};
    if (all) {
      css = declared(el, v);
      const pcss = parent ? resolved.get(parent) : null;
      if (pcss) for (const p of inherited) if (!(p in css) && p in pcss) css[p] = pcss[p];
      resolved.set(el, css);
    }
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    let text = '';
    for (const n of el.childNodes) if (n.nodeType === 3) text += n.data;
    const svg = el instanceof SVGElement && el.localName !== 'svg';
    index.set(el, out.length);
    out.push({
      v, a: pr ? (pr.v !== null ? pr.v : pr.a) : null, p: pi, tag: el.localName,
      key: all ? keyOf(el) : v, box: page(r), text: clean(text, 80),
      full: all ? null : clean(el.textContent, 80),
      vis: cs.display !== 'none' && cs.visibility !== 'hidden' && cs.visibility !== 'collapse'
           && parseFloat(cs.opacity) !== 0 && r.width > 0 && r.height > 0,
      id: el.id || null, cls: el.getAttribute('class'), alt: el.getAttribute('alt'),
      style: {
        'color': rgba(cs.color), 'background-color': rgba(cs.backgroundColor),
        'border-color': rgba(cs.borderTopColor), 'fill': svg ? rgba(cs.fill) : null,
        'font-size': cs.fontSize, 'font-weight': cs.fontWeight, 'font-family': cs.fontFamily,
        'text-align': cs.textAlign,
      },
      css, cell: (el.localName === 'td' || el.localName === 'th') ? cellInfo(el) : null,
    });
  }
  const cropped = crop ? document.querySelector(crop) : null;
  const body = document.body;
  return JSON.stringify({
    width: Math.max(root.scrollWidth, body ? body.scrollWidth : 0),
    height: Math.max(root.scrollHeight, body ? body.scrollHeight : 0),
    elements: out, crop: cropped ? page(cropped.getBoundingClientRect()) : null,
  });
}
"""


@dataclass
class PageShot:
    """What one browser job brings back: PNG, element records, and where the image was cut."""

    png: bytes
    data: dict[str, Any]
    origin: tuple[int, int]  # page pixel at the image's top left
    clipped: bool
    console: list[str]
    url: str


async def capture(lease: Lease, url: str, *, arg: dict[str, Any], full_page: bool,
                  max_pixels: int, crop_margin: int | None = None) -> PageShot:
    """Load ``url``, collect element records, and screenshot (viewport, full page, or crop).

    Runs on the browser's event loop. With ``crop_margin``, the image is the ``arg['crop']``
    element's box plus that margin (the Markdown renderer's tight crop).
    """
    await lease.goto(url)
    data = json.loads(await lease.evaluate(_COLLECT_JS, arg))  # a string: Playwright's own
    # serialisation of a nested result costs ~60 ms for 80 elements, JSON ~3 ms
    clip, clipped = _clip(data, lease.slot.viewport, full_page, max_pixels, crop_margin)
    png = await lease.screenshot(clip)
    origin = (clip[0], clip[1]) if clip else (0, 0)
    return PageShot(png, data, origin, clipped, list(lease.console), url)


def _clip(data: dict[str, Any], viewport: tuple[int, int], full_page: bool, max_pixels: int,
          crop_margin: int | None) -> tuple[tuple[int, int, int, int] | None, bool]:
    if crop_margin is not None and data.get("crop"):
        x0, y0, x1, y1 = data["crop"]
        x0, y0 = max(0, math.floor(x0) - crop_margin), max(0, math.floor(y0) - crop_margin)
        x1, y1 = math.ceil(x1) + crop_margin, math.ceil(y1) + crop_margin
    elif full_page:
        x0, y0 = 0, 0
        x1, y1 = max(viewport[0], int(data["width"])), max(viewport[1], int(data["height"]))
    else:
        return None, False
    w, h = min(x1 - x0, max_pixels), min(y1 - y0, max_pixels)
    return (x0, y0, max(1, w), max(1, h)), (w, h) != (x1 - x0, y1 - y0)


# ---- anchors -----------------------------------------------------------------------------------


def page_scale(options: RenderOptions, viewport: tuple[int, int]) -> float:
    """The device scale factor to draw at: ``options.scale`` (a reference captured on a HiDPI
    screen), kept within what ``max_pixels`` allows for the viewport."""
    s = options.scale if 0.25 <= options.scale <= 8 else 1.0
    return max(0.25, min(s, options.max_pixels / max(viewport)))


@dataclass
class Shot:
    """A page taken at its viewport and device scale: the picture, and the element records
    and capture origin in the picture's pixels."""

    page: PageShot
    image: Image.Image
    records: list[dict[str, Any]]
    origin: tuple[int, int]
    viewport: tuple[int, int]
    scale: float


def shoot(browser: Browser | BrowserPool, path: Path, site: Site, arg: dict[str, Any],
          options: RenderOptions, *, full_page: bool, crop_margin: int | None = None,
          deadline: Deadline | None = None) -> Shot:
    """Load ``path`` from ``site`` on a warm page and capture it, within what is left of
    ``deadline`` and the render's memory cap; raises ``BrowserError``."""
    deadline = deadline or Deadline(options.timeout_s)
    deadline.check("preparing the page")
    viewport = clamp_viewport(options)
    scale = page_scale(options, viewport)
    page = browser.run(
        lambda lease: capture(lease, url_for(path), arg=arg, full_page=full_page,
                              max_pixels=int(options.max_pixels / scale),
                              crop_margin=crop_margin),
        site=site, viewport=viewport, timeout_s=deadline.left(),
        chromium_path=options.chromium_path, scale=scale,
        memory_mb=int(_within(options.memory_mb, MEMORY_MB_MAX, 2048)),
        reported_s=deadline.timeout_s)
    image = decode_png(page.png)
    records, origin = to_image_px(page.data["elements"], page.origin, scale)
    return Shot(page, image, records, origin, viewport, scale)


def to_image_px(records: list[dict[str, Any]], origin: tuple[int, int], scale: float
                ) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    """Element records and the capture origin, from CSS px to image px (``scale`` each)."""
    if scale == 1.0:
        return records, origin
    return ([{**r, "box": [v * scale for v in r["box"]]} for r in records],
            (round(origin[0] * scale), round(origin[1] * scale)))


def clip_box(box: list[float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """``box`` cut to the image (an element partly off the picture: its drawn part)."""
    w, h = float(size[0]), float(size[1])
    x0, y0 = min(max(0.0, box[0]), w), min(max(0.0, box[1]), h)
    return x0, y0, min(max(x0, box[2]), w), min(max(y0, box[3]), h)


def hex_color(rgba: list[float] | None) -> str | None:
    """'#rrggbb' of an [r, g, b, a] colour; None when fully transparent."""
    if not rgba or len(rgba) < 4 or rgba[3] <= 0:
        return None
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgba[:3])


def quote_text(text: str, limit: int = 40) -> str:
    """``'text'`` for a location name, shortened."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "'" + text.replace("'", "’") + "'"


def _role(rec: dict[str, Any]) -> str:
    tag = rec["tag"]
    if tag in _PAGE_TAGS:
        return "page"
    if tag == "table":
        return "table"
    if tag == "th" or (tag == "td" and rec.get("cell") and rec["cell"]["row"] == 0):
        return "header"
    if tag == "td":
        return "cell"
    if tag in _IMAGE_TAGS:
        return "image"
    return "text" if rec["text"] else "element"


def _name(rec: dict[str, Any], role: str) -> str:
    cell = rec.get("cell")
    if role == "header":
        return f"header {quote_text(rec['text'] or (cell or {}).get('header') or '')}"
    if role == "cell" and cell:
        column = quote_text(cell["header"]) if cell.get("header") else str(cell["column"] + 1)
        return f"row {cell['row']}, column {column}"
    tag = f"<{rec['tag']}>"
    if role == "text":
        return f"{tag} {quote_text(rec['text'])}"
    for attr, key in (("id", "id"), ("class", "cls"), ("alt", "alt")):
        if rec.get(key):
            return f'<{rec["tag"]} {attr}="{str(rec[key])[:40]}">'
    return tag


def _color(rec: dict[str, Any], role: str) -> str | None:
    style = rec["style"]
    if rec["text"] and role in ("text", "cell", "header"):
        return hex_color(style["color"])
    return hex_color(style.get("fill")) or hex_color(style["background-color"])


def _kept(records: list[dict[str, Any]], size: tuple[int, int]) -> tuple[list[bool], list[bool]]:
    """(kept, has kept children) per record: visible and on the image, or holding such."""
    w, h = size
    kept, parent_of_kept = [False] * len(records), [False] * len(records)
    for i in range(len(records) - 1, -1, -1):
        rec = records[i]
        x0, y0, x1, y1 = rec["box"]
        on_image = x1 > 0 and y1 > 0 and x0 < w and y0 < h
        kept[i] = (rec["vis"] and on_image) or parent_of_kept[i] or rec["tag"] in _PAGE_TAGS
        if kept[i] and rec["p"] >= 0:
            parent_of_kept[rec["p"]] = True
    return kept, parent_of_kept


def _tag_of(value: Any, tags: list[Tag]) -> Tag | None:
    try:
        i = int(value)
    except (TypeError, ValueError):
        return None
    return tags[i] if 0 <= i < len(tags) else None


def build_anchors(records: list[dict[str, Any]], doc: Annotated, size: tuple[int, int],
                  origin: tuple[int, int] = (0, 0),
                  deadline: Deadline = NO_DEADLINE) -> list[Anchor]:
    """Anchors of an HTML page from the page's element records (image pixels, source lines)."""
    deadline.check("mapping the page's elements to its source")
    decls = doc.decls()
    ox, oy = origin
    shifted = [{**r, "box": [r["box"][0] - ox, r["box"][1] - oy, r["box"][2] - ox,
                             r["box"][3] - oy]} for r in records]
    kept, container = _kept(shifted, size)
    anchors = []
    for i, (rec, keep, holds) in enumerate(zip(shifted, kept, container, strict=True)):
        if keep:
            anchors.append(_anchor(rec, holds, doc.tags, decls, size))
        if i % 256 == 255:
            deadline.check("mapping the page's elements to its source")
    return anchors


def _anchor(rec: dict[str, Any], holds: bool, tags: list[Tag], decls: list[Decl],
            size: tuple[int, int]) -> Anchor:
    role = _role(rec)
    own, inherited = _tag_of(rec["v"], tags), _tag_of(rec["a"], tags)
    tag = own or inherited
    box = clip_box(rec["box"], size)
    style = rec["style"]
    props: dict[str, Any] = {
        "tag": rec["tag"],
        "line_from": "tag" if own else ("ancestor" if inherited else None),
        "style": {**{k: hex_color(style[k]) for k in ("color", "background-color", "border-color")},
                  **{k: style[k] for k in ("font-size", "font-weight", "font-family")},
                  **({"text-align": style["text-align"]} if rec["cell"] and style.get(
                      "text-align") else {})},
        "css": {prop: decls[i].entry() for prop, i in rec["css"].items() if 0 <= i < len(decls)},
    }
    for key in ("id", "cls", "alt"):
        if rec.get(key):
            props["class" if key == "cls" else key] = rec[key]
    if rec.get("cell"):
        props["cell"] = rec["cell"]
    return Anchor(box=box, role=role, key=str(rec["key"]), name=_name(rec, role),
                  range=tag.range if tag else None, text=rec["text"] or None,
                  color=_color(rec, role), container=holds or role == "page", props=props)


# ---- renderer ----------------------------------------------------------------------------------


_VIEWPORT = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def options_from_pragmas(source: Source, base: RenderOptions) -> RenderOptions:
    """``base`` with ``viewport=WxH`` and ``full-page=true`` pragmas of ``source`` applied."""
    options = base
    viewport = source.pragma("viewport")
    if viewport:
        m = _VIEWPORT.match(viewport)
        if m and int(m.group(1)) > 0 and int(m.group(2)) > 0:
            options = dataclasses.replace(options, viewport=(int(m.group(1)), int(m.group(2))))
        else:
            log.warning("%s: ignoring viewport=%s (expected WIDTHxHEIGHT, e.g. 800x600)",
                        source.path, viewport)
    full = source.pragma("full-page") or source.pragma("full_page")
    if full is not None:
        options = dataclasses.replace(options, full_page=full.lower() in ("1", "true", "yes", "on"))
    return options


def clamp_viewport(options: RenderOptions) -> tuple[int, int]:
    w, h = options.viewport
    return max(1, min(w, options.max_pixels)), max(1, min(h, options.max_pixels))


def is_blank(image: Any) -> bool:
    """True when every pixel equals the first (one value per band)."""
    return all(lo == hi for lo, hi in image.getextrema())


def failure_render(kind: Kind, source: Source, exc: BrowserError, started: float) -> Render:
    reason = exc.reason if exc.reason in ("timeout", "crash", "config", "memory") else "crash"
    return Render(kind=kind, source=source.path, image=None,
                  failure=RenderFailure(reason=reason, message=str(exc)),  # type: ignore[arg-type]
                  elapsed_ms=(time.perf_counter() - started) * 1000)


class HtmlRenderer:
    """Renders ``.html`` sources in the shared Chromium; anchors carry tag and CSS lines."""

    kind: Kind = "html"

    def __init__(self, browser: Browser | BrowserPool | None = None) -> None:
        self._owns = browser is None
        self.browser: Browser | BrowserPool = browser if browser is not None else Browser()

    def render(self, source: Source, options: RenderOptions) -> Render:
        started = time.perf_counter()
        deadline = Deadline(options.timeout_s)  # parsing and mapping back count too
        path = Path(source.path).absolute()
        try:
            limits = options.read_limits
            doc = annotate_html(source.text, path, deadline, limits)
            site = Site(root=path.parent, documents={path: doc.html.encode("utf-8", "replace")},
                        max_asset_bytes=limits.reference_bytes)
            taken = shoot(self.browser, path, site, doc.script_arg(), options,
                          full_page=options.full_page, deadline=deadline)
            anchors = build_anchors(taken.records, doc, taken.image.size, taken.origin,
                                    deadline)
        except BrowserError as exc:
            return failure_render(self.kind, source, exc, started)
        shot, image = taken.page, taken.image
        meta = {"viewport": list(taken.viewport), "full_page": options.full_page,
                "url": shot.url, "scale": taken.scale,
                "document_size": [shot.data["width"], shot.data["height"]],
                "clipped": shot.clipped, "console_errors": shot.console,
                "blank": is_blank(image), "backend": "chromium"}
        return Render(kind=self.kind, source=source.path, image=image, anchors=anchors,
                      elapsed_ms=(time.perf_counter() - started) * 1000, meta=meta)

    def close(self) -> None:
        if self._owns:
            self.browser.close()
