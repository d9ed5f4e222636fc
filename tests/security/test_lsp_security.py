"""The language server under attack by a malicious repository (issue 7, findings 4, 5 and 6).

A real server over stdio: a pytest-lsp client as an editor, or raw JSON-RPC frames where an
editor would never send what an attacker can. Each test is the attack, then what must hold.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from support import accept_registrations, diagnostics
from verm.check import Checker
from verm.lsp.protocol import LspTextDocument
from verm.pins import pin_render
from verm.source import Source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "e2e"
SERVE = [sys.executable, "-m", "verm.cli", "serve"]
SERVER = ClientServerConfig(server_command=SERVE)
NEOVIM = "neovim@v0.7.0"  # no file-watching capability: the server's own watcher runs


@pytest.fixture(scope="module")
def pinner():
    with Checker() as checker:
        yield checker


def pin(pinner: Checker, src: Path) -> Path:
    render = pinner.render(Source.load(src))
    assert render.ok, render.failure
    return pin_render(render, src.with_name(f"{src.stem}.ref.png"), force=True)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, root: Path, options: dict | None = None,
                encodings: list[str] | None = None) -> lsp.InitializeResult:
    caps = client_capabilities(NEOVIM)
    if encodings is not None:
        caps.general = lsp.GeneralClientCapabilities(position_encodings=encodings)
    return await client.initialize_session(lsp.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(), initialization_options=options or {},
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))


def open_doc(client: LanguageClient, uri: str, text: str, language: str) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))


# -- finding 5: columns in the negotiated encoding ------------------------------------------
CODECS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}


def apply_as(encoding: str, text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply edits as an LSP editor does: lines end at \\n, \\r\\n or \\r; columns count
    ``encoding`` code units, and one inside a character (half a surrogate pair) is an error."""
    codec, width = CODECS[encoding]

    def offset(p: lsp.Position) -> int:
        starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        end = starts[p.line + 1] if p.line + 1 < len(starts) else len(text)
        units = text[starts[p.line]:end].rstrip("\r\n").encode(codec)
        assert p.character * width <= len(units), p
        head = units[: p.character * width].decode(codec)  # strict: raises inside a character
        return starts[p.line] + len(head)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


@pytest.mark.parametrize(("offered", "lone_cr"), [
    (None, False), (["utf-8", "utf-16"], False), (["utf-32"], False), (None, True),
], ids=["default-utf16", "utf8", "utf32", "utf16-lone-cr"])
async def test_quick_fix_on_a_line_with_astral_characters_edits_the_right_columns(
        client: LanguageClient, pinner: Checker, tmp_path: Path, offered: list[str] | None,
        lone_cr: bool):
    """A UTF-16 editor once got code-point columns: ``colo"#dd8452"0")``. A lone carriage
    return (a line break to LSP, not to verm) moves the literal to the editor's next line."""
    init = await start(client, tmp_path, encodings=offered)
    encoding = (offered or ["utf-16"])[0]
    assert init.capabilities.position_encoding == encoding
    src = tmp_path / "icon.svg"
    good = ('  <circle data-note="😀😀"' + ("\r" if lone_cr else "")
            + ' cx="80" cy="70" r="36" fill="#5E81AC"/>')
    src.write_bytes((FIXTURES / "icon.svg").read_text().replace(
        '  <circle cx="80" cy="70" r="36" fill="#5E81AC"/>', good).encode())
    pin(pinner, src)
    pinned = src.read_bytes().decode()
    text = pinned.replace('fill="#5E81AC"', 'fill="#D08770"')
    src.write_bytes(text.encode())
    uri = src.as_uri()
    open_doc(client, uri, text, "xml")
    found = await diagnostics(client, uri)
    [d] = [d for d in found if d.code == "style_error"]
    literal_line = 3 if lone_cr else 2  # as the editor counts
    line = re.split(r"\r\n|\r|\n", text)[literal_line]
    units = len(line.encode(CODECS[encoding][0])) // CODECS[encoding][1]
    assert d.range.start.line == d.range.end.line == literal_line
    assert d.range.end.character <= units
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d])))
    [fix] = [a for a in actions if isinstance(a, lsp.CodeAction) and a.edit is not None]
    assert fix.edit is not None and fix.edit.document_changes
    edits = [e for change in fix.edit.document_changes
             if isinstance(change, lsp.TextDocumentEdit) for e in change.edits]
    assert apply_as(encoding, text, edits) == pinned

    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=lsp.Position(line=literal_line, character=units - 1)))
    assert hover is not None and hover.range is not None
    assert hover.range.end == d.range.end


