"""Save → ``publishDiagnostics`` latency through a real stdio client, verm against a naive server.

What a person feels: they save, and the squiggles update. For each kind (chart, SVG, HTML,
Markdown table; fixtures in ``benchmarks/fixtures``) a pygls client opens the pinned source, then
saves it again and again with a person's pause between saves, timing each save until the
server publishes diagnostics for that version. The first saves are discarded (warm numbers).
The same runs against ``naive_server.py`` (fresh interpreter / fresh browser per save + one
plain SSIM). Also: the verm server's idle memory with all its render workers, and where the
time of a save goes — a second verm server started with timing hooks (``--serve-profiled``)
stamps each stage: message in, hand-off to a judging thread, render (and the part of it spent
in the sandboxed worker), critic, publish, message out.

    .venv/bin/python benchmarks/lsp_latency.py [--runs 30] [--warm 3] [--naive-runs 8]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
VERM = [sys.executable, "-m", "verm.lsp"]
NAIVE = [sys.executable, str(HERE / "naive_server.py")]
# kind: fixture, languageId, p50 target in ms (issue 3)
KINDS: dict[str, tuple[str, str, float | None]] = {
    "chart": ("bench_chart.py", "python", 120.0),
    "svg": ("bench_icon.svg", "xml", 60.0),
    "html": ("bench_page.html", "html", 120.0),
    "table": ("bench_table.md", "markdown", None),
}
SPEEDUP = 4.0
IDLE_RSS_MB = 250.0
TIMEOUT_S = 120.0


@dataclass
class Session:
    """One server over stdio, and the client side of a person saving files."""

    command: list[str]
    cwd: Path | None = None  # where the editor starts the server (its workspace folder)
    client: LanguageClient = field(init=False)
    waiting: dict[tuple[str, int], asyncio.Future[float]] = field(default_factory=dict)
    published: list[lsp.PublishDiagnosticsParams] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    stamps: list[tuple[str, float]] = field(default_factory=list)  # from a profiled server
    sent_at: float = 0.0  # wall clock of the last save sent / its diagnostics received
    received_at: float = 0.0
    _drain: asyncio.Task[None] | None = None

    async def start(self, root: Path) -> None:
        self.client = client = LanguageClient("verm-lsp-latency", "1")

        @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
            arrived = time.perf_counter()
            self.published.append(params)
            future = self.waiting.pop((params.uri, params.version or 0), None)
            if future is not None and not future.done():
                future.set_result(arrived)

        @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: lsp.RegistrationParams) -> None:
            """Accepted as VS Code does (file watching is not exercised here)."""

        @client.feature(lsp.WORKSPACE_CONFIGURATION)
        def on_configuration(params: lsp.ConfigurationParams) -> list[Any]:
            return [{} for _ in params.items]

        @client.feature(lsp.WINDOW_LOG_MESSAGE)
        def on_log(params: lsp.LogMessageParams) -> None:
            pass

        @client.feature(lsp.WINDOW_SHOW_MESSAGE)
        def on_message(params: lsp.ShowMessageParams) -> None:
            print(f"  [{self.command[-1]}] {params.message}", file=sys.stderr)

        @client.feature("verm/status")
        def on_status(params: Any) -> None:
            """The status item's feed (not timed here)."""

        await client.start_io(*self.command, **({"cwd": str(self.cwd)} if self.cwd else {}))
        self._drain = asyncio.create_task(self._read_stderr())
        await client.initialize_async(lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
        client.initialized(lsp.InitializedParams())

    async def _read_stderr(self) -> None:
        """Keep the server's stderr pipe empty (a full pipe would block it); keep stamps."""
        stream = self.client._server.stderr if self.client._server else None
        while stream is not None and (line := await stream.readline()):
            text = line.decode(errors="replace")
            if text.startswith(STAMP):
                _, stage, at = text.split()
                self.stamps.append((stage, float(at)))
            else:
                sys.stderr.write(text)

    @property
    def pid(self) -> int:
        server = self.client._server  # pygls keeps the process it started here
        assert server is not None
        return server.pid

    def _expect(self, uri: str, version: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[(uri, version)] = future
        return future

    async def open(self, src: Path, language: str) -> float:
        uri = src.as_uri()
        self.versions[uri] = 1
        future = self._expect(uri, 1)
        start = time.perf_counter()
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1,
                                               text=src.read_text())))
        return (await asyncio.wait_for(future, TIMEOUT_S) - start) * 1000

    async def save(self, src: Path, text: str, pause_s: float) -> float:
        """Edit, pause like a person, save; the milliseconds until that version is judged."""
        uri = src.as_uri()
        version = self.versions[uri] = self.versions[uri] + 1
        src.write_text(text)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        await asyncio.sleep(pause_s)
        future = self._expect(uri, version)
        self.stamps.clear()
        self.sent_at = time.time()
        start = time.perf_counter()
        self.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri)))
        elapsed = await asyncio.wait_for(future, TIMEOUT_S) - start
        self.received_at = self.sent_at + elapsed
        return elapsed * 1000

    async def hover_ms(self, src: Path) -> float:
        start = time.perf_counter()
        await self.client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=src.as_uri()),
            position=lsp.Position(line=0, character=0)))
        return (time.perf_counter() - start) * 1000

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
            server = self.client._server
            if server is not None:
                await asyncio.wait_for(server.wait(), 10)
        finally:
            server = self.client._server
            if server is not None and server.returncode is None:
                server.kill()  # it did not exit: do not wait for it forever
            await self.client.stop()
            if self._drain is not None:
                self._drain.cancel()


