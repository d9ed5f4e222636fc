"""Critics: compare a render with its reference and say what differs, in the shared taxonomy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verm.critic.analytic import AnalyticCritic
from verm.critic.base import Critic


def _factories() -> dict[str, Callable[..., Critic]]:
    """Known critics by name (a function, not a module-level dict: no global mutable state)."""
    return {"analytic": AnalyticCritic}


def known_critics() -> tuple[str, ...]:
    return tuple(_factories())


def get_critic(name: str, **options: Any) -> Critic:
    """The critic called ``name``, built with ``options`` (e.g. ``ocr=False``)."""
    factories = _factories()
    if name not in factories:
        planned = ("model", "remote", "ensemble")  # DESIGN.md's critics still to come
        if name in planned:
            raise ValueError(f"the {name!r} critic is not available in this version of verm yet; "
                             f"available: {', '.join(factories)}")
        raise ValueError(f"unknown critic {name!r}; known critics: {', '.join(factories)}")
    return factories[name](**options)


__all__ = ["AnalyticCritic", "Critic", "get_critic", "known_critics"]
