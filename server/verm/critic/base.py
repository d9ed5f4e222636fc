"""The critic interface: every judge of reference vs render speaks it (analytic, model, …)."""

from __future__ import annotations

from typing import Protocol

from verm.types import Critique, Reference, Render


class Critic(Protocol):
    """Judges a render against its pinned reference as a list of structured discrepancies."""

    name: str

    def judge(self, reference: Reference, render: Render) -> Critique:
        """Never raises for bad pictures: a failed or blank render is a Critique too."""
        ...
