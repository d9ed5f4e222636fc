"""Candidate edits for revise, in order of promise.

First what the critic's quick-fix payloads say outright (this colour literal draws the
render's wrong colour, this string reads its wrong text, this number is its wrong line width);
then, for a size error, the numbers elsewhere that scale it (an axis limit, a viewBox); then a
local search over the literals of the blamed lines: colours taken from the reference there,
numbers scaled ×0.5, ×0.8, ×1.25, ×2 and nudged ±1. Each proposal replaces one literal in its
own notation, so a kept edit reads as the user would have written it.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from verm.critic.analytic.findings import SAME_COLOR
from verm.critic.analytic.pixels import (
    Color,
    background,
    color_distance,
    differs_from,
    dominant_color,
)
from verm.critic.analytic.pixels import parse_hex as _parse_hex
from verm.revise.literals import (
    LineIndex,
    SourceLiteral,
    parse_number,
    scan,
    write_color,
    write_number,
    write_string,
)
from verm.types import TOP_OF_FILE, Discrepancy, Kind, Range

SCALES = (0.5, 0.8, 1.25, 2.0)  # tried on the numbers of a blamed line, then ±1
HINT_TARGETS = 4  # literals tried per quick-fix payload, nearest the blamed range first
REFERENCE_COLORS = 3  # dominant reference colours tried per colour literal
_PROP_ALIASES = {"lw": "linewidth", "strokewidth": "linewidth", "size": "fontsize",
                 "fs": "fontsize", "font": "fontsize", "weight": "fontweight",
                 "backgroundcolor": "background", "fc": "facecolor", "c": "color"}


@dataclass(frozen=True)
class Proposal:
    """One candidate edit of the current text: replace ``text[start:end]`` (``old``) by ``new``."""

    start: int
    end: int
    old: str
    new: str
    why: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new + text[self.end :]


def proposals(text: str, kind: Kind, discrepancies: Iterable[Discrepancy],
              reference: Image.Image | None) -> Iterator[Proposal]:
    """Candidate edits in order of promise: quick-fix hints first, then the local search."""
    lits = scan(text, kind)
    index = LineIndex(text)
    ranked = sorted(discrepancies, key=lambda d: -d.severity)
    done: set[tuple[int, int, str]] = set()
    for p in _chain(*(hinted(d, lits, index, text, kind) for d in ranked),
                    *(widened(d, lits, index, text, kind) for d in ranked),
                    *(searched(d, lits, text, kind, reference) for d in ranked)):
        key = (p.start, p.end, p.new)
        if p.new != p.old and key not in done:
            done.add(key)
            yield p


def _chain(*parts: Iterable[Proposal]) -> Iterator[Proposal]:
    for part in parts:
        yield from part


def hinted(d: Discrepancy, lits: list[SourceLiteral], index: LineIndex, text: str,
           kind: Kind) -> Iterator[Proposal]:
    """Edits the critic's quick-fix payload asks for outright."""
    fix = d.fix or {}
    near = _Nearness(d.range, index)
    match fix.get("kind"):
        case "color":
            yield from _color_hint(d, fix, lits, near)
        case "text":
            yield from _text_hint(d, fix, lits, near)
        case "style":
            yield from _style_hint(d, fix, lits, near)
        case "size":
            yield from _size_hint(d, fix, lits, near, _blamed_lines(d, text, kind))


def searched(d: Discrepancy, lits: list[SourceLiteral], text: str, kind: Kind,
             reference: Image.Image | None) -> Iterator[Proposal]:
    """The local search on the blamed lines: reference colours for colours, numbers nudged."""
    lines = _blamed_lines(d, text, kind)
    if not lines:
        return
    near = _Nearness(d.range, LineIndex(text))
    local = sorted((lit for lit in lits if lit.line in lines), key=near.key)
    targets = _target_colors(d, reference)
    for lit in local:
        if lit.color is None:
            continue
        for rgb in targets:
            if color_distance(rgb, lit.color) > 8:
                yield _replace(lit, write_color(lit, rgb), f"colour {lit.value} → "
                               f"reference colour {_hex(rgb)} ({d.location})")
    for lit in local:
        if lit.kind != "number" or not isinstance(lit.value, float):
            continue
        steps = [lit.value * s for s in SCALES if lit.value] + [lit.value + 1, lit.value - 1]
        for v in (round(v) if _is_int(lit) else v for v in steps):
            yield _replace(lit, write_number(lit, v), f"{lit.text} → {write_number(lit, v)} "
                           f"({d.location})")


class _Nearness:
    """How close a literal is to a discrepancy's range: inside, same line, lines away."""

    def __init__(self, rng: Range | None, index: LineIndex) -> None:
        self.known = rng is not None and rng != TOP_OF_FILE
        self.lines = (rng.start.line, rng.end.line) if rng is not None else (0, 0)
        self.span = ((index.offset(rng.start.line, rng.start.character),
                      index.offset(rng.end.line, rng.end.character))
                     if rng is not None else (0, 0))

    def __call__(self, lit: SourceLiteral) -> int:
        if not self.known:
            return 2
        if self.span[0] < lit.end and lit.start < self.span[1]:
            return 0
        first, last = self.lines
        if first <= lit.line <= last:
            return 1
        return 2 + min(abs(lit.line - first), abs(lit.line - last))

    def key(self, lit: SourceLiteral) -> tuple[int, int]:
        return self(lit), lit.start


