"""The analytic critic's quality on a labelled set, per domain and per kind of reference.

Why: the critic is judged by what a user sees — one diagnostic per real change, on the line that
caused it, in the right category, with severities that rank renders the way harm does — and the
engineer changing it needs those numbers after every edit, not a test that passes with noise.

The set: every source of the repository that renders (``examples/``, ``tests/fixtures``,
``benchmarks/fixtures``), the sources of ``benchmarks/fixtures/quality/`` and a fixed list of
real-world scripts from matplotlib 3.7.5's source distribution gallery (fetched with the
real-world corpus into ``$VERM_CORPUS_CACHE`` or ``~/.cache/verm-corpus``, never committed).
Each source gives an identity pair, up to ``--pairs`` single-error pairs and one triple-error
pair, made with the training package's own mutators (``verm_training.synth.core.candidates``:
exact labels, each with its 0-based line). Each pair is judged by ``Checker.check`` against five
references of the unmutated source: ``sidecar`` (``pin_render``: PNG + anchors), ``screenshot``
(the PNG alone), ``jpeg`` (quality 80), ``hidpi`` (drawn at 2×) and ``cropped`` (a few px cut
from each side). A reference without a sidecar is simply an image with no ``<ref>.anchors.json``
beside it; it is passed as ``--reference`` would pass it. A naive critic (plain diff → regions →
the smallest render anchor) is judged on ``sidecar`` beside it, as the point of comparison.

    .venv/bin/python benchmarks/critic_quality.py [--quick] [--json out.json]
        [--domains chart,svg,html,table] [--variants sidecar,screenshot,jpeg,hidpi,cropped]
        [--gallery N] [--pairs N] [--seed S] [--jobs N]

Reference renders are not cached between runs: the renderers change with the code (the verm
version does not), so a cached render could silently judge today's critic against yesterday's
picture. Only the gallery's sdist and its extracted ``examples/`` are cached.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from corpus_sources import matplotlib_examples
from critic_quality_metrics import Finding, Item, Judged, Pair, line_span, use_lines
from critic_quality_report import LEGEND, baseline_lines, clean, pair_json, table, worst_lines
from verm.check import Checker
from verm.critic.analytic.compare import GROUP_RADIUS, find_regions
from verm.locate import locate
from verm.pins import pin_render
from verm.render import Renderers
from verm.reward import reward
from verm.source import kind_of
from verm.types import Anchor, Discrepancy, Render
from verm_training.synth.core import candidates
from verm_training.synth.mutation import Mutation

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUALITY = HERE / "fixtures" / "quality"
DOMAINS = ("chart", "svg", "html", "table")
VARIANTS = {
    "sidecar": "pinned render + sidecar anchors",
    "screenshot": "the same PNG, no sidecar",
    "jpeg": "JPEG quality 80, no sidecar",
    "hidpi": "drawn at 2x, no sidecar",
    "cropped": "cropped a few px on each side, no sidecar",
}
CROP_PX = 4  # px cut from each side of the cropped reference (less where content is nearer)
JPEG_QUALITY = 80
ATTEMPTS = 3  # mutations rendered per wanted pair, at most (no-ops and failures cost one)

REPO_FOLDERS = ("examples", "tests/fixtures/charts", "tests/fixtures/svg", "tests/fixtures/html",
                "tests/fixtures/table", "tests/fixtures/e2e", "benchmarks/fixtures")
# Fixtures that exist to fail or attack (hangs, bombs, XXE), are helpers, not sources, or draw
# differently by design (imports_package.py's title tells whether the render worker had already
# imported a package: tests/test_render_chart.py), which would read as the critic's false positive.
NOT_SOURCES = ("bad_", "huge.svg", "malformed.svg", "xxe.svg", "chart_helpers.py",
               "imports_package.py")

MPL_VERSION = "3.7.5"
# The gallery scripts, by path under the sdist's examples/, with the chart type each covers;
# the default run takes the first GALLERY_DEFAULT of them a type at a time (see round_robin),
# enough that at least 40 render (a few fail with today's matplotlib and are counted).
GALLERY: tuple[tuple[str, str], ...] = (
    ("lines_bars_and_markers/bar_colors.py", "bar"),
    ("lines_bars_and_markers/bar_label_demo.py", "bar"),
    ("lines_bars_and_markers/barchart.py", "bar"),
    ("lines_bars_and_markers/hat_graph.py", "bar"),
    ("statistics/barchart_demo.py", "bar"),
    ("lines_bars_and_markers/barh.py", "barh"),
    ("lines_bars_and_markers/broken_barh.py", "barh"),
    ("lines_bars_and_markers/horizontal_barchart_distribution.py", "stacked"),
    ("lines_bars_and_markers/bar_stacked.py", "stacked"),
    ("lines_bars_and_markers/stackplot_demo.py", "stacked"),
    ("lines_bars_and_markers/simple_plot.py", "line"),
    ("lines_bars_and_markers/line_demo_dash_control.py", "line"),
    ("lines_bars_and_markers/fill_between_demo.py", "line"),
    ("lines_bars_and_markers/step_demo.py", "line"),
    ("lines_bars_and_markers/span_regions.py", "line"),
    ("lines_bars_and_markers/vline_hline_demo.py", "line"),
    ("lines_bars_and_markers/stairs_demo.py", "line"),
    ("lines_bars_and_markers/curve_error_band.py", "line"),
    ("showcase/integral.py", "line"),
    ("showcase/xkcd.py", "line"),
    ("ticks/dollar_ticks.py", "line"),
    ("text_labels_and_annotations/legend.py", "line"),
    ("text_labels_and_annotations/legend_demo.py", "line"),
    ("text_labels_and_annotations/custom_legends.py", "line"),
    ("text_labels_and_annotations/annotation_basic.py", "line"),
    ("lines_bars_and_markers/scatter_with_legend.py", "scatter"),
    ("lines_bars_and_markers/scatter_masked.py", "scatter"),
    ("lines_bars_and_markers/scatter_star_poly.py", "scatter"),
    ("lines_bars_and_markers/scatter_hist.py", "scatter"),
    ("lines_bars_and_markers/scatter_demo2.py", "scatter"),
    ("statistics/histogram_cumulative.py", "hist"),
    ("statistics/histogram_histtypes.py", "hist"),
    ("statistics/histogram_multihist.py", "hist"),
    ("statistics/histogram_features.py", "hist"),
    ("statistics/multiple_histograms_side_by_side.py", "hist"),
    ("pie_and_polar_charts/pie_and_donut_labels.py", "pie"),
    ("pie_and_polar_charts/bar_of_pie.py", "pie"),
    ("pie_and_polar_charts/pie_features.py", "pie"),
    ("subplots_axes_and_figures/subplots_demo.py", "subplots"),
    ("subplots_axes_and_figures/shared_axis_demo.py", "subplots"),
    ("subplots_axes_and_figures/subplot.py", "subplots"),
    ("subplots_axes_and_figures/align_labels_demo.py", "subplots"),
    ("subplots_axes_and_figures/figure_title.py", "subplots"),
    ("text_labels_and_annotations/figlegend_demo.py", "subplots"),
    ("text_labels_and_annotations/titles_demo.py", "subplots"),
    ("lines_bars_and_markers/categorical_variables.py", "subplots"),
    ("subplots_axes_and_figures/two_scales.py", "twin axis"),
    ("subplots_axes_and_figures/secondary_axis.py", "twin axis"),
    ("subplots_axes_and_figures/fahrenheit_celsius_scales.py", "twin axis"),
    ("spines/multiple_yaxis_with_spines.py", "twin axis"),
    ("statistics/errorbar_features.py", "errorbar"),
    ("statistics/errorbar_limits.py", "errorbar"),
    ("lines_bars_and_markers/errorbar_limits_simple.py", "errorbar"),
    ("lines_bars_and_markers/errorbar_subsample.py", "errorbar"),
    ("images_contours_and_fields/image_annotated_heatmap.py", "imshow/heatmap"),
    ("images_contours_and_fields/image_demo.py", "imshow/heatmap"),
    ("images_contours_and_fields/pcolormesh_levels.py", "imshow/heatmap"),
    ("images_contours_and_fields/contourf_demo.py", "imshow/heatmap"),
    ("showcase/anatomy.py", "other"),
    ("spines/spines.py", "other"),
    ("subplots_axes_and_figures/axhspan_demo.py", "other"),
    ("subplots_axes_and_figures/invert_axes.py", "other"),
    ("statistics/boxplot_color.py", "other"),
)
GALLERY_DEFAULT = 44
QUICK_SOURCES = (
    "tests/fixtures/charts/bar.py", "benchmarks/fixtures/quality/charts/stacked_outside_legend.py",
    "examples/icons/badge.svg", "benchmarks/fixtures/quality/icons/chart_icon.svg",
    "examples/pages/card.html", "benchmarks/fixtures/quality/pages/alerts.html",
    "examples/tables/prices.md", "benchmarks/fixtures/quality/tables/sales.md",
)
QUICK_GALLERY = ("lines_bars_and_markers/bar_label_demo.py",
                 "lines_bars_and_markers/simple_plot.py", "statistics/histogram_histtypes.py",
                 "pie_and_polar_charts/bar_of_pie.py")



@dataclass
class Outcome:
    """What one source gave: its judgements, or why it was skipped."""

    item: Item
    judged: list[Judged] = field(default_factory=list)
    skipped: str | None = None
    tried: int = 0
    noop: int = 0
    failed: int = 0
    seconds: float = 0.0


# ---- sources ---------------------------------------------------------------------------------

def repo_items(domains: Sequence[str]) -> list[Item]:
    """Every source file of the repository's examples and fixtures (hostile fixtures left out),
    and the benchmark's own under ``fixtures/quality``."""
    found: list[Item] = []
    for folder in REPO_FOLDERS:
        base = ROOT / folder
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            kind = kind_of(path)
            if kind not in domains or path.name.startswith(NOT_SOURCES):
                continue
            origin = "quality" if path.is_relative_to(QUALITY) else "repo"
            found.append(Item(path, path.relative_to(ROOT).as_posix(), kind, origin))
    return found


