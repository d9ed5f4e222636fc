"""What the model critics share: prompt the model with both pictures, read its answer as it
streams, turn each error object into a located ``Discrepancy``.

A model critic never stands alone: the analytic critic judges first (milliseconds), so the user
sees something at once, and its result stands whenever the model cannot answer (worker died,
server down, an answer that cannot be read) — with a note saying so, never "no errors".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from verm.critic.analytic import AnalyticCritic
from verm.critic.model.parse import ModelError, StreamParser
from verm.critic.model.prompts import bounded, png_bytes, prompt_text
from verm.critic.model.settings import ModelSettings
from verm.critic.model.words import match_location
from verm.types import Box, Critique, Discrepancy, Reference, Render

log = logging.getLogger("verm.model")

OnFinding = Callable[[Discrepancy], None]
Cancelled = Callable[[], bool]
OnText = Callable[[str], None]


class ModelUnavailable(Exception):
    """The model could not answer (load failure, dead worker, unreachable server)."""


class ModelCancelled(Exception):
    """A newer judgement of the document replaced this one while the model was writing."""


def _scale_box(box: Box, src: tuple[int, int], dst: tuple[int, int]) -> Box:
    sx = dst[0] / max(1, src[0])
    sy = dst[1] / max(1, src[1])
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def discrepancy(error: ModelError, render: Render, reference: Reference) -> Discrepancy:
    """A model's error object as a Discrepancy, blamed on the element its words name."""
    match = match_location(error.location, error.description, render, error.category)
    anchor = match.anchor if match is not None else None
    render_box = anchor.box if anchor is not None else None
    ref_box = (_scale_box(render_box, render.size, reference.image.size)
               if render_box is not None else None)
    return Discrepancy(
        category=error.category, severity=error.severity,
        location=error.location or (anchor.name if anchor is not None else render.kind),
        description=error.description, ref_box=ref_box, render_box=render_box, anchor=anchor)


def fallback(first: Critique, critic: str, note: str, **meta: Any) -> Critique:
    """The analytic verdict standing in for a model that did not answer, with the reason."""
    return replace(first, critic=f"{critic} (analytic fallback)",
                   notes=[*first.notes, note],
                   meta={**first.meta, "fallback": True, **meta})


class ModelJudge:
    """Base of the ``model`` and ``remote`` critics: subclasses say how text is generated."""

    name = "model"
    streams = True  # judge_after publishes each finding as its JSON object closes

    def __init__(self, settings: ModelSettings | None = None,
                 analytic: AnalyticCritic | None = None) -> None:
        self.settings = settings or ModelSettings()
        self.analytic = analytic or AnalyticCritic()

    def generate(self, domain: str, prompt: str, reference_png: bytes, render_png: bytes,
                 on_text: OnText, cancelled: Cancelled | None) -> str:
        """The model's raw answer; raises ``ModelUnavailable`` when it cannot give one."""
        raise NotImplementedError

    def judge(self, reference: Reference, render: Render) -> Critique:
        """The Critic protocol: analytic first (the fallback), then the model."""
        return self.judge_after(reference, render, self.analytic.judge(reference, render))

    def judge_after(self, reference: Reference, render: Render, first: Critique,
                    on_finding: OnFinding | None = None,
                    cancelled: Cancelled | None = None) -> Critique:
        """The model's verdict on ``render``; ``first`` is the analytic one (kept if the model
        fails). ``on_finding`` gets each discrepancy the moment the model finishes writing it."""
        if not render.ok or render.image is None:
            return first
        start = time.perf_counter()
        domain = render.kind
        size = self.settings.image_size
        try:
            prompt = prompt_text(domain, Path(self.settings.prompts).expanduser()
                                 if self.settings.prompts else None)
        except ValueError as exc:
            return fallback(first, self.name, f"the model's prompt could not be read: {exc}")
        ref_png = png_bytes(bounded(reference.image, size))
        ren_png = png_bytes(bounded(render.image, size))
        parser = StreamParser(domain)
        first_at: list[float] = []

        # Findings already placed while streaming, by what the model wrote: the final verdict
        # reuses them rather than matching their words against the render a second time.
        placed: dict[tuple[str, int, str, str], list[Discrepancy]] = {}

        def key(error: ModelError) -> tuple[str, int, str, str]:
            return error.category, error.severity, error.location, error.description

        def on_text(text: str) -> None:
            for error in parser.feed(text):
                if not first_at:
                    first_at.append(time.perf_counter() - start)
                if on_finding is not None:
                    d = discrepancy(error, render, reference)
                    placed.setdefault(key(error), []).append(d)
                    try:
                        on_finding(d)
                    except Exception:
                        log.exception("verm: publishing a streamed finding failed")

        def final(error: ModelError) -> Discrepancy:
            earlier = placed.get(key(error))
            return earlier.pop(0) if earlier else discrepancy(error, render, reference)

        try:
            raw = self.generate(domain, prompt, ref_png, ren_png, on_text, cancelled)
        except ModelCancelled:
            return fallback(first, self.name, "the model's judgement was cancelled",
                            cancelled=True)
        except ModelUnavailable as exc:
            return fallback(first, self.name, f"the {self.name} critic could not judge this "
                            f"render ({exc}); showing the analytic critic's findings")
        judgement = parser.finish()
        meta: dict[str, Any] = {
            "model_seconds": round(time.perf_counter() - start, 3),
            "first_finding_s": round(first_at[0], 3) if first_at else None,
            "complete": judgement.complete, "problems": list(judgement.problems),
            "raw": raw[-20000:],
        }
        if not judgement.readable:
            log.info("verm: the model's answer could not be read: %r", raw[:300])
            return fallback(first, self.name, "the model's judgement could not be read; "
                            "showing the analytic critic's findings", **meta)
        notes = []
        if not judgement.complete:
            notes.append("the model's judgement was cut short (raise max-new-tokens); "
                         f"{len(judgement.errors)} complete findings kept")
        for problem in judgement.problems:
            log.info("verm: model output: %s", problem)
        found = [final(e) for e in judgement.errors]
        return Critique(rendered=True, discrepancies=found, critic=self.name,
                        elapsed_ms=(time.perf_counter() - start) * 1000, meta=meta, notes=notes)

    def close(self) -> None:
        """Let go of what the critic holds (a worker process, connections)."""
