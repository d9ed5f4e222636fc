"""`verm check` of a whole repository: sources per second with --jobs 1 and --jobs 2.

A CI job checks every pinned chart, page, icon and table at once. This builds a folder of N
mixed sources (the e2e fixtures, each varied so no two render alike), pins them, changes a
tenth of them, and times a fresh `verm check . --format json` with each --jobs value, side by
side with the naive baseline of one `verm check` process per source (what a shell loop over
files does).

    .venv/bin/python benchmarks/check_scale.py [--sources 200] [--jobs 1 2] [--naive 20]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures and target here (python -m benchmarks)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = build(folder, args.sources)
        t = time.perf_counter()
        pinned = verm("pin", *[p.name for p in sources], "--force", cwd=folder)
        if pinned.returncode != 0:
            raise SystemExit(pinned.stderr)
        pin_s = time.perf_counter() - t
        for p in sources[::10]:  # a tenth fail, as in a real change
            p.write_text(p.read_text().replace("Release notes", "Release plans")
                         .replace("[12, 15", "[13, 15").replace('r="', 'r="1'))
        rows = []
        for jobs in args.jobs:
            t = time.perf_counter()
            out = verm("check", ".", "--format", "json", "--jobs", str(jobs), cwd=folder)
            wall = time.perf_counter() - t
            rows.append((f"--jobs {jobs}", wall, len(out.stdout.splitlines())))
        naive = sources[: args.naive]
        t = time.perf_counter()
        for p in naive:
            verm("check", p.name, "--format", "json", cwd=folder)
        naive_per = (time.perf_counter() - t) / max(1, len(naive))
    print(f"{args.sources} sources (4 kinds), {os.cpu_count()} cores; pinned in {pin_s:.1f} s")
    print(f"{'run':<12} {'wall s':>8} {'sources/s':>10} {'per source ms':>14} {'speed-up':>9}")
    base = rows[0][1]
    for name, wall, n in rows:
        print(f"{name:<12} {wall:>8.1f} {n / wall:>10.2f} {1000 * wall / max(1, n):>14.0f} "
              f"{base / wall:>8.2f}×")
    print(f"{'naive':<12} {naive_per * args.sources:>8.1f} {1 / naive_per:>10.2f} "
          f"{1000 * naive_per:>14.0f} {base / (naive_per * args.sources):>8.2f}×  "
          f"(one `verm check` process per source, {len(naive)} timed, scaled)")
    print(f"target: --jobs 2 ≥ {TARGET_SPEEDUP:g}× --jobs 1 on 2 cores")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"sources": args.sources, "naive": len(naive), "cores": os.cpu_count()},
            "pin_s": pin_s, "target_speedup": TARGET_SPEEDUP,
            "rows": [{"jobs": int(name.split()[-1]), "wall_s": wall, "checked": n,
                      "sources_per_s": n / wall, "speedup": base / wall}
                     for name, wall, n in rows],
            "naive": {"per_source_s": naive_per, "sources_per_s": 1 / naive_per},
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
