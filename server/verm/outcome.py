"""What one source's check came to, as the reports print it: built from a ``CheckResult`` (a
check that just ran) or from a line of ``verm check --format json`` (a shard's report, read back
by ``verm merge-reports``). Every output format prints an ``Outcome``, so a merged report prints
exactly what the unsharded run would have."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verm.check import CheckResult
from verm.types import TOP_OF_FILE, Discrepancy, Range

SEVERITY_WORDS = {3: "error", 2: "warning", 1: "info"}


class ReportLineError(ValueError):
    """A line of a JSON report that is not what ``verm check --format json`` writes."""


@dataclass(frozen=True)
class Outcome:
    source: str  # as shown: relative to the folder verm ran in when below it
    reference: str
    kind: str
    rendered: bool
    reward: float
    discrepancies: list[Discrepancy] = field(default_factory=list)
    seconds: float | None = None  # time spent judging it, when recorded
    json: dict[str, Any] = field(default_factory=dict)  # the --format json object, as printed

    @property
    def equivalent(self) -> bool:
        return self.rendered and not self.discrepancies

    def counts(self) -> dict[str, int]:
        """Findings by severity word, most severe first, zeros included."""
        return {w: sum(1 for d in self.discrepancies if SEVERITY_WORDS[d.severity] == w)
                for w in ("error", "warning", "info")}

    @classmethod
    def of(cls, result: CheckResult, cwd: Path) -> Outcome:
        data = result.to_json(relative_to=cwd)
        return cls(source=data["source"], reference=data["reference"], kind=data["kind"],
                   rendered=result.rendered, reward=result.reward,
                   discrepancies=list(result.discrepancies),
                   seconds=result.elapsed_ms / 1000, json=data)

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        """An outcome from one ``--format json`` object (``seconds`` optional, kept apart)."""
        try:
            data = dict(data)
            seconds = data.pop("seconds", None)
            found = [_discrepancy(e) for e in data["errors"]]
            return cls(source=str(data["source"]), reference=str(data["reference"]),
                       kind=str(data["kind"]), rendered=bool(data["rendered"]),
                       reward=float(data["reward"]), discrepancies=found,
                       seconds=None if seconds is None else float(seconds), json=data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportLineError(f"not a verm check result ({type(exc).__name__}: {exc})"
                                  ) from None


def _range(data: Any) -> Range:
    return Range.from_json(data) if data is not None else TOP_OF_FILE


def _box(data: Any) -> tuple[float, float, float, float] | None:
    if data is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in data)
    return (x0, y0, x1, y1)


def _discrepancy(e: dict[str, Any]) -> Discrepancy:
    category, severity = str(e["category"]), int(e["severity"])
    if severity not in SEVERITY_WORDS:
        raise ValueError(f"severity {severity} is not 1, 2 or 3")
    related = []
    for r in e.get("related") or []:
        rng = _range(r.get("range"))
        related.append(Discrepancy(category, severity, str(r["location"]),
                                   str(r["description"]), ref_box=_box(r.get("bbox")),
                                   range=None if rng == TOP_OF_FILE else rng))
    return Discrepancy(category, severity, str(e["location"]), str(e["description"]),
                       ref_box=_box(e.get("bbox")), range=_range(e.get("range")),
                       related=related)