def gallery_root() -> Path:
    """matplotlib's sdist ``examples/``: the real-world corpus's, fetched once into its cache
    and checked against the sha256 its manifest pins (see ``corpus_sources``)."""
    return matplotlib_examples()


def round_robin(scripts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The scripts one chart type at a time, in turn, so any first N cover the most types."""
    by_type: dict[str, list[tuple[str, str]]] = {}
    for script in scripts:
        by_type.setdefault(script[1], []).append(script)
    out: list[tuple[str, str]] = []
    while any(by_type.values()):
        for queue in by_type.values():
            if queue:
                out.append(queue.pop(0))
    return out


def gallery_items(count: int, quick: bool) -> list[Item]:
    """The first ``count`` scripts of the fixed gallery list, taken a chart type at a time
    (the quick ones with --quick)."""
    if count <= 0:
        return []
    root = gallery_root()
    chosen = round_robin([g for g in GALLERY if not quick or g[0] in QUICK_GALLERY])[:count]
    return [Item(root / rel, f"gallery/{rel}", "chart", "gallery", kind) for rel, kind in chosen]


# ---- pairs -----------------------------------------------------------------------------------

def same_pixels(a: Image.Image | None, b: Image.Image | None) -> bool:
    return a is not None and b is not None and a.size == b.size and a.tobytes() == b.tobytes()


def changed_lines(original: Sequence[str], text: str) -> set[int] | None:
    """The lines a mutation changed; None when it changed the line count (not composable)."""
    lines = text.split("\n")
    if len(lines) != len(original):
        return None
    return {i for i, (a, b) in enumerate(zip(original, lines, strict=True)) if a != b}


def compose(original: str, mutations: Sequence[Mutation]) -> str | None:
    """The mutations applied together, line by line; None unless each keeps the line count
    and no two touch the same line."""
    base = original.split("\n")
    out, used = list(base), set()
    for m in mutations:
        changed = changed_lines(base, m.text)
        if not changed or changed & used:
            return None
        new = m.text.split("\n")
        for i in changed:
            out[i] = new[i]
        used |= changed
    return "\n".join(out)


def pick_triple(original: str, visible: Sequence[Mutation]) -> tuple[Mutation, ...] | None:
    """Three visible mutations that compose, from as many families as possible."""
    options = [c for c in combinations(visible, 3) if compose(original, c) is not None]
    if not options:
        return None
    return max(options, key=lambda c: (len({m.family for m in c}), -options.index(c)))


def build_pairs(checker: Checker, item: Item, reference: Render, singles: int, seed: int,
                outcome: Outcome) -> list[Pair]:
    """Identity, up to ``singles`` single-error pairs and one triple: every mutation used is
    rendered first, and dropped when it fails or changes no pixel (its label would be a lie)."""
    text = checker.load(item.path).text
    rng = random.Random(f"verm-critic-quality:{seed}:{item.key}")
    visible: list[Mutation] = []
    want = max(singles, 3)
    for mutation in candidates(text, item.kind, rng):
        if outcome.tried >= want * ATTEMPTS or (
                len(visible) >= want and pick_triple(text, visible) is not None):
            break
        outcome.tried += 1
        render = checker.render(checker.load(item.path, mutation.text))
        if not render.ok:
            outcome.failed += 1
        elif same_pixels(render.image, reference.image):
            outcome.noop += 1
        else:
            visible.append(mutation)
    pairs = [Pair("identity", (), text, ())]
    pairs += [labelled("single", text, (m,)) for m in visible[:singles]]
    triple = pick_triple(text, visible)
    if triple is not None:
        composed = compose(text, triple)
        assert composed is not None
        render = checker.render(checker.load(item.path, composed))
        if render.ok and not same_pixels(render.image, reference.image):
            pairs.append(labelled("triple", text, triple, composed))
    return pairs


def labelled(role: str, original: str, mutations: Sequence[Mutation],
             text: str | None = None) -> Pair:
    """A pair of these mutations, with each label's use lines (read in the original)."""
    labels = tuple(label for m in mutations for label in m.labels)
    return Pair(role, tuple(m.name for m in mutations), text or mutations[0].text, labels,
                tuple(use_lines(original, label.line) for label in labels))


# ---- references ------------------------------------------------------------------------------

def content_margin(image: Image.Image) -> tuple[int, int, int, int]:
    """Blank px on each side (left, top, right, bottom): ink is what differs from the corner."""
    a = np.asarray(image.convert("RGB"), dtype=np.int16)
    ink = np.abs(a - a[0, 0]).max(axis=2) > 8
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return 0, 0, 0, 0
    h, w = ink.shape
    return int(cols[0]), int(rows[0]), int(w - 1 - cols[-1]), int(h - 1 - rows[-1])


def cropped(image: Image.Image) -> Image.Image:
    """The screenshot with up to CROP_PX cut from each side, never into its content."""
    left, top, right, bottom = (min(CROP_PX, m) for m in content_margin(image))
    w, h = image.size
    return image.crop((left, top, w - right, h - bottom))


def make_references(checker: Checker, item: Item, reference: Render, folder: Path,
                    variants: Sequence[str]) -> dict[str, Path]:
    """Each variant's reference file for this source (a variant that cannot be made is left
    out: a hidpi render that fails)."""
    assert reference.image is not None
    image = reference.image.convert("RGB")
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for variant in variants:
        if variant == "sidecar":
            out[variant] = pin_render(reference, folder / "sidecar.png", within=())
        elif variant == "screenshot":
            out[variant] = folder / "screenshot.png"
            image.save(out[variant])
        elif variant == "jpeg":
            out[variant] = folder / "photo.jpg"
            image.save(out[variant], quality=JPEG_QUALITY)
        elif variant == "hidpi":
            big = checker.render(checker.load(item.path), scale=2.0)
            if big.ok and big.image is not None:
                out[variant] = folder / "hidpi.png"
                big.image.convert("RGB").save(out[variant])
        elif variant == "cropped":
            out[variant] = folder / "cropped.png"
            cropped(image).save(out[variant])
    return out


# ---- judging ---------------------------------------------------------------------------------

def as_finding(d: Discrepancy) -> Finding:
    start, end = line_span(d.range)
    related = len(getattr(d, "related", None) or ())  # the optional consequences (issue 10)
    return Finding(start, end, d.category, int(d.severity), d.location, d.description, related)


def judge(checker: Checker, item: Item, pair: Pair, variant: str, ref_path: Path,
          ref_image: Image.Image | None) -> list[Judged]:
    """The analytic critic's verdict through the real pipeline (and, given the sidecar
    reference's image, the naive critic's on the same render)."""
    out = Judged(item, pair, variant, "analytic")
    try:
        result = checker.check(checker.load(item.path, pair.text), ref_path)
    except Exception as exc:  # a critic bug or an unusable reference: counted, not fatal
        out.error = f"{type(exc).__name__}: {exc}"
        return [out]
    out.findings = [as_finding(d) for d in result.discrepancies]
    out.reward, out.rendered, out.elapsed_ms = result.reward, result.rendered, result.elapsed_ms
    if ref_image is None:
        return [out]
    naive = Judged(item, pair, variant, "naive", rendered=result.render.ok)
    t = time.perf_counter()
    found = (naive_findings(ref_image, result.render) if result.render.ok
             else [as_finding(d) for d in result.discrepancies])
    naive.elapsed_ms = (time.perf_counter() - t) * 1000
    naive.findings = found
    naive.reward = reward([f.severity for f in found], rendered=result.render.ok)
    return [out, naive]


# ---- the naive baseline ----------------------------------------------------------------------

NAIVE_THRESHOLD = 40  # per-channel difference a plain diff calls a change
TEXT_CATEGORY = {"chart": "text_error", "svg": "text_symbol_error", "html": "text_error",
                 "table": "text_error"}
OTHER_CATEGORY = {"chart": "style_error", "svg": "style_error", "html": "style_error",
                  "table": "layout_error"}


def _on_one_canvas(a: Image.Image, b: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Both images on a white canvas of their joint size (top-left aligned)."""
    w, h = max(a.width, b.width), max(a.height, b.height)
    out = []
    for img in (a, b):
        canvas = Image.new("RGB", (w, h), "white")
        canvas.paste(img.convert("RGB"), (0, 0))
        out.append(np.asarray(canvas, dtype=np.int16))
    return out[0], out[1]


def _smallest_anchor(anchors: Sequence[Anchor], box: tuple[int, int, int, int]) -> Anchor | None:
    """The smallest render anchor whose box holds the region (with the regions' own 3 px of
    slack: a region is grown by that much to join the glyphs of a word)."""
    x0, y0, x1, y1 = box
    s = GROUP_RADIUS
    holding = [a for a in anchors if a.box[0] - s <= x0 and a.box[1] - s <= y0
               and a.box[2] + s >= x1 and a.box[3] + s >= y1]
    return min(holding, key=lambda a: a.area, default=None)


def naive_findings(reference: Image.Image, render: Render) -> list[Finding]:
    """What a first attempt would report: every connected region of a plain thresholded diff
    is one finding, placed on the smallest render anchor that contains it (``verm.locate``)."""
    assert render.image is not None
    a, b = _on_one_canvas(reference, render.image)
    diff = np.abs(a - b).max(axis=2) > NAIVE_THRESHOLD
    findings = []
    for region in find_regions(diff):
        anchor = _smallest_anchor(render.anchors, region.box)
        texty = anchor is not None and bool(anchor.text)
        d = Discrepancy(
            category=(TEXT_CATEGORY if texty else OTHER_CATEGORY)[render.kind], severity=2,
            location=anchor.name if anchor else "figure",
            description=f"{region.pixels} pixels differ", anchor=anchor,
            render_box=tuple(float(v) for v in region.box))  # type: ignore[arg-type]
        d.range = locate(d, render)
        findings.append(as_finding(d))
    return findings


# ---- one source ------------------------------------------------------------------------------

def usable_reference(checker: Checker, item: Item) -> Render | str:
    """The source's render, or why the source cannot be used (it fails, or two renders of it
    differ: unseeded randomness would read as false positives that are not the critic's)."""
    source = checker.load(item.path)
    reference = checker.render(source)
    if not reference.ok or reference.failure is not None:
        message = reference.failure.message if reference.failure else "no image"
        return f"does not render: {message[:160]}"
    if not same_pixels(reference.image, checker.render(source).image):
        return "nondeterministic: two renders differ"
    return reference


def run_source(checker: Checker, item: Item, args: argparse.Namespace, tmp: Path) -> Outcome:
    """Render the source, make its pairs and references, judge every pair on every variant
    (the identity pair first, so a hidpi reference's scale is learnt as in an editor)."""
    outcome = Outcome(item)
    t0 = time.perf_counter()
    try:
        reference = usable_reference(checker, item)
        if isinstance(reference, str):
            outcome.skipped = reference
            return outcome
        pairs = build_pairs(checker, item, reference, args.pairs, args.seed, outcome)
        folder = tmp / item.key.replace("/", "__")
        refs = make_references(checker, item, reference, folder, args.variants)
        for variant, path in refs.items():
            naive_ref = reference.image if variant == "sidecar" else None
            for pair in pairs:
                outcome.judged += judge(checker, item, pair, variant, path, naive_ref)
    except Exception as exc:  # the source's own problem (unreadable, bad pragma): skipped
        outcome.skipped = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        outcome.seconds = time.perf_counter() - t0
    return outcome


def run_all(items: Sequence[Item], args: argparse.Namespace) -> list[Outcome]:
    """Every source on ``--jobs`` threads over one Checker (renders run in its sandboxes)."""
    outcomes: dict[str, Outcome] = {}
    with Checker(critic="analytic", renderers=Renderers(batch=True)) as checker, \
            tempfile.TemporaryDirectory(prefix="verm-quality-") as tmp, \
            ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_source, checker, item, args, Path(tmp)) for item in items]
        for n, future in enumerate(as_completed(futures), start=1):
            outcome = future.result()
            outcomes[outcome.item.key] = outcome
            state = outcome.skipped or f"{len(outcome.judged)} judgements"
            print(f"[{n}/{len(items)}] {outcome.item.key}: {state} "
                  f"({outcome.seconds:.1f} s)", file=sys.stderr, flush=True)
    return [outcomes[item.key] for item in items]


