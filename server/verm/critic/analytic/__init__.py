"""The analytic critic (CPU, milliseconds): register, compare pixels and anchors, blame, word.

One module per stage: ``register`` (scale and offset), ``pixels`` and ``components`` (the
difference map and its regions), ``compare`` and ``sidecar`` (element to element), ``blame`` and
``attribute`` (which anchor caused a region), ``findings`` and ``wording`` (the discrepancies),
``ocr`` (optional text); ``critic`` puts them together behind the ``Critic`` protocol.
"""

from verm.critic.analytic.critic import CANVAS_NAMES, AnalyticCritic

__all__ = ["CANVAS_NAMES", "AnalyticCritic"]
