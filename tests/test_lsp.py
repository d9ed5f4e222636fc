"""The language server end to end: a real pytest-lsp client over stdio, as VS Code and Neovim.

Each test reads like a user's session: open a pinned source, wait for verm's diagnostics, hover,
ask for code actions, save a fix, see the diagnostics go.
"""

from __future__ import annotations

import ast
import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from support import FIXTURES, accept_registrations, diagnostics, edit_once, pinned_copy
from verm.check import Checker

CLIENTS = ["visual-studio-code", "neovim@v0.7.0"]
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])


pinned = pinned_copy
edit = edit_once


async def start(client: LanguageClient, spec: str, root: Path, options: dict | None = None):
    params = lsp.InitializeParams(
        capabilities=client_capabilities(spec),
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {},
    )
    await client.initialize_session(params)


@pytest_lsp.fixture(params=CLIENTS, config=SERVER)
async def client(request, lsp_client: LanguageClient):
    lsp_client.client_spec = request.param  # type: ignore[attr-defined]
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, src: Path, language: str = "python") -> str:
    uri = src.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1,
                                           text=src.read_text())))
    return uri


def save_doc(client: LanguageClient, src: Path, version: int) -> None:
    uri = src.as_uri()
    client.diagnostics.pop(uri, None)
    text = src.read_text()
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))


def commands_of(actions: list) -> list[dict]:
    """The commands of code actions as plain dicts.

    The test client's lsprotocol structures ``(Command | CodeAction)[]`` as ``Command`` and
    stringifies a CodeAction's nested command object; undo that here (the server sends a
    proper CodeAction, which VS Code and Neovim read as such).
    """
    out = []
    for a in actions:
        if isinstance(a, lsp.CodeAction) and a.command is not None:
            out.append({"command": a.command.command, "arguments": a.command.arguments})
        elif isinstance(a, lsp.Command):
            nested = a.command
            if nested.startswith("{"):
                out.append(ast.literal_eval(nested))
            else:
                out.append({"command": nested, "arguments": a.arguments})
    return out


WARNING = lsp.DiagnosticSeverity.Warning  # verm's severity 2: a wrong text
INFO = lsp.DiagnosticSeverity.Information  # verm's severity 1: a colour (cosmetic)
ERROR = lsp.DiagnosticSeverity.Error  # verm's severity 3: wrong data (a table's number)
# name, language, the pinned literal, its wrong replacement, the one diagnostic's code and
# severity on the edited line.
CASES = [
    ("bars.py", "python", '"Sales per quarter"', '"Sales per year"', "text_error", WARNING),
    ("icon.svg", "xml", 'fill="#5E81AC"', 'fill="#D08770"', "style_error", INFO),
    ("page.html", "html", "Release notes", "Release plans", "text_error", WARNING),
    ("stock.md", "markdown", "|   7 |", "|   9 |", "numeric_error", ERROR),
]


@pytest.mark.parametrize(("name", "language", "old", "new", "category", "severity"), CASES,
                         ids=[c[0] for c in CASES])
async def test_open_shows_the_discrepancy_on_its_line_and_a_fix_clears_it(
        client: LanguageClient, pinner: Checker, tmp_path: Path, name: str, language: str,
        old: str, new: str, category: str, severity: lsp.DiagnosticSeverity):
    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, name)
    line = edit(src, old, new)
    uri = open_doc(client, src, language)
    found = await diagnostics(client, uri)
    assert [(d.code, d.range.start.line, d.severity) for d in found] == [
        (category, line, severity)], [(d.code, d.range.start.line, d.message) for d in found]
    [d] = found
    assert d.source == "verm"
    assert d.related_information and d.related_information[0].location.uri.endswith(".ref.png")
    assert d.data["category"] == category and d.data["reference"].endswith(".ref.png")
    assert d.code_description is not None and d.code_description.href.endswith(".png")

    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=lsp.Position(line=line, character=0)))
    assert hover is not None and category in hover.contents.value
    assert "reward" in hover.contents.value

    edit(src, new, old)  # the user fixes it and saves
    save_doc(client, src, 2)
    assert await diagnostics(client, uri) == []


async def test_failed_render_shows_the_exception_on_the_users_line(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, "bars.py")
    line = edit(src, "ax.set_ylim(0, 20)", "ax.set_ylim(0, undefined_name)")
    uri = open_doc(client, src)
    [d] = await diagnostics(client, uri)
    assert d.range.start.line == line and "NameError" in d.message
    assert d.severity == lsp.DiagnosticSeverity.Error
    edit(src, "ax.set_ylim(0, undefined_name)", "ax.set_ylim(0, 20)")
    save_doc(client, src, 2)
    assert await diagnostics(client, uri) == []  # the failure is not left lying


