"""A cold start overlaps the render workers' start with the server's own.

``verm serve`` scans the folder it was started in (editors start it in the workspace folder)
and starts the fork servers its pinned sources need before it imports the rest of verm; at
``initialize`` the folders the client names are scanned too, and Chromium is launched for
pinned pages and tables. The first open then adopts those workers instead of starting its own.
End to end: the real ``verm serve`` over stdio, processes read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities

from support import pinned_copy
from test_lsp_load import cmdline, descendants
from verm.check import Checker
from verm.lsp.warmup import pinned_kinds

VERM = str(Path(sys.executable).with_name("verm"))


@pytest.fixture(autouse=True)
def prestart(monkeypatch: pytest.MonkeyPatch) -> None:
    """On, as for users (conftest turns it off for the other tests)."""
    monkeypatch.setenv("VERM_PRESTART", "1")


def workers(server: int, what: str) -> list[int]:
    return [pid for pid in descendants(server) if what in cmdline(pid)]


def fork_servers(server: int, kind: str) -> list[int]:
    """The fork server processes (not their forked workers: those have no ``-m`` of their own
    but share the command line; the fork server is the one whose parent is ``server``)."""
    return [pid for pid in workers(server, f"verm.render.{kind}_job")
            if _parent(pid) == server]


def _parent(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[1])


def wait_for(found: callable, within_s: float = 30.0) -> list[int]:  # type: ignore[valid-type]
    deadline = time.monotonic() + within_s
    while not (pids := found()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return pids


# -- the scan -------------------------------------------------------------------------------

def test_pinned_kinds_are_the_kinds_of_sources_with_a_reference(tmp_path: Path):
    (tmp_path / "chart.py").write_text("")
    (tmp_path / "chart.ref.png").write_bytes(b"")
    (tmp_path / "icons").mkdir()
    (tmp_path / "icons" / "a.svg").write_text("")
    (tmp_path / "icons" / "a.ref.png").write_bytes(b"")
    (tmp_path / "page.html").write_text("")  # no reference: nothing to start for it
    (tmp_path / "orphan.ref.png").write_bytes(b"")  # a reference without its source
    assert pinned_kinds(tmp_path) == {"chart", "svg"}


def test_config_references_name_kinds_and_a_broken_config_is_ignored(tmp_path: Path):
    (tmp_path / "verm.toml").write_text('[references]\n"pages/*.html" = "refs/{stem}.png"\n')
    assert pinned_kinds(tmp_path) == {"html"}
    (tmp_path / "verm.toml").write_text("[references\n")  # hostile or half-typed: no crash
    (tmp_path / "pyproject.toml").write_text(
        '[tool.verm.references]\n"tables/*.md" = "{stem}.png"\n')
    assert pinned_kinds(tmp_path) == {"table"}


def test_the_scan_follows_no_symlink_and_is_bounded(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.py").write_text("")
    (outside / "c.ref.png").write_bytes(b"")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(outside, target_is_directory=True)
    assert pinned_kinds(ws) == set()
    many = ws / "many"
    many.mkdir()
    for i in range(300):
        (many / f"f{i}.txt").write_text("")
    deep = ws / "zz"
    deep.mkdir()
    (deep / "c.py").write_text("")
    (deep / "c.ref.png").write_bytes(b"")
    assert pinned_kinds(ws) == {"chart"}
    assert pinned_kinds(ws, budget=50) == set()  # ran out of entries before reaching it


# -- the server -----------------------------------------------------------------------------

def test_verm_serve_starts_the_chart_worker_before_initialize(tmp_path: Path):
    """No message sent yet: the fork server of the workspace's pinned charts is already up."""
    with Checker() as checker:
        pinned_copy(checker, tmp_path, "bars.py")
    proc = subprocess.Popen([VERM, "serve"], cwd=tmp_path, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        found = wait_for(lambda: fork_servers(proc.pid, "chart"))
        assert len(found) == 1
        assert fork_servers(proc.pid, "svg") == []  # no pinned icon: no icon worker
    finally:
        proc.stdin.close()  # end of input: the server exits
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def early_workers(folder: Path) -> list[int]:
    """The render workers `verm serve` started in ``folder`` has within 3 s, sent nothing
    (the early scan runs on its own thread: the time a worker needed above)."""
    proc = subprocess.Popen([VERM, "serve"], cwd=folder, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return wait_for(lambda: workers(proc.pid, "verm.render.forkserver"), 3.0)
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_verm_serve_elsewhere_starts_nothing_before_initialize(tmp_path: Path):
    (tmp_path / "notes.md").write_text("| a |\n|---|\n| 1 |\n")
    assert early_workers(tmp_path) == []


Published = list[lsp.PublishDiagnosticsParams]


async def _session(cwd: Path, root: Path) -> tuple[LanguageClient, Published]:
    client = LanguageClient("warmup-test", "1")
    published: list[lsp.PublishDiagnosticsParams] = []

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
        published.append(params)

    for method in (lsp.CLIENT_REGISTER_CAPABILITY, lsp.WINDOW_LOG_MESSAGE,
                   lsp.WINDOW_SHOW_MESSAGE, "verm/status"):
        client.feature(method)(lambda params: None)

    @client.feature(lsp.WORKSPACE_CONFIGURATION)
    def on_configuration(params: lsp.ConfigurationParams) -> list[dict]:
        return [{} for _ in params.items]

    await client.start_io(VERM, "serve", cwd=str(cwd))
    await client.initialize_async(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name="ws")]))
    client.initialized(lsp.InitializedParams())
    return client, published


