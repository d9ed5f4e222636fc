"""A table's structure, from the sidecar's cells: rows removed or added, columns swapped, a
column realigned — each one cause, not one text change per cell it moved.

Removing a row shifts every row below it up, so cell by cell every later row "reads
differently"; swapping two columns changes every cell of both. Aligning the reference's rows
with the render's (as sequences of their texts) and comparing the columns as wholes names the
structural change; the per-cell findings it explains become its consequences.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from itertools import pairwise

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import SAME_COLOR, Finding, diff_in, int_box, norm_text
from verm.critic.analytic.moves import LOSSY_RMS, Matcher, ink_box, matcher_of
from verm.critic.analytic.pixels import color_distance, parse_hex
from verm.critic.analytic.wordmatch import (
    SUBPIXEL_RMS,
    same_words,
    soft_matcher,
    subpixel_rms,
    words_kept,
)
from verm.types import Anchor

Grid = dict[int, dict[int, Anchor]]  # row → column → the cell's anchor


def table_structure(findings: list[Finding], render: list[Anchor], ref: list[Anchor]
                    ) -> list[Finding]:
    """``findings`` with structural causes added and the cell findings they explain marked as
    their consequences — only those: a cell whose text changed in another column, beside a
    realigned one, is a cause of its own."""
    out = list(findings)
    ref_tables, render_tables = _grids(ref), _grids(render)
    for key, grid_b in render_tables.items():
        grid_a = ref_tables.get(key)
        if grid_a is None:
            continue
        prefix = key + "/"
        mine = [f for f in out if (a := f.anchor or f.ref_anchor) is not None
                and a.key.startswith(prefix)]
        structural = _columns(grid_a, grid_b) or _rows(grid_a, grid_b)
        if structural:
            # The texts are the reference's, reordered or shifted: every cell change follows
            # from it but a change of style, which no reordering makes.
            for f in mine:
                if f.nature != "restyle":
                    f.consequence = True
            out += structural
        for column, cause in _alignment(mine, grid_b):
            for f in mine:
                if f is not cause and _column_of(f) == column and (
                        f.nature == "moved" or (f.nature == "restyle" and f.style is not None
                                                and f.style[0] == "text-align")):
                    f.consequence = True
            out.append(cause)
    return out


def _column_of(f: Finding) -> int | None:
    a = f.anchor or f.ref_anchor
    cell = a.props.get("cell") if a is not None else None
    return int(cell.get("column", 0)) if isinstance(cell, dict) else None


def sideways_in_cells(findings: list[Finding], cmp: Comparison,
                      render: list[Anchor] | None = None) -> set[int]:
    """Without a sidecar: a cell's words found elsewhere along its own row of its own cell in
    the reference moved there (realigned), not changed. Small text drawn at another sub-pixel
    offset anti-aliases differently (grey RMS ~50 on 10 px digits), so both pictures are
    softened first and the words must also correlate: the same shape, wherever it sits.
    Returns the ids of the cells moved sideways (found here or by ``moves.relocate``) whose
    cell itself — its borders and fill — is where it was: their words moved inside it, which
    only a realignment does."""
    in_place: set[int] = set()
    for f in findings:
        a = f.anchor
        own = parse_hex(a.color) if a is not None and a.text else None
        if (f.nature in ("recolor", "background") and own is not None and f.ref_color
                and color_distance(f.ref_color, own) <= SAME_COLOR / 2
                and isinstance(a.props.get("cell"), dict)):
            # The reference has the cell's own text colour where the render has none of it:
            # other words, not another colour.
            f.nature = "text"
    cells = [f for f in findings if f.nature in ("text", "moved") and f.render_box is not None
             and f.anchor is not None and isinstance(f.anchor.props.get("cell"), dict)]
    if not cells:
        return in_place
    matcher = matcher_of(cmp)
    soft = soft_matcher(matcher)
    lossy = cmp.lossy or cmp.frame.scale != 1.0
    pushes: dict[tuple[str, int], list[int]] = defaultdict(list)  # column → dx of its words
    narrow: list[tuple[Finding, tuple[int, int, int, int]]] = []
    for f in cells:
        assert f.render_box is not None
        cell = int_box(f.render_box, cmp.frame)
        ink = ink_box(matcher.render, cell)
        if ink is None:
            continue
        if f.nature == "moved":
            if f.ref_box is None or abs(f.ref_box[1] - f.render_box[1]) > 1.5:
                continue
            dx = round(f.ref_box[0] - f.render_box[0])
            if _narrow_away(cell, ink, dx):
                f.nature, f.ref_box = "text", None
                narrow.append((f, ink))
                continue
        elif f.ref_text is None:
            if same_words(matcher, ink, 0, 0, lossy):
                f.nature = "resized"  # its words where they were: the cell around them changed
                continue
            found = _sideways(soft, cell, ink)
            if found is None or subpixel_rms(matcher, ink, *found) > SUBPIXEL_RMS[lossy]:
                continue
            dx, dy = found
            if _narrow_away(cell, ink, dx):
                narrow.append((f, ink))
                continue
            _moved(f, dx, dy)
        else:
            continue
        pushes[_column_key(f)].append(dx)
        if _cell_in_place(matcher.ref, matcher.render, cell, ink, dx):
            in_place.add(id(f))
    widths = column_widths(render or [], cmp)
    for f, ink in narrow:
        shifts = pushes.get(_column_key(f))
        assert f.render_box is not None
        # Where the column's other words went, else where the cell's own edges went (a
        # column of numbers narrowed or widened by its header).
        tried = ([max(set(shifts), key=shifts.count)] if shifts else
                 _edge_shifts(matcher.ref, matcher.render, int_box(f.render_box, cmp.frame))
                 + _swap_shifts(f, widths))
        for dx in (d + e for d in tried for e in (0, -1, 1)):
            if same_words(soft, ink, dx, 0) and subpixel_rms(matcher, ink, dx, 0) <= (
                    SUBPIXEL_RMS[lossy]):
                _moved(f, dx, 0)
                break
    return in_place


def column_widths(render: list[Anchor], cmp: Comparison) -> dict[tuple[str, int], float]:
    """Each table column's width in the comparison's pixels (its widest cell)."""
    out: dict[tuple[str, int], float] = {}
    for a in render:
        cell = a.props.get("cell")
        if isinstance(cell, dict) and "/" in a.key:
            box = cmp.frame.from_render(a.box)
            key = (a.key.split("/", 1)[0], int(cell.get("column", 0)))
            out[key] = max(out.get(key, 0.0), box[2] - box[0])
    return out


def _swap_shifts(f: Finding, widths: dict[tuple[str, int], float]) -> list[int]:
    """Where the cell's words were if its column traded places with a neighbour: one
    neighbour's width to the left or to the right."""
    table, column = _column_key(f)
    out = []
    if (table, column - 1) in widths:
        out.append(-round(widths[(table, column - 1)]))
    if (table, column + 1) in widths:
        out.append(round(widths[(table, column + 1)]))
    return out


