"""Model-driven revision: the paper's reflection-and-revision loop.

Each round the policy gets the reference image, the best code so far, its render and its
critique, and answers a revised file; verm renders and judges that with the configured critic
and keeps it only when the judgement improves (``better``) without losing the reference's canvas
(``keeps_canvas``). The next round revises the best code with its critique — and, when the last
answer was not kept, is told why, so a greedy policy does not answer the same thing again. It
stops when the render is equivalent, when the rounds are used up, when the policy cannot be
reached, or when cancelled.

Unlike the literal search it can add and delete calls; like it, it never writes the file: the
``Revision`` becomes the fewest ``TextEdit``s of the changed lines (``verm.revise.edits``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from verm.check import Checker, CheckResult, CriticError, NotPinnedError
from verm.config import ConfigError
from verm.pins import BadReferenceError
from verm.revise.outcome import OnProgress, Revision, Round, Stopped, better, keeps_canvas
from verm.revise.policy import Policy, PolicyCancelled, PolicyUnavailable
from verm.revise.prompt import build_request, conform, extract_code, is_fragment
from verm.source import Source, SourceError

CHARS_PER_TOKEN = 3.0  # code tokenizes at ~3-4 characters a token; err on the long side
WRITING_REPORT_S = 0.5  # at most this often a "the policy is writing" progress message
JUDGE_ERRORS = (ConfigError, SourceError, NotPinnedError, BadReferenceError, CriticError,
                ValueError, OSError)


def revise_with_policy(checker: Checker, source: Source, policy: Policy, *,
                       reference: Path | None = None, rounds: int | None = None,
                       on_progress: OnProgress | None = None,
                       cancelled: Callable[[], bool] | None = None,
                       baseline: CheckResult | None = None) -> Revision:
    """Ask ``policy`` for revisions of ``source`` for up to ``rounds`` rounds (default: its
    settings'), keeping each that judges better.

    ``baseline`` is a judgement of ``source.text`` the caller already has (saves one render).
    Raises what ``Checker.check`` raises for the source as given; a policy that cannot be
    reached ends the run (``stopped == "failed"``, the reason in ``notes``).
    """
    loop = _Reflection(checker, source, policy, reference,
                       rounds if rounds is not None else policy.settings.rounds,
                       on_progress, cancelled)
    return loop.run(baseline)


class _Reflection:
    """The state of one run: the best text and its judgement, the rounds so far."""

    def __init__(self, checker: Checker, source: Source, policy: Policy,
                 reference: Path | None, rounds: int, on_progress: OnProgress | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self.checker, self.source, self.policy, self.reference = checker, source, policy, \
            reference
        self.total = max(1, rounds)
        self.on_progress, self.cancelled = on_progress, cancelled
        self.started = time.perf_counter()
        self.renders = 0
        self.rounds: list[Round] = []
        self.notes: list[str] = []
        self.seen: set[str] = {source.text}

    def run(self, baseline: CheckResult | None) -> Revision:
        self.report("judging the current render", 0.0)
        if baseline is None:
            self.renders += 1
            baseline = self.checker.check(self.source, self.reference)
        text, best = self.source.text, baseline
        previous: str | None = None
        stopped: Stopped = "rounds"
        for number in range(1, self.total + 1):
            if best.equivalent:
                stopped = "equivalent"
                break
            if self.is_cancelled():
                stopped = "cancelled"
                break
            too_long = self.too_long(text)
            if too_long:
                self.notes.append(too_long)
                stopped = "failed"
                break
            try:
                step = self.round(number, best, previous)
            except PolicyCancelled:
                stopped = "cancelled"
                break
            except PolicyUnavailable as exc:
                self.notes.append(str(exc))
                stopped = "failed"
                break
            self.rounds.append(step[0])
            if step[1] is not None:
                text, best = step[1]
                previous = None
            else:
                previous = step[0].why
        else:
            if best.equivalent:
                stopped = "equivalent"
        self.report(f"stopped ({stopped}): reward {baseline.reward:.2f} → {best.reward:.2f}",
                    1.0)
        return Revision(original=self.source.text, text=text, edits=[],
                        reward_before=baseline.reward, reward_after=best.reward,
                        renders=self.renders, stopped=stopped,
                        seconds=time.perf_counter() - self.started, result=best,
                        reviser="policy", rounds=self.rounds, notes=self.notes)

    def round(self, number: int, best: CheckResult, previous: str | None,
              ) -> tuple[Round, tuple[str, CheckResult] | None]:
        """Ask once, judge the answer; the round, and the new best (text, judgement) if kept."""
        at = f"round {number}/{self.total}"
        image = self.reference_image(best)
        if image is None:
            raise PolicyUnavailable("the reference image could not be read")
        request = build_request(best, image, image_size=self.policy.settings.image_size,
                                previous=previous)
        self.report(f"{at}: asking the policy", (number - 1) / self.total)
        answer = self.policy.ask(request.text, request.images, on_text=self.writing(at, number),
                                 cancelled=self.cancelled)
        code = extract_code(answer.text, best.kind)
        if code is None:
            why = ("the answer was cut off at policy-max-new-tokens before the code was complete"
                   if answer.truncated else "the answer held no usable code block")
            return Round(number, None, False, why), None
        candidate = conform(code, self.source.text)
        if candidate == best.source.text:
            return Round(number, None, False, "the answer repeated the code unchanged"), None
        if is_fragment(candidate, best.source.text):
            return Round(number, None, False,
                         "the answer was a fragment, not the complete file"), None
        if candidate in self.seen:
            return Round(number, None, False, "the answer repeated an earlier revision"), None
        self.seen.add(candidate)
        self.report(f"{at}: judging the revision", (number - 0.5) / self.total)
        result, why = self.judge(candidate, best)
        if result is None:
            return Round(number, None, False, why), None
        if not better(result, best):
            return Round(number, result.reward, False,
                         f"it judged no better (reward {result.reward:.2f}, best "
                         f"{best.reward:.2f})"), None
        if not keeps_canvas(result, best, image.size):
            return Round(number, result.reward, False,
                         "it changed the figure's size away from the reference's"), None
        self.report(f"{at}: reward {best.reward:.2f} → {result.reward:.2f}, kept",
                    number / self.total)
        return Round(number, result.reward, True, "kept"), (candidate, result)

    def judge(self, candidate: str, best: CheckResult) -> tuple[CheckResult | None, str]:
        """The judgement of ``candidate``, or None and why it could not be judged."""
        try:
            source = self.checker.load(self.source.path, candidate)
            pin = self.checker.pin_of(source, self.reference)
            if pin is None or pin.path.absolute() != best.pin.path.absolute():
                return None, "the answer changed which reference the file pins"
            self.renders += 1
            result = self.checker.check(source, self.reference, cancelled=self.cancelled)
        except JUDGE_ERRORS as exc:
            return None, f"it could not be judged ({exc})"
        if not result.render.ok and result.render.failure is not None:
            return None, f"it failed to render ({result.render.failure.message})"
        return result, ""

    def too_long(self, text: str) -> str | None:
        limit = self.policy.settings.max_new_tokens
        estimate = int(len(text) / CHARS_PER_TOKEN)
        if estimate <= limit * 0.9:
            return None
        return (f"the file (~{estimate} tokens) is longer than the policy may write "
                f"(policy-max-new-tokens = {limit}); raise it, or revise without a policy")

    def reference_image(self, result: CheckResult) -> Image.Image | None:
        try:
            return self.checker.reference(result.pin).image
        except (BadReferenceError, OSError):
            return None

    def writing(self, at: str, number: int) -> Callable[[str], None]:
        """An ``on_text`` that reports how much the policy has written, now and then."""
        written = [0, 0.0]

        def on_text(piece: str) -> None:
            written[0] += len(piece)
            now = time.perf_counter()
            if now - written[1] >= WRITING_REPORT_S:
                written[1] = now
                self.report(f"{at}: the policy is writing ({int(written[0])} characters)",
                            (number - 1) / self.total)
        return on_text

    def is_cancelled(self) -> bool:
        return self.cancelled is not None and self.cancelled()

    def report(self, message: str, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(message, max(0.0, min(1.0, fraction)))
