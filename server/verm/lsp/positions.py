"""Columns between verm and the editor: code points inside, the negotiated encoding outside.

verm counts columns in code points (Python string indices), lines as LSP does (at '\\n',
'\\r\\n' or a lone '\\r': ``verm.types.LINE_BREAK``). LSP counts columns in the code units
of the position encoding agreed at ``initialize`` (UTF-16 unless the client offers another): an
emoji is 1 code point, 2 UTF-16 units, 4 UTF-8 bytes. Sending code points to a UTF-16 editor
puts every edit after an astral character in the wrong place (a quick fix once wrote
``colo"#dd8452"0")``), so every position verm sends goes through here. pygls negotiates the
encoding and counts the units (``PositionCodec``); this class keeps the lines of the one text
the positions refer to. Of what the client sends, verm reads only lines (a hover's line; code
actions find their discrepancy by the diagnostic's data), which need no conversion.
"""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.workspace.position_codec import PositionCodec

from verm.types import LINE_BREAK, Position, Range

CODE_POINTS = lsp.PositionEncodingKind.Utf32


class Columns:
    """Positions in one text, their columns converted to the client's code units."""

    def __init__(self, codec: PositionCodec, text: str | None) -> None:
        self.codec = codec
        self.text = text
        self._lines: list[str] | None = None

    def _line(self, line: int) -> str | None:
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text or "")
        return self._lines[line] if 0 <= line < len(self._lines) else None

    def to_client(self, p: Position | lsp.Position) -> lsp.Position:
        """A verm position as the client counts it (a column past the line's end: its end; a
        negative line or column, which LSP cannot carry: 0)."""
        line_no, character = max(0, p.line), max(0, p.character)
        line = None if self.text is None else self._line(line_no)
        if line is None:
            return lsp.Position(line=line_no, character=character)
        column = min(character, len(line))
        if self.codec.encoding != CODE_POINTS and not line.isascii():
            column = int(self.codec.client_num_units(line[:column]))
        return lsp.Position(line=line_no, character=column)

    def range_to_client(self, r: Range | lsp.Range) -> lsp.Range:
        return lsp.Range(start=self.to_client(r.start), end=self.to_client(r.end))
