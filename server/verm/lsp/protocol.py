"""JSON-RPC that answers every request, even one whose params cannot be read.

pygls deserialises each message inside ``json.loads`` (an ``object_hook``); when the params do
not fit the method's type (a line of -1 or 2**31, a string where a position goes) it raises, the
read loop logs the error, and the request is never answered: the client waits forever, as
JSON-RPC forbids. Here such a request gets an error response (InvalidParams, -32602, or
InvalidRequest, -32600, when the message itself is malformed); a notification is logged and
dropped; a response the server cannot read fails the request that waits for it; a body that is
not JSON, or not an object, is answered with id null (ParseError -32700 / InvalidRequest).

It also keeps the editor's documents line for line as the editor does: pygls splits lines with
``str.splitlines``, which also breaks at a form feed, U+2028 and other characters LSP does not
count, so an edit below one landed on the wrong line and verm judged (and fixed) a text the
editor never had.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cattrs.errors import ClassValidationError
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument, Workspace

from verm.types import LINE_BREAK

log = logging.getLogger("verm.lsp")

INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
PARSE_ERROR = -32700


# Line breaks to str.splitlines that LSP does not count.
_NOT_LSP_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def plain(text: str) -> bool:
    """Does only '\\n' (alone or after '\\r') end lines in ``text``? A few scans in C."""
    return text.count("\r") == text.count("\r\n") and not any(
        c in text for c in _NOT_LSP_BREAKS)


def lsp_lines(text: str) -> list[str]:
    """``text`` split after each LSP line end (\\n, \\r\\n, \\r), ends kept."""
    if plain(text):
        return text.splitlines(True)  # the same lines, at C speed
    out, start = [], 0
    for match in LINE_BREAK.finditer(text):
        out.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _line_start(text: str, line: int) -> int:
    """Where 0-based ``line`` starts in a text whose only line break is '\\n' (its end when
    it has fewer lines): a bisection on ``str.count``, ~2 passes over the text in C, not a
    Python loop over a million lines."""
    if line <= 0:
        return 0
    lo, hi, before = 0, len(text), 0  # ``before``: the line breaks in text[:lo], < line
    if text.count("\n") < line:
        return len(text)
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        count = before + text.count("\n", lo, mid)
        if count >= line:
            hi = mid
        else:
            lo, before = mid, count
    for _ in range(line - before):
        lo = text.index("\n", lo) + 1
    return lo


class LspTextDocument(TextDocument):
    """pygls's document, its lines counted as LSP counts them, and an edit applied in time
    proportional to a copy of the text (pygls splits and rejoins every line: ~1 s a keystroke
    in a 50 MB document, on the server's only loop)."""

    _plain: bool | None = None  # only '\n' ends lines, as ``plain`` (None: not known yet)

    @property
    def lines(self) -> Sequence[str]:
        return tuple(lsp_lines(self.source))

    def _apply_full_change(self, change: lsp.TextDocumentContentChangeEvent) -> None:
        super()._apply_full_change(change)
        self._plain = None

    def _apply_incremental_change(self, change: lsp.TextDocumentContentChangePartial) -> None:
        text = self.source
        if self._plain is None:
            self._plain = plain(text)
        if not self._plain:
            super()._apply_incremental_change(change)
            self._plain = None
            return
        start = self._offset(text, change.range.start)
        end = max(start, self._offset(text, change.range.end))
        new = text[:start] + change.text + text[end:]
        self._source = new
        # A new lone '\r' can only be where the old and new text meet (a cut "\r\n" at the
        # window's edge reads as one: the next edit then checks the whole text again).
        self._plain = plain(new[max(0, start - 1):start + len(change.text) + 1])

    def _offset(self, text: str, position: lsp.Position) -> int:
        """The code-point offset of a client position (clamped to its line, as pygls does)."""
        start = _line_start(text, position.line)
        if start >= len(text):
            return len(text)
        stop = text.find("\n", start)
        line = text[start:stop if stop >= 0 else len(text)]
        line = line[:-1] if line.endswith("\r") else line
        if line.isascii() or self.position_codec.encoding == lsp.PositionEncodingKind.Utf32:
            return start + min(position.character, len(line))
        units = column = 0
        counter = self.position_codec.impl
        for char in line:
            units += counter.code_units_for_char(char)
            if units > position.character:
                break
            column += 1
        return start + column


class LspWorkspace(Workspace):
    """pygls's workspace, holding ``LspTextDocument``s."""

    def _create_text_document(self, doc_uri: str, source: str | None = None,
                              version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return LspTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                               sync_kind=self._sync_kind, position_codec=self.position_codec)


class Rejected:
    """A message that could not be read and has been dealt with: nothing more to do."""


class VermProtocol(LanguageServerProtocol):
    """pygls's protocol, with unreadable messages answered instead of dropped."""

    @property
    def workspace(self) -> Workspace:
        """pygls's workspace (made at ``initialize``, empty until then) as an ``LspWorkspace``:
        it adds no state, only how documents are made."""
        workspace = super().workspace
        if type(workspace) is Workspace:
            workspace.__class__ = LspWorkspace
        return workspace

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            return self._reject(data, exc.__cause__ or exc)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Rejected):
            return
        super().handle_message(message)

    def _handle_response(self, msg_id: Any, result: Any | None = None,
                         error: Any | None = None) -> None:
        """A late answer to a request verm stopped waiting for (its future was cancelled by a
        timeout) is dropped: pygls would raise on it, and the read loop would then answer the
        editor with an error it cannot match to anything."""
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            self._request_futures.pop(msg_id, None)
            log.info("verm: dropped a late answer to request %r (it timed out)", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    def reject(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Answer a request (``None``: one whose id could not be read) with an error."""
        self._send_data(lsp.ResponseErrorMessage(id=msg_id, error=lsp.ResponseError(
            code=code, message=message)))

    def unreadable(self, error: Exception) -> None:
        """pygls's read loop could not use a message at all (not JSON, not an object): answer
        with id null, as JSON-RPC asks, and log it."""
        code = PARSE_ERROR if isinstance(error, ValueError) else INVALID_REQUEST
        log.warning("verm: unreadable message (%s)", _first_error(error))
        self.reject(None, code, "parse error: not JSON" if code == PARSE_ERROR
                    else "invalid request: not a JSON-RPC message")

    def _reject(self, data: dict[str, Any], cause: BaseException) -> Rejected:
        method = data.get("method")
        msg_id = data.get("id")
        invalid_params = isinstance(cause, ClassValidationError)
        detail = _first_error(cause)
        if method is not None and "id" in data:
            good_id = isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool)
            if invalid_params and good_id and isinstance(method, str):
                code, what = INVALID_PARAMS, "invalid params"
            else:  # the message itself is malformed: an id or method of the wrong type
                code, what = INVALID_REQUEST, "invalid request"
            log.warning("verm: %s for %s (id %r): %s", what, method, msg_id, detail)
            self.reject(msg_id if good_id else None, code, f"{what} for {method}: {detail}")
        elif method is not None:
            log.warning("verm: ignoring %s with unreadable params: %s", method, detail)
        else:
            log.warning("verm: unreadable response to request %r: %s", msg_id, detail)
            future = self._request_futures.pop(msg_id, None) if isinstance(
                msg_id, (int, str)) else None
            if future is not None and not future.done():
                future.set_exception(JsonRpcException(code=INVALID_PARAMS,
                                                      message=f"unreadable response: {detail}"))
        return Rejected()


def _first_error(exc: BaseException) -> str:
    """The innermost message of a cattrs validation error group (short, for the client)."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