def _replace(lit: SourceLiteral, new: str, why: str) -> Proposal:
    return Proposal(lit.start, lit.end, lit.text, new, why)


def _color_hint(d: Discrepancy, fix: dict[str, Any], lits: list[SourceLiteral],
                near: _Nearness) -> Iterator[Proposal]:
    """Colour literals that draw the render's wrong colour → the reference colour."""
    expected, actual = _parse_hex(str(fix.get("expected"))), _parse_hex(str(fix.get("actual")))
    if expected is None or actual is None:
        return
    prop = _canonical(fix.get("property"))
    found = [lit for lit in lits if lit.color is not None
             and color_distance(lit.color, actual) <= SAME_COLOR]
    found.sort(key=lambda lit: (near(lit), _canonical(lit.prop) != prop if prop else 0,
                                color_distance(lit.color or actual, actual), lit.start))
    for lit in found[:HINT_TARGETS]:
        yield _replace(lit, write_color(lit, expected),
                       f"colour {lit.value} → {fix['expected']} ({d.location})")


def _text_hint(d: Discrepancy, fix: dict[str, Any], lits: list[SourceLiteral],
               near: _Nearness) -> Iterator[Proposal]:
    """Literals that read the render's wrong text → the reference text."""
    expected, actual = fix.get("expected"), fix.get("actual")
    if not isinstance(expected, str) or not isinstance(actual, str) or not actual.strip():
        return
    ranked: list[tuple[int, int, int, Proposal]] = []
    for lit in lits:
        hit = _text_edit(lit, expected, actual, near)
        if hit is not None:
            tier, new = hit
            ranked.append((tier, near(lit), lit.start,
                           _replace(lit, new, f"text '{actual}' → '{expected}' ({d.location})")))
    ranked.sort(key=lambda r: r[:3])
    for *_, p in ranked[:HINT_TARGETS]:
        yield p


def _text_edit(lit: SourceLiteral, expected: str, actual: str,
               near: _Nearness) -> tuple[int, str] | None:
    """(tier, new source text) when ``lit`` plausibly produced ``actual``: equal, containing,
    or (near the blamed range) similar to it."""
    if lit.kind == "number":
        want, have = parse_number(expected), parse_number(actual)
        if want is not None and have is not None and lit.value == have:
            return 0, _number_text(lit, expected.strip())
        return None
    if not isinstance(lit.value, str):
        return None
    value, a = _norm(lit.value), _norm(actual)
    if value == a:
        return 0, write_string(lit, expected)
    if len(a) >= 2 and actual in lit.value:
        return 1, write_string(lit, lit.value.replace(actual, expected, 1))
    if near(lit) <= 1 and difflib.SequenceMatcher(None, value, a).ratio() >= 0.75:
        return 2, write_string(lit, expected)
    return None


def _style_hint(d: Discrepancy, fix: dict[str, Any], lits: list[SourceLiteral],
                near: _Nearness) -> Iterator[Proposal]:
    """A style value (line width, font size/weight, stroke width) → the reference's value."""
    prop = _canonical(fix.get("property"))
    want, have = parse_number(fix.get("expected")), parse_number(fix.get("actual"))
    ranked: list[tuple[int, int, int, Proposal]] = []
    why = f"{fix.get('property')} {fix.get('actual')} → {fix.get('expected')} ({d.location})"
    for lit in lits:
        named = bool(prop) and _canonical(lit.prop) == prop
        rank = 0 if named else 1
        if want is not None and have is not None and lit.kind == "number":
            assert isinstance(lit.value, float)
            if abs(lit.value - have) <= 1e-6 * max(1.0, abs(have)):
                ranked.append((0, rank, near(lit), _replace(lit, write_number(lit, want), why)))
            elif named and have and near(lit) <= 1:  # 1.5em where the render says 24px
                scaled = write_number(lit, lit.value * want / have)
                ranked.append((1, rank, near(lit), _replace(lit, scaled, why)))
        elif want is None and isinstance(lit.value, str) and lit.kind == "string" \
                and lit.value.strip().lower() == str(fix.get("actual")).strip().lower():
            ranked.append((0, rank, near(lit),
                           _replace(lit, write_string(lit, str(fix.get("expected"))), why)))
    ranked.sort(key=lambda r: r[:3])
    for *_, p in ranked[:HINT_TARGETS]:
        yield p


def _size_hint(d: Discrepancy, fix: dict[str, Any], lits: list[SourceLiteral],
               near: _Nearness, lines: set[int]) -> Iterator[Proposal]:
    """Numbers on the blamed lines scaled by reference size / render size."""
    local = sorted((lit for lit in lits if lit.kind == "number" and lit.line in lines and
                    lit.value), key=near.key)
    for lit in local:
        for r in size_ratios(fix):
            yield _scaled(lit, r, f"×{r:.2f} to the reference size ({d.location})")


