"""The literal search: revise a source without a model.

Each step proposes one literal edit, re-renders, re-judges, and keeps the edit only if the
judgement improves; it stops when the render is equivalent, when no proposal helps (plateau),
or when the render/time budget runs out. Proposals come in order of promise, so most fixes take
one render each (see ``verm.revise.proposals``). It can only replace literals; adding or
deleting a call is the policy's (``verm.revise.model``).

``revise`` never touches the user's file: it works on text in memory and returns a
``Revision`` whose ``text_edits()`` a language server turns into one ``WorkspaceEdit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from verm.check import Checker, CheckResult, NotPinnedError
from verm.config import ConfigError
from verm.pins import BadReferenceError
from verm.revise.literals import LineIndex
from verm.revise.outcome import Edit, OnProgress, Revision, Stopped, better, keeps_canvas
from verm.revise.proposals import proposals
from verm.source import Source, SourceError


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
