"""Warm render and full-check latency per kind, side by side with a naive baseline.

The naive baseline is what a first attempt would do: a fresh interpreter (or a fresh browser)
per render, then one plain SSIM over the whole image. verm's path: a warm fork server / warm
browser page, then the analytic critic with registration and attribution.

    .venv/bin/python benchmarks/check_latency.py [--runs 20] [--naive-runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from naive_server import plain_ssim, render
from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TARGETS_MS = {"chart": 100, "chart-plain": 100, "svg": 50, "html": 100, "table": 100}


def median_ms(fn: Callable[[], object], runs: int, gap_s: float = 0.0) -> float:
    times = []
    for _ in range(runs):
        time.sleep(gap_s)
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def naive(kind: str) -> Callable[[Path, Image.Image], float]:
    """The baseline of ``naive_server.py`` (the LSP benchmark's): same renders, same SSIM."""
    base = "chart" if kind.startswith("chart") else kind

    def run(src: Path, ref: Image.Image) -> float:
        return plain_ssim(ref, render(base, src, src.read_text(), ref.size))

    return run


SOURCES = {"chart": "bench_chart.py", "chart-plain": "bench_chart_plain.py",
           "svg": "bench_icon.svg", "html": "bench_page.html", "table": "bench_table.md"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.25,
                        help="seconds between runs, like saves (a spare worker re-warms)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the figures and targets here (python -m benchmarks)")
    args = parser.parse_args()

    rows = []
    with Checker() as checker, tempfile.TemporaryDirectory() as tmp:
        for kind, name in SOURCES.items():
            src = FIXTURES / name
            source = Source.load(src)
            first = checker.render(source)  # starts the warm workers
            assert first.ok, first.failure
            ref_path = Path(tmp) / f"{src.stem}.png"
            pin_render(first, ref_path, within=())  # a temp folder of our own choosing
            ref_image = Image.open(ref_path).convert("RGB")
            checker.render(source)
            checker.check(source, ref_path)  # warm the critic too
            render_ms = median_ms(lambda s=source: checker.render(s), args.runs, args.gap)
            check_ms = median_ms(lambda s=source, r=ref_path: checker.check(s, r), args.runs,
                                 args.gap)
            burst_ms = median_ms(lambda s=source, r=ref_path: checker.check(s, r), args.runs)
            result = checker.check(source, ref_path)
            baseline = naive(kind)
            naive_ms = median_ms(lambda n=baseline, s=src, r=ref_image: n(s, r),
                                 args.naive_runs)
            rows.append((kind, first.size, render_ms, check_ms, burst_ms, naive_ms,
                         len(result.discrepancies)))

    print(f"{'kind':<11} {'size':>9} {'render p50':>11} {'check p50':>10} {'target':>7} "
          f"{'burst p50':>10} {'naive p50':>10} {'speed-up':>9} {'errors':>7}")
    for kind, size, render_ms, check_ms, burst_ms, naive_ms, errors in rows:
        ratio = naive_ms / check_ms if naive_ms == naive_ms else float("nan")
        verdict = "ok" if check_ms <= TARGETS_MS[kind] else "SLOW"
        print(f"{kind:<11} {size[0]:>4}×{size[1]:<4} {render_ms:>9.1f}ms {check_ms:>8.1f}ms "
              f"{TARGETS_MS[kind]:>5}ms {burst_ms:>8.1f}ms {naive_ms:>8.1f}ms {ratio:>8.1f}× "
              f"{errors:>7}  {verdict}")
    print(f"render/check: {args.gap:g} s between runs (saves); burst: back to back; naive: a "
          "fresh interpreter (chart, svg) or browser (html) per render + one plain SSIM")
    print("identity checks (render vs its own pin) must report 0 errors")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "settings": {"runs": args.runs, "naive_runs": args.naive_runs, "gap_s": args.gap},
            "rows": [{"kind": kind, "size": list(size), "render_ms": render_ms,
                      "check_ms": check_ms, "target_ms": TARGETS_MS[kind], "burst_ms": burst_ms,
                      "naive_ms": naive_ms, "identity_errors": errors}
                     for kind, size, render_ms, check_ms, burst_ms, naive_ms, errors in rows],
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
