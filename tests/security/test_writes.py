"""Issue 7, finding 2 and the write parts of 6: verm writes only inside the workspace, through
an explicit action, atomically, keeping the file's mode; never where a pragma, a config or a
symlink in the workspace points outside it.

Real files, the real CLI and the real language server (pytest-lsp, as an editor would).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from support import FIXTURES, accept_registrations, open_document, published, start_session

VERM = [sys.executable, "-m", "verm.cli"]
SERVER = ClientServerConfig(server_command=[*VERM, "serve"])
BASHRC = "export PATH=/usr/bin\n"


def verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERM, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A cloned repository ``ws`` (with .git) beside a victim's folder with a dotfile."""
    ws, victim = tmp_path / "ws", tmp_path / "victim"
    ws.mkdir()
    (ws / ".git").mkdir()
    victim.mkdir()
    (victim / ".bashrc").write_text(BASHRC)
    return ws, victim


def icon(ws: Path, pragma: str = "") -> Path:
    src = ws / "icon.svg"
    text = (FIXTURES / "icon.svg").read_text()
    src.write_text(text.replace("<svg", f"{pragma}\n<svg", 1) if pragma else text)
    return src


def untouched(victim: Path) -> bool:
    return ((victim / ".bashrc").read_text() == BASHRC
            and not (victim / ".bashrc.anchors.json").exists()
            and sorted(p.name for p in victim.iterdir()) == [".bashrc"])


@pytest.mark.parametrize("how", ["relative", "absolute", "config", "symlinked-file",
                                 "symlinked-folder", "sidecar-link"])
def test_pin_force_never_writes_outside_the_workspace(layout: tuple[Path, Path],
                                                      how: str) -> None:
    ws, victim = layout
    if how == "relative":
        src = icon(ws, "<!-- verm: reference=../victim/.bashrc -->")
    elif how == "absolute":
        src = icon(ws, f"<!-- verm: reference={victim / '.bashrc'} -->")
    elif how == "config":
        src = icon(ws)
        (ws / "verm.toml").write_text('[references]\n"*.svg" = "../victim/.bashrc"\n')
    elif how == "symlinked-file":
        src = icon(ws, "<!-- verm: reference=design.png -->")
        (ws / "design.png").symlink_to(victim / ".bashrc")
    elif how == "symlinked-folder":
        src = icon(ws, "<!-- verm: reference=design/new/icon.png -->")
        (ws / "design").symlink_to(victim)
    else:  # the PNG is inside, its anchors sidecar links out
        src = icon(ws, "<!-- verm: reference=icon.png -->")
        (ws / "icon.png.anchors.json").symlink_to(victim / ".bashrc")
    out = verm("pin", "--force", src.name, cwd=ws)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "outside the workspace" in out.stderr and "--allow-outside" in out.stderr
    assert untouched(victim)


def test_allow_outside_is_the_users_explicit_choice(layout: tuple[Path, Path]) -> None:
    ws, victim = layout
    src = icon(ws, "<!-- verm: reference=../victim/shared.png -->")
    out = verm("pin", "--allow-outside", src.name, cwd=ws)
    assert out.returncode == 0, out.stderr
    assert (victim / "shared.png").is_file() and (victim / ".bashrc").read_text() == BASHRC
    # --reference names the file itself: also the user's choice.
    out = verm("pin", src.name, "--reference", str(victim / "named.png"), cwd=ws)
    assert out.returncode == 0 and (victim / "named.png").is_file()


