"""Watching, end to end: a file a picture depends on changes on disk → new diagnostics arrive.

As VS Code, the client accepts the server's ``workspace/didChangeWatchedFiles`` registration and
reports the change itself, as VS Code's watcher would; as Neovim 0.7 (no such capability), the
server's own watchdog observer notices it. Real files, a real server over stdio.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from verm.check import Checker
from verm.lsp.features.watch import CLIENT_GLOBS, dependencies
from verm.pins import pin_render, sidecar_path
from verm.source import Source

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
VSCODE, NEOVIM = "visual-studio-code", "neovim@v0.7.0"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.lsp"])

CHART = '''"""Bars from data.csv next to this script."""
import csv

import matplotlib.pyplot as plt

with open("data.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))

fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.bar([r["region"] for r in rows], [float(r["sales"]) for r in rows], color="#4c72b0")
ax.set_ylim(0, 60)
ax.set_title("Sales by region")
'''
CSV = "region,sales\nNorth,42\nSouth,35\nEast,51\n"
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="style.css"></head>
<body><h1>Release notes</h1><div class="box">Box</div></body></html>
"""
CSS = ".box { width: 120px; height: 60px; background-color: #1a5fb4; }\nh1 { color: #222; }\n"


@pytest.fixture(scope="module")
def pinner():
    with Checker() as checker:
        yield checker


def pin(pinner: Checker, src: Path, reference: Path | None = None) -> Path:
    """Pin ``src``'s own render (as the sibling reference unless told where)."""
    render = pinner.render(Source.load(src))
    assert render.ok, render.failure
    # The test chooses where (sometimes a folder beside the workspace): no confinement.
    return pin_render(render, reference or src.with_name(f"{src.stem}.ref.png"), force=True,
                      within=())


@pytest_lsp.fixture(params=[VSCODE, NEOVIM], config=SERVER)
async def client(request, lsp_client: LanguageClient):
    lsp_client.client_spec = request.param  # type: ignore[attr-defined]
    lsp_client.registrations = []  # type: ignore[attr-defined]

    @lsp_client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        lsp_client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, root: Path) -> None:
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities(client.client_spec), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
    if client.client_spec == VSCODE:
        await wait_until(lambda: client.registrations)
        [reg] = client.registrations
        assert reg.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
        assert [w["globPattern"] for w in reg.register_options["watchers"]] == list(CLIENT_GLOBS)


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def diagnostics(client: LanguageClient, uri: str, timeout: float = 60.0):
    """Wait for the next diagnostics of ``uri`` (the caller cleared the old ones)."""
    await wait_until(lambda: uri in client.diagnostics, timeout)
    return list(client.diagnostics[uri])


async def opened(client: LanguageClient, src: Path, language: str) -> str:
    """Open ``src``, wait for its first judgement, and clear it for the next one."""
    uri = src.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1,
                                           text=src.read_text())))
    assert await diagnostics(client, uri) == []
    del client.diagnostics[uri]
    await watching(client)
    return uri


def inotify_watches(pid: int) -> int:
    """How many inotify watches process ``pid`` holds (Linux: its descriptors' fdinfo)."""
    count = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            count += info.read_text().count("inotify wd:")
        except OSError:
            continue  # a descriptor closed meanwhile
    return count


async def watching(client: LanguageClient) -> None:
    """Wait until the server watches what the judged documents depend on. As VS Code, it learns
    them before it publishes (the client reports changes); as Neovim, its watchdog observer
    then schedules a recursive watch of the workspace folder, off the loop: wait for the
    kernel's watch itself."""
    if client.client_spec == NEOVIM:
        pid = client._server.pid  # type: ignore[attr-defined]  # the server pytest-lsp started
        await wait_until(lambda: inotify_watches(pid) > 0, 30)


def reported(client: LanguageClient, *changes: tuple[Path, lsp.FileChangeType]) -> float:
    """The file changed on disk; VS Code's watcher reports it, Neovim's does nothing."""
    if client.client_spec == VSCODE:
        client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
            lsp.FileEvent(uri=p.as_uri(), type=t) for p, t in changes]))
    return time.perf_counter()


CHANGED = lsp.FileChangeType.Changed


