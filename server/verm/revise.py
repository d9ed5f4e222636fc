"""Revise a source until its render matches the reference: the paper's reflection-and-revision
loop without a model.

Each step proposes one literal edit, re-renders, re-judges, and keeps the edit only if the
judgement improves; it stops when the render is equivalent, when no proposal helps (plateau),
or when the render/time budget runs out. Proposals come in order of promise, so most fixes take
one render each (see ``verm.proposals``).

``revise`` never touches the user's file: it works on text in memory and returns a
``Revision`` whose ``text_edits()`` a language server turns into one ``WorkspaceEdit``.
"""

from __future__ import annotations

import difflib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from verm.check import Checker, CheckResult, NotPinnedError
from verm.config import ConfigError
from verm.literals import LineIndex
from verm.pins import BadReferenceError
from verm.proposals import proposals
from verm.source import Source, SourceError
from verm.types import Range

Stopped = Literal["equivalent", "plateau", "budget", "cancelled"]
OnProgress = Callable[[str, float], None]

ASPECT_TOLERANCE = 0.02  # |log aspect ratio| within which a canvas has the reference's shape


@dataclass(frozen=True)
class Edit:
    """An edit that was tried: its range in the text it was applied to, and the reward after."""

    range: Range
    old: str
    new: str
    reward: float
    why: str


@dataclass(frozen=True)
class TextEdit:
    """An LSP ``TextEdit``: replace ``range`` of the original text by ``new_text``."""

    range: Range
    new_text: str


@dataclass
class Revision:
    """What revise found: the improved text, the edits kept, and why it stopped."""

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
        return "".join(difflib.unified_diff(
            _lines(self.original), _lines(self.text), f"a/{name}", f"b/{name}"))


def revise(checker: Checker, source: Source, *, reference: Path | None = None,
           max_renders: int = 30, max_seconds: float = 60.0,
           on_progress: OnProgress | None = None, cancelled: Callable[[], bool] | None = None,
           baseline: CheckResult | None = None) -> Revision:
    """Search the source's literals for edits that bring its render closer to the reference.

    ``baseline`` is a judgement of ``source.text`` the caller already has (saves one render).
    Raises what ``Checker.check`` raises for the source as given (not pinned, bad reference,
    bad settings); a proposal that fails to render or to configure is simply rejected.
    """
    search = _Search(checker, source, reference, max_renders, max_seconds, on_progress,
                     cancelled)
    return search.run(baseline)


class _Search:
    """The state of one revise run: budget, what has been tried, the best text so far."""

    def __init__(self, checker: Checker, source: Source, reference: Path | None,
                 max_renders: int, max_seconds: float, on_progress: OnProgress | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self.checker, self.source, self.reference = checker, source, reference
        self.max_renders, self.max_seconds = max(1, max_renders), max_seconds
        self.on_progress, self.cancelled = on_progress, cancelled
        self.started = time.perf_counter()
        self.renders = 0
        self.seen: set[str] = {source.text}
        # Rejected edits by (line, which occurrence of old on it, old, new): not retried after
        # another edit changes the text around them.
        self.failed: set[tuple[int, int, str, str]] = set()
        self.edits: list[Edit] = []
        self.rejected: list[Edit] = []

    def run(self, baseline: CheckResult | None) -> Revision:
        text = self.source.text
        self.report("judging the current render")
        if baseline is None:
            self.renders += 1
            baseline = self.checker.check(self.source, self.reference)
        best = baseline
        stopped: Stopped
        while True:
            if best.equivalent:
                stopped = "equivalent"
                break
            step = self.step(text, best)
            if isinstance(step, str):
                stopped = step
                break
            text, best = step
        self.report(f"stopped ({stopped}): reward {baseline.reward:.2f} → {best.reward:.2f}",
                    done=True)
        return Revision(original=self.source.text, text=text, edits=self.edits,
                        reward_before=baseline.reward, reward_after=best.reward,
                        renders=self.renders, stopped=stopped, seconds=self.elapsed(),
                        rejected=self.rejected, result=best)

    def step(self, text: str, best: CheckResult) -> tuple[str, CheckResult] | Stopped:
        """Try proposals in order until one improves the judgement; or say why to stop."""
        index = LineIndex(text)
        image = self.reference_image(best)
        for p in proposals(text, best.kind, best.discrepancies, image):
            candidate = p.apply(text)
            line = index.position(p.start).line
            key = (line, text[index.offset(line, 0) : p.start].count(p.old), p.old, p.new)
            if candidate in self.seen or key in self.failed:
                continue
            if self.cancelled is not None and self.cancelled():
                return "cancelled"
            if self.renders >= self.max_renders or self.elapsed() >= self.max_seconds:
                return "budget"
            self.seen.add(candidate)
            self.report(f"line {line + 1}: {p.why}")
            result = self.judge(candidate)
            edit = Edit(index.range(p.start, p.end), p.old, p.new,
                        result.reward if result else 0.0, p.why)
            if result is not None and better(result, best) \
                    and keeps_canvas(result, best, image.size if image else None):
                self.edits.append(edit)
                return candidate, result
            self.rejected.append(edit)
            self.failed.add(key)
        return "plateau"

    def judge(self, text: str) -> CheckResult | None:
        """The judgement of a candidate text; None when it cannot even be configured."""
        self.renders += 1
        try:
            return self.checker.check(self.checker.load(self.source.path, text), self.reference)
        except (ConfigError, SourceError, NotPinnedError, BadReferenceError, ValueError, OSError):
            return None

    def reference_image(self, result: CheckResult) -> Image.Image | None:
        try:
            return self.checker.reference(result.pin).image
        except (BadReferenceError, OSError):  # gone mid-run: search without its colours
            return None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def report(self, message: str, done: bool = False) -> None:
        if self.on_progress is None:
            return
        fraction = 1.0 if done else min(1.0, max(self.renders / self.max_renders,
                                                 self.elapsed() / max(self.max_seconds, 1e-9)))
        self.on_progress(message, fraction)


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


# --- edits in the original text --------------------------------------------------------------

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def _lines(text: str) -> list[str]:
    """Lines split at '\\n' only (as ranges count them), each keeping its newline."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def minimal_edits(original: str, text: str) -> list[TextEdit]:
    """Token-level edits (words, spaces, punctuation) turning ``original`` into ``text``."""
    index = LineIndex(original)
    a, b = _lines(original), _lines(text)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[TextEdit] = []
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in blocks:
        if tag == "equal":
            continue
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        ta, tb = _TOKEN.findall(old), _TOKEN.findall(new)
        offsets = [0]
        for t in ta:
            offsets.append(offsets[-1] + len(t))
        matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
        for op, k1, k2, m1, m2 in matcher.get_opcodes():
            if op != "equal":
                start, end = starts[i1] + offsets[k1], starts[i1] + offsets[k2]
                edits.append(TextEdit(index.range(start, end), "".join(tb[m1:m2])))
    return edits


def apply_text_edits(original: str, edits: list[TextEdit]) -> str:
    """``original`` with ``edits`` (non-overlapping, ranges in ``original``) applied."""
    index = LineIndex(original)
    out, at = [], 0
    spans = sorted((index.offset(e.range.start.line, e.range.start.character),
                    index.offset(e.range.end.line, e.range.end.character), e.new_text)
                   for e in edits)
    for start, end, new in spans:
        out.append(original[at:start])
        out.append(new)
        at = end
    out.append(original[at:])
    return "".join(out)