async def test_unpinned_source_gets_nothing_and_missing_reference_offers_pin(
        client: LanguageClient, tmp_path: Path):
    await start(client, client.client_spec, tmp_path)
    plain = tmp_path / "plain.svg"
    shutil.copy(FIXTURES / "icon.svg", plain)
    assert await diagnostics(client, open_doc(client, plain, "xml")) == []

    wants = tmp_path / "wants.svg"
    wants.write_text("<!-- verm: reference=design/wants.png -->\n"
                     + (FIXTURES / "icon.svg").read_text())
    uri = open_doc(client, wants, "xml")
    [d] = await diagnostics(client, uri)
    assert d.severity == lsp.DiagnosticSeverity.Information and d.range.start.line == 0
    assert "does not exist" in d.message

    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d])))
    pin = next(c for c in commands_of(actions) if c["command"] == "verm.pin")
    client.diagnostics.pop(uri, None)
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=pin["command"], arguments=pin["arguments"]))
    assert result["pinned"] is True
    assert (tmp_path / "design" / "wants.png").is_file()
    assert await diagnostics(client, uri) == []  # re-judged against the new reference


@pytest.mark.parametrize("answer", ["Cancel", "Replace"])
async def test_pin_asks_before_overwriting(client: LanguageClient, pinner: Checker,
                                           tmp_path: Path, answer: str):
    asked: list[str] = []

    @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params: lsp.ShowMessageRequestParams):
        asked.append(params.message)
        return lsp.MessageActionItem(title=answer)

    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, "icon.svg")
    ref = src.with_name("icon.ref.png")
    before = ref.read_bytes()
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')
    uri = open_doc(client, src, "xml")
    assert await diagnostics(client, uri)
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="verm.pin", arguments=[uri]))
    assert asked and "already exists" in asked[0]
    assert result["pinned"] is (answer == "Replace")
    assert (ref.read_bytes() == before) is (answer == "Cancel")


async def test_untrusted_workspace_runs_no_chart_code(client: LanguageClient, pinner: Checker,
                                                      tmp_path: Path):
    await start(client, client.client_spec, tmp_path, {"trusted": False})
    src = pinned(pinner, tmp_path, "bars.py")
    marker = tmp_path / "ran.txt"
    src.write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + src.read_text())
    [d] = await diagnostics(client, open_doc(client, src))
    assert "not trusted" in d.message
    await asyncio.sleep(0.5)
    assert not marker.exists()
    svg = pinned(pinner, tmp_path, "icon.svg")  # SVG is safe to render untrusted
    assert await diagnostics(client, open_doc(client, svg, "xml")) == []


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_bad_setting_is_reported_and_replaced_by_its_default(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, client.client_spec, tmp_path, {"workers": "many", "severityThreshold": 3})
    await wait_until(lambda: any("workers" in m.message for m in client.messages))
    src = pinned(pinner, tmp_path, "icon.svg")
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')  # an info-level colour change
    assert await diagnostics(client, open_doc(client, src, "xml")) == []  # threshold 3 held


async def test_pushed_workspace_settings_rejudge_and_sit_below_init_options(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, "icon.svg")
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')
    uri = open_doc(client, src, "xml")
    assert [d.code for d in await diagnostics(client, uri)] == ["style_error"]
    client.diagnostics.pop(uri, None)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"verm": {"severityThreshold": "error"}}))
    assert await diagnostics(client, uri) == []  # re-judged with the new threshold
    client.diagnostics.pop(uri, None)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"verm": {"severityThreshold": 1}}))
    assert [d.code for d in await diagnostics(client, uri)] == ["style_error"]