def pin_all(folder: Path) -> dict[str, Path]:
    """Copy each fixture into ``folder`` and pin verm's render of it as the sibling reference."""
    from verm.check import Checker
    from verm.pins import pin_render
    from verm.source import Source

    out = {}
    with Checker() as checker:
        for kind, (name, _, _) in KINDS.items():
            src = folder / name
            shutil.copy(FIXTURES / name, src)
            render = checker.render(Source.load(src))
            assert render.ok, render.failure
            pin_render(render, src.with_name(f"{src.stem}.ref.png"), force=True)
            out[kind] = src
    return out


def variant(text: str, i: int) -> str:
    """Each save's text differs (as after an edit) but draws the same picture."""
    return text + "\n" * (1 + i % 2)


async def measure(command: list[str], sources: dict[str, Path], runs: int, warm: int,
                  pause_s: float) -> tuple[dict[str, list[float]], Session, dict[str, int]]:
    """Warm save latencies per kind, and how many of its saves were flagged; the session is
    left running for the caller to inspect."""
    session = Session(command)
    await session.start(next(iter(sources.values())).parent)
    out: dict[str, list[float]] = {}
    flagged: dict[str, int] = {}
    for kind, src in sources.items():
        text = src.read_text()
        await session.open(src, KINDS[kind][1])
        times = [await session.save(src, variant(text, i), pause_s) for i in range(warm + runs)]
        out[kind] = times[warm:]
        found = [d for p in session.published if p.uri == src.as_uri() for d in p.diagnostics]
        flagged[kind] = len(found)
        for d in found:
            if "render failed" in d.message:  # a broken render would make it look fast
                raise SystemExit(f"{command[-1]}: {kind}: {d.message}")
    return out, session, flagged


# -- memory -------------------------------------------------------------------------------

def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(raw[raw.rindex(")") + 2:].split()[1])
    found, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid]
        found += kids
        frontier += kids
    return found