# ---- output ----------------------------------------------------------------------------------

def sources_summary(outcomes: Sequence[Outcome]) -> list[str]:
    """How many sources of each origin were used, and why the others were skipped."""
    lines = ["\nsources:"]
    for origin in ("repo", "quality", "gallery"):
        mine = [o for o in outcomes if o.item.origin == origin]
        if not mine:
            continue
        used = [o for o in mine if o.skipped is None]
        kinds = sorted({o.item.chart_type for o in used if o.item.chart_type})
        lines.append(f"  {origin}: {len(used)} used, {len(mine) - len(used)} skipped"
                     + (f"; chart types: {', '.join(kinds)}" if kinds else ""))
        lines += [f"    skipped {o.item.key}: {o.skipped}" for o in mine if o.skipped]
    dropped = sum(o.noop for o in outcomes), sum(o.failed for o in outcomes)
    lines.append(f"  mutations dropped: {dropped[0]} changed no pixel, {dropped[1]} failed to "
                 "render")
    return lines


def report(outcomes: Sequence[Outcome], args: argparse.Namespace,
           seconds: float) -> dict[str, Any]:
    """Print every table and return the JSON dump."""
    judged = [j for o in outcomes for j in o.judged]
    figures: dict[str, Any] = {}
    for variant in args.variants:
        lines, figures[variant] = table(
            f"\n== {variant}: {VARIANTS[variant]} — analytic critic",
            [j for j in judged if j.variant == variant and j.critic == "analytic"])
        print("\n".join(lines))
    naive: dict[str, Any] = {}
    if "sidecar" in args.variants:
        lines, naive = table("\n== sidecar — naive baseline (plain diff, one finding per "
                             "region, on the smallest anchor holding it; times: its diff alone, "
                             "on the analytic check's render)",
                             [j for j in judged if j.critic == "naive"])
        print("\n".join([*lines, *baseline_lines(figures["sidecar"], naive)]))
    print("\n".join([*sources_summary(outcomes), "", LEGEND, f"time: {seconds:.0f} s",
                     *worst_lines(judged)]))
    return {
        "seconds": round(seconds, 1),
        "settings": {"pairs": args.pairs, "seed": args.seed, "variants": args.variants,
                     "domains": args.domains, "gallery": args.gallery, "quick": args.quick,
                     "jobs": args.jobs},
        "metrics": clean(figures), "naive_sidecar": clean(naive),
        "sources": [{"source": o.item.key, "origin": o.item.origin, "kind": o.item.kind,
                     "chart_type": o.item.chart_type, "skipped": o.skipped,
                     "mutations_tried": o.tried, "noop": o.noop, "failed": o.failed,
                     "seconds": round(o.seconds, 2)} for o in outcomes],
        "pairs": [pair_json(j) for j in judged],
    }


