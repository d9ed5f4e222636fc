"""Hover on a line with visual discrepancies: what differs, the reward, a link to the diff."""

from __future__ import annotations

from lsprotocol import types as lsp

from verm.lsp.server import VermServer, path_to_uri

WORDS = {3: "error", 2: "warning", 1: "info"}


def setup(server: VermServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: VermServer, params: lsp.HoverParams) -> lsp.Hover | None:
        outcome = ls.outcome(params.text_document.uri)
        if outcome is None or outcome.result is None:
            return None
        result = outcome.result
        columns = ls.columns(result.source.text)
        line = params.position.line  # lines are the same for verm and the client
        here = [d for d in result.discrepancies
                if d.range is not None and d.range.start.line <= line <= d.range.end.line]
        if not here:
            return None
        lines = [f"**verm** — reward {result.reward:.2f} of 2.00 against "
                 f"`{result.pin.path.name}`", ""]
        for d in here:
            lines.append(f"- **{d.category}** ({WORDS[d.severity]}, {d.location}): "
                         f"{d.description}")
        if outcome.diff_path is not None:
            lines += ["", f"[Open visual diff (reference | render | difference)]"
                          f"({path_to_uri(outcome.diff_path)})"]
        first = here[0].range
        assert first is not None
        start = columns.to_client(first.start)
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n".join(lines)),
            range=lsp.Range(start=lsp.Position(line=start.line, character=0),
                            end=columns.to_client(first.end)),
        )
