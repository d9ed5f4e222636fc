"""Revision: edit a source until its render matches the reference (DESIGN.md, "revise").

Two revisers share one result (``Revision``): the policy model (``model.revise_with_policy``,
the paper's reflection loop, used when the user configured a policy) and the literal search
(``literal.revise``, no model). Both keep a change only when the re-judged render improves, and
both end in the fewest ``TextEdit``s of the original text (``edits``), never a rewrite.
"""

from verm.revise.edits import TextEdit, apply_text_edits, minimal_edits
from verm.revise.literal import revise
from verm.revise.model import revise_with_policy
from verm.revise.outcome import Edit, Revision, Round, Stopped, better, keeps_canvas
from verm.revise.policy import (
    Policy,
    PolicySettings,
    PolicySettingsError,
    open_policy,
    read_settings,
)

__all__ = ["Edit", "Policy", "PolicySettings", "PolicySettingsError", "Revision", "Round",
           "Stopped", "TextEdit", "apply_text_edits", "better", "keeps_canvas", "minimal_edits",
           "open_policy", "read_settings", "revise", "revise_with_policy"]
