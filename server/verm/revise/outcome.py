"""What a revise run found, whichever reviser ran: the revised text, what was tried, why it
stopped; and the two rules both revisers keep a candidate by (``better``, ``keeps_canvas``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from verm.check import CheckResult
from verm.revise.edits import TextEdit, minimal_edits, unified_diff
from verm.types import Range

# equivalent: the render matches; plateau: no literal edit helps; budget: renders or time spent;
# rounds: the policy's rounds are used up; failed: the policy could not be asked (the reason is
# in ``notes``); cancelled: the user or editor stopped it.
Stopped = Literal["equivalent", "plateau", "budget", "rounds", "failed", "cancelled"]
OnProgress = Callable[[str, float], None]

ASPECT_TOLERANCE = 0.02  # |log aspect ratio| within which a canvas has the reference's shape


@dataclass(frozen=True)
class Edit:
    """A literal edit that was tried: its range in the text it was applied to, the reward after."""

    range: Range
    old: str
    new: str
    reward: float
    why: str


@dataclass(frozen=True)
class Round:
    """One round of the policy: what its answer scored (None: not judged) and why it was kept
    or not."""

    number: int
    reward: float | None
    kept: bool
    why: str


@dataclass
class Revision:
    """What revise found: the improved text, the edits or rounds kept, and why it stopped."""

    original: str
    text: str
    edits: list[Edit]
    reward_before: float
    reward_after: float
    renders: int
    stopped: Stopped
    seconds: float = 0.0
    rejected: list[Edit] = field(default_factory=list)
    result: CheckResult | None = None  # the judgement of ``text``
    reviser: Literal["literal", "policy"] = "literal"
    rounds: list[Round] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why the policy could not be used, etc.

    @property
    def improved(self) -> bool:
        return self.text != self.original

    @property
    def equivalent(self) -> bool:
        return self.result is not None and self.result.equivalent

    def text_edits(self) -> list[TextEdit]:
        """The fewest edits that turn ``original`` into ``text``, ranges in ``original``."""
        return minimal_edits(self.original, self.text)

    def diff(self, name: str = "source") -> str:
        """A unified diff of the proposed change, for people."""
        return unified_diff(self.original, self.text, name)


def better(new: CheckResult, old: CheckResult) -> bool:
    """A higher reward; at equal reward a smaller severity sum, then fewer discrepancies."""
    def score(r: CheckResult) -> tuple[float, int, int]:
        return (round(r.reward, 6), -sum(d.severity for d in r.discrepancies),
                -len(r.discrepancies))
    return score(new) > score(old)


def keeps_canvas(new: CheckResult, old: CheckResult, reference: tuple[int, int] | None) -> bool:
    """False when a chart or SVG canvas that matched the reference (its size, else its aspect)
    stops matching.

    The analytic critic registers a canvas of another scale or shape more tolerantly, or
    reports one size error instead of every element's: a higher reward for a worse picture.
    A fix never needs that. (Markdown tables are cropped to their content and HTML pages are
    the viewport, so their canvas is not the code's to keep.)
    """
    if reference is None or new.kind not in ("chart", "svg") or not (new.render.ok
                                                                    and old.render.ok):
        return True
    if old.render.size == reference:
        return new.render.size == reference
    return _aspect_error(new.render.size, reference) <= ASPECT_TOLERANCE \
        or _aspect_error(old.render.size, reference) > ASPECT_TOLERANCE


def _aspect_error(size: tuple[int, int], ref: tuple[int, int]) -> float:
    (w, h), (rw, rh) = size, ref
    if min(w, h, rw, rh) <= 0:
        return 0.0
    return abs(math.log((w / h) / (rw / rh)))
