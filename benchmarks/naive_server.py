"""The naive baseline for ``lsp_latency.py``: what a first language server would do on each save.

Render in a fresh interpreter (chart: the script with ``savefig`` appended; SVG: a fresh
``python -c`` running cairosvg) or a freshly launched browser (HTML, Markdown tables), compare
with the sibling ``<stem>.ref.png`` by one plain grey SSIM, and publish one diagnostic when the
SSIM is below 0.99. No warm workers, no registration, no attribution: only the costs verm avoids.
The render runs in a thread so the loop still reads messages (the fairest naive version).

    python benchmarks/naive_server.py   # speaks LSP on stdio
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from lsprotocol import types as lsp
from PIL import Image
from pygls.lsp.server import LanguageServer
from skimage.metrics import structural_similarity

from verm.render.browser import find_chromium

THRESHOLD = 0.99
TIMEOUT_S = 60.0
KINDS = {".py": "chart", ".svg": "svg", ".html": "html", ".htm": "html", ".md": "table"}

server = LanguageServer("naive-visual-server", "0.1")


def plain_ssim(ref: Image.Image, image: Image.Image) -> float:
    if image.size != ref.size:
        image = image.resize(ref.size)
    a = np.asarray(ref.convert("L"), dtype=np.float64)
    b = np.asarray(image.convert("L"), dtype=np.float64)
    return float(structural_similarity(a, b, data_range=255.0))


def render_chart(src: Path, text: str) -> Image.Image:
    """A fresh interpreter runs the script with one ``savefig`` appended."""
    with tempfile.TemporaryDirectory(prefix="naive-") as tmp:
        out = Path(tmp) / "out.png"
        script = Path(tmp) / "run.py"
        script.write_text(f"{text}\nimport matplotlib.pyplot as _p\n"
                          f"_p.gcf().savefig({str(out)!r})\n")
        env = {**os.environ, "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, str(script)], check=True, cwd=src.parent, env=env,
                       capture_output=True, timeout=TIMEOUT_S)
        return Image.open(out).convert("RGB")


def render_svg(src: Path, text: str) -> Image.Image:
    code = ("import sys, cairosvg; "
            "sys.stdout.buffer.write(cairosvg.svg2png(bytestring=sys.stdin.buffer.read()))")
    png = subprocess.run([sys.executable, "-c", code], input=text.encode(), check=True,
                         capture_output=True, timeout=TIMEOUT_S).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def screenshot(html: str, size: tuple[int, int]) -> Image.Image:
    """A browser launched for this one render: the naive way to take a page's picture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(None),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.set_content(html)
            png = page.screenshot()
        finally:
            browser.close()
    return Image.open(io.BytesIO(png)).convert("RGB")


def render(kind: str, src: Path, text: str, size: tuple[int, int]) -> Image.Image:
    if kind == "chart":
        return render_chart(src, text)
    if kind == "svg":
        return render_svg(src, text)
    if kind == "table":
        from markdown_it import MarkdownIt

        text = MarkdownIt("commonmark").enable("table").render(text)
    return screenshot(text, size)


def judge(path: Path, text: str) -> list[lsp.Diagnostic]:
    """One diagnostic at line 0 when the render is not (nearly) the reference; else none."""
    kind = KINDS.get(path.suffix.lower())
    ref_path = path.with_name(f"{path.stem}.ref.png")
    if kind is None or not ref_path.exists():
        return []
    ref = Image.open(ref_path).convert("RGB")
    where = lsp.Range(start=lsp.Position(line=0, character=0),
                      end=lsp.Position(line=0, character=0))
    try:
        score = plain_ssim(ref, render(kind, path, text, ref.size))
    except Exception as exc:
        return [lsp.Diagnostic(range=where, message=f"render failed: {exc}", source="naive",
                               severity=lsp.DiagnosticSeverity.Error)]
    if score >= THRESHOLD:
        return []
    return [lsp.Diagnostic(range=where, message=f"render differs from {ref_path.name} "
                           f"(SSIM {score:.3f})", source="naive",
                           severity=lsp.DiagnosticSeverity.Warning)]


async def publish(ls: LanguageServer, uri: str) -> None:
    doc = ls.workspace.get_text_document(uri)
    path = Path(unquote(urlparse(uri).path))
    diagnostics = await asyncio.to_thread(judge, path, doc.source)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
        uri=uri, diagnostics=diagnostics, version=doc.version))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: LanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    await publish(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: LanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    await publish(ls, params.text_document.uri)


if __name__ == "__main__":
    server.start_io()
