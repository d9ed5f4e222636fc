"""synth throughput: pairs per second per domain with 1, 2 and 3 workers, where the time goes
(rendering, judging the pair — the no-op check and the row's images —, writing the dataset),
side by side with a naive baseline: a fresh interpreter per render (``verm render`` in a
subprocess), which is what a first attempt at "render each mutated script" would do.

    .venv/bin/python benchmarks/synth_throughput.py [--sources 6] [--pairs 8] [--naive 4]
        [--json out.json]

Each domain's sources are copies of the test fixtures under distinct names (each copy is its
own source, with its own seeded mutations). Times include starting the workers' renderers
(fork server, browser), as ``verm train synth`` pays them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from verm_training.synth import synthesize
from verm_training.synth.core import candidates

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = {
    "chart": ["charts/bar.py", "charts/line.py", "e2e/bars.py"],
    "svg": ["e2e/icon.svg", "svg/badge.svg", "svg/transforms.svg"],
    "html": ["e2e/page.html"],
    "table": ["e2e/stock.md"],
}
TARGET_CHART_PAIRS_S = 10.0


def corpus(folder: Path, domain: str, n: int) -> Path:
    """``n`` sources of ``domain`` in a folder of their own."""
    out = folder / domain
    out.mkdir(parents=True)
    names = CORPUS[domain]
    for i in range(n):
        src = FIXTURES / names[i % len(names)]
        shutil.copy(src, out / f"{src.stem}_{i}{src.suffix}")
    return out


def naive_pairs_per_s(folder: Path, runs: int) -> float:
    """Pairs per second when every render is a fresh ``verm render`` process."""
    src = next(iter(sorted((folder / "chart").glob("*.py"))))
    mutations = candidates(src.read_text(), "chart", random.Random(0))[:runs]
    times = []
    for i, m in enumerate(mutations):
        path = src.with_name(f"naive_{i}.py")
        path.write_text(m.text)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "verm.cli", "render", str(path), "-o",
                        str(path.with_suffix(".png"))], check=False, capture_output=True)
        times.append(time.perf_counter() - start)
        path.unlink()
    return 1.0 / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=6, help="sources per domain")
    ap.add_argument("--pairs", type=int, default=8, help="pairs per source")
    ap.add_argument("--naive", type=int, default=4, help="renders for the naive baseline")
    ap.add_argument("--domains", nargs="+", default=list(CORPUS))
    ap.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the figures and target here (python -m benchmarks)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="verm-synth-bench-") as tmp:
        folder = Path(tmp)
        for domain in args.domains:
            src = corpus(folder, domain, args.sources)
            for workers, pool in ((1, "thread"), (2, "thread"), (3, "thread"), (2, "process")):
                r = synthesize([src], folder / f"out-{domain}-{workers}-{pool}", args.pairs,
                               seed=0, workers=workers, progress=False, pool=pool)
                busy = r.render_s + r.judge_s + r.write_s or 1.0
                rows.append((domain, f"{workers} {pool if workers > 1 else ''}".strip(),
                             r.pairs, r.seconds, r.pairs / r.seconds,
                             r.render_s / busy, r.judge_s / busy, r.write_s / busy,
                             r.dropped_noop))
        naive = (naive_pairs_per_s(folder, args.naive)
                 if "chart" in args.domains and not args.no_naive else None)
    print(f"{'domain':7} {'workers':>10} {'pairs':>6} {'seconds':>8} {'pairs/s':>8} "
          f"{'render':>7} {'judge':>6} {'write':>6} {'no-ops':>6}")
    for domain, workers, pairs, seconds, rate, render, judge, write, noop in rows:
        print(f"{domain:7} {workers:>10} {pairs:>6} {seconds:>8.2f} {rate:>8.2f} "
              f"{render:>7.0%} {judge:>6.0%} {write:>6.0%} {noop:>6}")
    print("(render/judge/write: shares of the summed stage times; with 2 workers the stages "
          "overlap, so they sum past the wall time)")
    if naive is not None:
        best = max(rate for d, _w, _p, _s, rate, *_ in rows if d == "chart")
        print(f"naive baseline (fresh `verm render` process per chart render): {naive:.2f} "
              f"pairs/s; verm synth: {best:.2f} pairs/s ({best / naive:.1f}×); target "
              f"≥ {TARGET_CHART_PAIRS_S:.0f} chart pairs/s: "
              f"{'met' if best >= TARGET_CHART_PAIRS_S else 'NOT met'}")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"sources": args.sources, "pairs": args.pairs, "naive": args.naive},
            "target_chart_pairs_s": TARGET_CHART_PAIRS_S, "naive_pairs_s": naive,
            "rows": [{"domain": domain, "workers": workers, "pairs": pairs, "seconds": seconds,
                      "pairs_s": rate, "render": render, "judge": judge, "write": write,
                      "noop": noop}
                     for domain, workers, pairs, seconds, rate, render, judge, write, noop
                     in rows],
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