async def test_incremental_edit_below_a_line_separator_lands_where_the_editor_made_it(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    """U+2028 (or a form feed) is no line break to LSP; the server once counted it as one, so
    the editor's edit landed a line off in the server's copy, and verm judged and fixed that."""
    await start(client, tmp_path)
    src = tmp_path / "icon.svg"
    pinned = (FIXTURES / "icon.svg").read_text().replace(
        "</svg>", "<!-- a line\u2028separator -->\n</svg>").replace(
        '<svg xmlns', '<!-- \u2028 -->\n<svg xmlns')
    src.write_bytes(pinned.encode())
    pin(pinner, src)
    uri = src.as_uri()
    open_doc(client, uri, pinned, "xml")
    assert await diagnostics(client, uri) == []
    line = pinned.split("\n").index('  <circle cx="80" cy="70" r="36" fill="#5E81AC"/>')
    column = pinned.split("\n")[line].index("5E81AC")
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=line, character=column),
                            end=lsp.Position(line=line, character=column + 6)),
            text="D08770")]))
    edited = pinned.replace("5E81AC", "D08770")
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    found = await diagnostics(client, uri)
    assert [(d.code, d.range.start.line) for d in found] == [("style_error", line)], found
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=found[0].range,
        context=lsp.CodeActionContext(diagnostics=found)))
    [fix] = [a for a in actions if isinstance(a, lsp.CodeAction) and a.edit is not None]
    assert fix.edit is not None and fix.edit.document_changes
    edits = [e for change in fix.edit.document_changes
             if isinstance(change, lsp.TextDocumentEdit) for e in change.edits]
    assert apply_as("utf-16", edited, edits) == pinned


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_the_servers_copy_follows_every_edit_exactly(encoding: str):
    """The document the server judges is the editor's, after any edit: lines ended by \\n,
    \\r\\n or a lone \\r (not U+2028 or a form feed), columns in ``encoding`` units. The fast
    path for large documents and pygls's own path must both hold (seeded random edits)."""
    rng = random.Random(7)
    codec = PositionCodec(encoding)
    alphabet = ["a", " ", "\n", "😀", "é", "\r\n", "\r", "\u2028", "\x0c"]

    def where(text: str) -> tuple[lsp.Position, int]:
        """A random position between characters, and its code-point offset."""
        starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        line = rng.randrange(len(starts))
        end = starts[line + 1] if line + 1 < len(starts) else len(text)
        content = text[starts[line]:end].rstrip("\r\n")
        k = rng.randint(0, len(content))
        return (lsp.Position(line=line, character=codec.client_num_units(content[:k])),
                starts[line] + k)

    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        doc = LspTextDocument("file:///t.svg", text, position_codec=codec)
        for _ in range(5):
            (start, a), (end, b) = sorted([where(text), where(text)], key=lambda w: w[1])
            new = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
            doc.apply_change(lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=start, end=end), text=new))
            text = text[:a] + new + text[b:]
            assert doc.source == text


