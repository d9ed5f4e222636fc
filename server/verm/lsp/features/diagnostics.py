"""Visual diagnostics: judge on open/save (or change), publish each discrepancy on its line."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types as lsp

from verm.lsp.positions import Columns
from verm.lsp.server import Outcome, VermServer, path_to_uri
from verm.lsp.settings import Settings
from verm.types import Range

SEVERITY = {3: lsp.DiagnosticSeverity.Error, 2: lsp.DiagnosticSeverity.Warning,
            1: lsp.DiagnosticSeverity.Information}
SOURCE = "verm"

log = logging.getLogger("verm.lsp")


def guarded(handler: Callable[..., None]) -> Callable[..., None]:
    """A notification handler that logs its failure (pygls would pop up an error for each)."""
    @functools.wraps(handler)
    def run(ls: VermServer, params: Any) -> None:
        try:
            handler(ls, params)
        except Exception:
            log.exception("verm: %s failed", handler.__name__)
    return run


def diagnostics_for(outcome: Outcome, settings: Settings,
                    columns: Columns) -> list[lsp.Diagnostic]:
    """What a judgement shows: the workspace settings verm ignored, then its findings."""
    return notice_diagnostics(outcome, columns) + judgement_diagnostics(outcome, settings,
                                                                        columns)


def notice_diagnostics(outcome: Outcome, columns: Columns) -> list[lsp.Diagnostic]:
    """One warning per workspace setting verm ignored (user-only) or held at the user's limit,
    on its pragma's line (a config file's: the top of the source)."""
    return [lsp.Diagnostic(range=columns.range_to_client(n.range or Range.of_line(0)),
                           message=n.message, severity=lsp.DiagnosticSeverity.Warning,
                           source=SOURCE, code="workspace-setting",
                           data={"verm": "notice"})
            for n in outcome.notices]


def judgement_diagnostics(outcome: Outcome, settings: Settings,
                          columns: Columns) -> list[lsp.Diagnostic]:
    """The diagnostics a judgement shows: discrepancies, a failed render, or why none ran.

    ``columns`` turns verm's code-point columns into the client's position encoding."""
    to_lsp_range = columns.range_to_client

    if outcome.problem is not None:
        data = {"verm": "problem"}
        if outcome.pin is not None:
            data.update(reference=str(outcome.pin.path), action="pin")
        return [lsp.Diagnostic(range=to_lsp_range(outcome.problem_range), message=outcome.problem,
                               severity=lsp.DiagnosticSeverity.Information, source=SOURCE,
                               code="reference", data=data)]
    result = outcome.result
    if result is None:
        return []  # unpinned: verm has nothing to say about this file
    ref_uri = path_to_uri(result.pin.path)
    related = [lsp.DiagnosticRelatedInformation(
        location=lsp.Location(uri=ref_uri, range=lsp.Range(start=lsp.Position(line=0, character=0),
                                                          end=lsp.Position(line=0, character=0))),
        message=f"reference image ({result.pin.describe()})")]
    href = path_to_uri(outcome.diff_path) if outcome.diff_path else None
    source_uri = path_to_uri(result.source.path)
    out = []
    for index, d in enumerate(result.discrepancies):
        if d.severity < settings.severity_threshold:
            continue
        # What the root cause also changed (a rescaled axis's ticks, a reflowed column): shown
        # with it, each on its own line, never as diagnostics of their own.
        consequences = [lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=source_uri,
                                  range=to_lsp_range(r.range or Range.of_line(0))),
            message=f"also: {r.description} ({r.location})") for r in d.related]
        out.append(lsp.Diagnostic(
            range=to_lsp_range(d.range or Range.of_line(0)),
            message=f"{d.description} ({d.location})",
            severity=SEVERITY[d.severity],
            code=d.category,
            code_description=lsp.CodeDescription(href=href) if href else None,
            source=SOURCE,
            related_information=related + consequences,
            data={"verm": "discrepancy", "index": index, "generation": outcome.request.generation,
                  "category": d.category, "severity": d.severity, "location": d.location,
                  "fix": d.fix, "bbox": d.to_json()["bbox"], "reward": round(result.reward, 4),
                  "reference": str(result.pin.path),
                  "diff": str(outcome.diff_path) if outcome.diff_path else None},
        ))
    notes = result.critique.notes if result.critique is not None else []
    for note in notes:  # about the judgement itself: a model that did not answer, a cut answer
        out.append(lsp.Diagnostic(
            range=to_lsp_range(Range.of_line(0)), message=f"verm: {note}",
            severity=lsp.DiagnosticSeverity.Information, source=SOURCE, code="critic",
            data={"verm": "note", "critic": result.critique.critic if result.critique else None}))
    return out


def setup(server: VermServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @guarded
    def did_open(ls: VermServer, params: lsp.DidOpenTextDocumentParams) -> None:
        if "open" in ls.settings.run_on:
            ls.schedule(params.text_document.uri, "open")

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
    @guarded
    def did_save(ls: VermServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if "save" in ls.settings.run_on or "change" in ls.settings.run_on:
            ls.schedule(params.text_document.uri, "save")

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @guarded
    def did_change(ls: VermServer, params: lsp.DidChangeTextDocumentParams) -> None:
        if "change" in ls.settings.run_on:
            ls.schedule(params.text_document.uri, "change", ls.settings.debounce_ms / 1000)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @guarded
    def did_close(ls: VermServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.scheduler.forget(uri)
        with ls._lock:
            closed = ls.outcomes.pop(uri, None)
            still = {o.pin.path for o in ls.outcomes.values() if o.pin is not None}
        if closed is not None and closed.pin is not None and closed.pin.path not in still:
            ls.checker.forget(closed.pin.path)  # its decoded reference: no open document needs it
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
