"""Run every benchmark and write ``benchmarks/RESULTS.md``: one report, targets beside figures.

    .venv/bin/python -m benchmarks [--quick] [--only NAME,...] [--skip NAME,...]
        [--out benchmarks/RESULTS.md] [--logs DIR] [--timeout-scale F] [--list] [--render-only]

Each benchmark runs as its own subprocess (``python benchmarks/<name>.py ... --json FILE``), one
after another, so each starts its own servers and workers and none inherits another's warm
state or leftovers. Each has a timeout (its process group is killed past it). A benchmark that
exits without writing its JSON, or times out, is reported as failed with the tail of its
output; one that cannot run here (``model_gpu`` without a GPU) as not run, with the reason.
``--quick`` uses small run counts (the whole run fits in ~15 minutes on a 2-core machine);
the figures are then noisier, and RESULTS.md says which kind of run it was.

Beside RESULTS.md the runner keeps ``results.json`` (the same outcomes, machine-readable);
``--only`` runs some benchmarks and keeps the others' last outcomes from it, each section
dated with its own run; ``--render-only`` rewrites RESULTS.md from it (after a change to how a
benchmark is shown) without running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

if __package__:
    from .results import FAILED, NOT_RUN, OK, REDUCERS, TIMED_OUT, Outcome, load, render, save
else:  # run as a file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import FAILED, NOT_RUN, OK, REDUCERS, TIMED_OUT, Outcome, load, render, save

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TAIL_CHARS = 4000
VERSIONS = ("matplotlib", "numpy", "pillow", "cairosvg", "playwright", "pygls", "torch",
            "transformers", "bitsandbytes", "hypothesis")


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script and how the runner calls it."""

    name: str
    title: str
    script: Path
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    timeout_s: float = 1800.0  # full run
    quick_timeout_s: float = 300.0
    json_flag: bool = True  # takes --json FILE; else writes $OUT/<name>.json (model_gpu.py)
    needs_gpu: bool = False


def bench(name: str, title: str, **kw: object) -> Benchmark:
    return Benchmark(name, title, HERE / f"{name}.py", **kw)  # type: ignore[arg-type]


BENCHMARKS: tuple[Benchmark, ...] = (
    bench("check_latency", "Check latency (warm render + critic) against a naive baseline",
          quick=("--runs", "5", "--naive-runs", "2"), timeout_s=1200, quick_timeout_s=300),
    bench("lsp_latency", "Save → diagnostics in the editor (LSP) against a naive server",
          quick=("--runs", "8", "--warm", "2", "--naive-runs", "3"), timeout_s=1800,
          quick_timeout_s=420),
    bench("ocr_latency", "Save → diagnostics against a screenshot when a title changed (OCR once)",
          quick=("--runs", "5", "--warm", "1"), timeout_s=900, quick_timeout_s=300),
    bench("cold_start", "Cold start: open → first diagnostics from process start",
          quick=("--runs", "3", "--naive-runs", "1"), timeout_s=900, quick_timeout_s=300),
    bench("critic_quality", "Critic quality on labelled mutations",
          quick=("--quick",), timeout_s=3600, quick_timeout_s=600),
    bench("corpus", "Real-world corpus (matplotlib gallery, npm icons, coverage.py pages, "
          "GFM tables)", full=("--mutations", "10"),
          quick=("--limit", "6", "--mutations", "1"), timeout_s=3 * 3600, quick_timeout_s=600),
    bench("model_latency", "Model critic on the CPU (tiny model: verm's own overheads)",
          quick=("--quick",), timeout_s=1800, quick_timeout_s=420),
    bench("synth_throughput", "`verm train synth` throughput",
          quick=("--sources", "2", "--pairs", "4", "--naive", "2"), timeout_s=1800,
          quick_timeout_s=420),
    bench("check_scale", "`verm check` of a whole repository (--jobs)",
          quick=("--sources", "40", "--naive", "5"), timeout_s=2400, quick_timeout_s=420),
    bench("fuzz", "Fuzzing (hypothesis properties, long run)",
          quick=("--examples", "100"), timeout_s=3600, quick_timeout_s=300),
    bench("model_gpu", "The published model's shape on a GPU", json_flag=False, needs_gpu=True,
          full=("--repeat", "3"), quick=("--repeat", "1"), timeout_s=1800,
          quick_timeout_s=900),
)


# ---- the machine -----------------------------------------------------------------------------

def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def ram_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.0f}"
    except OSError:
        pass
    return "?"


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def commit() -> str:
    head = git("rev-parse", "--short=10", "HEAD") or "?"
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if line.strip()]
    return f"{head} (+ {len(dirty)} uncommitted files)" if dirty else head


def chromium_version() -> str:
    code = ("from verm.render.browser import find_chromium; import subprocess; "
            "print(subprocess.run([find_chromium(), '--version'], capture_output=True, "
            "text=True, timeout=60).stdout.strip())")
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=90)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"not found ({exc})"
    return out.stdout.strip() or f"not found ({out.stderr.strip().splitlines()[-1:]})"


def versions() -> dict[str, str]:
    out = {"Python": platform.python_version(), "Chromium": chromium_version()}
    for name in VERSIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def has_gpu() -> bool:
    return any(Path("/dev").glob("nvidia[0-9]*"))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# ---- running one -----------------------------------------------------------------------------

def tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-TAIL_CHARS:].decode("utf-8", "replace")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the benchmark's own process group: TERM, then KILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(b: Benchmark, quick: bool, logs: Path, timeout_scale: float = 1.0,
            python: str = sys.executable, gpu: bool | None = None) -> Outcome:
    """Run one benchmark in its own process (and process group); its outcome."""
    started = now()
    outcome = Outcome(b.name, b.title, FAILED, date=started, commit=commit())
    if b.needs_gpu and not (has_gpu() if gpu is None else gpu):
        outcome.status, outcome.reason = NOT_RUN, "no GPU on this machine"
        return outcome
    args = list(b.quick if quick else b.full)
    out_dir = Path(tempfile.mkdtemp(prefix=f"verm-bench-{b.name}-"))
    json_path = out_dir / f"{b.name}.json"
    command = [python, str(b.script), *args]
    if b.json_flag:
        command += ["--json", str(json_path)]
    try:
        shown = b.script.relative_to(ROOT)
    except ValueError:
        shown = b.script
    outcome.command = " ".join(["python", str(shown), *args])
    log = logs / f"{b.name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OUT": str(out_dir)}
    limit = (b.quick_timeout_s if quick else b.timeout_s) * timeout_scale
    start = time.perf_counter()
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            outcome.returncode = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            stop(proc)
            outcome.status, outcome.reason = TIMED_OUT, f"timed out after {limit:.0f} s"
        except BaseException:
            stop(proc)
            raise
        else:
            stop(proc)  # anything it left behind in its group
    outcome.seconds = time.perf_counter() - start
    outcome.tail = tail(log)
    try:
        return read_results(b, outcome, json_path, log)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def read_results(b: Benchmark, outcome: Outcome, json_path: Path, log: Path) -> Outcome:
    """The outcome, with the figures the benchmark wrote (reduced), or why there are none."""
    if outcome.status == TIMED_OUT:
        return outcome
    if not json_path.is_file():
        outcome.reason = (f"exit status {outcome.returncode}, no results written"
                          if outcome.returncode else "exited 0 but wrote no results")
        return outcome
    try:
        raw = json.loads(json_path.read_text(encoding="utf-8"))
        reduce = REDUCERS.get(b.name)
        outcome.data = reduce(raw, tail_all(log)) if reduce else raw
    except Exception as exc:
        outcome.reason = f"its results could not be read: {type(exc).__name__}: {exc}"
        return outcome
    outcome.status = OK
    if not outcome.returncode:
        outcome.tail = ""
    return outcome


def tail_all(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


# ---- the whole run ---------------------------------------------------------------------------

def pick(names: str, known: Sequence[Benchmark], parser: argparse.ArgumentParser) -> set[str]:
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - {b.name for b in known}
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(sorted(unknown))} (known: "
                     f"{', '.join(b.name for b in known)})")
    return wanted


def main(argv: Sequence[str] | None = None,
         benchmarks: Sequence[Benchmark] = BENCHMARKS) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small run counts (~15 min)")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--logs", type=Path, default=None,
                        help="keep each benchmark's whole output here (default: a temp folder)")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply every benchmark's timeout (a slow or busy machine)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: rewrite --out from the results.json beside it")
    args = parser.parse_args(argv)
    if args.list:
        for b in benchmarks:
            print(f"{b.name:18} {b.title}")
        return 0
    store = args.out.with_name("results.json")
    if args.render_only:
        meta, kept = load(store)
        args.out.write_text(render(meta, kept), encoding="utf-8")
        print(f"wrote {args.out} from {store}")
        return 0
    only = pick(args.only, benchmarks, parser) if args.only else None
    skip = pick(args.skip, benchmarks, parser) if args.skip else set()
    chosen = [b for b in benchmarks if (only is None or b.name in only) and b.name not in skip]
    logs = args.logs or Path(tempfile.mkdtemp(prefix="verm-bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    previous: dict[str, Outcome] = {}
    if only is not None and store.is_file():
        previous = {o.name: o for o in load(store)[1]}

    meta = {"date": now(), "quick": args.quick, "cpu": cpu_model(), "cores": os.cpu_count(),
            "ram_gb": ram_gb(), "platform": platform.platform(), "load_before": loadavg(),
            "commit": commit(), "versions": versions(),
            "command": "python -m benchmarks " + " ".join(argv if argv is not None
                                                          else sys.argv[1:])}
    print(f"logs: {logs}", flush=True)
    begun = time.perf_counter()
    outcomes: dict[str, Outcome] = {}
    for i, b in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {b.name} …", end=" ", flush=True)
        o = run_one(b, args.quick, logs, args.timeout_scale)
        outcomes[b.name] = o
        detail = f" ({o.reason})" if o.reason else (
            f" (exit {o.returncode})" if o.returncode else "")
        print(f"{o.status}{detail} in {o.seconds:.0f} s", flush=True)
    meta["load_after"] = loadavg()
    meta["seconds"] = time.perf_counter() - begun
    if previous:
        meta["note"] = ("Sections not run this time keep their last outcome (their own date and "
                        "commit are shown under each heading).")
    ordered = [outcomes.get(b.name) or previous.get(b.name)
               or Outcome(b.name, b.title, NOT_RUN, reason="not selected in this run "
                          f"(`{meta['command']}`)")
               for b in benchmarks]
    args.out.write_text(render(meta, ordered), encoding="utf-8")
    save(store, meta, ordered)
    print(f"wrote {args.out} ({time.perf_counter() - begun:.0f} s)")
    return 0 if all(o.status in (OK, NOT_RUN) for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
