"""``verm check --shard i/n``: which of the discovered sources machine ``i`` of ``n`` checks.

Every machine of a CI matrix discovers the same sources and must compute the same partition,
wherever the repository is checked out, so a source is known by its path relative to the folder
verm runs in (its workspace root when it lies outside that folder), never by its absolute path.

- Without recorded durations the sources are ordered by a stable hash (SHA-1) of that path and
  dealt round-robin: shard sizes differ by at most one, and a folder of slow chart scripts is
  spread over every shard instead of landing on one.
- With ``--shard-durations FILE`` (a JSON report with each source's ``seconds``: a
  ``--json-report`` file, or their ``verm merge-reports --format json`` of the last run) the
  sources are balanced by time, greedily: longest first, each to the shard with the least time
  so far (a source with no recorded time counts as the median of the recorded ones), ties
  broken by the hash order. Every machine must read the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from verm.pins import project_root


class ShardError(ValueError):
    """A ``--shard`` or ``--shard-durations`` value verm cannot use."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written on the command line
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        i, sep, n = text.partition("/")
        if not sep or not i.strip().isdigit() or not n.strip().isdigit():
            raise ShardError(f"--shard expects I/N, e.g. 1/3 (got {text!r})")
        index, count = int(i), int(n)
        if count < 1 or not 1 <= index <= count:
            raise ShardError(f"--shard {text}: I must be between 1 and N, and N at least 1")
        return cls(index, count)


def shard_key(path: Path, cwd: Path) -> str:
    """The path every machine knows the source by (POSIX, relative)."""
    absolute = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(cwd)), project_root(absolute)):
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            continue
    return absolute.as_posix()  # unreachable: a path is below its own project root


def _hash(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def read_durations(path: Path) -> dict[str, float]:
    """``{source: seconds}`` from a JSON Lines report (lines without ``seconds`` skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShardError(f"--shard-durations {path}: cannot read ({exc.strerror})") from None
    out: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if "seconds" in data:
                out[str(data["source"])] = float(data["seconds"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ShardError(f"--shard-durations {path}:{number}: not a line of a verm JSON "
                             f"report") from None
    return out


def select(sources: Sequence[Path], shard: Shard, cwd: Path,
           durations: Mapping[str, float] | None = None) -> list[Path]:
    """The sources of ``shard``, in their given order."""
    keys = {path: shard_key(path, cwd) for path in sources}
    ordered = sorted(sources, key=lambda p: (_hash(keys[p]), keys[p]))
    known = [durations[keys[p]] for p in ordered if durations and keys[p] in durations]
    if durations and known:
        typical = statistics.median(known)
        cost = {p: durations.get(keys[p], typical) for p in ordered}
        load = [0.0] * shard.count
        owner: dict[Path, int] = {}
        for p in sorted(ordered, key=lambda p: -cost[p]):  # stable: ties keep the hash order
            least = min(range(shard.count), key=lambda i: (load[i], i))
            owner[p] = least
            load[least] += cost[p]
    else:
        owner = {p: i % shard.count for i, p in enumerate(ordered)}
    mine = {p for p in ordered if owner[p] == shard.index - 1}
    return [p for p in sources if p in mine]
