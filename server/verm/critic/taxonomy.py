"""(domain, role, nature) → (category, severity): the error taxonomy of DESIGN.md, per domain.

Severity tracks harm: wrong data or a missing element is 3, a legend, label or text that reads
differently 2 (a typo, two letters swapped, 1), cosmetics (a colour, a line width, grid and
spines) 1 — on a page a colour over a large area 2; a speck counts one less. An icon is graded
as the labelled set grades it: a part gone 3, a part added or reshaped 2, a colour 1. Every
category returned is in ``TAXONOMY[domain]``.
"""

from __future__ import annotations

import re

from verm.types import TAXONOMY

Nature = str
"""What changed: missing | extra | recolor | restyle | moved | resized | text | changed |
background | shifted (a parent's content, all moved alike) | data (a series' values, from the
sidecar) | limits (an axis's limits or scale, from the sidecar) | relayout (a layout declaration
such as display or padding, from the sidecar)."""

CHART_TEXT = frozenset({"title", "suptitle", "xlabel", "ylabel", "xticklabel", "yticklabel",
                        "legend-text", "text"})
CHART_MARKS = frozenset({"bar", "line", "patch", "wedge", "collection", "image"})
CHART_GUIDES = frozenset({"grid", "spine"})
TOP_CONTAINERS = frozenset({"figure", "axes", "page", "svg"})
"""Containers that are the whole canvas or plot area: never blamed as a whole element."""

TINY = 0.0005  # share of the frame below which a change is a speck
BIG = 0.05  # share of the frame above which a change is large

_NUMBER = re.compile(
    r"^[\s$€£¥+\-−(~≈<>]*\d[\d\s,.'_]*(?:e[+-]?\d+)?\s*(?:%|‰|[kKmMbBxX×]|[a-zA-Z]{1,3})?\)?\s*$"
)


def numeric_looking(text: str | None) -> bool:
    """'1,234.5', '42%', '$3.2M', '-7', '(12)': a number, perhaps with a unit or currency."""
    return bool(text) and bool(_NUMBER.match(text or ""))


def size_category(domain: str) -> str:
    """Category of a changed canvas (figure size, aspect) in ``domain``."""
    return {"html": "layout_error", "table": "layout_error"}.get(domain, "structure_error")


def blank_category(domain: str) -> str:
    return {"table": "layout_error"}.get(domain, "structure_error")


def categorize(
    domain: str,
    role: str,
    nature: Nature,
    *,
    share: float,
    container: bool = False,
    has_text: bool = False,
    numeric: bool = False,
) -> tuple[str, int]:
    """Category and severity of one change. ``share``: changed pixels / frame pixels."""
    table = {"chart": _chart, "svg": _svg, "html": _html, "table": _table}
    fn = table.get(domain, _chart)
    if nature == "shifted":  # a parent's margin or padding: where things sit
        nature = "moved"
    if nature == "data":  # the sidecar says the series' own values differ
        return ("data_error" if domain == "chart" else TAXONOMY[domain][0]), 3
    if nature == "limits":  # an axis's limits or scale
        return "structure_error", 2
    if nature in ("subplots", "retyped"):  # the plots' grid, a chart's type: every mark moves
        return "structure_error", 3
    if nature in ("rows-missing", "columns-moved"):  # a table's rows or columns, as wholes
        return "layout_error", 3
    if nature == "cells-missing":  # a row of a page's table lost a cell
        return "structure_error", 3
    if nature == "rows-extra":
        return "layout_error", 2
    if nature == "relayout":  # a layout declaration (display, padding, width) set differently
        return ("layout_error" if domain in ("html", "table") else "style_error"), 2
    if nature == "restyle":  # a thicker line, a bigger font: how it looks, not what it says
        return ("layout_error" if domain == "table" else "style_error"), 1 if share < BIG else 2
    category, severity = fn(role, nature, share, container, has_text, numeric)
    if category not in TAXONOMY.get(domain, TAXONOMY["chart"]):
        category = TAXONOMY.get(domain, TAXONOMY["chart"])[0]
    return category, max(1, min(3, severity))


def _scaled(base: int, share: float) -> int:
    """Big areas outrank specks: one step down for a speck, one up for a large change."""
    if share < TINY:
        return base - 1
    if share >= BIG:
        return base + 1
    return base


def _chart(role: str, nature: Nature, share: float, container: bool, has_text: bool,
           numeric: bool) -> tuple[str, int]:
    if role in CHART_TEXT:
        if nature in ("recolor", "moved", "resized"):
            return "style_error", 1
        return "text_error", 2
    if role in CHART_MARKS:
        if nature == "recolor":  # a series in another colour: cosmetic, its data are right
            return "style_error", 1
        return "data_error", 3  # wrong data is wrong however few pixels show it
    if role in CHART_GUIDES:
        return "style_error", 1
    if role in ("legend", "colorbar"):
        if nature in ("missing", "extra"):
            return "structure_error", 2
        return "style_error", 1
    if role == "axes":
        if nature in ("recolor", "background"):
            return "style_error", 2 if share >= BIG else 1
        if nature in ("missing", "extra") and not container:
            return "structure_error", 3
        if nature in ("moved", "resized"):
            return "structure_error", 2
        # Unanchored ink inside the plot area is data the renderer did not name.
        return "data_error", min(3, _scaled(2, share))
    if nature in ("recolor", "background"):
        return "style_error", 2 if share >= BIG else 1
    return "structure_error", 2


def _svg(role: str, nature: Nature, share: float, container: bool, has_text: bool,
         numeric: bool) -> tuple[str, int]:
    if role == "text" or (has_text and not container):
        if nature == "recolor":
            return "style_error", 1
        if nature in ("missing", "extra"):
            return "structure_error", 2
        return "text_symbol_error", 2
    if nature in ("recolor", "background"):  # a fill or stroke colour: cosmetic
        return "style_error", 1
    if nature == "missing":  # a part of the icon is gone
        return "structure_error", 3
    if nature == "extra":
        return "structure_error", min(2, _scaled(2, share))
    return "shape_error", min(2, _scaled(2, share))


def _html(role: str, nature: Nature, share: float, container: bool, has_text: bool,
          numeric: bool) -> tuple[str, int]:
    texty = role == "text" or (has_text and not container)
    if nature == "recolor":  # the element's own (text) colour
        return "style_error", 1 if texty or share < BIG else 2
    if nature == "background":  # its fill: a button, a card
        return "style_error", 1 if share < BIG else 2
    if nature == "missing":  # content the page should show is not there
        return "structure_error", 3
    if nature == "extra":
        return "structure_error", _scaled(2, share)
    if nature in ("moved", "resized"):
        return "layout_error", 2
    if texty or nature == "text":
        return "text_error", 2
    return "layout_error", 2


def _table(role: str, nature: Nature, share: float, container: bool, has_text: bool,
           numeric: bool) -> tuple[str, int]:
    if nature in ("text", "changed") and role in ("cell", "header", "text") and not container:
        # A wrong number is wrong data (3); a word that reads differently, a label (2).
        return ("numeric_error", 3) if numeric else ("text_error", 2)
    if nature == "recolor":
        return ("text_error" if has_text else "layout_error"), 1
    if nature in ("missing", "extra"):
        return "layout_error", _scaled(2, share)
    return "layout_error", 2
