"""``verm merge-reports FILE...``: the JSON reports of ``verm check --shard i/n`` runs read back
as one result, in the order the unsharded run would have printed it.

A report is JSON Lines: ``verm check --format json`` output, or a ``--json-report`` file, whose
lines also carry ``seconds`` (time spent on the source) and ``index`` (its place among all the
discovered sources, the same on every machine), and hold ``{"source", "error"}`` for a source
that could not be checked (a usage or configuration error: exit status 2). With ``index`` on
every line the order is exactly the unsharded run's; without, it is the order of a folder walk
(a folder's files by name, then its sub-folders by name), which is the unsharded order of
``verm check FOLDER``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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


def _walk_order(source: str) -> list[tuple[int, str]]:
    """``os.walk`` order of ``discover``: at each level a folder's files before its folders."""
    parts = PurePosixPath(source).parts
    return [(1, p) for p in parts[:-1]] + [(0, parts[-1] if parts else "")]


def read_report(path: Path) -> list[tuple[int | None, Outcome | Failed]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})"
                          ) from None
    out: list[tuple[int | None, Outcome | Failed]] = []
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
                out.append((index, Failed(str(data["source"]), str(data["error"]))))
            else:
                out.append((index, Outcome.from_json(data)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"{path}:{number}: not a line of a verm JSON report ({exc}); "
                              f"pass the output of `verm check --format json` or a "
                              f"--json-report file") from None
    return out


def merge(paths: list[Path]) -> Merged:
    entries = [entry for path in paths for entry in read_report(path)]
    indexed = all(index is not None for index, _ in entries)
    entries.sort(key=lambda e: (e[0], "") if indexed else (0, _walk_order(e[1].source)))
    merged, seen = Merged(), set()
    for _, item in entries:
        if item.source in seen:
            merged.duplicates.append(item.source)
            continue
        seen.add(item.source)
        (merged.failed if isinstance(item, Failed) else merged.outcomes).append(item)
    return merged
