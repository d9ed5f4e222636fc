"""A table's structure, from the sidecar's cells: rows removed or added, columns swapped, a
column realigned — each one cause, not one text change per cell it moved.

Removing a row shifts every row below it up, so cell by cell every later row "reads
differently"; swapping two columns changes every cell of both. Aligning the reference's rows
with the render's (as sequences of their texts) and comparing the columns as wholes names the
structural change; the per-cell findings it explains become its consequences.
"""

from __future__ import annotations

import difflib
from collections import defaultdict

from verm.critic.analytic.findings import Finding
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


def realigned_columns(findings: list[Finding], render: list[Anchor]) -> list[Finding]:
    """Without a sidecar: the texts of one column all found moved sideways in their cells
    (moves.relocate) is that column realigned — one cause on the Markdown delimiter row, the
    cells its consequences."""
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
    for (table, column), members in by_column.items():
        shifts = [f.render_box[0] - f.ref_box[0] for f in members]  # type: ignore[index]
        if len(members) < 2 or max(shifts) - min(shifts) <= 2:
            # All moved alike: the column was pushed over (a wider one beside it), while a
            # realigned column moves words of different widths by different amounts.
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
                    and int(cell.get("column", -1)) == column):
                f.consequence = True
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