def test_pins_inside_the_workspace_still_work(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    (ws / "sub").mkdir()
    src = ws / "sub" / "icon.svg"
    shutil.copy(FIXTURES / "icon.svg", src)
    src.write_text(src.read_text().replace("<svg", "<!-- verm: reference=../design/i.png -->\n"
                                                   "<svg", 1))
    out = verm("pin", "sub/icon.svg", cwd=ws)
    assert out.returncode == 0, out.stderr
    assert (ws / "design" / "i.png").is_file()  # a folder created inside the workspace


def test_pin_and_revise_keep_file_modes(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    src = icon(ws)
    assert verm("pin", src.name, cwd=ws).returncode == 0
    ref = ws / "icon.ref.png"
    assert (ref.stat().st_mode & 0o777) == 0o666 & ~_umask()  # a new file: as an editor saves
    ref.chmod(0o640)
    assert verm("pin", "--force", src.name, cwd=ws).returncode == 0
    assert ref.stat().st_mode & 0o777 == 0o640
    # revise --write: an executable script keeps its x bits.
    src.write_text(src.read_text().replace("#5E81AC", "#dd8452"))
    assert "#dd8452" in src.read_text()
    src.chmod(0o751)
    out = verm("revise", src.name, "--write", cwd=ws)
    assert "#dd8452" not in src.read_text(), out.stdout + out.stderr
    assert src.stat().st_mode & 0o777 == 0o751


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_revise_write_never_follows_a_link_out(layout: tuple[Path, Path]) -> None:
    ws, victim = layout
    real = victim / "chart.svg"
    shutil.copy(FIXTURES / "icon.svg", real)
    (ws / "icon.svg").symlink_to(real)
    before = real.read_text()
    out = verm("revise", "icon.svg", "--write", cwd=ws)
    assert out.returncode == 2 and "outside the workspace" in out.stderr
    assert real.read_text() == before


def test_diff_dir_keeps_one_image_per_source(tmp_path: Path) -> None:
    """Two sources that share a stem (a/icon.svg, b/icon.svg) get a diff each."""
    for sub, colour in (("a", "#dd8452"), ("b", "#55a868")):
        (tmp_path / sub).mkdir()
        src = tmp_path / sub / "icon.svg"
        shutil.copy(FIXTURES / "icon.svg", src)
        assert verm("pin", f"{sub}/icon.svg", cwd=tmp_path).returncode == 0
        src.write_text(src.read_text().replace("#5E81AC", colour))
    out = verm("check", "a", "b", "--diff-dir", "diffs", cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    diffs = sorted(p.relative_to(tmp_path / "diffs").as_posix()
                   for p in (tmp_path / "diffs").rglob("*.png"))
    assert diffs == ["a/icon.diff.png", "b/icon.diff.png"]


# -- the editor ------------------------------------------------------------------------------
@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    lsp_client.asked = []  # type: ignore[attr-defined]

    @lsp_client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    def ask(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem:
        lsp_client.asked.append(params.message)  # type: ignore[attr-defined]
        return lsp.MessageActionItem(title="Replace")  # the user who always says yes

    yield
    await lsp_client.shutdown_session()


async def _open(client: LanguageClient, ws: Path, src: Path) -> None:
    await start_session(client, ws, {"trusted": False})
    open_document(client, src, "svg")
    await published(client, src)


async def _actions(client: LanguageClient, src: Path) -> list[str]:
    found = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=src.as_uri()),
        range=lsp.Range(start=lsp.Position(line=0, character=0),
                        end=lsp.Position(line=0, character=0)),
        context=lsp.CodeActionContext(diagnostics=client.diagnostics[src.as_uri()])))
    return [a.title for a in found or []]


async def test_editor_pin_refuses_a_reference_outside_the_workspace(
        client: LanguageClient, layout: tuple[Path, Path]) -> None:
    ws, victim = layout
    src = icon(ws, "<!-- verm: reference=../victim/.bashrc -->")
    await _open(client, ws, src)
    assert not any(t.startswith("Pin current render") for t in await _actions(client, src))
    # A client that sends the command anyway (a stale menu) gets a refusal, nothing written.
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="verm.pin", arguments=[src.as_uri()]))
    assert result["pinned"] is False and result["reason"] == "outside"
    assert untouched(victim)
    assert client.asked == []  # type: ignore[attr-defined]


async def test_editor_replace_dialog_names_the_path_in_the_workspace(
        client: LanguageClient, layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    (ws / "design" / "icons").mkdir(parents=True)
    src = icon(ws, "<!-- verm: reference=design/icons/icon.png -->")
    assert verm("pin", src.name, cwd=ws).returncode == 0
    ref = ws / "design" / "icons" / "icon.png"
    ref.chmod(0o644)
    await _open(client, ws, src)
    titles = await _actions(client, src)
    assert "Pin current render as reference (replaces design/icons/icon.png)" in titles, \
        titles
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="verm.pin", arguments=[src.as_uri()]))
    assert result["pinned"] is True
    assert client.asked and client.asked[0].startswith(  # type: ignore[attr-defined]
        "design/icons/icon.png already exists")
    assert ref.stat().st_mode & 0o777 == 0o644