@pytest_lsp.fixture(config=SERVER)
async def vscode(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def configured(client: LanguageClient) -> None:
    """Wait until the server has pulled and applied ``workspace/configuration`` after
    ``initialized``: it then registers its file watchers with the editor and says so."""
    await wait_until(lambda: any("watching references" in m.message
                                 for m in client.log_messages), 30)


async def test_pulled_configuration_below_initialization_options(
        vscode: LanguageClient, pinner: Checker, tmp_path: Path):
    """VS Code answers workspace/configuration; initializationOptions still win over it."""
    vscode.set_configuration({"severityThreshold": 3, "timeout": 20}, section="verm")
    src = pinned(pinner, tmp_path, "icon.svg")  # before the session: it blocks the client
    await start(vscode, "visual-studio-code", tmp_path)
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')
    await configured(vscode)
    assert await diagnostics(vscode, open_doc(vscode, src, "xml")) == []


async def test_initialization_options_beat_pulled_configuration(
        vscode: LanguageClient, pinner: Checker, tmp_path: Path):
    vscode.set_configuration({"severityThreshold": 3}, section="verm")
    src = pinned(pinner, tmp_path, "icon.svg")  # before the session: it blocks the client
    await start(vscode, "visual-studio-code", tmp_path, {"severityThreshold": 1})
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')
    await configured(vscode)
    found = await diagnostics(vscode, open_doc(vscode, src, "xml"))
    assert [d.code for d in found] == ["style_error"]


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP text edits the way an editor does (last first)."""
    lines = text.splitlines(keepends=True)

    def offset(p: lsp.Position) -> int:
        return sum(len(line) for line in lines[: p.line]) + p.character

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


def edits_of(edit: lsp.WorkspaceEdit, uri: str) -> list[lsp.TextEdit]:
    if edit.document_changes:
        return [e for change in edit.document_changes
                if isinstance(change, lsp.TextDocumentEdit) and change.text_document.uri == uri
                for e in change.edits]
    return list((edit.changes or {}).get(uri, []))


@pytest.mark.parametrize(("name", "language", "old", "new"), [
    ("icon.svg", "xml", 'fill="#5E81AC"', 'fill="#D08770"'),
    ("page.html", "html", "background: #1a7f37;", "background: #cf222e;"),
    ("bars.py", "python", '"Sales per quarter"', '"Sales per year"'),
], ids=["svg-colour", "css-colour", "chart-title"])
async def test_quick_fix_edit_makes_the_file_match(client: LanguageClient, pinner: Checker,
                                                   tmp_path: Path, name: str, language: str,
                                                   old: str, new: str):
    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, name)
    edit(src, old, new)
    uri = open_doc(client, src, language)
    found = await diagnostics(client, uri)
    assert found
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=found[0].range,
        context=lsp.CodeActionContext(diagnostics=found)))
    fixes = [a for a in actions if isinstance(a, lsp.CodeAction) and a.edit is not None]
    assert fixes, actions
    fixed = apply_edits(src.read_text(), edits_of(fixes[0].edit, uri))
    assert old in fixed
    src.write_text(fixed)
    save_doc(client, src, 2)
    assert await diagnostics(client, uri) == []


async def test_revise_ends_with_one_workspace_edit_that_matches(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams):
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    await start(client, client.client_spec, tmp_path)
    src = pinned(pinner, tmp_path, "bars.py")
    edit(src, 'color="#4C72B0"', 'color="#C44E52"')
    edit(src, '"Sales per quarter"', '"Sales per month"')  # two wrong literals
    uri = open_doc(client, src)
    assert len(await diagnostics(client, uri)) >= 2
    original = src.read_text()
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="verm.revise", arguments=[uri]))
    assert result["applied"] is True and result["reward_after"] > result["reward_before"]
    assert src.read_text() == original  # the server never writes the file itself
    [workspace_edit] = applied
    revised = apply_edits(original, edits_of(workspace_edit, uri))
    assert 'color="#4C72B0"' in revised and '"Sales per quarter"' in revised
    if client.capabilities.window and client.capabilities.window.work_done_progress:
        assert client.progress_reports  # $/progress while it searched
    src.write_text(revised)
    save_doc(client, src, 2)
    assert await diagnostics(client, uri) == []


async def test_null_settings_mean_not_set_and_run_on_save_skips_open(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    """VS Code sends unset settings as null; runOn ["save"] judges on save only."""
    await start(client, client.client_spec, tmp_path,
                {"critic": None, "timeout": None, "viewport": None, "runOn": ["save"]})
    src = pinned(pinner, tmp_path, "icon.svg")
    edit(src, 'fill="#5E81AC"', 'fill="#D08770"')
    uri = open_doc(client, src, "xml")
    await asyncio.sleep(1.5)
    assert uri not in client.diagnostics  # not judged on open
    save_doc(client, src, 2)
    assert [d.code for d in await diagnostics(client, uri)] == ["style_error"]
    assert not [m for m in client.messages if "ignoring" in m.message]
