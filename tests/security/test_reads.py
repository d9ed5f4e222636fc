"""Issue 7, reads: a workspace's paths may lead to devices, FIFOs, stdin or huge files.

Each test is the attack as a cloned repository would mount it, against the real CLI (a child
process whose address space is capped, so a regression fails instead of eating the machine) or
the real ``Checker`` and language server.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from PIL import Image
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from support import accept_registrations
from verm.check import Checker
from verm.pins import BadReferenceError, Pin, load_reference
from verm.safeio import ReadLimits, UnsafeReadError, read_bounded
from verm.source import Source, SourceError

E2E = Path(__file__).parent.parent / "fixtures" / "e2e"
ICON = (E2E / "icon.svg").read_text()
CAP = 1_500_000_000  # address space of the CLI child: a runaway read fails, not the machine


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    seconds: float


def _cap_memory() -> None:
    """Soft limit only: the render sandbox sets its own limits for its children."""
    resource.setrlimit(resource.RLIMIT_AS, (CAP, resource.getrlimit(resource.RLIMIT_AS)[1]))


def verm(*args: str, cwd: Path, timeout: float = 60) -> Run:
    """``verm ARGS`` in ``cwd`` with stdin an open pipe nobody writes to (as under an editor):
    a read of ``/dev/stdin`` would block until the timeout kills it."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    out, err = cwd / ".out", cwd / ".err"
    start = time.monotonic()
    with out.open("w") as fo, err.open("w") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "verm.cli", *args], cwd=cwd, env=env,
                                stdin=subprocess.PIPE, stdout=fo, stderr=fe,
                                preexec_fn=_cap_memory)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            assert proc.stdin is not None
            proc.stdin.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(proc.returncode, out.read_text(), err.read_text(), usage.ru_maxrss / 1024,
               time.monotonic() - start)


def svg_pinned_to(folder: Path, reference: str, name: str = "icon.svg") -> Path:
    src = folder / name
    src.write_text(f"<!-- verm: reference={reference} -->\n{ICON}")
    return src


