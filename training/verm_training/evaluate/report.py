"""Results as a person reads them (a fixed-width table on stdout) and as a program does (JSON).

One table layout serves every scope (all pairs, each domain, each category) so a reader compares
rows, not formats. Missing values (Pearson of a constant side, ranking without pairs) print as
"-", never as 0, which would read as a measured failure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def fmt(value: Any, percent: bool = True) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{100 * value:.1f}" if percent else f"{value:.3f}"
    return str(value)


def table(title: str, rows: Sequence[tuple[str, dict[str, Any]]],
          columns: Sequence[tuple[str, str, bool]]) -> str:
    """``columns``: (header, key, as percent). The first column is each row's name."""
    header = [title, *(c[0] for c in columns)]
    body = [[name, *(fmt(values.get(key), pct) for _, key, pct in columns)]
            for name, values in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, body)])


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Written whole to a temporary name, then renamed: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
