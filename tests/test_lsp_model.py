"""The model critics in the language server, over stdio with a real LSP client.

The analytic findings show at once; the model's are added as each error object closes; the
model's verdict replaces them. A tiny critic trained in the session stands for Visual-ERM; a
stand-in OpenAI-compatible server on 127.0.0.1 stands for vLLM where the test needs a slow or
broken server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import TITLE_LINE, TRAINED_CRITIQUE, TrainedCritic
from standin_openai import StandinServer, completion, stream
from support import accept_registrations, open_document, start_session

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def publications(client: LanguageClient, uri: str, until, timeout: float = 120.0
                       ) -> list[tuple[float, list[lsp.Diagnostic]]]:
    """Every diagnostics publication for ``uri`` (with the time it arrived) until ``until``
    holds for one of them."""
    seen: list[tuple[float, list[lsp.Diagnostic]]] = []

    async def wait() -> None:
        while True:
            params = await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri != uri:
                continue
            seen.append((time.monotonic(), list(params.diagnostics)))
            if until(params.diagnostics):
                return

    await asyncio.wait_for(wait(), timeout)
    return seen


def _lines(diagnostics: list[lsp.Diagnostic]) -> list[tuple[int, str | int | None, str]]:
    return [(d.range.start.line, d.code, d.message) for d in diagnostics]


async def test_analytic_findings_first_then_the_trained_models_on_the_title_line(
        client: LanguageClient, trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    await start_session(client, src.parent, {
        "critic": "model", "modelPath": str(trained_critic.base),
        "adapter": str(trained_critic.adapter)})
    expected = TRAINED_CRITIQUE["errors"][0]["description"]
    open_document(client, src, "python")
    seen = await publications(client, src.as_uri(),
                              lambda ds: any(expected in d.message for d in ds)
                              and not any("reference text" in d.message for d in ds))
    first, last = seen[0][1], seen[-1][1]
    # While the model wrote: its finding added to the analytic one.
    assert any(any(expected in d.message for d in ds) and len(ds) == 2 for _, ds in seen[1:-1])
    # At once: the analytic critic's finding on the title (the model was still loading).
    assert any(d.range.start.line == TITLE_LINE and "reference text" in d.message
               for d in first), _lines(first)
    assert not any(expected in d.message for d in first)
    # Then the model's verdict alone replaces them: its one finding, on the title's line.
    assert [(d.range.start.line, d.code, d.message) for d in last] == [
        (TITLE_LINE, "text_error", f"{expected} (title)")]
    assert last[0].severity == lsp.DiagnosticSeverity.Warning
    # Loading the model was shown as progress, begun and ended.
    reports = [r for token, rs in client.progress_reports.items()
               if str(token).startswith("verm-model-") for r in rs]
    assert isinstance(reports[0], lsp.WorkDoneProgressBegin)
    assert reports[0].title == "verm: loading the model"
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)


CRITIQUE = json.dumps({
    "structure_error_count": 0, "data_error_count": 0, "text_error_count": 1,
    "style_error_count": 1,
    "errors": [
        {"category": "text_error", "severity": 2, "location": "title",
         "description": "the title says 'by' where the design says 'per'"},
        {"category": "style_error", "severity": 1, "location": "bars",
         "description": "the bars look slightly darker"},
    ]})


async def test_a_streamed_finding_is_published_before_the_server_finishes_writing(
        client: LanguageClient, trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    pieces = [CRITIQUE[i:i + 12] for i in range(0, len(CRITIQUE), 12)]
    with StandinServer([stream(pieces, delay_s=0.1)]) as server:
        await start_session(client, src.parent, {"critic": "remote", "endpoint": server.url})
        open_document(client, src, "python")
        first_error = "the title says 'by' where the design says 'per'"
        seen = await publications(
            client, src.as_uri(), lambda ds: any("darker" in d.message for d in ds)
            and not any("reference text" in d.message for d in ds))
        last_piece_sent = server.sent[-1][0]
    shown = [at for at, ds in seen if any(first_error in d.message for d in ds)]
    assert shown, [_lines(ds) for _, ds in seen]
    assert shown[0] < last_piece_sent - 0.5  # on screen while the model was still writing
    streamed = next(ds for at, ds in seen if at == shown[0])
    # Streamed findings are added to the analytic ones, on their lines.
    assert any("reference text" in d.message for d in streamed)
    assert any(d.range.start.line == TITLE_LINE and first_error in d.message for d in streamed)
    final = seen[-1][1]
    assert sorted((d.range.start.line, d.code) for d in final) == sorted(
        [(TITLE_LINE, "text_error"), (6, "style_error")])  # the ax.bar(...) line
    chat = server.chats[0].body
    assert chat["stream"] is True
    assert chat["response_format"]["type"] == "json_schema"
    images = [p for p in chat["messages"][0]["content"] if p["type"] == "image_url"]
    assert len(images) == 2


async def test_an_unreadable_judgement_is_said_and_the_analytic_findings_stand(
        client: LanguageClient, trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    with StandinServer(default=completion("I think the two images look quite similar!")
                       ) as server:
        await start_session(client, src.parent, {"critic": "remote", "endpoint": server.url,
                                                 "stream": False})
        open_document(client, src, "python")
        seen = await publications(client, src.as_uri(),
                                  lambda ds: any(d.code == "critic" for d in ds))
    final = seen[-1][1]
    note = [d for d in final if d.code == "critic"]
    assert note[0].severity == lsp.DiagnosticSeverity.Information
    assert "the model's judgement could not be read" in note[0].message
    assert any(d.range.start.line == TITLE_LINE and d.code == "text_error" for d in final)
