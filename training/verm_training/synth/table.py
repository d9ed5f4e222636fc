"""Markdown table mutations: a cell's text or number, a header, a row removed or duplicated,
two columns swapped, a column's alignment.

Tables are found line by line (a header row, a ``|---|`` separator, body rows); cells keep
their spans (escaped pipes ``\\|`` stay inside a cell). Locations are written the way the
table critic and the model say them: "row 2, column 'Qty'", "header of column 'Item'".
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

from verm_training.synth.mutation import Mutation, label, other_number, other_text

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


@dataclass
class _Row:
    line: int
    cells: list[tuple[int, int]]  # spans of the cell contents (stripped) within the line


@dataclass
class _Table:
    header: _Row
    separator: int
    rows: list[_Row]


def _cells(line: str) -> list[tuple[int, int]]:
    """Spans of each cell's stripped text between unescaped pipes."""
    bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    if not bounds:
        return []
    if line[: bounds[0]].strip():
        bounds.insert(0, -1)
    if line[bounds[-1] + 1:].strip():
        bounds.append(len(line))
    spans = []
    for a, b in itertools.pairwise(bounds):
        raw = line[a + 1:b]
        lead = len(raw) - len(raw.lstrip())
        spans.append((a + 1 + lead, a + 1 + lead + len(raw.strip())))
    return spans


def find_tables(lines: list[str]) -> list[_Table]:
    tables: list[_Table] = []
    i = 1
    while i < len(lines):
        if _SEPARATOR.match(lines[i]) and "|" in lines[i - 1]:
            header = _Row(i - 1, _cells(lines[i - 1]))
            rows: list[_Row] = []
            j = i + 1
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append(_Row(j, _cells(lines[j])))
                j += 1
            if header.cells and rows:
                tables.append(_Table(header, i, rows))
            i = j
        else:
            i += 1
    return tables


class _Mutator:
    def __init__(self, text: str, rng: random.Random) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.rng = rng
        self.out: list[Mutation] = []

    def add(self, family: str, lines: list[str], category: str, severity: int, location: str,
            description: str, line: int) -> None:
        text = "\n".join(lines)
        if text != self.text:
            self.out.append(Mutation(family, f"{family} {location}", text, (
                label(category, severity, location, description, line),)))

    def run(self) -> list[Mutation]:
        for table in find_tables(self.lines):
            names = [self._cell(table.header, k) for k in range(len(table.header.cells))]
            for r, row in enumerate(table.rows, start=1):
                for k in range(min(len(row.cells), len(names))):
                    self.cell(row, r, k, names[k])
                self.rows(table, row, r)
            for k, name in enumerate(names):
                self.header(table, k, name)
            self.columns(table, names)
        return self.out

    def _cell(self, row: _Row, k: int) -> str:
        a, b = row.cells[k]
        return self.lines[row.line][a:b]

    def _with_cell(self, row: _Row, k: int, new: str) -> list[str]:
        a, b = row.cells[k]
        lines = list(self.lines)
        lines[row.line] = lines[row.line][:a] + new + lines[row.line][b:]
        return lines

    def cell(self, row: _Row, r: int, k: int, column: str) -> None:
        old = self._cell(row, k)
        where = f"row {r}, column '{column}'"
        number = _NUMBER.fullmatch(old.strip())
        if number is not None:
            new = other_number(old.replace(",", "."), self.rng)
            if new is None:
                return
            self.add("number", self._with_cell(row, k, new), "numeric_error", 3, where,
                     f"{where} shows {new} instead of {old}", row.line)
            return
        changed = other_text(old, self.rng)
        if changed is None or "`" in old or "*" in old:
            return
        new, severity = changed
        self.add("cell-text", self._with_cell(row, k, new), "text_error", severity, where,
                 f"{where} reads '{new}' instead of '{old}'", row.line)

    def header(self, table: _Table, k: int, name: str) -> None:
        changed = other_text(name, self.rng)
        if changed is None:
            return
        new, severity = changed
        where = f"header of column '{name}'"
        self.add("header-text", self._with_cell(table.header, k, new), "text_error", severity,
                 where, f"the {where} reads '{new}'", table.header.line)

    def rows(self, table: _Table, row: _Row, r: int) -> None:
        lines = list(self.lines)
        del lines[row.line]
        after = min(row.line, len(lines) - 1)
        self.add("row-removed", lines, "layout_error", 3, f"row {r}",
                 f"row {r} ('{self._cell(row, 0) if row.cells else ''}') is missing", after)
        lines = list(self.lines)
        lines.insert(row.line + 1, self.lines[row.line])
        self.add("row-duplicated", lines, "layout_error", 2, f"row {r + 1}",
                 f"row {r} is repeated as an extra row {r + 1}", row.line + 1)

    def columns(self, table: _Table, names: list[str]) -> None:
        width = len(names)
        if width < 2:
            return
        k = self.rng.randrange(width - 1)
        all_rows = [table.header, *table.rows]
        if any(len(row.cells) != width for row in all_rows):
            return
        lines = list(self.lines)
        for row in all_rows:
            (a1, b1), (a2, b2) = row.cells[k], row.cells[k + 1]
            line = self.lines[row.line]
            lines[row.line] = line[:a1] + line[a2:b2] + line[b1:a2] + line[a1:b1] + line[b2:]
        self.add("columns-swapped", lines, "layout_error", 3,
                 f"columns '{names[k]}' and '{names[k + 1]}'",
                 f"the columns '{names[k]}' and '{names[k + 1]}' are in swapped order",
                 table.header.line)
        sep = self.lines[table.separator]
        parts = sep.split("|")
        cols = [i for i, p in enumerate(parts) if p.strip()]
        if len(cols) != width:
            return
        i = cols[self.rng.randrange(width)]
        p = parts[i].strip()
        new = "-" * max(3, len(p) - 1) + ":" if not p.endswith(":") else ":" + "-" * max(
            3, len(p) - 1)
        parts[i] = parts[i].replace(p, new)
        lines = list(self.lines)
        lines[table.separator] = "|".join(parts)
        name = names[cols.index(i)]
        self.add("alignment", lines, "layout_error", 1, f"column '{name}'",
                 f"the column '{name}' is aligned differently", table.separator)


def mutations(text: str, rng: random.Random) -> list[Mutation]:
    """Every mutation this module knows for the Markdown ``text``."""
    return _Mutator(text, rng).run()