def swapped_columns(findings: list[Finding], render: list[Anchor], cmp: Comparison
                    ) -> list[Finding]:
    """Without a sidecar: the words of two neighbouring columns each found a neighbour's width
    away — the left one's where the right one is now, and the other way round — are two
    columns in another order: one cause on the header row, every cell of both its
    consequences."""
    widths = column_widths(render, cmp)
    shifts: dict[tuple[str, int], list[float]] = defaultdict(list)
    for f in findings:
        a = f.anchor
        if (f.nature == "moved" and a is not None and isinstance(a.props.get("cell"), dict)
                and f.ref_box is not None and f.render_box is not None
                and abs(f.ref_box[1] - f.render_box[1]) <= 1.5):
            shifts[_column_key(f)].append(f.ref_box[0] - f.render_box[0])
    grids = _grids(render)
    out = list(findings)
    for (table, left), moved in shifts.items():
        right = shifts.get((table, left + 1))
        wl, wr = widths.get((table, left)), widths.get((table, left + 1))
        if right is None or wl is None or wr is None or len(moved) < 2 or len(right) < 2:
            continue
        if not (abs(float(np.median(moved)) - wr) <= 3 and abs(float(np.median(right)) + wl) <= 3):
            continue
        swap = _swap(out, grids.get(table), table, left, left + 1, len(moved) + len(right), cmp)
        if swap is not None:
            out.append(swap)
    if not any(f.nature == "columns-moved" for f in out):
        out += _swapped_into(out, grids, cmp)
    return out


