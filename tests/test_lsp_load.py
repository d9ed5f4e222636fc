"""The language server under load, end to end over stdio with real renderers (no mocks).

Rapid saves must cost one judgement of the newest text (the stale render's process killed), a
burst of saves must leave the server answering, its memory flat and no render process behind,
and a render worker that dies must be started again. Timings are asserted only generously here;
the latency targets live in ``benchmarks/lsp_latency.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"


class RecordingClient(LanguageClient):
    """A pytest-lsp client that keeps *every* publishDiagnostics, with its arrival time."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        self.published: list[tuple[float, lsp.PublishDiagnosticsParams]] = []

    @property
    def server_pid(self) -> int:
        """The server process pytest-lsp started (pygls keeps it as ``_server``)."""
        assert self._server is not None
        return self._server.pid

    def server_alive(self) -> bool:
        return self._server is not None and self._server.returncode is None


def _record(client: RecordingClient, params: lsp.PublishDiagnosticsParams) -> None:
    client.published.append((time.monotonic(), params))
    client.diagnostics[params.uri] = params.diagnostics


def _accept(client: RecordingClient, params: object) -> None:
    """(Un)registrations, such as file watching, accepted as VS Code does (and not acted on)."""


def recording_client() -> RecordingClient:
    client = RecordingClient()
    features = {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record,
                lsp.CLIENT_REGISTER_CAPABILITY: _accept,
                lsp.CLIENT_UNREGISTER_CAPABILITY: _accept}
    register_lsp_features(client, features)
    return client


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.lsp"],
                            client_factory=recording_client)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: RecordingClient):
    yield
    try:
        await asyncio.wait_for(lsp_client.shutdown_session(), 30)
    except TimeoutError:
        lsp_client._server.kill()  # type: ignore[union-attr]  # else teardown waits forever
        raise AssertionError("the server did not exit within 30 s of shutdown/exit") from None


@pytest.fixture(scope="module")
def pinner():
    with Checker() as checker:
        yield checker


# -- a user's session ---------------------------------------------------------------------

async def start(client: LanguageClient, root: Path, options: dict | None = None) -> None:
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {}))


def pin_text(pinner: Checker, src: Path, text: str) -> None:
    """Pin the render of ``text`` as ``src``'s sibling reference."""
    src.write_text(text)
    render = pinner.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name(f"{src.stem}.ref.png"), force=True)


@dataclass
class Doc:
    """An open document and the version the client last sent."""

    client: RecordingClient
    src: Path
    language: str
    version: int = 1

    @property
    def uri(self) -> str:
        return self.src.as_uri()

    def open(self) -> None:
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=self.uri, language_id=self.language,
                                               version=self.version,
                                               text=self.src.read_text())))

    def save(self, text: str) -> int:
        """What an editor does on save: sync the buffer, write the file, say it was saved."""
        self.version += 1
        self.src.write_text(text)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri,
                                                              version=self.version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        self.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
            text_document=lsp.TextDocumentIdentifier(uri=self.uri)))
        return self.version

    def published(self, since: float = 0.0) -> list[lsp.PublishDiagnosticsParams]:
        return [p for t, p in self.client.published if p.uri == self.uri and t >= since]

    async def judged(self, version: int, timeout: float = 60.0) -> list[lsp.Diagnostic]:
        """The diagnostics published for ``version`` of this document."""
        async def wait() -> list[lsp.Diagnostic]:
            while True:
                for p in self.published():
                    if p.version == version:
                        return list(p.diagnostics)
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(wait(), timeout)


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n")


WARNING = lsp.DiagnosticSeverity.Warning  # verm's severity 2: a wrong text
INFO = lsp.DiagnosticSeverity.Information  # verm's severity 1: a colour


def reported(found: list[lsp.Diagnostic]) -> list[tuple[str | int | None, int, int | None]]:
    """(code, line, severity) of every diagnostic published, in line order."""
    return sorted((d.code, d.range.start.line, d.severity) for d in found)


# -- processes, from /proc ----------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def start_time(pid: int) -> str | None:
    """The process' start time in clock ticks: tells a reused PID from the original."""
    fields = _stat(pid)
    return fields[19] if fields and fields[0] != "Z" else None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    below, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid]
        below += kids
        frontier += kids
    return below


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def fork_servers(server: int, job_module: str = "verm.render.") -> dict[int, str]:
    """The server's fork servers (its direct children running verm.render.forkserver)."""
    out = {}
    for pid in descendants(server):
        fields = _stat(pid)
        line = cmdline(pid)
        if fields and int(fields[1]) == server and "verm.render.forkserver" in line \
                and job_module in line:
            out[pid] = line
    return out


