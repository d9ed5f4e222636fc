"""Columns between verm and the editor: code points inside, the negotiated encoding outside.

verm counts columns in code points (Python string indices) and lines at '\\n'. LSP counts
columns in the code units of the position encoding agreed at ``initialize`` (UTF-16 unless the
client offers another): an emoji is 1 code point, 2 UTF-16 units, 4 UTF-8 bytes. Sending code
points to a UTF-16 editor puts every edit after an astral character in the wrong place (a quick
fix once wrote ``colo"#dd8452"0")``), so every position verm sends or reads goes through here.
pygls negotiates the encoding and counts the units (``PositionCodec``); this class only keeps
the lines of the one text the positions refer to. Of what the client sends, verm reads only
lines (a hover's line; code actions find their discrepancy by the diagnostic's data).
"""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.workspace.position_codec import PositionCodec

from verm.types import Position, Range

CODE_POINTS = lsp.PositionEncodingKind.Utf32


class Columns:
    """Positions in one text, converted between code points and the client's code units."""

    def __init__(self, codec: PositionCodec, text: str | None) -> None:
        self.codec = codec
        self.text = text
        self._lines: list[str] | None = None

    @property
    def identity(self) -> bool:
        return self.codec.encoding == CODE_POINTS or self.text is None

    def _line(self, line: int) -> str | None:
        if self._lines is None:
            self._lines = (self.text or "").split("\n")
        return self._lines[line] if 0 <= line < len(self._lines) else None

    def to_client(self, p: Position | lsp.Position) -> lsp.Position:
        """A code-point position as the client counts it."""
        line = None if self.identity else self._line(p.line)
        if line is None or line.isascii():
            return lsp.Position(line=p.line, character=p.character)
        return lsp.Position(line=p.line, character=self.codec.client_num_units(
            line[: p.character]))

    def range_to_client(self, r: Range | lsp.Range) -> lsp.Range:
        return lsp.Range(start=self.to_client(r.start), end=self.to_client(r.end))
