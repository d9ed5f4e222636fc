"""The local model critic's costs on this machine (CPU), with a tiny random Qwen3-VL.

The model is ``tests/tinyvl.py``'s (~0.5M parameters, built offline into a temp folder), so the
numbers are verm's own overheads around a model — worker process start, torch import, loading,
the pipe, streaming, parsing, locating — not a real model's speed (``model_gpu.py`` measures the
published model's shape on a GPU). One real pair: ``tests/fixtures/e2e/bars.py`` pinned, then
its title edited.

Measured, each beside its naive baseline:
- cold start: a new ``ModelWorker`` (process + imports + load) per judgement, quantize none and
  4bit — the naive design — against a warm worker's judgement;
- ``ModelWorker.generate`` with verm's real chart prompt and both images: time to the first
  streamed text and to the full critique (greedy, ``--max-new-tokens``);
- a whole warm ``Checker(critic="model").check`` against ``Checker(critic="analytic")``;
- memory: ``verm serve``'s own RSS idle (no model), after a judgement with the analytic critic,
  and after a judgement with the model critic (its worker loaded), beside the worker's RSS —
  the model lives in the worker, so the server must not grow with it.

    .venv/bin/python benchmarks/model_latency.py [--quick] [--runs 5] [--cold-runs 3]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # tinyvl: the tiny model the tests build
os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' "Writing model shards" bars

from PIL import Image  # noqa: E402

from verm.check import Checker  # noqa: E402
from verm.critic.model.client import ModelWorker  # noqa: E402
from verm.critic.model.prompts import bounded, chat_messages, png_bytes, prompt_text  # noqa: E402
from verm.critic.model.runtime import ModelSpec  # noqa: E402
from verm.pins import pin_render  # noqa: E402
from verm.source import Source  # noqa: E402

BARS = ROOT / "tests" / "fixtures" / "e2e" / "bars.py"
IDLE_RSS_MB = 250.0  # the language server's idle budget (lsp_latency.py)


# -- statistics ------------------------------------------------------------------------------

@dataclass
class Series:
    """Repeated measurements of one thing, in seconds."""

    name: str
    values: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def p95(self) -> float | None:
        if len(self.values) < 5:
            return None
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fmt_s(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- the pair and the model ------------------------------------------------------------------

def make_pair(folder: Path) -> tuple[Path, Image.Image, Image.Image]:
    """A workspace with bars.py pinned, then its title edited; (source, reference, render)."""
    workspace = folder / "ws"
    workspace.mkdir()
    (workspace / ".git").mkdir()  # a project root: the pin lands inside it
    src = workspace / "bars.py"
    shutil.copy(BARS, src)
    with Checker(critic="analytic") as checker:
        pinned = checker.render(Source.load(src))
        assert pinned.ok and pinned.image is not None, pinned.failure
        pin_render(pinned, src.with_name("bars.ref.png"))
        text = src.read_text()
        assert '"Sales per quarter"' in text, "the fixture's title changed; update the benchmark"
        src.write_text(text.replace('"Sales per quarter"', '"Sales by quarter"'))
        render = checker.render(Source.load(src))
        assert render.ok and render.image is not None, render.failure
    return src, pinned.image, render.image


def build_model(folder: Path) -> Path:
    from tinyvl import build_tiny_qwen3vl

    return build_tiny_qwen3vl(folder / "tiny-qwen3vl")


# -- memory ----------------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def maps_torch(pid: int) -> bool:
    """Whether libtorch is mapped into ``pid`` (torch was imported there)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class StdioClient:
    """A bare LSP client over the server's stdio: enough to initialize, open a file and wait
    for its diagnostics. Requests from the server are answered with empty results."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=cwd)
        self.ids = 0
        self.replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.published: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        out: IO[bytes] | None = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            message = json.loads(out.read(length))
            if "id" in message and "method" in message:  # a request from the server
                items = (message.get("params") or {}).get("items") or []
                result: Any = [{} for _ in items] if message["method"] == \
                    "workspace/configuration" else None
                self._write({"id": message["id"], "result": result})
            elif "id" in message:
                self.replies.setdefault(message["id"], queue.Queue()).put(message)
            elif message.get("method") == "textDocument/publishDiagnostics":
                self.published.put(message["params"])

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        self.ids += 1
        rid = self.ids
        box = self.replies.setdefault(rid, queue.Queue())
        self._write({"id": rid, "method": method, "params": params})
        return box.get(timeout=timeout).get("result")

    def notify(self, method: str, params: Any) -> None:
        self._write({"method": method, "params": params})

    def initialize(self, root: Path, options: dict[str, Any]) -> None:
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                    "capabilities": {}, "initializationOptions": options,
                                    "workspaceFolders": [{"uri": root.as_uri(),
                                                          "name": root.name}]})
        self.notify("initialized", {})

    def open_and_settle(self, src: Path, quiet_s: float, timeout: float = 120) -> int:
        """Open ``src``; wait until no diagnostics came for ``quiet_s``; how many came."""
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": src.as_uri(), "languageId": "python", "version": 1,
            "text": src.read_text()}})
        deadline = time.monotonic() + timeout
        count = 0
        self.published.get(timeout=timeout)
        count += 1
        while time.monotonic() < deadline:
            try:
                self.published.get(timeout=quiet_s)
                count += 1
            except queue.Empty:
                break
        return count

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Memory:
    idle: float = float("nan")  # server, initialized, nothing opened
    analytic: float = float("nan")  # server after one analytic judgement
    model: float = float("nan")  # server after one model judgement (worker loaded)
    worker: float = float("nan")  # the model worker process after load
    server_torch: bool = False  # libtorch mapped into the server?
    worker_torch: bool = False


def measure_memory(src: Path, model: Path, settle_s: float) -> Memory:
    mem = Memory()
    serve = [sys.executable, "-m", "verm.cli", "serve"]
    root = src.parent
    for critic in ("analytic", "model"):
        client = StdioClient(serve, root)
        try:
            client.initialize(root, {"critic": critic, "modelPath": str(model),
                                     "maxNewTokens": 300, "idleUnload": 0})
            time.sleep(settle_s)
            pid = client.proc.pid
            if critic == "analytic":
                mem.idle = rss_mb(pid)
            client.open_and_settle(src, quiet_s=2.0 if critic == "model" else 1.0)
            if critic == "analytic":
                mem.analytic = rss_mb(pid)
                continue
            mem.model = rss_mb(pid)
            mem.server_torch = maps_torch(pid)
            workers = [c for c in children(pid) if "verm.critic.model.worker" in cmdline(c)]
            if workers:
                mem.worker = rss_mb(workers[0])
                mem.worker_torch = maps_torch(workers[0])
        finally:
            client.close()
    return mem


# -- the measurements ------------------------------------------------------------------------

def cold_starts(model: Path, quantize: str, runs: int) -> tuple[Series, Series]:
    """A new worker process per load: (start + load as the caller sees it, load inside)."""
    total, inside = Series(f"cold start+load ({quantize})"), Series(f"load in worker ({quantize})")
    for _ in range(runs):
        worker = ModelWorker(ModelSpec(str(model), quantize=quantize, device="cpu"), idle_s=0)
        try:
            start = time.perf_counter()
            facts = worker.ensure_loaded()
            total.values.append(time.perf_counter() - start)
            inside.values.append(float(facts.get("load_s", float("nan"))))
        finally:
            worker.close()
    return total, inside


@dataclass
class Generation:
    first_text: Series
    full: Series
    tokens: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    worker_rss: float = float("nan")


def generations(model: Path, quantize: str, images: list[bytes], max_new: int,
                runs: int) -> Generation:
    """Warm ``ModelWorker.generate`` with verm's chart prompt: first text and whole answer."""
    messages = chat_messages("chart", prompt_text("chart"))
    sampling = {"max_new_tokens": max_new, "temperature": 0.0}
    out = Generation(Series(f"first text ({quantize})"), Series(f"full critique ({quantize})"))
    worker = ModelWorker(ModelSpec(str(model), quantize=quantize, device="cpu"), idle_s=0)
    try:
        worker.ensure_loaded()
        worker.generate(messages, images, sampling)  # warm: first-call allocations
        for _ in range(runs):
            first: list[float] = []
            start = time.perf_counter()

            def on_text(text: str, first: list[float] = first, start: float = start) -> None:
                if not first and text:
                    first.append(time.perf_counter() - start)

            done = worker.generate(messages, images, sampling, on_text=on_text)
            out.full.values.append(time.perf_counter() - start)
            out.first_text.values.append(first[0] if first else float("nan"))
            out.tokens.append(int(done.get("tokens", 0)))
            out.prompt_tokens = int(done.get("prompt_tokens", 0))
        if worker.pid is not None:
            out.worker_rss = rss_mb(worker.pid)
    finally:
        worker.close()
    return out