def _swapped_into(findings: list[Finding], grids: dict[str, Grid], cmp: Comparison
                  ) -> list[Finding]:
    """Columns of unequal width or alignment in another order: no one shift, but the moved
    words of one column were, in the reference, inside the other's place in the render (two
    cells at least), and some of the other's — its header, say — inside the first's. (A
    column pushed over by a wider neighbour lands in that neighbour's place too, but the
    neighbour's words stay where they were.)"""
    spans: dict[tuple[str, int], tuple[float, float]] = {}
    for table, grid in grids.items():
        for row in grid.values():
            for col, a in row.items():
                x0, _, x1, _ = cmp.frame.from_render(a.box)
                lo, hi = spans.get((table, col), (x0, x1))
                spans[(table, col)] = (min(lo, x0), max(hi, x1))
    votes: dict[tuple[str, int, int], int] = defaultdict(int)
    for f in findings:
        a = f.anchor
        if (f.nature != "moved" or a is None or not isinstance(a.props.get("cell"), dict)
                or f.ref_box is None or f.render_box is None or "/" not in a.key
                or abs(f.ref_box[1] - f.render_box[1]) > 1.5):
            continue
        table, col = _column_key(f)
        middle = (f.ref_box[0] + f.ref_box[2]) / 2
        for (t, other), (lo, hi) in spans.items():
            if t == table and other != col and lo <= middle <= hi:
                votes[(table, col, other)] += 1
    for (table, col, other), n in sorted(votes.items(), key=lambda kv: -kv[1]):
        if n >= 2 and votes.get((table, other, col), 0) >= 1:
            swap = _swap(findings, grids.get(table), table, min(col, other), max(col, other),
                         n + votes[(table, other, col)], cmp)
            return [swap] if swap is not None else []
    return []


SWAP_WORDS = 0.6  # similarity of two cells' words that makes them the same words, OCR aside


def swapped_by_words(findings: list[Finding], render: list[Anchor], cmp: Comparison
                     ) -> list[Finding]:
    """Run after the reference's words are read. Two columns of unequal width in another
    order move every cell by some other width (no shift to match), but the words tell: where
    the render has one column's cells, the reference reads the other column's words, row by
    row. Two such rows (or more) make the pair one cause on the header row."""
    if any(f.nature == "columns-moved" for f in findings):
        return findings
    grids = _grids(render)
    votes: dict[tuple[str, int, int], int] = defaultdict(int)
    for f in findings:
        a = f.anchor
        if (a is None or f.consequence or not f.ref_text or "/" not in a.key
                or not isinstance(cell := a.props.get("cell"), dict)):
            continue
        table, row, col = a.key.split("/", 1)[0], int(cell.get("row", 0)), int(
            cell.get("column", 0))
        said = norm_text(f.ref_text) or ""
        for other, b in grids.get(table, {}).get(row, {}).items():
            if other != col and _text(b) and difflib.SequenceMatcher(
                    None, said.lower(), _text(b).lower()).ratio() >= SWAP_WORDS:
                votes[(table, min(col, other), max(col, other))] += 1
    out = list(findings)
    for (table, left, right), n in sorted(votes.items(), key=lambda kv: -kv[1]):
        if n >= 2 and not any(f.nature == "columns-moved" for f in out):
            swap = _swap(out, grids.get(table), table, left, right, n, cmp)
            if swap is not None:
                out.append(swap)
    return out


def _swap(findings: list[Finding], grid: Grid | None, table: str, left: int, right: int,
          pixels: int, cmp: Comparison) -> Finding | None:
    """The cause of columns ``left`` and ``right`` in another order, on the header's cell;
    every cell of both becomes its consequence."""
    if not grid:
        return None
    header = grid[min(grid)]
    head = header.get(left)
    if head is None:
        return None
    for f in findings:
        a = f.anchor
        if (a is not None and isinstance(a.props.get("cell"), dict) and "/" in a.key
                and _column_key(f) in ((table, left), (table, right))):
            f.consequence = True
    names = [_text(header.get(c)) or f"column {c + 1}" for c in (left, right)]
    return Finding("columns-moved", head, None, cmp.frame.from_render(head.box), None, pixels,
                   note=(f"columns '{names[0]}' and '{names[1]}' are in another order than "
                         "in the reference"), columns=(left, right))


