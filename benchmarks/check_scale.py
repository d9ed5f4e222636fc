"""`verm check` of a whole repository: sources per second with --jobs 1 and --jobs 2.

A CI job checks every pinned chart, page, icon and table at once. This builds a folder of N
mixed sources (the e2e fixtures, each varied so no two render alike), pins them, changes a
tenth of them, and times a fresh `verm check . --format json` with each --jobs value, side by
side with the naive baseline of one `verm check` process per source (what a shell loop over
files does). Each run's CPU time is that of every process it started (verm, its fork servers and
workers, Chromium's processes — collected here as their subreaper, so nothing is missed), and
the load average before it says how much of the machine other work took.

    .venv/bin/python benchmarks/check_scale.py [--sources 200] [--jobs 1 2] [--naive 20]
        [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_SPEEDUP = 1.7  # --jobs 2 against --jobs 1 on 2 cores (issue 13)
FIXTURES = HERE.parent / "tests" / "fixtures" / "e2e"
VARY = {  # one literal per kind to vary, so every source draws its own picture
    "bars.py": ("sales = [12, 15, 9, 17]", "sales = [12, 15, 9, {n}]"),
    "icon.svg": ('r="36"', 'r="{r}"'),
    "page.html": ("Release notes", "Release notes {n}"),
    "stock.md": ("|  12 |", "| {n:>3} |"),
}


def verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verm.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=3600)


def become_subreaper() -> bool:
    """Processes verm leaves to be reaped by nobody (Chromium's, once its driver is gone) come
    back to this process, so their CPU time counts (Linux; elsewhere only verm's own)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(wait_s: float = 20.0) -> None:
    """Wait for every descendant left behind (their CPU joins ours as they are reaped)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def machine_busy_s() -> float | None:
    """CPU seconds the whole machine has been busy (user, nice, system, irq; not idle, iowait or
    steal), from /proc/stat; None elsewhere. It sees every process verm starts, also those its
    fork servers reap without a trace (their CPU never reaches our children's times)."""
    try:
        with open("/proc/stat") as fh:
            ticks = [int(v) for v in fh.readline().split()[1:8]]
    except (OSError, ValueError):
        return None
    return (sum(ticks[:3]) + sum(ticks[5:7])) / os.sysconf("SC_CLK_TCK")


def timed_check(jobs: int, folder: Path) -> dict[str, float]:
    """One `verm check . --jobs N`: wall and CPU seconds, sources judged, load before it. The
    CPU is the machine's (other work counts too: see the load), else that of verm's processes."""
    reap()
    load = os.getloadavg()[0]
    before, busy = os.times(), machine_busy_s()
    t = time.perf_counter()
    out = verm("check", ".", "--format", "json", "--jobs", str(jobs), cwd=folder)
    wall = time.perf_counter() - t
    after, busy_after = os.times(), machine_busy_s()
    reap()
    cpu = (busy_after - busy if busy is not None and busy_after is not None else
           after.children_user + after.children_system
           - before.children_user - before.children_system)
    return {"jobs": jobs, "wall_s": wall, "cpu_s": cpu, "checked": len(out.stdout.splitlines()),
            "load": load}


def build(folder: Path, count: int) -> list[Path]:
    kinds = list(VARY)
    made = []
    for i in range(count):
        name = kinds[i % len(kinds)]
        old, new = VARY[name]
        stem, ext = name.rsplit(".", 1)
        path = folder / f"{stem}_{i:03d}.{ext}"
        text = (FIXTURES / name).read_text()
        if old not in text:
            raise SystemExit(f"{name}: the literal to vary ({old!r}) is gone; update VARY")
        path.write_text(text.replace(old, new.format(n=10 + i, r=20 + i % 16)))
        made.append(path)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--naive", type=int, default=20,
                        help="sources timed for the one-process-per-source baseline")
    parser.add_argument("--repeat", type=int, default=1,
                        help="check this many times with each --jobs value, alternately (the "
                        "median counts)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures and target here (python -m benchmarks)")
    args = parser.parse_args()
    reaping = become_subreaper()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = build(folder, args.sources)
        t = time.perf_counter()
        pinned = verm("pin", *[p.name for p in sources], "--force", cwd=folder)
        if pinned.returncode != 0:
            raise SystemExit(pinned.stderr)
        pin_s = time.perf_counter() - t
        change = {".html": ("Release notes", "Release plans"), ".py": ("[12, 15", "[13, 15"),
                  ".svg": ('r="', 'r="1'), ".md": ("Pears", "Peers")}
        for p in sources[::10]:  # a tenth fail, as in a real change (a chart's data, not a
            p.write_text(p.read_text().replace(*change[p.suffix]))  # colour it cannot draw)
        runs = [timed_check(jobs, folder) for _ in range(args.repeat) for jobs in args.jobs]
        rows = []
        for jobs in args.jobs:
            mine = [r for r in runs if r["jobs"] == jobs]
            rows.append({key: statistics.median(r[key] for r in mine) for key in mine[0]})
        naive = sources[: args.naive]
        t = time.perf_counter()
        for p in naive:
            verm("check", p.name, "--format", "json", cwd=folder)
        naive_per = (time.perf_counter() - t) / max(1, len(naive))
    print(f"{args.sources} sources (4 kinds), {os.cpu_count()} cores; pinned in {pin_s:.1f} s")
    for r in runs:
        print(f"  --jobs {r['jobs']:.0f}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU "
              f"({r['cpu_s'] / r['wall_s']:.2f} cores), load average {r['load']:.1f} before")
    print(f"{'run':<12} {'wall s':>8} {'sources/s':>10} {'per source ms':>14} {'speed-up':>9} "
          f"{'CPU s':>7} {'CPU/source ms':>14} {'cores used':>11}")
    base = rows[0]["wall_s"]
    for r in rows:
        wall, n, cpu, name = r["wall_s"], r["checked"], r["cpu_s"], f"--jobs {r['jobs']:.0f}"
        print(f"{name:<12} {wall:>8.1f} {n / wall:>10.2f} "
              f"{1000 * wall / max(1, n):>14.0f} {base / wall:>8.2f}× {cpu:>7.1f} "
              f"{1000 * cpu / max(1, n):>14.0f} {cpu / wall:>11.2f}")
    print(f"{'naive':<12} {naive_per * args.sources:>8.1f} {1 / naive_per:>10.2f} "
          f"{1000 * naive_per:>14.0f} {base / (naive_per * args.sources):>8.2f}×  "
          f"(one `verm check` process per source, {len(naive)} timed, scaled)")
    one = rows[0]
    ceiling = (os.cpu_count() or 1) * one["wall_s"] / one["cpu_s"] if one["cpu_s"] else None
    if ceiling is not None:
        print(f"ceiling: --jobs {one['jobs']:.0f} already keeps {one['cpu_s'] / one['wall_s']:.2f} "
              f"cores busy (Chromium's processes, the render workers and the judging overlap), so "
              f"{os.cpu_count()} cores can run it at most {ceiling:.2f}× faster")
    print(f"target: --jobs 2 ≥ {TARGET_SPEEDUP:g}× --jobs 1 on 2 cores"
          + ("" if reaping or machine_busy_s() is not None else
             " (CPU: verm's own processes only, no subreaper here)"))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"sources": args.sources, "naive": len(naive), "cores": os.cpu_count()},
            "pin_s": pin_s, "target_speedup": TARGET_SPEEDUP, "ceiling": ceiling,
            "rows": [{**r, "jobs": int(r["jobs"]), "sources_per_s": r["checked"] / r["wall_s"],
                      "speedup": base / r["wall_s"]} for r in rows],
            "runs": runs,
            "naive": {"per_source_s": naive_per, "sources_per_s": 1 / naive_per},
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