# -- finding 6: every request answered, bad notifications survived --------------------------
class RawServer:
    """``verm serve`` driven with hand-written JSON-RPC frames, read with a bounded wait."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(SERVE, cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (header := out.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            if not header:
                return
            self.messages.put(json.loads(out.read(length)))

    def send(self, message: dict[str, Any] | bytes) -> None:
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def response(self, msg_id: int | str | None, timeout: float = 15.0) -> dict[str, Any]:
        """The response to ``msg_id`` (notifications and other responses are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no response to request {msg_id}"
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message.get("id") == msg_id and "method" not in message:
                return message

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def test_requests_with_invalid_params_get_invalid_params_errors(tmp_path: Path):
    server = RawServer(tmp_path)
    try:
        uri = (tmp_path / "icon.svg").as_uri()
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}})
        assert "result" in server.response(1)
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        # Notifications with bad params: logged, never fatal, never answered.
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                     "params": {"textDocument": "not an object"}})
        server.send({"jsonrpc": "2.0", "method": "textDocument/didChange",
                     "params": {"textDocument": {"uri": uri, "version": -5},
                                "contentChanges": 7}})
        bad = [{"line": -1, "character": 0}, {"line": 2**31, "character": 0},
               "line 3", {"line": 0, "character": "x"}]
        for i, position in enumerate(bad, start=10):
            server.send({"jsonrpc": "2.0", "id": i, "method": "textDocument/hover",
                         "params": {"textDocument": {"uri": uri}, "position": position}})
        server.send({"jsonrpc": "2.0", "id": "code", "method": "textDocument/codeAction",
                     "params": {"textDocument": {"uri": uri}, "range": "everything",
                                "context": {"diagnostics": []}}})
        server.send({"jsonrpc": "2.0", "id": 20, "method": "textDocument/hover",
                     "params": {"textDocument": {"uri": uri},
                                "position": {"line": 2, "character": 0}}})
        for i in [*range(10, 10 + len(bad)), "code"]:
            answer = server.response(i)
            assert answer["error"]["code"] == -32602, answer
        assert server.response(20) == {"jsonrpc": "2.0", "id": 20, "result": None}
        server.send({"jsonrpc": "2.0", "id": {"an": "object"}, "method": "textDocument/hover",
                     "params": {}})
        assert server.response(None)["error"]["code"] == -32600
        server.send(b"{not json")
        assert server.response(None)["error"]["code"] == -32700
        server.send(b"[1, 2]")
        assert server.response(None)["error"]["code"] == -32600
        server.send({"jsonrpc": "2.0", "id": 21, "method": "textDocument/hover",
                     "params": {"textDocument": {"uri": uri},
                                "position": {"line": 0, "character": 0}}})
        assert server.response(21)["result"] is None  # still serving
        server.send({"jsonrpc": "2.0", "id": 30, "method": "shutdown"})
        assert "result" in server.response(30)
        server.send({"jsonrpc": "2.0", "method": "exit"})
        assert server.proc.wait(10) == 0
    finally:
        server.close()


# -- finding 6: a huge document neither blocks the server nor goes unexplained ---------------
async def slowest_hover(client: LanguageClient, uri: str, until: Any, limit_s: float) -> float:
    """Hover on ``uri`` again and again until ``until()`` or ``limit_s``: the slowest answer."""
    slowest, began = 0.0, time.monotonic()
    while not until() and time.monotonic() - began < limit_s:
        asked = time.monotonic()
        await client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=lsp.Position(line=2, character=0)))
        slowest = max(slowest, time.monotonic() - asked)
        await asyncio.sleep(0.05)
    return slowest


async def opened_icon(client: LanguageClient, pinner: Checker, root: Path) -> tuple[str, Path]:
    icon = root / "icon.svg"
    icon.write_text((FIXTURES / "icon.svg").read_text())
    ref = pin(pinner, icon)
    open_doc(client, icon.as_uri(), icon.read_text(), "xml")
    assert await diagnostics(client, icon.as_uri()) == []
    return icon.as_uri(), ref


