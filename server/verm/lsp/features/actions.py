"""Code actions and commands: quick fixes, revise to match, pin the render, open the diff.

The server never writes the user's source: every change is a ``WorkspaceEdit`` the client
applies, for the document version that was judged (a stale edit is never offered).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from verm.check import CriticError, NotPinnedError
from verm.config import ConfigError, user_config_path
from verm.lsp.server import Outcome, VermServer, path_to_uri, uri_to_path
from verm.pins import (
    BadReferenceError,
    OutsideWorkspaceError,
    PinExistsError,
    confine,
    default_pin_target,
    pin_render,
    relative_display,
    sidecar_path,
)
from verm.revise import (
    Policy,
    PolicySettings,
    Revision,
    open_policy,
    read_settings,
    revise,
    revise_with_policy,
)
from verm.revise.literals import LineIndex, scan
from verm.revise.proposals import hinted

log = logging.getLogger("verm.lsp")

PIN = "verm.pin"
SHOW_DIFF = "verm.showDiff"
REVISE = "verm.revise"
REPLACE = "Replace"
TITLE_CHARS = 40


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
        actions: list[lsp.CodeAction] = quick_fixes(ls, uri, outcome, diagnostics)
        if outcome.result is not None and outcome.result.discrepancies:
            title = "Revise to match reference"
            actions.append(lsp.CodeAction(
                title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=diagnostics or None,
                command=lsp.Command(title=title, command=REVISE, arguments=[uri])))
        roots = ls.write_roots(uri_to_path(uri))
        if _writable(outcome.pin.path, roots):  # never offer a write outside the workspace
            exists = outcome.pin.path.exists()
            shown = relative_display(outcome.pin.path, roots)
            title = (f"Pin current render as reference (replaces {shown})" if exists else
                     f"Pin current render as reference ({shown})")
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

    setup_revise(server)

    @server.command(PIN)
    async def pin(ls: VermServer, uri: str, *args: Any) -> dict[str, Any]:
        """Render the document as it is now and save that as its reference."""
        path = uri_to_path(uri)
        doc = ls.workspace.text_documents.get(uri)
        source = ls.checker.load(path, doc.source if doc is not None else None)
        if source.kind == "chart" and not ls.trusted(path):
            ls.notify_user("verm: not pinning: the workspace is not trusted to run chart scripts",
                           lsp.MessageType.Warning)
            return {"pinned": False, "reason": "untrusted"}
        pin = default_pin_target(source, ls.checker.config_for(path))
        target, roots = pin.path, ls.write_roots(path)
        try:  # a pragma or config may point anywhere: only the workspace is written
            confine(target, roots, pin.describe())
            confine(sidecar_path(target), roots, pin.describe())
        except OutsideWorkspaceError as exc:
            ls.notify_user(f"verm: not pinning: {exc}", lsp.MessageType.Error)
            return {"pinned": False, "reason": "outside"}
        shown = relative_display(target, roots)
        force = False
        if target.exists():
            answer = await ls.window_show_message_request_async(lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Warning,
                message=f"{shown} already exists (the reference {pin.describe()} names). "
                        f"Replace it with the current render?",
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
            pin_render(render, target, force=force, within=roots, why=pin.describe())
        except PinExistsError as exc:
            ls.notify_user(f"verm: {exc}", lsp.MessageType.Warning)
            return {"pinned": False, "reason": "exists"}
        except (OutsideWorkspaceError, OSError) as exc:
            ls.notify_user(f"verm: not pinned: {exc}", lsp.MessageType.Error)
            return {"pinned": False, "reason": "not written"}
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


def _writable(target: Path, roots: list[Path]) -> bool:
    try:
        confine(target, roots)
        confine(sidecar_path(target), roots)
    except OutsideWorkspaceError:
        return False
    return True


def _short(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _edit(uri: str, version: int | None, edits: list[lsp.TextEdit]) -> lsp.WorkspaceEdit:
    return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
        text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=edits)])


def quick_fixes(ls: VermServer, uri: str, outcome: Outcome,
                diagnostics: list[lsp.Diagnostic]) -> list[lsp.CodeAction]:
    """Literal edits the critic asks for outright (colour, text, style value), one per
    diagnostic, for the text that was judged — none when the document moved on since."""
    result = outcome.result
    doc = ls.workspace.text_documents.get(uri)
    if result is None or (doc is not None and doc.version != outcome.request.version):
        return []
    text = result.source.text
    lits = scan(text, result.kind)
    index = LineIndex(text)
    columns = ls.columns(text)
    actions = []
    for diag in diagnostics:
        data = diag.data if isinstance(diag.data, dict) else {}
        i = data.get("index")
        if data.get("generation") != outcome.request.generation or not isinstance(i, int) \
                or not 0 <= i < len(result.discrepancies):
            continue
        proposal = next(hinted(result.discrepancies[i], lits, index, text, result.kind), None)
        if proposal is None:
            continue
        title = f"Change {_short(proposal.old)} to {_short(proposal.new)}"
        edit = lsp.TextEdit(range=columns.range_to_client(index.range(proposal.start,
                                                                      proposal.end)),
                            new_text=proposal.new)
        actions.append(lsp.CodeAction(
            title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag],
            is_preferred=True, edit=_edit(uri, outcome.request.version, [edit])))
    return actions


class PolicyPool:
    """The policy the user configured, kept open between revisions (a local one stays loaded
    until its worker idles out) and replaced when the user's policy settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: tuple[PolicySettings, Policy] | None = None

    def get(self, settings: PolicySettings) -> Policy:
        with self._lock:
            if self._open is not None and self._open[0] == settings:
                return self._open[1]
            old, self._open = self._open, None
            if old is not None:
                old[1].close()
            policy = open_policy(settings)
            self._open = (settings, policy)
            return policy

    def close(self) -> None:
        with self._lock:
            old, self._open = self._open, None
        if old is not None:
            old[1].close()