# What the tiny critic is taught to answer for the pair with --trained (tests/conftest.py's).
TRAINED_ANSWER = {
    "structure_error_count": 0, "data_error_count": 0, "text_error_count": 1,
    "style_error_count": 0,
    "errors": [{"category": "text_error", "severity": 2, "location": "title",
                "description":
                    "The title reads 'Sales by quarter' instead of 'Sales per quarter'"}],
}


def train_adapter(model: Path, folder: Path, reference: Image.Image,
                  render: Image.Image) -> Path:
    """A LoRA adapter that makes the tiny model answer TRAINED_ANSWER for the pair (TRL SFT)."""
    from tinyvl import train_tiny_critic

    return train_tiny_critic(model, folder / "adapter", [bounded(reference), bounded(render)],
                             chat_messages("chart", prompt_text("chart")),
                             json.dumps(TRAINED_ANSWER))


@dataclass
class ModelChecks:
    total: Series
    first_finding: Series  # the first model finding streamed (on_partial), from check start
    last: Any = None


def model_checks(src: Path, overrides: dict[str, Any], runs: int, name: str) -> ModelChecks:
    """Warm whole checks with the model critic: analytic first, then the model's findings as
    they stream; ``on_partial`` times the first model finding."""
    out = ModelChecks(Series(name), Series(f"{name}: first model finding"))
    with Checker(critic="model", overrides=overrides) as checker:
        checker.check(checker.load(src))  # starts the worker, loads the model
        for _ in range(runs):
            start = time.perf_counter()
            seen: list[int] = []
            first: list[float] = []

            def on_partial(result: Any, seen: list[int] = seen, first: list[float] = first,
                           start: float = start) -> None:
                if seen and len(result.discrepancies) > seen[0] and not first:
                    first.append(time.perf_counter() - start)
                seen.append(len(result.discrepancies))  # the first call: analytic findings

            out.last = checker.check(checker.load(src), on_partial=on_partial)
            out.total.values.append(time.perf_counter() - start)
            if first:
                out.first_finding.values.append(first[0])
    return out


