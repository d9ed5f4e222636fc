"""Critics: compare a render with its reference and say what differs, in the shared taxonomy."""

from __future__ import annotations

from typing import Any

from verm.critic.analytic import AnalyticCritic
from verm.critic.base import Critic

CRITIC_NAMES = ("analytic", "model", "remote", "ensemble")


def known_critics() -> tuple[str, ...]:
    return CRITIC_NAMES


def get_critic(name: str, *, settings: Any = None, on_status: Any = None,
               analytic: AnalyticCritic | None = None, **options: Any) -> Critic:
    """The critic called ``name``. ``settings`` (``ModelSettings``): the user's model, server
    and decoding choices for the model critics; ``on_status``: model loading progress;
    ``options``: the analytic critic's (e.g. ``ocr=False``)."""
    if name not in CRITIC_NAMES:
        raise ValueError(f"unknown critic {name!r}; known critics: {', '.join(CRITIC_NAMES)}")
    if name == "analytic":
        return AnalyticCritic(**options)
    from verm.critic.model.settings import ModelSettings

    settings = settings or ModelSettings()
    analytic = analytic or AnalyticCritic(**options)
    if name == "remote" or (name == "ensemble" and settings.endpoints and not settings.model):
        from verm.critic.model.remote import RemoteCritic

        model: Any = RemoteCritic(settings, analytic)
    else:
        from verm.critic.model.local import ModelCritic

        model = ModelCritic(settings, analytic, on_status)
    if name == "ensemble":
        from verm.critic.ensemble import EnsembleCritic

        return EnsembleCritic(model, analytic)
    return model


__all__ = ["AnalyticCritic", "Critic", "get_critic", "known_critics"]