def repeated_rows(findings: list[Finding], render: list[Anchor], cmp: Comparison
                  ) -> list[Finding]:
    """Without a sidecar: a row the render draws twice in a row, with the rows after it (or
    what follows the table) moved down by one row's height, was added — one cause on the
    copy (the later of the two), every later row's change its consequence."""
    out = list(findings)
    for grid in _grids(render).values():
        rows = sorted(grid)
        texts = {r: tuple(_text(grid[r].get(c)) for c in sorted(grid[r])) for r in rows}
        for r0, r1 in pairwise(rows):
            if r0 == min(rows) or texts[r0] != texts[r1] or not any(texts[r1]):
                continue
            first = grid[r1][min(grid[r1])]
            top = cmp.frame.from_render(first.box)
            height = top[3] - top[1]
            below = [f for f in out if f.render_box is not None and f.render_box[1] >= top[1] - 1
                     and f.nature not in ("rows-extra", "columns-moved")]
            if not any(f.nature == "moved" and f.ref_box is not None and f.render_box is not None
                       and abs(f.render_box[1] - f.ref_box[1] - height) <= 2 for f in below):
                continue
            for f in below:
                f.consequence = True
            out.append(Finding("rows-extra", first, None, top, None,
                               sum(f.pixels for f in below),
                               note=f"row {r1} repeats the row above it: "
                                    f"'{' | '.join(texts[r1])}'"))
            return out
    return out


def words_in_place(findings: list[Finding], cmp: Comparison) -> None:
    """Without a sidecar, a page's table: a cell read as changed text whose words the reference
    draws where the render does was resized around them (its column widened by another
    cell): a layout consequence of that cell, not a text change of its own."""
    for f in findings:
        a = f.anchor
        if (f.nature == "text" and f.ref_text is None and f.render_box is not None
                and a is not None and a.role == "cell"
                and words_kept(cmp, int_box(f.render_box, cmp.frame))):
            f.nature, f.ref_box = "resized", None  # the reference's size of it is not known


SHORT_ROW = 4  # px a page table's row may end short of the table and still fill it


def short_rows(findings: list[Finding], render: list[Anchor], cmp: Comparison
               ) -> list[Finding]:
    """Without a sidecar, a page's table: a row of the render that ends short of its table
    where the reference draws something (a cell's border, its words) lost a cell — one
    structural cause on the row's line. Its own cells' changes and the shifts it made in the
    other rows' columns (the column it emptied narrowed or widened) are its consequences."""
    cells: dict[str, list[Anchor]] = defaultdict(list)
    for a in render:
        if a.role in ("cell", "header") and ">tr[" in a.key:
            cells[a.key[:a.key.rindex(">")]].append(a)
    rows = {a.key: a for a in render if a.key in cells}
    rights: dict[str, float] = {}  # each table's right edge: its rows' furthest cell
    for row_key, row_cells in cells.items():
        table = row_key[:row_key.index(">tr[")]
        rights[table] = max(rights.get(table, 0.0), *(c.box[2] for c in row_cells))
    out = list(findings)
    for row_key, row_cells in cells.items():
        table = row_key[:row_key.index(">tr[")]
        right = rights[table]
        end = max(c.box[2] for c in row_cells)
        top, bottom = min(c.box[1] for c in row_cells), max(c.box[3] for c in row_cells)
        if right - end <= SHORT_ROW:
            continue
        gap = int_box(cmp.frame.from_render((end + 2, top + 2, right - 2, bottom - 2)),
                      cmp.frame)
        if not cmp.diff[gap[1]:gap[3], gap[0]:gap[2]].any():
            continue  # the reference's row ends there too
        row = rows.get(row_key, row_cells[-1])
        for f in out:
            a = f.anchor or f.ref_anchor
            if a is not None and a.key.startswith(table + ">") and (
                    a.key.startswith(row_key + ">") or f.nature in ("moved", "resized")):
                f.consequence = True
        box = cmp.frame.from_render(row.box)
        out.append(Finding("cells-missing", row, None, box, box, diff_in(cmp, gap),
                           note=(f"the row ends after {len(row_cells)} "
                                 f"cell{'s' if len(row_cells) > 1 else ''}, short of its table, "
                                 "where the reference draws more of it: a cell is missing")))
    return out