def policy_settings(ls: VermServer) -> PolicySettings:
    """The user's policy settings: the user config file, then the editor's (``checker.overrides``
    carries them as kebab-case keys). Raises ``ConfigError`` for a bad value."""
    return read_settings(ls.checker.user_settings, ls.checker.overrides,
                         str(user_config_path()))


def setup_revise(server: VermServer) -> None:
    policies = PolicyPool()

    async def close_policies() -> None:
        await asyncio.get_running_loop().run_in_executor(None, policies.close)

    server.on_shutdown.append(close_policies)

    @server.command(REVISE)
    async def revise_command(ls: VermServer, uri: str, *args: Any) -> dict[str, Any]:
        """Propose, re-render, re-judge; end with one WorkspaceEdit of the changed lines only
        (or say nothing improved). The policy model revises when the user configured one,
        else the literal search."""
        path = uri_to_path(uri)
        doc = ls.workspace.get_text_document(uri)
        text, version = doc.source, doc.version
        source = ls.checker.load(path, text)
        if source.kind == "chart" and not ls.trusted(path):
            ls.notify_user("verm: not revising: the workspace is not trusted to run chart "
                           "scripts", lsp.MessageType.Warning)
            return {"applied": False, "reason": "untrusted"}
        try:
            settings = policy_settings(ls)
            policy = policies.get(settings) if settings.configured else None
        except ConfigError as exc:
            ls.notify_user(f"verm: not revising: {exc}", lsp.MessageType.Error)
            return {"applied": False, "reason": "settings"}
        stop = threading.Event()
        token = str(uuid.uuid4())
        caps = ls.client_capabilities.window
        progress = bool(caps and caps.work_done_progress)
        if progress:
            await ls.work_done_progress.create_async(token)
            title = ("verm: revising with the policy model" if policy is not None else
                     "verm: revising to match the reference")
            ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(
                title=title, cancellable=True, percentage=0))

        def on_progress(message: str, fraction: float) -> None:
            if progress:
                ls.call_soon(ls.work_done_progress.report, token, lsp.WorkDoneProgressReport(
                    message=message, percentage=max(0, min(100, int(fraction * 100)))))

        def cancelled() -> bool:
            future = ls.work_done_progress.tokens.get(token)
            return stop.is_set() or bool(future is not None and future.cancelled())

        def run() -> Revision:
            if policy is not None:
                return revise_with_policy(ls.checker, source, policy, on_progress=on_progress,
                                          cancelled=cancelled)
            return revise(ls.checker, source, on_progress=on_progress, cancelled=cancelled)

        try:
            revision = await ls.loop_run(run)
        except asyncio.CancelledError:
            stop.set()  # $/cancelRequest: the search stops before its next render
            raise
        except (ConfigError, CriticError, NotPinnedError, BadReferenceError) as exc:
            ls.notify_user(f"verm: not revising: {exc}", lsp.MessageType.Error)
            return {"applied": False, "reason": "error"}
        finally:
            if progress:
                ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="done"))
        summary = {"reward_before": revision.reward_before, "reward_after": revision.reward_after,
                   "renders": revision.renders, "stopped": revision.stopped,
                   "reviser": revision.reviser}
        if revision.reviser == "policy":
            summary["rounds"] = [{"round": r.number, "reward": r.reward, "kept": r.kept,
                                  "why": r.why} for r in revision.rounds]
        if not revision.improved:
            ls.notify_user(_nothing_improved(revision), lsp.MessageType.Warning
                           if revision.stopped == "failed" else lsp.MessageType.Info)
            return {"applied": False, **summary}
        current = ls.workspace.text_documents.get(uri)
        if current is not None and current.version != version:
            ls.notify_user("verm: the document changed while revising; run it again",
                           lsp.MessageType.Warning)
            return {"applied": False, "reason": "changed", **summary}
        columns = ls.columns(text)  # revise's ranges are code points of the text it revised
        edits = [lsp.TextEdit(range=columns.range_to_client(e.range), new_text=e.new_text)
                 for e in revision.text_edits()]
        answer = await ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(
            edit=_edit(uri, version, edits),
            label=f"verm: revise to match reference ({revision.reward_before:.2f} → "
                  f"{revision.reward_after:.2f})"))
        return {"applied": bool(answer and answer.applied), **summary}


def _nothing_improved(revision: Revision) -> str:
    """What the user reads when revise changed nothing: the numbers, and the policy's reasons."""
    head = (f"verm: nothing improved the match (reward {revision.reward_before:.2f}, "
            f"{revision.renders} renders, {revision.stopped})")
    reasons = [*revision.notes, *(f"round {r.number}: {r.why}" for r in revision.rounds)]
    return head + (": " + "; ".join(reasons) if reasons else "")