def analytic_checks(src: Path, runs: int) -> Series:
    series = Series("check, analytic")
    with Checker(critic="analytic") as checker:
        checker.check(checker.load(src))
        for _ in range(runs):
            series.values.append(timed(lambda: checker.check(checker.load(src))))
    return series


# -- report ----------------------------------------------------------------------------------

def row(what: str, series: Series, note: str = "") -> str:
    p95 = fmt_s(series.p95) if series.p95 is not None else "-"
    return f"{what:<44} {fmt_s(series.p50):>10} {p95:>10} {len(series.values):>4}  {note}"


def figures(args: argparse.Namespace, colds: dict[str, tuple[Series, Series]],
            gens: dict[str, Generation], analytic_check: Series, random_checks: ModelChecks,
            trained_checks: ModelChecks | None, mem: Memory) -> dict[str, Any]:
    """The printed figures, in seconds and MB, for ``--json``."""
    out: dict[str, Any] = {
        "settings": {"runs": len(analytic_check.values), "max_new_tokens": args.max_new_tokens,
                     "trained": args.trained},
        "idle_rss_target_mb": IDLE_RSS_MB,
        "analytic_check_s": analytic_check.p50,
        "model_check_s": random_checks.total.p50,
        "trained_check_s": trained_checks.total.p50 if trained_checks else None,
        "memory_mb": None if args.skip_memory else {
            "server_idle": mem.idle, "server_after_analytic": mem.analytic,
            "server_after_model": mem.model, "worker": mem.worker,
            "server_maps_torch": mem.server_torch},
    }
    for quantize in ("none", "4bit"):
        total, inside = colds[quantize]
        gen = gens[quantize]
        tokens = statistics.median(gen.tokens) if gen.tokens else 0
        out[quantize] = {"cold_start_s": total.p50, "load_in_worker_s": inside.p50,
                         "first_text_s": gen.first_text.p50, "full_s": gen.full.p50,
                         "tokens": tokens, "prompt_tokens": gen.prompt_tokens,
                         "worker_rss_mb": gen.worker_rss}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (~1 minute)")
    parser.add_argument("--runs", type=int, default=None, help="warm repetitions (default 5)")
    parser.add_argument("--cold-runs", type=int, default=None,
                        help="cold worker starts per quantization (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=300)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--trained", action="store_true",
                        help="also train a LoRA adapter (TRL, ~20 s) so the tiny critic answers "
                             "the pair and its first finding streams: time to that finding")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures here (python -m benchmarks)")
    args = parser.parse_args()
    logging.getLogger("verm.model").setLevel(logging.ERROR)  # "the model runs on the CPU"
    runs = args.runs or (3 if args.quick else 5)
    cold = args.cold_runs or (2 if args.quick else 3)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="verm-model-bench-") as tmp:
        folder = Path(tmp)
        build_s = timed(lambda: build_model(folder))
        model = folder / "tiny-qwen3vl"
        src, reference, render = make_pair(folder)
        images = [png_bytes(bounded(reference)), png_bytes(bounded(render))]

        colds: dict[str, tuple[Series, Series]] = {}
        gens: dict[str, Generation] = {}
        for quantize in ("none", "4bit"):
            colds[quantize] = cold_starts(model, quantize, cold)
            gens[quantize] = generations(model, quantize, images, args.max_new_tokens, runs)
        overrides = {"model": str(model), "max-new-tokens": args.max_new_tokens,
                     "idle-unload": 0}
        random_checks = model_checks(src, overrides, runs, "check, model critic")
        trained_checks = None
        if args.trained:
            adapter = train_adapter(model, folder, reference, render)
            trained_checks = model_checks(src, {**overrides, "adapter": str(adapter)}, runs,
                                          "check, trained critic")
        analytic_check = analytic_checks(src, runs)
        mem = Memory() if args.skip_memory else measure_memory(src, model, settle_s=1.5)

    print(f"\nverm's model critic on this CPU ({os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}): tiny random Qwen3-VL (tests/tinyvl.py, built in "
          f"{build_s:.1f} s), pair bars.py pinned → title edited, images "
          f"{reference.size[0]}×{reference.size[1]} (the tiny processor shrinks them to ≤ 256²)")
    print(f"{'':<44} {'p50':>10} {'p95':>10} {'n':>4}")
    for quantize in ("none", "4bit"):
        total, inside = colds[quantize]
        gen = gens[quantize]
        tokens = statistics.median(gen.tokens) if gen.tokens else 0
        cold_judgement = total.p50 + gen.full.p50
        print(row(f"cold: new worker + load, {quantize}", total,
                  f"of which load in worker {fmt_s(inside.p50)}"))
        print(row(f"  warm: first streamed text, {quantize}", gen.first_text,
                  f"prompt {gen.prompt_tokens} tokens"))
        print(row(f"  warm: full critique, {quantize}", gen.full,
                  f"{tokens:.0f} tokens, {tokens / gen.full.p50:.0f} tok/s; a worker per "
                  f"judgement (naive) {fmt_s(cold_judgement)} = "
                  f"{cold_judgement / gen.full.p50:.1f}× the warm one"))
    print(row("check, analytic critic (warm)", analytic_check))
    for what, found in (("random", random_checks), ("trained", trained_checks)):
        if found is None:
            continue
        last = found.last
        notes = last.critique.notes if last is not None and last.critique else []
        said = ("the random model's answer is unreadable: analytic fallback"
                if any("could not be read" in n for n in notes) else
                "; ".join(f"line {d.range.start.line + 1}: {d.description[:40]}"
                          for d in (last.discrepancies if last is not None else [])
                          if d.description.startswith("The title reads")) or "")
        print(row(f"check, {what} model critic (warm)", found.total,
                  f"{found.total.p50 / analytic_check.p50:.1f}× analytic; {said}"))
        if found.first_finding.values:
            print(row(f"  first model finding streamed ({what})", found.first_finding))
    if not args.skip_memory:
        verdict = "ok" if mem.idle <= IDLE_RSS_MB else "OVER"
        print(f"\nmemory (VmRSS, MB)          server idle {mem.idle:.0f} (budget "
              f"{IDLE_RSS_MB:.0f}: {verdict}); server after an analytic judgement "
              f"{mem.analytic:.0f}; after a model judgement {mem.model:.0f} "
              f"({mem.model - mem.analytic:+.0f} vs analytic)")
        print(f"                            model worker after load {mem.worker:.0f}; "
              f"libtorch mapped: server {'yes' if mem.server_torch else 'no'}, worker "
              f"{'yes' if mem.worker_torch else 'no'}")
    print(f"warm worker RSS after generating: none {gens['none'].worker_rss:.0f} MB, "
          f"4bit {gens['4bit'].worker_rss:.0f} MB")
    print(f"greedy, max_new_tokens {args.max_new_tokens}; cold = what a worker per judgement "
          f"would add; whole run {time.perf_counter() - began:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(figures(
            args, colds, gens, analytic_check, random_checks, trained_checks, mem), indent=1)
            + "\n")
    busy = max(load_before, os.getloadavg()[0])
    if busy > 0.75 * (os.cpu_count() or 1):
        print(f"note: the machine was busy (load {busy:.1f} on {os.cpu_count()} CPUs): torch's "
              "threads then wait on each other, so absolute CPU numbers swing several-fold "
              "between runs; the 4bit path and the ratios vary least")
    return 0


if __name__ == "__main__":
    sys.exit(main())