def strays(sockets: list[str], tree: set[int]) -> list[int]:
    """Processes anywhere on the machine serving one of ``sockets`` but outside ``tree``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in tree:
            line = cmdline(int(entry))
            fields = _stat(int(entry))
            if fields and fields[0] != "Z" and any(s in line for s in sockets):
                found.append(int(entry))
    return found


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


# -- cancellation -------------------------------------------------------------------------

BARS = (FIXTURES / "bars.py").read_text()


def sleepy(pid_file: Path, done_file: Path, sleep_s: float, body: str) -> str:
    """``body`` behind a header that records the worker's PID, sleeps, then marks it got past
    the sleep. Every variant has the same number of header lines."""
    return (f"import os, time\n"
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
            f"time.sleep({sleep_s})\n"
            f"open({str(done_file)!r}, 'w').write('done')\n" + body)


# The stale render would sleep far past the render timeout, and the timeout is far past any
# wait below: a render that was not killed as stale could only end by the timeout, and the newest
# text's judgement would wait for it. Nothing here races the clock on a loaded machine.
SLOW_S = 600.0
TIMEOUT_S = 120


async def test_a_save_during_a_slow_render_kills_it_and_only_the_newest_text_is_judged(
        client: RecordingClient, pinner: Checker, tmp_path: Path):
    src = tmp_path / "bars.py"
    pin_text(pinner, src, BARS)  # before the session: a render here blocks the client's loop
    await start(client, tmp_path, {"timeout": TIMEOUT_S})
    files = {n: (tmp_path / f"pid{n}", tmp_path / f"done{n}") for n in (1, 2, 3)}
    src.write_text(sleepy(*files[1], 0, BARS))
    doc = Doc(client, src, "python")
    doc.open()
    assert await doc.judged(1) == []

    slow = sleepy(*files[2], SLOW_S, BARS.replace("Sales per quarter", "Sales per year"))
    fixed = sleepy(*files[3], 0, BARS.replace('"Units"', '"Pieces"'))
    saved_at = time.monotonic()
    doc.save(slow)
    pid_file = files[2][0]
    await eventually(lambda: pid_file.exists() and pid_file.read_text().strip().isdigit())
    slow_pid = int(pid_file.read_text())
    born = start_time(slow_pid)
    assert born is not None, "the slow render is not running"
    final = doc.save(fixed)

    [judged] = await asyncio.wait_for(_first_after(doc, saved_at), TIMEOUT_S / 2)
    # Killed as stale, not left to sleep on nor to the timeout.
    await eventually(lambda: start_time(slow_pid) != born, TIMEOUT_S / 2)
    published = doc.published(since=saved_at)
    assert [p.version for p in published] == [final], "exactly one set, for the newest text"
    # Only the newest text's one finding: nothing of the killed render's title edit.
    assert reported(list(judged.diagnostics)) == [
        ("text_error", line_of(fixed, '"Pieces"'), WARNING)]
    assert not files[2][1].exists(), "the stale render ran past its sleep"


async def _first_after(doc: Doc, since: float) -> list[lsp.PublishDiagnosticsParams]:
    while not doc.published(since):
        await asyncio.sleep(0.02)
    return doc.published(since)[:1]


# -- load ---------------------------------------------------------------------------------

# name, language, a snippet of the pinned text, its wrong replacement, the category and severity
# of the one diagnostic verm reports on the replacement's line (a colour is cosmetic: Information).
LOAD = [
    ("bars.py", "python", '"Sales per quarter"', '"Sales per year"', "text_error", WARNING),
    ("icon.svg", "xml", 'fill="#5E81AC"', 'fill="#D08770"', "style_error", INFO),
    ("page.html", "html", "Release notes", "Release plans", "text_error", WARNING),
]
SAVES = 200
BURST_S = 20.0
HOVER_EVERY_S = 0.5


async def test_200_saves_in_20_s_leave_the_server_responsive_flat_and_tidy(
        client: RecordingClient, pinner: Checker, tmp_path: Path,
        record_property: pytest.RecordProperty):
    for name, *_ in LOAD:  # before the session: a render here blocks the client's loop
        pin_text(pinner, tmp_path / name, (FIXTURES / name).read_text())
    await start(client, tmp_path)
    docs: list[tuple[Doc, str, str, str, str]] = []
    for name, language, right_s, wrong_s, category, severity in LOAD:
        src = tmp_path / name
        right = (FIXTURES / name).read_text()
        doc = Doc(client, src, language)
        doc.open()
        docs.append((doc, right, right.replace(right_s, wrong_s), wrong_s, category, severity))
    for doc, *_ in docs:  # warm: every renderer has started and judged once
        assert await doc.judged(1) == []
    server = client.server_pid
    await asyncio.sleep(1.0)
    rss_before = rss_mb(server)
    tree_before = descendants(server)
    sockets = [next(arg for arg in line.split() if arg.endswith("fork.sock"))
               for line in fork_servers(server).values()]
    assert len(sockets) == 2, "expected the chart and SVG fork servers"

    chart = docs[0]
    hover_line = line_of(chart[2], chart[3])
    hover_ms: list[float] = []
    stop = asyncio.Event()

    async def hover_meanwhile() -> None:
        while not stop.is_set() and len(hover_ms) < 2 * BURST_S / HOVER_EVERY_S:
            t = time.perf_counter()
            await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
                text_document=lsp.TextDocumentIdentifier(uri=chart[0].uri),
                position=lsp.Position(line=hover_line, character=0))), 5.0)
            hover_ms.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(HOVER_EVERY_S)

    hovering = asyncio.create_task(hover_meanwhile())
    began = time.monotonic()
    last: dict[str, tuple[int, str]] = {}
    counts = [len(range(k, SAVES, len(docs))) for k in range(len(docs))]
    for i in range(SAVES):
        k, j = i % len(docs), i // len(docs)
        doc, right, wrong, *_ = docs[k]
        left = counts[k] - 1 - j  # saves of this document still to come: the last is wrong
        text = (wrong if left % 2 == 0 else right) + f"\n{_comment(doc, i)}\n"
        last[doc.uri] = (doc.save(text), text)
        await asyncio.sleep(max(0.0, began + (i + 1) * BURST_S / SAVES - time.monotonic()))
    # The last save of each document is of its wrong text: the final set must say so.
    for doc, _, wrong, wrong_s, category, severity in docs:
        version, text = last[doc.uri]
        assert text.startswith(wrong)
        found = await doc.judged(version)
        assert reported(found) == [(category, line_of(text, wrong_s), severity)], (
            doc.src.name, found)
        assert doc.published()[-1].version == version
    stop.set()
    await hovering
    for doc, *_ in docs:  # a stale judgement never overwrites a newer one
        versions = [p.version or 0 for p in doc.published()]
        assert versions == sorted(set(versions)), (doc.src.name, versions)
    judged = sum(len(doc.published()) for doc, *_ in docs) - len(docs)
    print(f"\n{SAVES} saves → {judged} published judgements (the rest superseded)")

    # Every hover during the burst was answered (each waited up to 5 s); how fast is measured,
    # not asserted (a loaded CI machine is slow, not broken): benchmarks/lsp_latency.py.
    record_property("hover_max_ms", round(max(hover_ms), 1))
    print(f"hovers: {len(hover_ms)}, max {max(hover_ms):.1f} ms")
    assert hover_ms
    assert client.server_alive()

    # Settled: the same processes as before the burst, nothing orphaned, memory flat.
    await eventually(lambda: len(descendants(server)) <= len(tree_before) + 2, 15)
    tree = set(descendants(server))
    assert not strays(sockets, tree | {server}), "render processes outside the server's tree"
    assert set(fork_servers(server)) <= set(tree_before), "a fork server restarted under load"
    rss_after = rss_mb(server)
    record_property("rss_growth_mb", round(rss_after - rss_before, 1))
    print(f"server RSS {rss_before:.0f} → {rss_after:.0f} MB")
    assert rss_after < rss_before + 150


def _comment(doc: Doc, i: int) -> str:
    return f"# save {i}" if doc.language == "python" else f"<!-- save {i} -->"


# -- a crashed render worker ----------------------------------------------------------------

async def test_a_killed_fork_server_is_started_again_on_the_next_save(
        client: RecordingClient, pinner: Checker, tmp_path: Path):
    src = tmp_path / "bars.py"
    pin_text(pinner, src, BARS)  # before the session: a render here blocks the client's loop
    await start(client, tmp_path)
    doc = Doc(client, src, "python")
    doc.open()
    assert await doc.judged(1) == []

    wrong = BARS.replace("Sales per quarter", "Sales per year")
    assert reported(await doc.judged(doc.save(wrong))) == [
        ("text_error", line_of(wrong, "Sales per year"), WARNING)]
    server = client.server_pid
    [(victim, _)] = fork_servers(server, "verm.render.chart_job").items()
    born = start_time(victim)
    os.kill(victim, signal.SIGKILL)
    await eventually(lambda: start_time(victim) != born)

    label = wrong.replace('"Units"', '"Pieces"')
    found = await doc.judged(doc.save(label), timeout=60)
    assert reported(found) == [("text_error", line_of(label, "Sales per year"), WARNING),
                               ("text_error", line_of(label, '"Pieces"'), WARNING)]
    [(fresh, _)] = fork_servers(server, "verm.render.chart_job").items()
    assert fresh != victim
    assert client.server_alive()


def test_proc_helpers_see_this_process() -> None:
    """The /proc helpers the load tests rely on, checked on this test process."""
    me = os.getpid()
    assert start_time(me) is not None and rss_mb(me) > 0
    assert me in descendants(os.getppid())
