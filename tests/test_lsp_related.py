"""A cause and its consequences in the editor: one diagnostic per edit, on its line, with what
else it changed as ``relatedInformation`` (each on its own source range) — through a real
pytest-lsp client talking to ``verm serve`` over stdio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from support import accept_registrations, edit_once, open_document, pinned_copy, published
from support import start_session as start
from verm.check import Checker

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_a_longer_cell_is_one_diagnostic_with_its_reflowed_column_as_related(
        client: LanguageClient, pinner: Checker, tmp_path: Path) -> None:
    src = pinned_copy(pinner, tmp_path, "stock.md")
    line = edit_once(src, "| Pears  |", "| Pears from the valley |")
    await start(client, tmp_path)
    open_document(client, src, "markdown")
    found = await published(client, src)
    assert [(d.code, d.range.start.line) for d in found] == [("text_error", line)]
    [d] = found
    related = d.related_information or []
    reference = [r for r in related if r.location.uri != src.as_uri()]
    also = [r for r in related if r.location.uri == src.as_uri()]
    assert len(reference) == 1 and reference[0].location.uri.endswith("stock.ref.png")
    assert also, "the cells the wider column moved ride along"
    assert all(r.message.startswith("also: ") for r in also)
    # the moved cells sit on the table's other rows: their own lines, not the edited one
    assert {r.location.range.start.line for r in also} - {line}
