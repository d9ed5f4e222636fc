"""What the README promises of ``verm serve``, each shown once, end to end over stdio as VS Code:
``runOn: change`` with its debounce, default trust (only below the workspace folders), the
line-width and font-size quick fixes (re-judged clean), the timed-out diagnostic, hover's diff
link and *Open visual diff*, cancelling *Revise*, and a late answer to a request the server gave
up on. Every wait is on an event (a publication, a progress report, a file), never the clock.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from support import accept_registrations, diagnostics, pinned_copy
from test_lsp import apply_edits, commands_of, edits_of, open_doc, save_doc
from test_lsp_load import Doc, RecordingClient, recording_client
from verm.check import Checker
from verm.lsp.features.actions import REVISE, SHOW_DIFF
from verm.pins import pin_render
from verm.source import Source

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])
RECORDING = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"],
                               client_factory=recording_client)
LINES = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.plot([0, 1, 2, 3], [1, 3, 2, 4], color="#4c72b0", linewidth=2)
ax.set_title("Weekly load", fontsize=12)
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=RECORDING)
async def recorder(lsp_client: RecordingClient):
    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, root: Path, options: dict | None = None,
                folders: list[Path] | None = None) -> None:
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=f.as_uri(), name=f.name)
                           for f in folders or [root]],
        initialization_options=options or {}))


def pin_text(pinner: Checker, src: Path, text: str) -> None:
    src.write_text(text)
    render = pinner.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name(f"{src.stem}.ref.png"), force=True)


async def until(predicate, timeout: float = 60.0) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


# -- when verm judges -------------------------------------------------------------------------

async def test_run_on_change_judges_unsaved_edits_once_after_the_debounce(
        recorder: RecordingClient, pinner: Checker, tmp_path: Path):
    """Typing (didChange, no save) is judged, once, for the text after the quiet time: the
    debounce is long next to the burst, so no intermediate text can be judged."""
    src = pinned_copy(pinner, tmp_path, "icon.svg")
    await start(recorder, tmp_path, {"runOn": ["open", "change"], "debounceMs": 1500})
    doc = Doc(recorder, src, "xml")
    doc.open()
    assert await doc.judged(1) == []
    right = src.read_text()
    for colour in ("#111111", "#222222", "#D08770"):
        doc.version += 1
        recorder.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(
                text=right.replace('fill="#5E81AC"', f'fill="{colour}"'))]))
    found = await doc.judged(doc.version)
    assert [d.code for d in found] == ["style_error"]
    assert [p.version for p in doc.published()] == [1, doc.version]  # nothing in between
    assert src.read_text() == right  # judged from the editor's buffer, not the file


async def test_by_default_only_charts_below_the_workspace_folders_run(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    """A client that says nothing about trust: verm runs chart code below the workspace
    folders it opened, and none elsewhere (a file opened from Downloads)."""
    ws, elsewhere = tmp_path / "ws", tmp_path / "Downloads"
    bars = (Path(__file__).parent / "fixtures" / "e2e" / "bars.py").read_text()
    sources = {}
    for folder in (ws, elsewhere):
        folder.mkdir()
        src, marker = folder / "bars.py", folder / "ran.txt"
        pin_text(pinner, src, bars)  # pinned first: that render is the test's, not the server's
        src.write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + bars)
        sources[folder] = (src, marker)
    await start(client, ws, folders=[ws])
    (inside, ran_inside), (outside, ran_outside) = sources[ws], sources[elsewhere]
    await diagnostics(client, open_doc(client, inside))
    assert ran_inside.exists(), "a chart in the workspace runs"
    [note] = await diagnostics(client, open_doc(client, outside))
    assert note.severity == lsp.DiagnosticSeverity.Information and "not trusted" in note.message
    assert not ran_outside.exists(), "a chart outside the workspace never runs"


# -- quick fixes -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [("linewidth=2", "linewidth=6"),
                                          ("fontsize=12", "fontsize=20")],
                         ids=["line-width", "font-size"])
async def test_line_width_and_font_size_quick_fixes_are_judged_clean(
        client: LanguageClient, pinner: Checker, tmp_path: Path, old: str, new: str):
    src = tmp_path / "load.py"
    pin_text(pinner, src, LINES)
    src.write_text(LINES.replace(old, new))
    await start(client, tmp_path)
    uri = open_doc(client, src)
    found = await diagnostics(client, uri)
    line = LINES.splitlines().index(next(x for x in LINES.splitlines() if old in x))
    assert found and any(d.range.start.line == line for d in found), found
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=found[0].range,
        context=lsp.CodeActionContext(diagnostics=found)))
    fixes = [a for a in actions if isinstance(a, lsp.CodeAction) and a.edit is not None]
    assert fixes, [a.title for a in actions]
    fixed = apply_edits(src.read_text(), edits_of(fixes[0].edit, uri))
    assert fixed == LINES, fixes[0].title
    src.write_text(fixed)
    save_doc(client, src, 2)
    assert await diagnostics(client, uri) == []


# -- failures ------------------------------------------------------------------------------------

async def test_a_render_past_the_timeout_is_one_error_saying_so(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    src = tmp_path / "load.py"
    pin_text(pinner, src, LINES)
    spin = LINES + "while True:\n    pass\n"
    src.write_text(spin)
    await start(client, tmp_path, {"timeout": 1})
    [d] = await diagnostics(client, open_doc(client, src))
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert "timed out after 1 s" in d.message
    assert d.range.start.line in (0, spin.splitlines().index("while True:"),
                                  spin.splitlines().index("    pass"))


# -- the visual diff -------------------------------------------------------------------------------

async def test_hover_links_the_diff_image_and_open_visual_diff_shows_it(
        client: LanguageClient, pinner: Checker, tmp_path: Path, own_cache: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    src = pinned_copy(pinner, ws, "icon.svg")
    src.write_text(src.read_text().replace('fill="#5E81AC"', 'fill="#D08770"'))
    await start(client, ws)
    uri = open_doc(client, src, "xml")
    [d] = await diagnostics(client, uri)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=d.range.start))
    assert hover is not None and "Open visual diff" in hover.contents.value
    link = hover.contents.value.rsplit("](", 1)[1].split(")", 1)[0]
    image = Path(unquote(urlparse(link).path))
    await until(image.exists)
    assert image.is_relative_to(own_cache / "verm" / "diffs"), "in the user's cache"
    assert not any(p.suffix == ".png" and "diff" in p.name for p in ws.rglob("*")), \
        "never in the workspace"

    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d])))
    [show] = [c for c in commands_of(actions) if c["command"] == SHOW_DIFF]
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=show["command"], arguments=show["arguments"]))
    assert result["shown"] is True and Path(result["diff"]) == image
    [shown] = client.shown_documents
    assert Path(unquote(urlparse(shown.uri).path)) == image and shown.external


# -- revise, cancelled -----------------------------------------------------------------------------

async def test_revise_is_cancelled_from_its_progress_and_applies_nothing(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams):
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    src = pinned_copy(pinner, tmp_path, "bars.py")
    text = src.read_text().replace('color="#4C72B0"', 'color="#C44E52"')
    src.write_text(text.replace('"Sales per quarter"', '"Sales per month"'))
    await start(client, tmp_path)
    uri = open_doc(client, src)
    assert await diagnostics(client, uri)
    running = asyncio.ensure_future(client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=REVISE, arguments=[uri])))
    # The search says how far it is: cancel it then, as the editor's progress button does.
    await until(lambda: any(isinstance(r, lsp.WorkDoneProgressReport)
                            for reports in client.progress_reports.values() for r in reports))
    [token] = [t for t, reports in client.progress_reports.items()
               if any(isinstance(r, lsp.WorkDoneProgressBegin) for r in reports)]
    client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(running, 120)
    assert result["stopped"] == "cancelled" and result["applied"] is False, result
    assert applied == []
    assert isinstance(client.progress_reports[token][-1], lsp.WorkDoneProgressEnd)


# -- a slow editor ---------------------------------------------------------------------------------

async def test_a_late_answer_to_a_request_the_server_gave_up_on_is_dropped(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    """The client answers workspace/configuration after the server's 5 s wait: the server goes
    on with its defaults, drops the late answer, and keeps working (it used to answer it with
    an id-null error that broke the client's reader)."""
    src = pinned_copy(pinner, tmp_path, "icon.svg")
    answered = asyncio.Event()
    slow = client.get_configuration

    def late(*args, **kwargs):
        import time

        time.sleep(6)  # blocks this client's loop, as a busy editor does
        answered.set()
        return slow(*args, **kwargs)

    client.get_configuration = late  # type: ignore[method-assign]
    await start(client, tmp_path)
    await asyncio.wait_for(answered.wait(), 60)
    assert await diagnostics(client, open_doc(client, src, "xml")) == []
    said = [m.message for m in client.log_messages]
    assert any("workspace/configuration failed" in m for m in said), said
    assert any("dropped a late answer" in m for m in said), said
    assert not any("unreadable" in m for m in said), said
