"""Revision: edit a source until its render matches the reference (DESIGN.md, "revise").

The literal search (``literal.revise``, no model) keeps a change only when the re-judged render
improves, and ends in the fewest ``TextEdit``s of the original text (``edits``), never a rewrite.
"""

from verm.revise.edits import TextEdit, apply_text_edits, minimal_edits
from verm.revise.literal import revise
from verm.revise.outcome import Edit, Revision, Round, Stopped, better, keeps_canvas

__all__ = ["Edit", "Revision", "Round", "Stopped", "TextEdit", "apply_text_edits", "better",
           "keeps_canvas", "minimal_edits", "revise"]