def big_png(path: Path, width: int, height: int) -> None:
    """A valid 1-bit PNG of ``width``×``height`` white pixels: tens of KB on disk, however
    large it decodes (built row by row, never holding the image)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))

    z = zlib.compressobj(9)
    row = b"\0" + b"\xff" * ((width + 7) // 8)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                         1, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


# --- the reference ----------------------------------------------------------------------------

def test_dev_zero_reference_is_refused_without_reading(tmp_path: Path):
    svg_pinned_to(tmp_path, "/dev/zero")
    run = verm("check", "icon.svg", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "reference /dev/zero is a character device, not an image file" in run.stderr
    assert run.max_rss_mb < 400, run.max_rss_mb


def test_dev_stdin_reference_never_reads_the_callers_stream(tmp_path: Path):
    svg_pinned_to(tmp_path, "/dev/stdin")
    run = verm("check", "icon.svg", cwd=tmp_path, timeout=60)
    assert run.returncode == 2, (run.returncode, run.stderr)  # not killed by the timeout
    assert "reference /dev/stdin is a pipe (FIFO), not an image file" in run.stderr


def test_fifo_reference_and_fifo_source_do_not_block(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo.png")
    svg_pinned_to(tmp_path, "fifo.png")
    run = verm("check", "icon.svg", cwd=tmp_path)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert f"reference {tmp_path / 'fifo.png'} is a pipe (FIFO), not an image file" in run.stderr
    os.mkfifo(tmp_path / "other.svg")  # as the server loads a document it was told changed
    with pytest.raises(SourceError, match=r"other\.svg is a pipe \(FIFO\), not a source file"):
        Source.load(tmp_path / "other.svg")


def test_symlinked_sidecar_to_dev_zero_only_loses_the_anchors(tmp_path: Path):
    src = tmp_path / "icon.svg"
    src.write_text(ICON)
    assert verm("pin", "icon.svg", cwd=tmp_path).returncode == 0
    sidecar = tmp_path / "icon.ref.png.anchors.json"
    sidecar.unlink()
    sidecar.symlink_to("/dev/zero")
    run = verm("check", "icon.svg", cwd=tmp_path)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert "visually equivalent" in run.stdout
    assert "(→ /dev/zero) is a character device, not a JSON file" in run.stderr


@pytest.mark.parametrize("size", [(9000, 9000), (20000, 20000)])
def test_huge_reference_names_its_size_before_decoding(tmp_path: Path, size: tuple[int, int]):
    """81 MP passes PIL's own bomb check, 400 MP trips it: both are named, neither decoded."""
    big_png(tmp_path / "huge.png", *size)
    assert (tmp_path / "huge.png").stat().st_size < 200_000
    svg_pinned_to(tmp_path, "huge.png")
    run = verm("check", "icon.svg", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert (f"reference {tmp_path / 'huge.png'} is {size[0]}×{size[1]} pixels; verm accepts at "
            f"most 64 megapixels (raise max-reference-megapixels in your user config") in run.stderr
    assert run.max_rss_mb < 400, run.max_rss_mb


def test_user_limits_bound_the_reference_in_bytes_and_pixels(tmp_path: Path):
    ref = tmp_path / "ref.png"
    Image.new("RGB", (1200, 1000), "white").save(ref)
    pin = Pin(ref, "flag")
    assert load_reference(pin).image.size == (1200, 1000)
    small = ReadLimits.from_mapping({"max-reference-megapixels": 1, "chromium": "ignored"})
    with pytest.raises(BadReferenceError, match=r"1200×1000 pixels; verm accepts at most 1 mega"):
        load_reference(pin, small)
    tiny = ReadLimits.from_mapping({"max-reference-mb": "0.001"})
    with pytest.raises(BadReferenceError, match=r"verm reads at most 0\.001 MB.*max-reference-mb"):
        load_reference(pin, tiny)
    with pytest.raises(ValueError, match="max-source-mb must be a positive number"):
        ReadLimits.from_mapping({"max-source-mb": -1})


# --- the source -------------------------------------------------------------------------------

def test_source_symlinked_to_dev_zero_is_refused(tmp_path: Path):
    (tmp_path / "chart.svg").symlink_to("/dev/zero")
    with pytest.raises(SourceError, match=r"source .*chart\.svg \(→ /dev/zero\) is a character "
                                          r"device, not a source file"):
        Source.load(tmp_path / "chart.svg")
    # `verm check .` walks into it while looking for pinned sources: skipped, memory flat
    Image.new("RGB", (160, 160), "white").save(tmp_path / "white.png")
    svg_pinned_to(tmp_path, "white.png")
    run = verm("check", ".", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    assert "icon.svg" in run.stdout
    assert run.max_rss_mb < 400, run.max_rss_mb


def test_source_over_the_cap_says_how_to_raise_it(tmp_path: Path):
    src = tmp_path / "page.svg"
    src.write_text(ICON + "<!--" + "x" * 2_000_000 + "-->")
    limits = ReadLimits.from_mapping({"max-source-mb": 1})
    with pytest.raises(SourceError, match=r"is 2 MB; verm reads at most 1 MB of a source "
                                          r"\(raise max-source-mb"):
        Source.load(src, limits=limits)
    assert Source.load(src).kind == "svg"


def test_read_bounded_stops_at_the_limit_on_a_growing_file():
    with pytest.raises(UnsafeReadError, match="is a character device, not a regular file"):
        read_bounded("/dev/zero", limit=10, what="data")
    with pytest.raises(UnsafeReadError, match="is a directory"):
        read_bounded("/", limit=10, what="data")
    with pytest.raises(UnsafeReadError, match="contains a NUL character"):
        read_bounded("ref\0.png", limit=10, what="data")  # a pragma may hold any character
    # /proc files report size 0 and then yield more: read_bounded still stops at limit + 1
    with pytest.raises(UnsafeReadError, match="grew past"):
        read_bounded("/proc/self/maps", limit=10, what="data")


# --- the decoded-reference cache --------------------------------------------------------------

def test_reference_cache_is_bounded_in_bytes_and_forgets(tmp_path: Path):
    side = 1500
    refs = []
    for i in range(6):
        path = tmp_path / f"r{i}.png"
        Image.new("RGB", (side, side), (i * 40, 90, 200)).save(path)
        refs.append(Pin(path, "flag"))
    budget = 3 * side * side * 4 + 1000  # three decoded references (PIL keeps RGB in 4 bytes)
    with Checker(user_settings={"reference-cache-mb": budget / 1_000_000}) as checker:
        cache = checker._references
        for _ in range(2):
            for pin in refs:
                assert checker.reference(pin).image.getpixel((0, 0))[1] == 90
                assert 0 < cache.bytes <= budget
        assert 1 <= len(cache) < len(refs)
        assert cache.limits.reference_cache_bytes == budget  # from the user's config
        hot = refs[-1]
        assert checker.reference(hot) is checker.reference(hot)  # still reused while fresh
        Image.new("RGB", (side, side), "black").save(hot.path)  # changed on disk: re-read
        os.utime(hot.path, ns=(1, 1))
        assert checker.reference(hot).image.getpixel((0, 0)) == (0, 0, 0)
        checker.forget(hot.path)
        assert hot.path not in cache
        checker.drop_references()
        assert cache.bytes == 0 and len(cache) == 0
        assert checker.reference(hot).image.size == (side, side)


# --- the language server ----------------------------------------------------------------------

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    server = lsp_client._server  # a server whose stdin a thread stole never exits by itself
    if server is not None and server.returncode is None:
        server.kill()


async def test_server_refuses_dev_stdin_and_keeps_answering(client: LanguageClient,
                                                            tmp_path: Path):
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=tmp_path.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")]))
    shutil.copy(E2E / "icon.svg", tmp_path / "plain.svg")
    for name in ("stdin.svg", "plain.svg"):
        src = tmp_path / name if name == "plain.svg" else svg_pinned_to(tmp_path, "/dev/stdin",
                                                                          name)
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=src.as_uri(), language_id="xml", version=1,
                                               text=src.read_text())))

    async def published(uri: str) -> list[lsp.Diagnostic]:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    [d] = await asyncio.wait_for(published((tmp_path / "stdin.svg").as_uri()), 60)
    assert "reference /dev/stdin is a pipe (FIFO), not an image file" in d.message
    # the JSON-RPC stream was not read by a judging thread: later requests are answered
    assert await asyncio.wait_for(published((tmp_path / "plain.svg").as_uri()), 60) == []
    hover = client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=(tmp_path / "plain.svg").as_uri()),
        position=lsp.Position(line=1, character=3)))
    await asyncio.wait_for(hover, 30)
    await asyncio.wait_for(client.shutdown_session(), 30)


