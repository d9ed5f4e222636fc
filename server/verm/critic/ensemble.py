"""The ``ensemble`` critic: analytic and model together, each finding said once.

The analytic critic is precise about *where* (pixel boxes, the element, a quick fix); the
model about *what* (it reads the picture as a person does). A finding both report — the same
element, or overlapping boxes, in the same category — becomes one diagnostic in the model's
words carrying the analytic view and its box and fix. The reward is the model's when it
answered (it is the trained judge); the analytic one stands when it did not.
"""

from __future__ import annotations

from dataclasses import replace

from verm.critic.analytic import AnalyticCritic
from verm.critic.model.judge import Cancelled, ModelJudge, OnFinding
from verm.types import Box, Critique, Discrepancy, Reference, Render

OVERLAP = 0.3  # intersection over the smaller box above which two findings are one place


def _overlap(a: Box | None, b: Box | None) -> float:
    if a is None or b is None:
        return 0.0
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / smaller if smaller > 0 else 0.0


def same_finding(model: Discrepancy, analytic: Discrepancy) -> bool:
    """One place (same element, or boxes that overlap) and the same category."""
    if model.category != analytic.category:
        return False
    a, b = model.anchor, analytic.anchor
    if a is not None and b is not None and (a is b or a.key == b.key):
        return True
    if a is not None and b is not None and a.range is not None and a.range == b.range:
        return True
    return _overlap(model.render_box, analytic.render_box) >= OVERLAP


def merge(analytic: list[Discrepancy], model: list[Discrepancy]) -> list[Discrepancy]:
    """Model findings first (each absorbing the analytic ones it agrees with), then the
    analytic findings the model did not mention."""
    used: set[int] = set()
    out: list[Discrepancy] = []
    for m in model:
        twins = [i for i, a in enumerate(analytic) if i not in used and same_finding(m, a)]
        if not twins:
            out.append(m)
            continue
        used.update(twins)
        first = analytic[twins[0]]
        views = "; ".join(analytic[i].description for i in twins)
        out.append(replace(
            m, severity=max(m.severity, *(analytic[i].severity for i in twins)),
            description=f"{m.description} (analytic: {views})",
            ref_box=first.ref_box or m.ref_box, render_box=first.render_box or m.render_box,
            anchor=first.anchor or m.anchor, fix=first.fix, range=first.range or m.range))
    out.extend(a for i, a in enumerate(analytic) if i not in used)
    return out


class EnsembleCritic:
    """Analytic plus a model critic (local ``model`` or ``remote``)."""

    name = "ensemble"
    streams = True

    def __init__(self, model: ModelJudge, analytic: AnalyticCritic | None = None) -> None:
        self.model = model
        self.analytic = analytic or model.analytic

    def judge(self, reference: Reference, render: Render) -> Critique:
        return self.judge_after(reference, render, self.analytic.judge(reference, render))

    def judge_after(self, reference: Reference, render: Render, first: Critique,
                    on_finding: OnFinding | None = None,
                    cancelled: Cancelled | None = None) -> Critique:
        verdict = self.model.judge_after(reference, render, first, on_finding, cancelled)
        if verdict.meta.get("fallback") or not render.ok:
            return replace(verdict, critic=f"{self.name} (analytic only)")
        merged = merge(list(first.discrepancies), list(verdict.discrepancies))
        return Critique(rendered=first.rendered and verdict.rendered, discrepancies=merged,
                        critic=self.name, elapsed_ms=first.elapsed_ms + verdict.elapsed_ms,
                        meta={**first.meta, **verdict.meta, "reward": verdict.reward,
                              "model_critic": self.model.name},
                        notes=[*first.notes, *verdict.notes])

    def close(self) -> None:
        self.model.close()