async def test_new_reference_on_disk_rejudges_only_its_document(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path)
    icon = tmp_path / "icon.svg"
    shutil.copy(FIXTURES / "icon.svg", icon)
    ref = pin(pinner, icon)
    other = tmp_path / "other.svg"
    shutil.copy(FIXTURES / "icon.svg", other)
    pin(pinner, other)
    uri = await opened(client, icon, "xml")
    other_uri = await opened(client, other, "xml")

    mock = tmp_path / "mock" / "icon.svg"  # the designer's new mock: another fill colour
    mock.parent.mkdir()
    mock.write_text(icon.read_text().replace('fill="#5E81AC"', 'fill="#D08770"'))
    pin(pinner, mock, ref)  # rewrites icon.ref.png and its sidecar (temp file + rename)
    if client.client_spec == VSCODE:  # VS Code's watcher is the only one: nothing until it says
        await asyncio.sleep(1.0)
        assert uri not in client.diagnostics
    began = reported(client, (ref, CHANGED), (sidecar_path(ref), CHANGED))
    found = await diagnostics(client, uri, timeout=10)
    print(f"{client.client_spec}: reference → diagnostics {time.perf_counter() - began:.3f} s")
    # the circle whose fill now differs: a colour, cosmetic (Information)
    assert [(d.code, d.range.start.line, d.severity) for d in found] == [
        ("style_error", 2, lsp.DiagnosticSeverity.Information)], [(d.code, d.message)
                                                                  for d in found]
    await asyncio.sleep(0.5)
    assert other_uri not in client.diagnostics  # it does not depend on icon.ref.png


async def test_dropped_mock_in_a_new_folder_replaces_the_missing_reference_note(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path)
    src = tmp_path / "wants.svg"
    src.write_text("<!-- verm: reference=design/wants.png -->\n"
                   + (FIXTURES / "icon.svg").read_text())
    uri = src.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="xml", version=1,
                                           text=src.read_text())))
    [note] = await diagnostics(client, uri)
    assert "does not exist" in note.message
    del client.diagnostics[uri]
    await watching(client)

    ref = pin(pinner, src, tmp_path / "design" / "wants.png")  # creates design/ too
    reported(client, (ref, lsp.FileChangeType.Created))
    assert await diagnostics(client, uri, timeout=10) == []


async def test_changed_csv_rejudges_the_chart_that_reads_it(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path)
    chart = tmp_path / "chart.py"
    chart.write_text(CHART)
    data = tmp_path / "data.csv"
    data.write_text(CSV)
    pin(pinner, chart)
    uri = await opened(client, chart, "python")

    data.write_text(CSV.replace("South,35", "South,15"))  # in place, as an editor saves
    began = reported(client, (data, CHANGED))
    found = await diagnostics(client, uri, timeout=30)
    print(f"{client.client_spec}: data.csv → diagnostics {time.perf_counter() - began:.3f} s")
    bar_line = CHART.splitlines().index(
        next(line for line in CHART.splitlines() if line.startswith("ax.bar(")))
    # One bar lower: one data error, on the call that drew the bars from the file's rows.
    assert [(d.code, d.range.start.line, d.severity) for d in found] == [
        ("data_error", bar_line, lsp.DiagnosticSeverity.Error)], [
        (d.code, d.range.start.line, d.message) for d in found]


async def test_changed_stylesheet_rejudges_the_page_that_links_it(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path)
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    css = tmp_path / "style.css"
    css.write_text(CSS)
    pin(pinner, page)
    uri = await opened(client, page, "html")

    css.write_text(CSS.replace("#1a5fb4", "#c01c28"))
    began = reported(client, (css, CHANGED))
    found = await diagnostics(client, uri, timeout=30)
    print(f"{client.client_spec}: style.css → diagnostics {time.perf_counter() - began:.3f} s")
    # The box's background: one diagnostic, on the page's line that draws the box.
    assert [(d.code, d.range.start.line, d.severity) for d in found] == [
        ("style_error", 2, lsp.DiagnosticSeverity.Information)], [
        (d.code, d.range.start.line, d.severity, d.message) for d in found]


def test_dependencies_are_the_reference_its_sidecar_and_the_files_named_in_the_text(
        tmp_path: Path):
    ref = tmp_path / "refs" / "page.png"
    css = tmp_path / "css" / "main.css"
    css.parent.mkdir()
    css.write_text('@import "base.css";\nbody { background: url(../img/bg.png); }\n')
    page = tmp_path / "page.html"
    text = ('<link rel="stylesheet" href="css/main.css?v=2"><script src=\'/app.js\'></script>'
            '<img src="https://example.com/x.png"><a href="#top">top</a>'
            '<img src="data:image/png;base64,AAAA"><div style="background: url(dot.svg)">'
            '<script>fetch("data/points.json")</script>')
    found = dependencies(page, text, ref)
    expected = {ref, sidecar_path(ref), css, css.parent / "base.css", tmp_path / "img" / "bg.png",
                tmp_path / "app.js", tmp_path / "dot.svg", tmp_path / "data" / "points.json"}
    assert found == {str(p) for p in expected}

    chart = tmp_path / "chart.py"
    text = 'pd.read_csv("sales.csv")\nnp.load(HERE / "cache/w.npy")\nplt.title("data")\n'
    assert dependencies(chart, text, None) == {str(tmp_path / "chart.ref.png")}  # unpinned
    assert dependencies(chart, text, ref) == {
        str(p) for p in (ref, sidecar_path(ref), tmp_path / "sales.csv",
                         tmp_path / "cache" / "w.npy")}