def _kb(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _label(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = b" ".join(args).decode(errors="replace")
    if "verm.render.forkserver" in text:
        return "chart workers" if "chart_job" in text else "svg workers"
    if "verm.lsp" in text:
        return "server"
    return "browser (driver + chromium)"


def tree_memory(root: int) -> tuple[float, float, dict[str, tuple[int, float, float]]]:
    """Sum of RSS and of PSS (MB) over the process tree; and per part: count, RSS, PSS."""
    parts: dict[str, tuple[int, float, float]] = {}
    rss = pss = 0.0
    for pid in _tree(root):
        r = _kb(f"/proc/{pid}/status", "VmRSS:") / 1024
        p = _kb(f"/proc/{pid}/smaps_rollup", "Pss:") / 1024
        rss, pss = rss + r, pss + p
        n, pr, pp = parts.get(_label(pid), (0, 0.0, 0.0))
        parts[_label(pid)] = (n + 1, pr + r, pp + p)
    return rss, pss, parts


# -- where the time goes ------------------------------------------------------------------

STAMP = "verm-stage "
# (column, from stage, to stage); "sent"/"received" are the client's clock (same machine).
STAGES = [
    ("in", "sent", "schedule"),  # client → server loop: the didSave handler starts
    ("hand-off", "schedule", "judge"),  # loop → a judging thread
    ("render", "render", "render.end"),
    ("in worker", "worker", "worker.end"),  # of which: the sandboxed worker itself
    ("critic", "render.end", "check.end"),  # critic, locate, sort
    ("publish", "check.end", "publish"),  # outcome → diagnostics → the loop sends them
    ("out", "publish", "received"),  # server → client
]


def serve_profiled() -> None:
    """verm's server with a wall-clock stamp on stderr at each stage of a judgement."""
    import functools
    import threading

    from verm.check import Checker
    from verm.lsp import server as core
    from verm.render import Renderers

    lock = threading.Lock()

    def stamp(stage: str, at: float | None = None) -> None:
        with lock:
            sys.stderr.write(f"{STAMP}{stage} {time.time() if at is None else at:.6f}\n")
            sys.stderr.flush()

    def hook(cls: type, name: str, stage: str, end: bool = False) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def stamped(*args: Any, **kwargs: Any) -> Any:
            stamp(stage)
            result = original(*args, **kwargs)
            if end:
                stamp(f"{stage}.end")
            meta = getattr(result, "meta", None) or {}
            if name == "render" and "worker_ms" in meta:
                done = time.time()  # the worker's share, placed at the end of the render
                stamp("worker", done - meta["worker_ms"] / 1000)
                stamp("worker.end", done)
            for key, value in meta.items():  # the renderer's own split (chart: exec/draw/anchors)
                if name == "render" and key.endswith("_ms") and isinstance(value, int | float):
                    stamp(f"ms:{key}", value)
            return result

        setattr(cls, name, stamped)

    hook(core.VermServer, "schedule", "schedule")
    hook(core.VermServer, "judge", "judge")
    hook(Renderers, "render", "render", end=True)
    hook(Checker, "check", "check", end=True)
    hook(core.VermServer, "text_document_publish_diagnostics", "publish")
    core.create_server().start_io()


async def breakdown(sources: dict[str, Path], runs: int, pause_s: float
                    ) -> dict[str, dict[str, float]]:
    """Median ms of each stage of a warm save, per kind, from a profiled server."""
    session = Session([sys.executable, str(Path(__file__).resolve()), "--serve-profiled"])
    await session.start(next(iter(sources.values())).parent)
    out: dict[str, dict[str, float]] = {}
    try:
        for kind, src in sources.items():
            text = src.read_text()
            await session.open(src, KINDS[kind][1])
            rows: list[dict[str, float]] = []
            for i in range(3 + runs):
                total = await session.save(src, variant(text, i), pause_s)
                await asyncio.sleep(0.02)  # the publish stamp may trail the message
                at = {"sent": session.sent_at, "received": session.received_at}
                for stage, t in session.stamps:
                    at.setdefault(stage, t)
                row = {col: (at[b] - at[a]) * 1000 for col, a, b in STAGES
                       if a in at and b in at}
                row.update((stage, t) for stage, t in session.stamps if stage.startswith("ms:"))
                row["total"] = total
                if i >= 3:
                    rows.append(row)
            columns = dict.fromkeys(col for r in rows for col in r)
            out[kind] = {col: statistics.median(r[col] for r in rows if col in r)
                         for col in columns}
    finally:
        await session.stop()
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="verm-lsp-bench-") as tmp:
        sources = pin_all(Path(tmp))
        if args.kinds:
            sources = {k: v for k, v in sources.items() if k in args.kinds.split(",")}

        # The server closes an idle Chromium after VERM_BROWSER_IDLE_S and retires idle spare
        # render workers after VERM_SPARE_IDLE_S (both 120 s by default); shorten them here so
        # "idle" is reached within the benchmark.
        os.environ["VERM_BROWSER_IDLE_S"] = str(args.browser_idle)
        os.environ["VERM_SPARE_IDLE_S"] = str(args.browser_idle)
        verm, session, flagged = await measure(VERM, sources, args.runs, args.warm, args.pause)
        try:
            await asyncio.sleep(args.idle)
            warm_rss, warm_pss, warm_parts = tree_memory(session.pid)
            any_src = next(iter(sources.values()))
            hovers = [await session.hover_ms(any_src) for _ in range(20)]
            await asyncio.sleep(max(0.0, args.browser_idle + 2 - args.idle))
            rss, pss, parts = tree_memory(session.pid)
        finally:
            await session.stop()
        naive: dict[str, list[float]] = {}
        naive_flagged: dict[str, int] = {}
        if args.naive_runs:
            naive, nsession, naive_flagged = await measure(NAIVE, sources, args.naive_runs, 1,
                                                           args.pause)
            await nsession.stop()
        stages = await breakdown(sources, args.runs, args.pause) if args.breakdown else {}

    load = os.getloadavg()
    print(f"\nsave → publishDiagnostics, ms (verm: {args.runs} warm saves/kind after {args.warm} "
          f"discarded; naive: {args.naive_runs}; {args.pause:g} s pause before each save; "
          f"{os.cpu_count()} CPUs, load {load[0]:.1f})")
    head = (f"{'kind':<6} {'verm p50':>9} {'p95':>7} {'target':>7} {'naive p50':>10} "
            f"{'p95':>7} {'ratio':>6}")
    print(head)
    failed = False
    for kind, times in verm.items():
        v50, v95 = statistics.median(times), p(times, 0.95)
        target = KINDS[kind][2]
        n50 = statistics.median(naive[kind]) if kind in naive else float("nan")
        n95 = p(naive[kind], 0.95) if kind in naive else float("nan")
        ratio = n50 / v50
        slow = (target is not None and v50 > target) or (kind in naive and ratio < SPEEDUP)
        failed |= slow
        row = (f"{kind:<6} {v50:>9.1f} {v95:>7.1f} "
               f"{(f'{target:.0f}' if target else '-'):>7} {n50:>10.1f} {n95:>7.1f} "
               f"{ratio:>5.1f}×")
        print(row + ("  MISS" if slow else ""))
    if stages:
        cols = ["total", *(c for c, _, _ in STAGES)]
        print("\nwhere a warm save's time goes (profiled server, medians, ms; 'in worker' is "
              "part of 'render')")
        print(f"{'kind':<6}" + "".join(f" {c:>9}" for c in cols))
        for kind, row in stages.items():
            print(f"{kind:<6}" + "".join(f" {row.get(c, float('nan')):>9.1f}" for c in cols))
        for kind, row in stages.items():
            split = ", ".join(f"{c[3:]} {v:.1f}" for c, v in row.items() if c.startswith("ms:"))
            if split:
                print(f"  {kind} renderer's own split: {split}")
    print(f"idle hover round trip p50 {statistics.median(hovers):.1f} ms "
          f"(the LSP transport itself)")
    print(f"verm memory right after the saves (browser warm): RSS sum {warm_rss:.0f} MB, "
          f"PSS sum {warm_pss:.0f} MB")
    for label, (n, r, s) in sorted(warm_parts.items()):
        print(f"  {label:<28} {n:>2} proc  RSS {r:>6.0f} MB  PSS {s:>6.0f} MB")
    print(f"verm idle memory (browser closed, spare workers retired after {args.browser_idle:g} s "
          f"idle): RSS sum {rss:.0f} MB, PSS sum {pss:.0f} MB (target ≤ {IDLE_RSS_MB:.0f} MB on "
          "the RSS sum, which counts the pages forked processes share once per process)")
    for label, (n, r, s) in sorted(parts.items()):
        print(f"  {label:<28} {n:>2} proc  RSS {r:>6.0f} MB  PSS {s:>6.0f} MB")
    print(f"identity saves flagged: verm {flagged} (must be all 0); naive {naive_flagged} (its "
          "plain SSIM against verm's pinned picture; its Markdown tables are styled unlike verm's)")
    failed |= rss > IDLE_RSS_MB or any(flagged.values())
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"runs": args.runs, "warm": args.warm, "naive_runs": args.naive_runs,
                         "pause_s": args.pause, "load": load[0], "cpus": os.cpu_count()},
            "speedup_target": SPEEDUP, "idle_rss_target_mb": IDLE_RSS_MB,
            "rows": [{"kind": kind, "p50_ms": statistics.median(times),
                      "p95_ms": p(times, 0.95), "target_ms": KINDS[kind][2],
                      "naive_p50_ms": statistics.median(naive[kind]) if kind in naive else None,
                      "naive_p95_ms": p(naive[kind], 0.95) if kind in naive else None,
                      "flagged": flagged[kind]}
                     for kind, times in verm.items()],
            "stages": stages, "hover_ms": statistics.median(hovers),
            "warm_rss_mb": warm_rss, "warm_pss_mb": warm_pss,
            "idle_rss_mb": rss, "idle_pss_mb": pss, "met": not failed,
        }, indent=1) + "\n")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="warm saves per kind (verm)")
    parser.add_argument("--warm", type=int, default=3, help="first saves discarded (verm)")
    parser.add_argument("--naive-runs", type=int, default=8, help="saves per kind (naive; 0: skip)")
    parser.add_argument("--pause", type=float, default=0.25, help="seconds before each save")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before memory")
    parser.add_argument("--browser-idle", type=float, default=8.0,
                        help="the server closes Chromium and retires spare workers after this "
                             "many idle seconds")
    parser.add_argument("--kinds", default="", help="comma-separated subset of kinds")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                        help="skip the per-stage timing (a second, profiled verm server)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures and targets here (python -m benchmarks)")
    parser.add_argument("--serve-profiled", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_profiled:
        serve_profiled()
        return
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