async def _stop(client: LanguageClient) -> None:
    await asyncio.wait_for(client.shutdown_async(None), 30)
    client.exit(None)
    server = client._server
    if server is not None:
        await asyncio.wait_for(server.wait(), 30)
    await client.stop()


async def _until(found: callable, within_s: float = 30.0) -> list[int]:  # type: ignore[valid-type]
    deadline = time.monotonic() + within_s
    while not (pids := found()) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return pids


async def test_initialize_starts_workers_for_the_named_folder_and_the_first_open_adopts_them(
        tmp_path: Path):
    """Started elsewhere (no pins in its cwd), the server learns the workspace at initialize:
    the chart worker and Chromium start before any file is opened, and opening the pinned
    chart is judged on that same worker (no second fork server)."""
    ws, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    ws.mkdir()
    elsewhere.mkdir()
    with Checker() as checker:
        src = pinned_copy(checker, ws, "bars.py")
        pinned_copy(checker, ws, "page.html")
    client, published = await _session(elsewhere, ws)
    try:
        server = client._server.pid  # type: ignore[union-attr]
        charts = await _until(lambda: fork_servers(server, "chart"))
        assert len(charts) == 1
        assert await _until(lambda: workers(server, "chromium"))  # launched for the page
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=src.as_uri(), language_id="python",
                                               version=1, text=src.read_text())))

        async def judged() -> list[lsp.Diagnostic]:
            while True:
                for p in published:
                    if p.uri == src.as_uri() and p.version == 1:
                        return list(p.diagnostics)
                await asyncio.sleep(0.02)

        assert await asyncio.wait_for(judged(), 60) == []  # its own pinned render: equivalent
        assert fork_servers(server, "chart") == charts  # the worker started early, adopted
    finally:
        await _stop(client)


def test_verm_prestart_0_starts_nothing_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A user short of memory: workers start only when a source needs them."""
    with Checker() as checker:
        pinned_copy(checker, tmp_path, "bars.py")
    monkeypatch.setenv("VERM_PRESTART", "0")
    assert early_workers(tmp_path) == []


def test_python_m_verm_is_the_verm_command(tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "verm", "--version"], capture_output=True,
                         text=True, check=True, env={**os.environ})
    assert out.stdout.startswith("verm ")
