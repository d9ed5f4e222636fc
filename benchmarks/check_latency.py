"""Warm render and full-check latency per kind, side by side with a naive baseline.

The naive baseline is what a first attempt would do: a fresh interpreter (or a fresh browser)
per render, then one plain SSIM over the whole image. verm's path: a warm fork server / warm
browser page, then the analytic critic with registration and attribution.

    .venv/bin/python benchmarks/check_latency.py [--runs 20] [--naive-runs 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from verm.check import Checker
from verm.pins import pin_render
from verm.render.browser import find_chromium
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


def plain_ssim(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        b = b.resize(a.size)
    ga = np.asarray(a.convert("L"), dtype=np.float64)
    gb = np.asarray(b.convert("L"), dtype=np.float64)
    return float(structural_similarity(ga, gb, data_range=255.0))


def naive_chart(src: Path, ref: Image.Image) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        code = src.read_text() + (
            f"\nimport matplotlib.pyplot as _p\n_p.gcf().savefig({str(out)!r})\n")
        script = Path(tmp) / "run.py"
        script.write_text(code)
        subprocess.run([sys.executable, str(script)], check=True, cwd=src.parent,
                       env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}, timeout=60)
        return plain_ssim(ref, Image.open(out).convert("RGB"))


def naive_svg(src: Path, ref: Image.Image) -> float:
    code = ("import sys, cairosvg; sys.stdout.buffer.write("
            f"cairosvg.svg2png(url={str(src)!r}))")
    png = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         timeout=60).stdout
    return plain_ssim(ref, Image.open(io.BytesIO(png)).convert("RGB"))


def _fresh_browser_png(html: str, size: tuple[int, int]) -> bytes:
    """A fresh browser per render: the naive way to screenshot a page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(None),
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.set_content(html)
        png = page.screenshot()
        browser.close()
    return png


def naive_html(src: Path, ref: Image.Image) -> float:
    png = _fresh_browser_png(src.read_text(), ref.size)
    return plain_ssim(ref, Image.open(io.BytesIO(png)).convert("RGB"))


def naive_table(src: Path, ref: Image.Image) -> float:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(src.read_text())
    png = _fresh_browser_png(html, ref.size)
    return plain_ssim(ref, Image.open(io.BytesIO(png)).convert("RGB"))


NAIVE = {"chart": naive_chart, "chart-plain": naive_chart, "svg": naive_svg,
         "html": naive_html, "table": naive_table}
# chart: bars + line + legend + grid + tight_layout; chart-plain: bars, title and labels.
SOURCES = {"chart": "bench_chart.py", "chart-plain": "bench_chart_plain.py",
           "svg": "bench_icon.svg", "html": "bench_page.html", "table": "bench_table.md"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.25,
                        help="seconds between runs, like saves (a spare worker re-warms)")
    args = parser.parse_args()

    rows = []
    with Checker() as checker, tempfile.TemporaryDirectory() as tmp:
        for kind, name in SOURCES.items():
            src = FIXTURES / name
            source = Source.load(src)
            first = checker.render(source)  # starts the warm workers
            assert first.ok, first.failure
            ref_path = Path(tmp) / f"{src.stem}.png"
            pin_render(first, ref_path)
            ref_image = Image.open(ref_path).convert("RGB")
            checker.render(source)
            checker.check(source, ref_path)  # warm the critic too
            render_ms = median_ms(lambda s=source: checker.render(s), args.runs, args.gap)
            check_ms = median_ms(lambda s=source, r=ref_path: checker.check(s, r), args.runs,
                                 args.gap)
            burst_ms = median_ms(lambda s=source, r=ref_path: checker.check(s, r), args.runs)
            result = checker.check(source, ref_path)
            naive = NAIVE.get(kind)
            naive_ms = (median_ms(lambda n=naive, s=src, r=ref_image: n(s, r), args.naive_runs)
                        if naive else float("nan"))
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


if __name__ == "__main__":
    main()