def _edge_shifts(ref: np.ndarray, render: np.ndarray, cell: tuple[int, int, int, int]
                 ) -> list[int]:
    """How far each vertical edge of the cell (a 3 px strip: its border) moved sideways to
    where the reference draws it, when it did."""
    x0, y0, x1, y1 = cell
    width = render.shape[1]
    out = []
    for a0 in (x0 - 1, x1 - 2):
        if a0 < 0 or a0 + 3 > width or y1 <= y0:
            continue
        strip = render[y0:y1, a0:a0 + 3]
        if float(strip.std()) < 1:
            continue  # no border drawn there: nothing to follow
        best = min(range(-a0, width - a0 - 2),
                   key=lambda d: float(np.mean((strip - ref[y0:y1, a0 + d:a0 + d + 3]) ** 2)))
        err = float(np.sqrt(np.mean((strip - ref[y0:y1, a0 + best:a0 + best + 3]) ** 2)))
        if best != 0 and err <= LOSSY_RMS / 2:
            out.append(best)
    return out


def _narrow_away(cell: tuple[int, int, int, int], ink: tuple[int, int, int, int], dx: int
                 ) -> bool:
    """Words of a digit or two found outside their own cell: they match some other number's
    along the row as well as their own, so only where the column's other words went is
    evidence of where they were."""
    inside = cell[0] <= ink[0] + dx and ink[2] + dx <= cell[2]
    return not inside and ink[2] - ink[0] < 2 * (ink[3] - ink[1])


def _column_key(f: Finding) -> tuple[str, int]:
    assert f.anchor is not None
    return f.anchor.key.split("/", 1)[0], int(f.anchor.props["cell"].get("column", 0))


def _moved(f: Finding, dx: int, dy: int) -> None:
    assert f.render_box is not None
    f.nature = "moved"
    f.ref_box = (f.render_box[0] + dx, f.render_box[1] + dy, f.render_box[2] + dx,
                 f.render_box[3] + dy)


def _sideways(soft: Matcher, cell: tuple[int, int, int, int], ink: tuple[int, int, int, int]
              ) -> tuple[int, int] | None:
    """(dx, dy) to where the render's words (softened) match the reference's along their own
    row of cells — inside their cell (realigned) or further along (pushed over by a wider
    column) — when that is elsewhere and the same words; else None."""
    found = soft.locate(ink, LOSSY_RMS, (0, cell[1] - 1, 0, cell[3] + 1))
    if found is None:
        return None
    dx, dy = round(found[0] - ink[0]), round(found[1] - ink[1])
    if abs(dx) <= 2:
        return None
    return (dx, dy) if same_words(soft, ink, dx, dy) else None


def _cell_in_place(ref: np.ndarray, render: np.ndarray, cell: tuple[int, int, int, int],
                   ink: tuple[int, int, int, int], dx: int) -> bool:
    """The cell's own drawing is unmoved: its left and right edges (where its borders are, a
    strip of 3 px each) and its fill away from its words, in both pictures."""
    x0, y0, x1, y1 = cell
    if x1 - x0 < 8 or y1 - y0 < 2:
        return False
    strips = [(max(0, x0 - 1), x0 + 2), (x1 - 2, min(render.shape[1], x1 + 1))]
    for a0, a1 in strips:
        a, b = render[y0:y1, a0:a1], ref[y0:y1, a0:a1]
        if a.shape != b.shape or float(np.sqrt(np.mean((a - b) ** 2))) > LOSSY_RMS / 2:
            return False
    keep = np.ones((y1 - y0, x1 - x0), dtype=bool)
    for left in (ink[0], ink[0] + dx):
        keep[max(0, ink[1] - 1 - y0):max(0, ink[3] + 1 - y0),
             max(0, left - 1 - x0):max(0, left + (ink[2] - ink[0]) + 1 - x0)] = False
    a, b = render[y0:y1, x0:x1][keep], ref[y0:y1, x0:x1][keep]
    return bool(a.size) and float(np.sqrt(np.mean((a - b) ** 2))) <= LOSSY_RMS / 2