# --- reads the user's caps reach -----------------------------------------------------------------

def test_user_config_caps_what_the_cli_reads(tmp_path: Path):
    user = tmp_path / "user.toml"
    ws = tmp_path / "ws"
    ws.mkdir()
    src = ws / "icon.svg"
    src.write_text(ICON + "<!--" + "x" * 30_000 + "-->")
    shutil.copy(src, ws / "icon.svg.bak")
    Image.new("RGB", (160, 160), "white").save(ws / "icon.ref.png")
    user.write_text("max-source-mb = 0.01\n")
    env = {"VERM_CONFIG": str(user)}
    run = subprocess.run([sys.executable, "-m", "verm.cli", "check", "icon.svg"], cwd=ws,
                         capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert run.returncode == 2 and "verm reads at most 0.01 MB of a source" in run.stderr
    user.write_text("max-source-mb = 1\n")
    run = subprocess.run([sys.executable, "-m", "verm.cli", "check", "icon.svg"], cwd=ws,
                         capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert run.returncode == 1, run.stderr  # read and judged (it differs from a white square)


def test_fifo_stylesheet_and_fifo_argument_do_not_hang(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo.css")
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><link rel="stylesheet" href="fifo.css">'
                    '<h1 style="color:#123456">Hi</h1>\n')
    # Not under the helper's address-space cap: Chromium's driver (node) needs more.
    done = subprocess.run([sys.executable, "-m", "verm.cli", "render", "page.html", "-o",
                           "out.png"], cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr  # rendered, the pipe never opened
    os.mkfifo(tmp_path / "pipe")
    run = verm("check", "pipe", cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "not a source file or folder" in run.stderr


def test_sparse_huge_config_is_refused_not_read(tmp_path: Path):
    with open(tmp_path / "verm.toml", "wb") as fh:
        fh.truncate(3_000_000_000)  # 3 GB that take no disk space
    svg_pinned_to(tmp_path, "icon.png")
    run = verm("check", "icon.svg", cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "verm reads at most 1 MB of a config" in run.stderr
    assert run.max_rss_mb < 400, run.max_rss_mb


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_server_lets_go_of_a_reference_when_its_documents_close(client: LanguageClient,
                                                                      tmp_path: Path):
    """Three large references decoded while their documents are open are freed on close."""
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=tmp_path.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")]))
    server = client._server
    assert server is not None
    uris = []
    for i in range(3):
        big_png(tmp_path / f"ref{i}.png", 4000, 4000)  # 64 MB each, decoded
        src = svg_pinned_to(tmp_path, f"ref{i}.png", f"icon{i}.svg")
        uris.append(src.as_uri())
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=src.as_uri(), language_id="xml", version=1,
                                               text=src.read_text())))
    for uri in uris:
        while uri not in client.diagnostics:
            await asyncio.wait_for(
                client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 120)
    await asyncio.sleep(0.5)
    held = _rss_mb(server.pid)
    for uri in uris:
        client.text_document_did_close(lsp.DidCloseTextDocumentParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _rss_mb(server.pid) > held - 120:
        await asyncio.sleep(0.2)
    assert _rss_mb(server.pid) <= held - 120, (held, _rss_mb(server.pid))
    await asyncio.wait_for(client.shutdown_session(), 30)


def test_the_users_caps_reach_what_a_page_loads(tmp_path: Path):
    """The page's assets are served within the user's cap: raised or lowered by the user only."""
    import numpy as np

    rng = np.random.default_rng(0)
    red = np.zeros((200, 200, 3), np.uint8)
    red[..., 0] = rng.integers(180, 256, (200, 200))  # noisy red: ~60 KB of PNG
    Image.fromarray(red).save(tmp_path / "photo.png")
    assert (tmp_path / "photo.png").stat().st_size > 20_000
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><body style="margin:0;background:#fff">'
                    '<img src="photo.png" width="200" height="200"></body>\n')

    def red_pixels(user: dict) -> int:
        with Checker(user_settings=user) as checker:
            render = checker.render(checker.load(page))
        assert render.ok and render.image is not None, render.failure
        px = np.asarray(render.image.crop((0, 0, 200, 200)).convert("RGB")).astype(int)
        return int(((px[..., 0] > 150) & (px[..., 1] < 60) & (px[..., 2] < 60)).sum())

    assert red_pixels({}) > 30_000  # served: the picture shows
    assert red_pixels({"max-reference-mb": 0.01}) == 0  # over the user's cap: not served