# ---- main ------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small fixed subset (2 sources a domain, 4 gallery scripts, "
                             "2 single pairs each): ~2 min, for iteration")
    parser.add_argument("--domains", default=",".join(DOMAINS),
                        help="comma-separated: chart,svg,html,table (gallery scripts are charts)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated: {','.join(VARIANTS)}")
    parser.add_argument("--gallery", type=int, default=None,
                        help=f"how many of the {len(GALLERY)} listed matplotlib gallery scripts "
                             f"(0: none, nothing fetched; default {GALLERY_DEFAULT}, 4 with "
                             "--quick)")
    parser.add_argument("--pairs", type=int, default=None,
                        help="single-error pairs per source (default 3, 2 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="sources judged at once (threads)")
    parser.add_argument("--json", type=Path, default=None, help="write per-pair details here")
    parser.add_argument("--sources", nargs="*", default=None,
                        help="only these repository paths (relative to the repo root)")
    args = parser.parse_args(argv)
    args.domains = [d for d in args.domains.split(",") if d]
    args.variants = [v for v in args.variants.split(",") if v]
    unknown = [d for d in args.domains if d not in DOMAINS] + [
        v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown domain or variant: {', '.join(unknown)}")
    if args.pairs is None:
        args.pairs = 2 if args.quick else 3
    if args.gallery is None:
        args.gallery = len(QUICK_GALLERY) if args.quick else GALLERY_DEFAULT
    return args


def select_items(args: argparse.Namespace) -> list[Item]:
    """The repository's sources (all, the quick ones, or those named), then the gallery's."""
    items = repo_items(args.domains)
    wanted = args.sources if args.sources is not None else (
        QUICK_SOURCES if args.quick else None)
    if wanted is not None:
        items = [i for i in items if i.key in set(wanted)]
    if "chart" in args.domains:
        items += gallery_items(args.gallery, args.quick)
    return items


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    items = select_items(args)
    start = time.perf_counter()
    outcomes = run_all(items, args)
    dump = report(outcomes, args, time.perf_counter() - start)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dump, indent=1, ensure_ascii=False) + "\n",
                             encoding="utf-8")
        print(f"per-pair details: {args.json}")
    return dump


if __name__ == "__main__":
    main()