def realigned_columns(findings: list[Finding], render: list[Anchor],
                      in_place: set[int] | None = None, exact: bool = False) -> list[Finding]:
    """Without a sidecar: the texts of one column all found moved sideways in their cells
    (moves.relocate, ``sideways_in_cells``) is that column realigned — one cause on the
    Markdown delimiter row, the cells its consequences. Words moved by different amounts, or
    alike inside cells that stayed in place (``in_place``: a column of digits), are realigned;
    moved alike with their cells, they were pushed over. ``exact``: the reference is lossless
    at the render's scale, so a cell of the column whose words matched nowhere changed."""
    by_column: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    for f in findings:
        a = f.anchor
        cell = a.props.get("cell") if a is not None else None
        if (f.nature == "moved" and isinstance(cell, dict) and f.ref_box and f.render_box
                and abs(f.render_box[1] - f.ref_box[1]) <= 1.5
                and abs(f.render_box[0] - f.ref_box[0]) > 2):
            by_column[(a.key.split("/", 1)[0], int(cell.get("column", 0)))].append(f)
    out = list(findings)
    grids = _grids(render)
    # Columns in another order keep the delimiter row's alignments by place: a column moved
    # into a centred place is centred, its consequence, not a realignment.
    swapped = {(f.anchor.key.split("/", 1)[0], c) for f in findings
               if f.nature == "columns-moved" and f.anchor is not None and f.columns
               for c in f.columns}
    for (table, column), members in by_column.items():
        if (table, column) in swapped:
            continue
        shifts = [f.render_box[0] - f.ref_box[0] for f in members]  # type: ignore[index]
        alike = max(shifts) - min(shifts) <= 2
        if alike and not all(id(f) in (in_place or ()) for f in members):
            # All moved alike: the column was pushed over (a wider one beside it), while a
            # realigned column moves words of different widths by different amounts — or
            # words of one width (a column of digits), or the one word narrower than its
            # column, inside cells that stayed where they were (nothing else in a Markdown
            # table moves words inside a cell).
            continue
        grid = grids.get(table)
        top = grid[min(grid)].get(column) if grid else None
        align = (top.props.get("style") or {}).get("text-align") if top is not None else None
        line = (top.range.start.line + 1 if top is not None and top.range is not None
                and top.props.get("tag") == "th" else None)
        head = max(members, key=lambda f: f.pixels)
        for f in out:
            a = f.anchor
            cell = a.props.get("cell") if a is not None else None
            if (a is not None and isinstance(cell, dict) and a.key.startswith(table + "/")
                    and int(cell.get("column", -1)) == column
                    and (f.nature != "text" or not exact)):
                # Against an exact picture a text that matched nowhere changed (a digit of a
                # realigned column): a cause of its own. A JPEG or rescaled one leaves some
                # unchanged words unmatched: those follow the realignment, until the
                # reference's words read in the cell say otherwise (``reread_cells``).
                f.consequence = True
                f.provisional = f.nature == "text"
        out.append(Finding("restyle", head.anchor, None, head.render_box, head.ref_box,
                           sum(f.pixels for f in members),
                           style=("text-align", f"not {align}" if align else "another",
                                  align or "changed"),
                           name=f"column '{_text(top)}'" if top is not None else None,
                           members=len(members), line=line))
    return out


def _grids(anchors: list[Anchor]) -> dict[str, Grid]:
    tables: dict[str, Grid] = defaultdict(lambda: defaultdict(dict))
    for a in anchors:
        cell = a.props.get("cell")
        if not isinstance(cell, dict) or "/" not in a.key:
            continue
        tables[a.key.split("/", 1)[0]][int(cell.get("row", 0))][int(cell.get("column", 0))] = a
    return tables


def _text(a: Anchor | None) -> str:
    return " ".join((a.text or "").split()) if a is not None else ""


def _row_texts(grid: Grid) -> list[tuple[str, ...]]:
    return [tuple(_text(grid[r].get(c)) for c in sorted(grid[r])) for r in sorted(grid)]