async def test_huge_document_gets_one_size_diagnostic_and_blocks_nothing(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path, {"maxFileMB": 8})
    small, ref = await opened_icon(client, pinner, tmp_path)
    row = '<p class="r">a row of the page 😀 with some text and <b>markup</b></p>\n'
    text = f"<!-- verm: reference={ref.name} -->\n<html><body>\n" + row * (20_000_000 // len(row))
    big = tmp_path / "big.html"
    big.write_text(text)
    open_doc(client, big.as_uri(), text, "html")
    slowest = await slowest_hover(client, small, lambda: big.as_uri() in client.diagnostics, 8.0)
    [d] = await diagnostics(client, big.as_uri(), timeout=30)
    size = f"{len(text.encode()) / 1e6:.1f} MB"
    assert size in d.message and "up to 8 MB" in d.message and "maxFileMB" in d.message, d
    assert "max-source-mb" in d.message
    assert d.source == "verm" and d.range.start.line == 0
    assert slowest < 2.0  # a loaded machine parses the 20 MB message well within this
    client.diagnostics.pop(big.as_uri())
    await asyncio.sleep(1.0)
    assert big.as_uri() not in client.diagnostics  # told once: never judged after all


async def test_a_long_word_does_not_stall_the_server(client: LanguageClient, pinner: Checker,
                                                     tmp_path: Path):
    """A 60 KB run of word characters (a base64 image, a minified bundle) once cost the
    dependency scan tens of seconds with the interpreter lock held: hovers waited for it."""
    await start(client, tmp_path)
    small, ref = await opened_icon(client, pinner, tmp_path)
    page = tmp_path / "page.html"
    page.write_text(f"<!-- verm: reference={ref.name} -->\n<html><body><p>"
                    + "QUJD" * 15_000 + "</p></body></html>\n")
    open_doc(client, page.as_uri(), page.read_text(), "html")
    await diagnostics(client, page.as_uri(), timeout=30)
    slowest = await slowest_hover(client, small, lambda: False, 4.0)
    assert slowest < 2.0


# -- finding 4: the watcher stays inside the workspace and its threads stay few ---------------
def inotify_inodes(pid: int) -> set[int]:
    """The inodes a process's inotify descriptors watch (``/proc/PID/fdinfo``)."""
    out = set()
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            with open(info) as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            continue  # a descriptor closed between listing and reading: not a watch now
        for line in lines:
            if line.startswith("inotify wd:"):
                out.add(int(line.split(" ino:")[1].split()[0], 16))
    return out


async def test_links_all_over_the_disk_start_no_threads_and_no_watch_outside(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start(client, tmp_path)  # as Neovim 0.7: the server's own watcher
    server = client._server
    assert server is not None
    folders: list[str] = []
    for top in ("/usr/share", "/etc"):
        for folder, _, _ in os.walk(top):
            folders.append(folder)
            if len(folders) >= 3000:
                break
    links = "".join(f' href="{os.path.relpath(f, tmp_path)}/style.css"\n' for f in folders)
    css = tmp_path / "style" / "local.css"
    css.parent.mkdir()
    css.write_text("circle { stroke: none; }\n")
    icon = tmp_path / "icon.svg"
    icon.write_text((FIXTURES / "icon.svg").read_text().replace(
        "</svg>", f'<!--\n{links} href="style/local.css"\n-->\n</svg>'))
    pin(pinner, icon)
    threads_before = len(os.listdir(f"/proc/{server.pid}/task"))
    uri = icon.as_uri()
    open_doc(client, uri, icon.read_text(), "xml")
    assert await diagnostics(client, uri) == []
    deadline = time.monotonic() + 10
    while not inotify_inodes(server.pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # anything still being scheduled
    threads = len(os.listdir(f"/proc/{server.pid}/task"))
    inside = {os.stat(folder).st_ino for folder, _, _ in os.walk(tmp_path)}
    watched = inotify_inodes(server.pid)
    print(f"{len(folders)} linked folders: threads {threads_before} → {threads}, "
          f"{len(watched)} inotify watches")
    assert watched and watched <= inside
    assert threads - threads_before < 10

    client.diagnostics.pop(uri, None)
    css.write_text("circle { stroke: none; opacity: 1; }\n")
    assert await diagnostics(client, uri, timeout=10) == []  # re-judged: its stylesheet changed


@pytest.mark.parametrize("user_folder", [False, True], ids=["workspace-only", "watchFolders"])
async def test_a_stylesheet_outside_the_workspace_is_watched_only_in_a_users_folder(
        client: LanguageClient, pinner: Checker, tmp_path: Path, user_folder: bool):
    workspace, shared = tmp_path / "project", tmp_path / "shared"
    workspace.mkdir()
    shared.mkdir()
    css = shared / "theme.css"
    css.write_text("circle { stroke: none; }\n")
    await start(client, workspace, {"watchFolders": [str(shared)]} if user_folder else {})
    icon = workspace / "icon.svg"
    icon.write_text((FIXTURES / "icon.svg").read_text().replace(
        "</svg>", '<!-- href="../shared/theme.css" -->\n</svg>'))
    pin(pinner, icon)
    uri = icon.as_uri()
    open_doc(client, uri, icon.read_text(), "xml")
    assert await diagnostics(client, uri) == []
    await asyncio.sleep(0.5)  # the watch is placed after the judgement
    client.diagnostics.pop(uri, None)
    css.write_text("circle { stroke: none; opacity: 1; }\n")
    await asyncio.sleep(2.0)
    assert (uri in client.diagnostics) is user_folder
