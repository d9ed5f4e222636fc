"""Open → first diagnostics, measured from the moment the editor starts the server process.

What a person feels on opening a pinned chart or page in a fresh editor: the server process
starts, ``initialize`` answers, the file opens, and at last the squiggles appear. Each run
starts a new server over stdio (a real pygls client), opens one pinned source right after
``initialized`` and times three stamps from process start: the ``initialize`` answer, and the
first ``publishDiagnostics`` for the opened file. Beside it, the naive server (fresh
interpreter / browser per judgement) and ``verm check`` of one chart from a fresh shell.

    .venv/bin/python benchmarks/cold_start.py [--runs 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsp_latency import KINDS, NAIVE, Session, pin_all

SERVE = [str(Path(sys.executable).with_name("verm")), "serve"]  # what the editor clients run

# kind: p50 target in ms from process start (issue 12)
TARGETS = {"chart": 1500.0, "html": 2000.0}


async def one_run(command: list[str], src: Path, language: str) -> tuple[float, float]:
    """(initialize answered, first diagnostics) in ms from process start."""
    session = Session(command, cwd=src.parent)
    start = time.perf_counter()
    await session.start(src.parent)
    initialized = (time.perf_counter() - start) * 1000
    try:
        await session.open(src, language)
        first = (time.perf_counter() - start) * 1000
    finally:
        await session.stop()
    return initialized, first


def check_once(src: Path) -> float:
    """Wall ms of ``verm check SRC`` in a fresh process (what a pre-commit hook pays)."""
    start = time.perf_counter()
    subprocess.run([SERVE[0], "check", str(src)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(TARGETS), help="comma-separated")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures and targets here (python -m benchmarks)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="verm-cold-") as tmp:
        sources = pin_all(Path(tmp))
        print(f"cold start: open → first diagnostics from process start, {args.runs} runs "
              "(p50, min–max ms)")
        print(f"{'kind':6} {'initialize':>12} {'verm':>20} {'naive':>10} {'ratio':>6} "
              f"{'target':>7}")
        for kind in args.kinds.split(","):
            target = TARGETS[kind]
            src, language = sources[kind], KINDS[kind][1]
            runs = [asyncio.run(one_run(SERVE, src, language)) for _ in range(args.runs)]
            naive = [asyncio.run(one_run(NAIVE, src, language))[1]
                     for _ in range(args.naive_runs)]
            init = p50([r[0] for r in runs])
            first = [r[1] for r in runs]
            ok = "ok" if p50(first) <= target else "MISS"
            print(f"{kind:6} {init:10.0f}ms {p50(first):8.0f} ({min(first):.0f}–"
                  f"{max(first):.0f}) {p50(naive):8.0f}ms {p50(naive) / p50(first):5.2f}× "
                  f"{target:6.0f} {ok}")
            rows.append({"kind": kind, "initialize_ms": init, "first_ms": p50(first),
                         "first_min_ms": min(first), "first_max_ms": max(first),
                         "naive_ms": p50(naive), "target_ms": target})
        checks = [check_once(sources["chart"]) for _ in range(args.runs)]
        print(f"verm check of one chart from a fresh shell: p50 {p50(checks):.0f} ms "
              f"({min(checks):.0f}–{max(checks):.0f})")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"runs": args.runs, "naive_runs": args.naive_runs},
            "rows": rows, "check_ms": p50(checks), "check_min_ms": min(checks),
            "check_max_ms": max(checks),
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
