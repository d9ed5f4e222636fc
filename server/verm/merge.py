"""``verm merge-reports FILE...``: the JSON reports of ``verm check --shard i/n`` runs read back
as one result, in the order the unsharded run would have printed it.

A report is JSON Lines: ``verm check --format json`` output, or a ``--json-report`` file, whose
lines also carry ``seconds`` (time spent on the source) and ``index`` (its place among all the
discovered sources, the same on every machine), and hold ``{"source", "error"}`` for a source
that could not be checked (a usage or configuration error: exit status 2). With ``index`` on
every line the order is exactly the unsharded run's; without, it is the order of a folder walk
(a folder's files by name, then its sub-folders by name), which is the unsharded order of
``verm check FOLDER``.

A ``verm check --report DIR`` folder is a report too: its ``results.jsonl`` is the run's JSON
report, and ``verm merge-reports --report OUT DIR...`` also combines the folders' HTML reports
into one (``verm.viewer.report_site.merge_sites``), in the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from verm.outcome import Outcome, ReportLineError


class ReportError(ValueError):
    """A report file that cannot be read or is not a verm JSON report."""


@dataclass(frozen=True)
class Failed:
    """A source a shard could not check (its message as ``verm check`` printed it)."""

    source: str
    error: str


@dataclass
class Merged:
    outcomes: list[Outcome] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # sources in more than one report
    lines: list[str] = field(default_factory=list)  # the kept lines, as read, in order
    indexed: bool = True  # every line had its index (else the folder walk's order)

    def order(self, source: str, index: int | None) -> tuple[Any, ...]:
        """Where a source goes in the merged order (``index``: its line's, when known)."""
        if self.indexed and index is not None:
            return (0, index, "")
        return (1, 0, _walk_order(source))


def _walk_order(source: str) -> list[tuple[int, str]]:
    """``os.walk`` order of ``discover``: at each level a folder's files before its folders."""
    parts = PurePosixPath(source).parts
    return [(1, p) for p in parts[:-1]] + [(0, parts[-1] if parts else "")]


RESULTS = "results.jsonl"  # a --report folder's JSON report (verm.viewer.report_site.RESULTS)


def read_report(path: Path) -> list[tuple[int | None, Outcome | Failed, str]]:
    """Each line of the report ``path`` (a JSON report, or a --report folder's): its index,
    what it says, and the line itself."""
    if path.is_dir():
        if not (path / RESULTS).is_file():
            raise ReportError(f"{path}: a folder, but not a `verm check --report` folder (no "
                              f"{RESULTS} in it)")
        path = path / RESULTS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})"
                          ) from None
    out: list[tuple[int | None, Outcome | Failed, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ReportLineError("not a JSON object")
            index = data.pop("index", None)
            index = int(index) if index is not None else None
            if "error" in data and "reward" not in data:
                out.append((index, Failed(str(data["source"]), str(data["error"])), line))
            else:
                out.append((index, Outcome.from_json(data), line))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"{path}:{number}: not a line of a verm JSON report ({exc}); "
                              f"pass the output of `verm check --format json` or a "
                              f"--json-report file") from None
    return out


def merge(paths: list[Path]) -> Merged:
    entries = [entry for path in paths for entry in read_report(path)]
    merged, seen = Merged(indexed=all(index is not None for index, _, _ in entries)), set()
    entries.sort(key=lambda e: merged.order(e[1].source, e[0]))
    for _, item, line in entries:
        if item.source in seen:
            merged.duplicates.append(item.source)
            continue
        seen.add(item.source)
        merged.lines.append(line)
        (merged.failed if isinstance(item, Failed) else merged.outcomes).append(item)
    return merged
