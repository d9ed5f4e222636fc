"""Code actions and commands: pin the current render as the reference, open the visual diff."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from verm.lsp.server import VermServer, path_to_uri, uri_to_path
from verm.pins import PinExistsError, default_pin_target, pin_render
from verm.source import Source

log = logging.getLogger("verm.lsp")

PIN = "verm.pin"
SHOW_DIFF = "verm.showDiff"
REPLACE = "Replace"


def _verm_diagnostics(params: lsp.CodeActionParams) -> list[lsp.Diagnostic]:
    return [d for d in params.context.diagnostics if d.source == "verm"]


def setup(server: VermServer) -> None:
    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix,
                                                 lsp.CodeActionKind.Source]),
    )
    def code_actions(ls: VermServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        outcome = ls.outcome(uri)
        if outcome is None or outcome.pin is None:
            return []
        diagnostics = _verm_diagnostics(params)
        actions: list[lsp.CodeAction] = []
        exists = outcome.pin.path.exists()
        title = ("Pin current render as reference (replaces "
                 f"{outcome.pin.path.name})" if exists else
                 f"Pin current render as reference ({outcome.pin.path.name})")
        actions.append(lsp.CodeAction(
            title=title, kind=lsp.CodeActionKind.QuickFix if not exists
            else lsp.CodeActionKind.Source, diagnostics=diagnostics or None,
            command=lsp.Command(title=title, command=PIN, arguments=[uri])))
        if outcome.diff_path is not None:
            actions.append(lsp.CodeAction(
                title="Open visual diff (reference | render | difference)",
                kind=lsp.CodeActionKind.Source, diagnostics=diagnostics or None,
                command=lsp.Command(title="Open visual diff", command=SHOW_DIFF,
                                    arguments=[uri])))
        return actions

    @server.command(PIN)
    async def pin(ls: VermServer, uri: str, *args: Any) -> dict[str, Any]:
        """Render the document as it is now and save that as its reference."""
        path = uri_to_path(uri)
        doc = ls.workspace.text_documents.get(uri)
        source = Source.load(path, doc.source if doc is not None else None)
        if source.kind == "chart" and not ls.trusted(path):
            ls.notify_user("verm: not pinning: the workspace is not trusted to run chart scripts",
                           lsp.MessageType.Warning)
            return {"pinned": False, "reason": "untrusted"}
        target = default_pin_target(source, ls.checker.config_for(path)).path
        force = False
        if target.exists():
            answer = await ls.window_show_message_request_async(lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Warning,
                message=f"{target.name} already exists. Replace it with the current render?",
                actions=[lsp.MessageActionItem(title=REPLACE),
                         lsp.MessageActionItem(title="Cancel")]))
            if answer is None or answer.title != REPLACE:
                return {"pinned": False, "reason": "declined"}
            force = True
        render = await ls.loop_run(ls.checker.render, source)
        if not render.ok:
            assert render.failure is not None
            ls.notify_user(f"verm: cannot pin, the render failed: {render.failure.message}",
                           lsp.MessageType.Error)
            return {"pinned": False, "reason": "render failed"}
        try:
            pin_render(render, target, force=force)
        except PinExistsError as exc:
            ls.notify_user(f"verm: {exc}", lsp.MessageType.Warning)
            return {"pinned": False, "reason": "exists"}
        ls.schedule(uri, "pin")
        return {"pinned": True, "reference": str(target)}

    @server.command(SHOW_DIFF)
    async def show_diff(ls: VermServer, uri: str, *args: Any) -> dict[str, Any]:
        outcome = ls.outcome(uri)
        diff: Path | None = outcome.diff_path if outcome else None
        if diff is None or not diff.exists():
            ls.notify_user("verm: no visual differences to show for this file")
            return {"shown": False}
        caps = ls.client_capabilities.window
        if caps and caps.show_document and caps.show_document.support:
            await ls.window_show_document_async(lsp.ShowDocumentParams(
                uri=path_to_uri(diff), external=True))
            return {"shown": True, "diff": str(diff)}
        ls.notify_user(f"verm: visual diff at {diff}")
        return {"shown": False, "diff": str(diff)}
