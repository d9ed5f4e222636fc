"""The reward-model dataset's one row shape, shared by synth (writes it), reward_model (trains
on it) and evaluate (scores critics on it).

A row is exactly what the model critic sees at judgement time — the domain's prompt
(``verm.critic.model.prompts``), the reference image first and the render second, each bounded
to the same longest side — and, as its completion, the critique in the published model's output
schema. The labels ride along as columns so evaluation needs no parsing of completions.

Columns:
    images      [reference, render] (PIL images; ``datasets.Image`` features on disk)
    prompt      chat messages: [{"role": "user", "content": [image, image, text]}]
    completion  [{"role": "assistant", "content": [{"type": "text", "text": <JSON>}]}]
    domain      "chart" | "svg" | "html" | "table"
    source      the source file the pair came from (the split is by source)
    mutation    what was changed ("recolor series 1", "title text", ...; "" for --from-git)
    labels      JSON list of {category, severity, location, description, line} (line 0-based)
    severity    the sum of the labels' severities (for ranking and Pearson)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from verm.critic.model.prompts import bounded, chat_messages, prompt_text
from verm.types import TAXONOMY

COLUMNS = ("images", "prompt", "completion", "domain", "source", "mutation", "labels",
           "severity")

# The published model's per-domain count keys (verm.critic.model.prompts asks for these).
COUNT_KEYS: dict[str, tuple[str, ...]] = {
    domain: tuple(f"{c.removesuffix('_error')}_error_count" for c in categories)
    for domain, categories in TAXONOMY.items()
}


@dataclass(frozen=True)
class Label:
    """One known difference between reference and render, with the line that caused it."""

    category: str
    severity: int
    location: str
    description: str
    line: int | None = None  # 0-based line of the source that was changed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Label:
        return cls(category=str(d.get("category") or d.get("type")), severity=int(d["severity"]),
                   location=str(d.get("location") or ""),
                   description=str(d.get("description") or ""),
                   line=None if d.get("line") is None else int(d["line"]))


def critique_text(domain: str, labels: list[Label]) -> str:
    """The completion: the critique in the published model's exact schema for ``domain``
    (tables: ``type`` and no ``location``)."""
    counts = {key: 0 for key in COUNT_KEYS[domain]}
    errors: list[dict[str, Any]] = []
    for label in labels:
        key = f"{label.category.removesuffix('_error')}_error_count"
        if key in counts:
            counts[key] += 1
        if domain == "table":
            errors.append({"type": label.category, "description": label.description,
                           "severity": label.severity})
        else:
            errors.append({"category": label.category, "severity": label.severity,
                           "location": label.location, "description": label.description})
    return json.dumps({**counts, "errors": errors}, ensure_ascii=False)


def make_row(domain: str, reference: Image.Image, render: Image.Image, labels: list[Label], *,
             source: str, mutation: str = "", longest: int = 1024) -> dict[str, Any]:
    """One dataset row, in the exact prompt and schema the model critic uses."""
    for label in labels:
        if label.category not in TAXONOMY[domain]:
            raise ValueError(f"{label.category!r} is not a {domain} category")
    return {
        "images": [bounded(reference, longest), bounded(render, longest)],
        "prompt": chat_messages(domain, prompt_text(domain)),
        "completion": [{"role": "assistant",
                        "content": [{"type": "text", "text": critique_text(domain, labels)}]}],
        "domain": domain,
        "source": source,
        "mutation": mutation,
        "labels": json.dumps([label.to_json() for label in labels], ensure_ascii=False),
        "severity": sum(label.severity for label in labels),
    }


def labels_of(row: dict[str, Any]) -> list[Label]:
    return [Label.from_json(d) for d in json.loads(row["labels"])]
