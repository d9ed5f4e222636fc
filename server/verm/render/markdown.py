"""Markdown tables: render through the shared Chromium with one fixed stylesheet, crop tight.

``markdown-it-py`` block tokens carry ``map`` line ranges, so each table row knows its source
line; a cell's column span is found by splitting that line on unescaped pipes (GFM's rule). The
renderer tags every cell and block with a ``data-verm`` key (``t0/r2/c1``), measures them in the
page, and crops the screenshot to the content plus a 12 px margin, as Visual-ERM's table
renders do, so a reference cut the same way lines up.
"""

from __future__ import annotations

import html
import itertools
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from markdown_it import MarkdownIt, rules_core
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from verm.render.base import RenderOptions
from verm.render.browser import Browser, BrowserError, BrowserPool, Site
from verm.render.html import (
    ATTR,
    NO_DEADLINE,
    Deadline,
    clip_box,
    failure_render,
    hex_color,
    is_blank,
    quote_text,
    shoot,
)
from verm.source import Source
from verm.types import Anchor, Kind, Position, Range, Render

MARGIN = 12  # px of background around the content, as in the Visual-ERM table renders

STYLESHEET = """
html { background: #ffffff; }
body { margin: 0; padding: 12px; color: #1f2328;
       font: 14px/1.45 "DejaVu Sans", sans-serif; }
#verm-md { display: inline-block; vertical-align: top; max-width: calc(100vw - 24px); }
#verm-md > :first-child { margin-top: 0; }
#verm-md > :last-child { margin-bottom: 0; }
h1, h2, h3, h4, h5, h6 { margin: 16px 0 8px; line-height: 1.25; font-weight: bold; }
h1 { font-size: 24px; } h2 { font-size: 20px; } h3 { font-size: 17px; }
h4, h5, h6 { font-size: 15px; }
p, ul, ol, blockquote, pre, table { margin: 0 0 12px; }
table { border-collapse: collapse; border-spacing: 0; }
th, td { border: 1px solid #8c959f; padding: 5px 12px; vertical-align: top; }
th { background: #eff2f5; font-weight: bold; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 90%; background: #eff1f3;
       padding: 1px 4px; }
pre { background: #f6f8fa; padding: 8px 12px; }
pre code { background: none; padding: 0; }
blockquote { margin-left: 0; padding-left: 12px; border-left: 3px solid #d0d7de;
             color: #59636e; }
hr { border: 0; border-top: 1px solid #d0d7de; }
img { max-width: 100%; }
"""

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head>
<body><main id="verm-md">{body}</main></body></html>
"""

_BLOCKS = {"heading_open": "heading", "paragraph_open": "paragraph", "list_item_open": "list item",
           "blockquote_open": None, "fence": "code", "code_block": "code", "hr": None}


@dataclass
class _Item:
    """What the source says about one tagged element: role, location name, source range."""

    key: str
    role: str
    range: Range
    label: str = ""  # blocks: "heading", "paragraph"...; cells: unused
    tag_cell: tuple[int, int] | None = None  # (row, column) for cells


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


READING = "reading the Markdown source"


class _TimedBlocks(StateBlock):
    """Block parsing that checks the render's deadline as it adds tokens: one huge table is
    a single rule call that may take many seconds."""

    deadline: Deadline = NO_DEADLINE

    def push(self, ttype: str, tag: str, nesting: Literal[-1, 0, 1]) -> Token:
        if len(self.tokens) % 1024 == 0:
            self.deadline.check(READING)
        return super().push(ttype, tag, nesting)


def _parse(md: MarkdownIt, text: str, deadline: Deadline) -> list[Token]:
    """``md.parse(text)``, with the block and inline rules interruptible at ``deadline``."""
    state = rules_core.StateCore(text, md, {})
    for rule in md.core.ruler.getRules(""):
        if rule is rules_core.block and not state.inlineMode and state.src:
            blocks = _TimedBlocks(state.src, md, state.env, state.tokens)
            blocks.deadline = deadline
            md.block.tokenize(blocks, blocks.line, blocks.lineMax)
        elif rule is rules_core.inline:
            for i, token in enumerate(state.tokens):
                if i % 256 == 0:
                    deadline.check(READING)
                if token.type == "inline":
                    token.children = [] if token.children is None else token.children
                    md.inline.parse(token.content, md, state.env, token.children)
        else:
            rule(state)
        deadline.check(READING)
    return state.tokens


def cell_spans(line: str) -> list[tuple[int, int]]:
    """Column spans of the cells of one table row: split on unescaped pipes, trim spaces.

    A leading container prefix (indent, ``>`` of a block quote) and the optional outer pipes
    are not cells. An empty cell spans the blanks between its pipes.
    """
    start = re.match(r"^(?:[ \t]*>)*[ \t]*", line).end()  # type: ignore[union-attr]
    end = len(line.rstrip())
    pipes = [i for i in range(start, end) if line[i] == "|" and not _escaped(line, i)]
    edges = list(pipes)
    if not edges or edges[0] != start:
        edges.insert(0, start - 1)
    if len(edges) < 2 or edges[-1] != end - 1:
        edges.append(end)
    spans = []
    for a, b in itertools.pairwise(edges):
        seg = line[a + 1:b]
        lead = len(seg) - len(seg.lstrip())
        s, e = a + 1 + lead, a + 1 + len(seg.rstrip())
        spans.append((s, e) if e > s else (a + 1, b))
    return spans


def _escaped(line: str, i: int) -> bool:
    n = 0
    while i - n - 1 >= 0 and line[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _block_range(lines: list[str], first: int, last: int) -> Range:
    """From the start of line ``first`` to the end of line ``last - 1`` (a token's map)."""
    last = max(first, min(last - 1, len(lines) - 1))
    width = len(lines[last].rstrip("\r")) if 0 <= last < len(lines) else 0
    return Range(Position(first, 0), Position(last, width))


class _Tagger:
    """Walks the token stream, tags tables, cells and blocks, and records their source."""

    def __init__(self, text: str, deadline: Deadline = NO_DEADLINE) -> None:
        self.deadline = deadline
        self.lines = text.split("\n")
        self.items: dict[str, _Item] = {}
        self.table = -1
        self.row = 0
        self.col = 0
        self.blocks = 0
        self.row_line = 0

    def walk(self, tokens: list[Token]) -> None:
        for i, tok in enumerate(tokens):
            if i % 256 == 0:
                self.deadline.check(READING)
            handler = getattr(self, "_" + tok.type, None)
            if handler is not None:
                handler(tok)
            elif tok.type in _BLOCKS and tok.map and not tok.hidden:
                self._block(tok)

    def _tag(self, tok: Token, item: _Item) -> None:
        tok.attrSet(ATTR, item.key)
        self.items[item.key] = item

    def _table_open(self, tok: Token) -> None:
        self.table += 1
        self.row = -1
        first, last = tok.map or (0, 1)
        self._tag(tok, _Item(f"t{self.table}", "table", _block_range(self.lines, first, last)))

    def _tr_open(self, tok: Token) -> None:
        self.row += 1
        self.col = 0
        self.row_line = tok.map[0] if tok.map else self.row_line + 1

    def _th_open(self, tok: Token) -> None:
        self._cell(tok, "header")

    def _td_open(self, tok: Token) -> None:
        self._cell(tok, "cell")

    def _cell(self, tok: Token, role: str) -> None:
        line = self.lines[self.row_line] if self.row_line < len(self.lines) else ""
        spans = cell_spans(line.rstrip("\r"))
        if self.col < len(spans):
            rng = Range.span(self.row_line, *spans[self.col])
        else:  # a cell markdown-it filled in: nothing written, point at the row's end
            end = len(line.rstrip())
            rng = Range.span(self.row_line, end, end)
        key = f"t{self.table}/r{self.row}/c{self.col}"
        self._tag(tok, _Item(key, role, rng, tag_cell=(self.row, self.col)))
        self.col += 1

    def _block(self, tok: Token) -> None:
        first, last = tok.map or (0, 1)
        key = f"b{self.blocks}"
        self.blocks += 1
        label = _BLOCKS[tok.type] or tok.tag
        self._tag(tok, _Item(key, "text", _block_range(self.lines, first, last), label=label))


def markdown_page(text: str, title: str = "table",
                  deadline: Deadline = NO_DEADLINE) -> tuple[str, dict[str, _Item]]:
    """The HTML page of a Markdown source (fixed stylesheet) and its tagged items by key."""
    md = _parser()
    tokens = _parse(md, text, deadline)
    tagger = _Tagger(text, deadline)
    tagger.walk(tokens)
    body = md.renderer.render(tokens, md.options, {})
    deadline.check(READING)
    page = _PAGE.format(title=html.escape(title), css=STYLESHEET, body=body)
    return page, tagger.items


def _name(item: _Item, rec: dict[str, Any]) -> str:
    text = rec.get("full") or ""
    cell = rec.get("cell") or {}
    if item.role == "header":
        return f"header {quote_text(text)}"
    if item.role == "cell":
        row = item.tag_cell[0] if item.tag_cell else cell.get("row", 0)
        column = (quote_text(cell["header"]) if cell.get("header")
                  else str((item.tag_cell or (0, 0))[1] + 1))
        return f"row {row}, column {column}"
    if item.role == "table":
        return f"table {int(item.key[1:]) + 1}"
    return f"{item.label} {quote_text(text)}" if text else item.label


def _anchor(item: _Item, rec: dict[str, Any], origin: tuple[int, int],
            size: tuple[int, int]) -> Anchor:
    ox, oy = origin
    x0, y0, x1, y1 = rec["box"]
    box = clip_box([x0 - ox, y0 - oy, x1 - ox, y1 - oy], size)
    style = rec["style"]
    text = (rec.get("full") or None) if item.role != "table" else None
    color = hex_color(style["color"] if text else style["background-color"])
    props: dict[str, Any] = {
        "tag": rec["tag"],
        "style": {**{k: hex_color(style[k]) for k in ("color", "background-color",
                                                       "border-color")},
                  **{k: style[k] for k in ("font-size", "font-weight", "font-family")},
                  **({"text-align": style["text-align"]} if item.role in ("cell", "header")
                     and style.get("text-align") else {})},
    }
    if item.tag_cell:
        props["cell"] = {"row": item.tag_cell[0], "column": item.tag_cell[1],
                         "header": (rec.get("cell") or {}).get("header")}
    return Anchor(box=box, role=item.role, key=item.key, name=_name(item, rec), range=item.range,
                  text=text, color=color, container=item.role == "table", props=props)


def build_anchors(records: list[dict[str, Any]], items: dict[str, _Item],
                  origin: tuple[int, int], size: tuple[int, int]) -> list[Anchor]:
    """A page anchor, then one anchor per tagged table, cell and block, in page order."""
    anchors = [Anchor(box=(0.0, 0.0, float(size[0]), float(size[1])), role="page", key="page",
                      name="page", color="#ffffff", container=True, props={"tag": "main"})]
    for rec in records:
        item = items.get(str(rec.get("key")))
        if item is not None and (rec["vis"] or item.role == "table"):
            anchors.append(_anchor(item, rec, origin, size))
    return anchors


class MarkdownRenderer:
    """Renders Markdown (GFM pipe tables) in the HTML renderer's browser; cells → source spans."""

    kind: Kind = "table"

    def __init__(self, browser: Browser | BrowserPool | None = None) -> None:
        self._owns = browser is None
        self.browser: Browser | BrowserPool = browser if browser is not None else Browser()

    def render(self, source: Source, options: RenderOptions) -> Render:
        started = time.perf_counter()
        deadline = Deadline(options.timeout_s)  # parsing and mapping back count too
        path = Path(source.path).absolute()
        arg = {"attr": ATTR, "all": False, "crop": "#verm-md", "inherited": [], "decls": [],
               "rules": [], "inline": {}}
        try:
            page, items = markdown_page(source.text, title=path.name, deadline=deadline)
            site = Site(root=path.parent, documents={path: page.encode("utf-8", "replace")},
                        max_asset_bytes=options.read_limits.reference_bytes)
            taken = shoot(self.browser, path, site, arg, options, full_page=True,
                          crop_margin=MARGIN, deadline=deadline)
            deadline.check("mapping the table's cells to its source")
            anchors = build_anchors(taken.records, items, taken.origin, taken.image.size)
        except BrowserError as exc:
            return failure_render(self.kind, source, exc, started)
        shot, image = taken.page, taken.image
        meta = {"viewport": list(taken.viewport), "crop": [*shot.origin, *image.size],
                "scale": taken.scale,
                "margin": MARGIN, "clipped": shot.clipped, "console_errors": shot.console,
                "blank": is_blank(image), "backend": "chromium", "tables": sum(
                    1 for a in anchors if a.role == "table")}
        return Render(kind=self.kind, source=source.path, image=image, anchors=anchors,
                      elapsed_ms=(time.perf_counter() - started) * 1000, meta=meta)

    def close(self) -> None:
        if self._owns:
            self.browser.close()
