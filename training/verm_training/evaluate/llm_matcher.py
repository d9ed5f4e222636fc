"""The paper's matcher: a served model says whether a predicted error and an annotated one
describe the same discrepancy (yes / partial / no).

It reproduces VC-RewardBench's published protocol, so numbers compare with the paper's table;
the price is a request per candidate pair and answers that may change with the model. The
deterministic matcher (``metrics.rule_verdict``) stays the default. Answers are cached per pair
of texts: the same two errors are never asked about twice in a run.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from verm_training.evaluate.metrics import Error, Verdict

PROMPT = """You compare two error reports about the same pair of images (a reference picture \
and a rendering of code that should look like it).

Annotated error (ground truth):
- category: {g.category}
- location: {g.location}
- description: {g.description}

Predicted error:
- category: {p.category}
- location: {p.location}
- description: {p.description}

Do these two error descriptions describe the same discrepancy? Answer "yes" if they are the \
same problem at the same place, "partial" if they overlap (same element, different or vaguer \
problem, or the same problem with the wrong category), "no" otherwise. Answer with one word: \
yes, partial or no."""

_WORD = re.compile(r"\b(yes|partial|partially|no)\b", re.I)


def read_verdict(text: str) -> Verdict:
    """The first yes/partial/no in the answer (after any ``<think>`` block); "no" if none."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I)
    m = _WORD.search(text)
    if m is None:
        return "no"
    word = m.group(1).lower()
    return "partial" if word.startswith("partial") else word  # type: ignore[return-value]


class LlmMatcher:
    """A ``Judge`` (see ``metrics.match``) backed by an OpenAI-compatible endpoint."""

    def __init__(self, endpoints: tuple[str, ...], model: str | None = None,
                 api_key_env: str | None = None, timeout_s: float = 120.0) -> None:
        from verm.critic.model.openai import ChatClient, EndpointConfig

        if not endpoints:
            raise ValueError("--llm-matcher asks the served model: pass --endpoint URL")
        self.client: Any = ChatClient(EndpointConfig(urls=endpoints, model=model,
                                                     api_key_env=api_key_env,
                                                     timeout_s=timeout_s))
        self.cache: dict[tuple[Error, Error], Verdict] = {}
        self.asked = 0
        self._lock = threading.Lock()

    def __call__(self, gold: Error, pred: Error) -> Verdict:
        key = (gold, pred)
        with self._lock:
            if key in self.cache:
                return self.cache[key]
        done = self.client.complete(
            [{"role": "user", "content": PROMPT.format(g=gold, p=pred)}],
            max_tokens=16, temperature=0.0)
        verdict = read_verdict(done.text)
        with self._lock:
            self.asked += 1
            self.cache[key] = verdict
        return verdict
