"""A revision as the editor receives it: the fewest ``TextEdit``s that turn the original text
into the revised one, ranges in the original.

Both revisers (the literal search and the policy model) end here, so a model that rewrote the
whole file still reaches the editor as edits of only the lines it changed: undo, blame and the
user's cursor stay where they were, and nothing the model left alone is touched.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from verm.revise.literals import LineIndex
from verm.types import Range

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


@dataclass(frozen=True)
class TextEdit:
    """An LSP ``TextEdit``: replace ``range`` of the original text by ``new_text``."""

    range: Range
    new_text: str


def lines(text: str) -> list[str]:
    """Lines split at '\\n' only (as ranges count them), each keeping its newline."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified_diff(original: str, text: str, name: str) -> str:
    """A unified diff for people (``a/name`` → ``b/name``)."""
    return "".join(difflib.unified_diff(lines(original), lines(text), f"a/{name}", f"b/{name}"))


def minimal_edits(original: str, text: str) -> list[TextEdit]:
    """Token-level edits (words, spaces, punctuation) within the changed lines, turning
    ``original`` into ``text``."""
    index = LineIndex(original)
    a, b = lines(original), lines(text)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[TextEdit] = []
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in blocks:
        if tag == "equal":
            continue
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        ta, tb = _TOKEN.findall(old), _TOKEN.findall(new)
        offsets = [0]
        for t in ta:
            offsets.append(offsets[-1] + len(t))
        matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
        for op, k1, k2, m1, m2 in matcher.get_opcodes():
            if op != "equal":
                start, end = starts[i1] + offsets[k1], starts[i1] + offsets[k2]
                edits.append(TextEdit(index.range(start, end), "".join(tb[m1:m2])))
    return edits


def apply_text_edits(original: str, edits: list[TextEdit]) -> str:
    """``original`` with ``edits`` (non-overlapping, ranges in ``original``) applied."""
    index = LineIndex(original)
    out, at = [], 0
    spans = sorted((index.offset(e.range.start.line, e.range.start.character),
                    index.offset(e.range.end.line, e.range.end.character), e.new_text)
                   for e in edits)
    for start, end, new in spans:
        out.append(original[at:start])
        out.append(new)
        at = end
    out.append(original[at:])
    return "".join(out)