def _columns(a: Grid, b: Grid) -> list[Finding]:
    """Columns that are the reference's, in another order: one cause on the header row."""
    cols_a = _column_texts(a)
    cols_b = _column_texts(b)
    if len(cols_a) != len(cols_b) or cols_a == cols_b or sorted(cols_a) != sorted(cols_b):
        return []
    moved = [c for c in range(len(cols_b)) if cols_b[c] != cols_a[c]]
    header_row = min(b)
    head = b[header_row].get(moved[0])
    if head is None:
        return []
    names = [_text(b[header_row].get(c)) or f"column {c + 1}" for c in moved]
    return [Finding("columns-moved", head, a[min(a)].get(moved[0]), head.box, None, 0,
                    note=("columns " + " and ".join(f"'{n}'" for n in names)
                          + " are in another order than in the reference"))]


def _column_texts(g: Grid) -> list[tuple[str, ...]]:
    cols = sorted({c for r in g for c in g[r]})
    return [tuple(_text(g[r].get(c)) for r in sorted(g)) for c in cols]


def _rows(a: Grid, b: Grid) -> list[Finding]:
    """Whole rows gone or added, the rest in order: one cause per run of rows."""
    rows_a, rows_b = _row_texts(a), _row_texts(b)
    if rows_a == rows_b:
        return []
    ra, rb = sorted(a), sorted(b)
    ops = difflib.SequenceMatcher(None, rows_a, rows_b, autojunk=False).get_opcodes()
    if any(op == "replace" for op, *_ in ops):
        return []  # cells changed in place: the cell findings say it
    out = []
    for op, i0, i1, j0, j1 in ops:
        if op == "delete":
            first = a[ra[i0]]
            anchor = first[min(first)]
            out.append(Finding("rows-missing", None, anchor, None, anchor.box, 0,
                               note=(f"{i1 - i0} row{'s' if i1 - i0 > 1 else ''} of the "
                                     f"reference missing from the render: "
                                     f"'{' | '.join(rows_a[i0])}'"),
                               line=anchor.range.start.line if anchor.range else None))
        elif op == "insert":
            while j1 < len(rows_b) and rows_b[j0] == rows_b[j1]:
                j0, j1 = j0 + 1, j1 + 1  # a duplicated row: the copy is the later one
            first = b[rb[j0]]
            anchor = first[min(first)]
            out.append(Finding("rows-extra", anchor, None, anchor.box, None, 0,
                               note=(f"{j1 - j0} row{'s' if j1 - j0 > 1 else ''} in the render "
                                     f"not in the reference: '{' | '.join(rows_b[j0])}'")))
    return out


def _alignment(findings: list[Finding], b: Grid) -> list[tuple[int, Finding]]:
    """Every realigned cell of one column: one cause on the table's delimiter row (the line
    under the header, where Markdown says how a column aligns), with its column."""
    by_column: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        cell = f.anchor.props.get("cell") if f.anchor is not None else None
        if f.nature == "restyle" and f.style and f.style[0] == "text-align" and isinstance(
                cell, dict):
            by_column[int(cell.get("column", 0))].append(f)
    out = []
    header = b.get(min(b)) if b else None
    for column, members in by_column.items():
        head = max(members, key=lambda f: f.pixels)
        top = header.get(column) if header else None
        line = (top.range.start.line + 1 if top is not None and top.range is not None
                and top.props.get("tag") == "th" else None)
        cause = Finding("restyle", head.anchor, head.ref_anchor, head.render_box, head.ref_box,
                        sum(f.pixels for f in members), style=head.style,
                        name=f"column '{_text(top)}'" if top is not None else None,
                        members=len(members), line=line)
        out.append((column, cause))
    return out


def reread_cells(findings: list[Finding]) -> list[Finding]:
    """A cell of a realigned column whose words matched nowhere against a lossy reference was
    taken as the realignment's; read, the reference's words in it differ from the render's
    (more than by a stray border mark): its text changed — a cause of its own again."""
    for f in findings:
        if (f.provisional and f.consequence and f.ref_text and f.render_text
                and _letters(f.ref_text) and _letters(f.ref_text) != _letters(f.render_text)):
            f.consequence = f.provisional = False
    return findings


def _letters(t: str) -> str:
    return re.sub(r"\W", "", t)