def widened(d: Discrepancy, lits: list[SourceLiteral], index: LineIndex, text: str,
            kind: Kind) -> Iterator[Proposal]:
    """For a size error, numbers elsewhere that scale it, directly or inversely: an axis
    limit that stretches every bar, a viewBox that shrinks every shape."""
    if not d.fix or d.fix.get("kind") != "size":
        return
    ratios = size_ratios(d.fix)
    lines = _blamed_lines(d, text, kind)
    near = _Nearness(d.range, index)
    for lit in sorted((lit for lit in lits if lit.kind == "number" and lit.line not in lines
                       and lit.value), key=near.key):
        for r in ratios:
            yield _scaled(lit, 1 / r, f"÷{r:.2f}, inverse of the size error ({d.location})")
            yield _scaled(lit, r, f"×{r:.2f} to the reference size ({d.location})")


def size_ratios(fix: dict[str, Any]) -> list[float]:
    """Reference size / render size from a size payload, per axis, distinct ones only."""
    want, have = fix.get("expected"), fix.get("actual")
    pairs = (list(zip(want, have, strict=False))
             if isinstance(want, list) and isinstance(have, list) else [(want, have)])
    ratios: list[float] = []
    for w, h in pairs:
        if isinstance(w, int | float) and isinstance(h, int | float) and h:
            r = float(w) / float(h)
            if 0.1 < r < 10 and abs(r - 1) > 0.04 and all(abs(r / o - 1) > 0.02 for o in ratios):
                ratios.append(r)
    return ratios


def _scaled(lit: SourceLiteral, factor: float, why: str) -> Proposal:
    """``lit`` times ``factor``; an integer stays an integer (a count, an index, pixels)."""
    assert isinstance(lit.value, float)
    value = lit.value * factor
    new = write_number(lit, round(value) if _is_int(lit) else value)
    return _replace(lit, new, f"{lit.text} → {new}: {why}")


def _is_int(lit: SourceLiteral) -> bool:
    return re.fullmatch(r"-?[\d_]+(?:[a-z%]*)", lit.text) is not None


def _number_text(lit: SourceLiteral, text: str) -> str:
    """A number the critic read (``12.5``) written in place of ``lit``, keeping its unit."""
    unit = re.sub(r"^[-+\d._eE]*", "", lit.text)
    return text if not unit or text.endswith(unit) else text + unit


def _canonical(prop: object) -> str:
    p = str(prop or "").lower().replace("-", "").replace("_", "")
    return _PROP_ALIASES.get(p, p)


def _norm(s: str) -> str:
    return " ".join(s.split())


def _hex(rgb: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# --- where to search -------------------------------------------------------------------------

def _blamed_lines(d: Discrepancy, text: str, kind: Kind) -> set[int]:
    """The lines of a discrepancy's range; for a chart, its whole statement and the assignments
    of the names it uses (``sales = [...]`` for ``ax.bar(quarters, sales)``)."""
    if d.range is None or d.range == TOP_OF_FILE:
        return set()
    lines = set(range(d.range.start.line, d.range.end.line + 1))
    if kind == "chart":
        lines |= _python_context(text, lines)
    return lines


def _python_context(text: str, lines: set[int]) -> set[int]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not hasattr(node, "body") and node.end_lineno \
                and any(node.lineno - 1 <= line <= node.end_lineno - 1 for line in lines):
            out |= set(range(node.lineno - 1, node.end_lineno))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load) and n.lineno - 1 in lines | out}
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id in names for t in targets) and node.end_lineno:
            out |= set(range(node.lineno - 1, node.end_lineno))
    return out


def _target_colors(d: Discrepancy, reference: Image.Image | None) -> list[Color]:
    """Colours a colour literal on a blamed line might need: the critic's expected colour,
    then the dominant colours of the reference inside the discrepancy's box."""
    out: list[Color] = []
    if d.fix and d.fix.get("kind") == "color":
        rgb = _parse_hex(str(d.fix.get("expected")))
        if rgb is not None:
            out.append(rgb)
    if reference is not None and d.ref_box is not None:
        for rgb in reference_colors(reference, d.ref_box):
            if all(color_distance(rgb, c) > 8 for c in out):
                out.append(rgb)
    return out


def reference_colors(image: Image.Image, box: tuple[float, float, float, float],
                     k: int = REFERENCE_COLORS) -> list[Color]:
    """The ``k`` dominant non-background colours of ``image`` inside ``box``."""
    w, h = image.size
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return []
    arr = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    crop = arr[y0:y1, x0:x1]
    px = crop[differs_from(crop, background(arr))]
    if len(px) < 4:
        return []
    q = px.astype(np.int32) >> 4
    code = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    counts = np.bincount(code, minlength=4096)
    out: list[Color] = []
    for top in np.argsort(counts)[::-1][:k]:
        if counts[top] < 0.1 * len(px):
            break
        rgb = dominant_color(px[code == top])
        if rgb is not None:
            out.append(rgb)
    return out
