"""The reward of DESIGN.md (the paper's RL reward): one number for "how equivalent"."""

from __future__ import annotations

from collections.abc import Iterable

MAX_REWARD = 2.0
SEVERITY_SCALE = 50.0


def reward(severities: Iterable[int], *, rendered: bool) -> float:
    """0 when nothing rendered; else ``1 + clip(1 - S/50, 0, 1)`` with S the severity sum."""
    if not rendered:
        return 0.0
    total = sum(int(s) for s in severities)
    return 1.0 + min(1.0, max(0.0, 1.0 - total / SEVERITY_SCALE))
