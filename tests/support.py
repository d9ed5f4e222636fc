"""Helpers shared by the end-to-end tests: a pinned copy of a fixture, and one literal edit."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities

from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source
from verm.types import Discrepancy

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"


def pinned_copy(checker: Checker, folder: Path, name: str) -> Path:
    """Copy fixture ``name`` into ``folder`` and pin its own render as the sibling reference."""
    src = folder / name
    shutil.copy(FIXTURES / name, src)
    render = checker.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name(f"{src.stem}.ref.png"))
    return src


def edit_once(src: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` by ``new``; return the 0-based line of the edit."""
    text = src.read_text()
    assert text.count(old) == 1, old
    src.write_text(text.replace(old, new))
    return text[: text.index(old)].count("\n")


def against_screenshot(checker: Checker, folder: Path, name: str, text: str,
                       edited: str) -> list[Discrepancy]:
    """The findings for ``edited`` against ``text``'s own render saved as a plain PNG
    screenshot (no sidecar beside it: what a designer hands over)."""
    src = folder / name
    src.write_text(text)
    render = checker.render(checker.load(src))
    assert render.ok and render.image is not None, render.failure
    shot = folder / "screenshot.png"
    render.image.convert("RGB").save(shot)
    return checker.check(checker.load(src, edited), shot).discrepancies


def screenshot_of(checker: Checker, folder: Path, name: str, text: str, *, scale: float = 1.0,
                  jpeg: bool = False, crop: int = 0, quality: int = 80) -> tuple[Path, Path]:
    """Write ``text`` to ``folder/name`` and save its render as a designer's screenshot (no
    sidecar): drawn at ``scale``, ``crop`` px cut off each side, a PNG or a JPEG of
    ``quality``. Returns the source and the screenshot."""
    src = folder / name
    src.write_text(text)
    render = checker.render(checker.load(src), scale=scale)
    assert render.ok and render.image is not None, render.failure
    image = render.image.convert("RGB")
    if crop:
        image = image.crop((crop, crop, image.width - crop, image.height - crop))
    shot = folder / ("screenshot.jpg" if jpeg else "screenshot.png")
    image.save(shot, quality=quality) if jpeg else image.save(shot)
    return src, shot


def screenshot_findings(checker: Checker, folder: Path, name: str, text: str,
                        edited: str) -> list[tuple[str, int, int]]:
    """(category, first line, severity) of each finding ``against_screenshot`` returns."""
    assert edited != text, "the edit changes nothing"
    return [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in against_screenshot(checker, folder, name, text, edited)]


# -- a language-server session, as an editor opens one --------------------------------------------
def accept_registrations(client: LanguageClient) -> None:
    """Answer ``client/registerCapability`` as VS Code does (verm registers file watchers)."""
    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        return None


async def start_session(client: LanguageClient, root: Path, options: dict | None = None,
                        spec: str = "visual-studio-code") -> lsp.InitializeResult:
    """``initialize`` with ``root`` as the one workspace folder."""
    return await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities(spec), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {}))


def open_document(client: LanguageClient, path: Path, language: str) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=path.as_uri(), language_id=language, version=1, text=path.read_text())))


async def diagnostics(client: LanguageClient, uri: str,
                      timeout: float = 60.0) -> list[lsp.Diagnostic]:
    """The next diagnostics published for ``uri`` (the caller cleared the old ones), waiting
    up to ``timeout`` seconds."""
    async def wait() -> list[lsp.Diagnostic]:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(wait(), timeout)


async def published(client: LanguageClient, path: Path,
                    timeout: float = 60.0) -> list[lsp.Diagnostic]:
    """The first diagnostics published for ``path``."""
    return await diagnostics(client, path.as_uri(), timeout)


def run_verm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``verm ARGS`` as a user runs it, in ``cwd``: its own process, UTF-8 output."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "verm.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout)
