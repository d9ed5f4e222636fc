"""verm on code nobody here wrote: the real-world corpus, judged source by source.

The corpus (``corpus_sources``): matplotlib 3.7.5's gallery scripts, the SVG icons of four npm
icon packages, coverage.py's HTML reports and the GFM tables of the packages' Markdown files,
all fetched from the registries and pinned by sha256 in ``tests/corpus/manifest.json``.

Per source, through the real pipeline (one warm ``Checker``, sources on ``--jobs`` threads):

1. render it; a failed render is classified: the script's own (``SCRIPT_CLASSES``: a data file
   or program it needs, a module not installed, an API removed since 3.7.5, a GUI event loop,
   past the timeout, ...) or verm's (anything else, e.g. the anchor code raising while drawing);
2. pin that render (PNG + sidecar) and check the source against it: identity, so every
   finding is a false positive (unless a second render differs: an unseeded script);
3. check it against the same picture as a designer's screenshot, with no sidecar: JPEG q80,
   drawn at 2× (HiDPI) and cropped (the critic-quality benchmark's variants): every finding of
   severity ≥ 2 is a false positive.

    .venv/bin/python benchmarks/corpus.py [--domains chart,svg,html,table] [--limit N]
        [--icons-per-package N] [--sample] [--jobs N] [--json out.json] [--mutations N]

``--sample`` runs the fixed sample the test runs; ``--write-sample`` (re)writes that sample and
its expected script-own failures into the manifest from this run. ``--mutations N`` also judges
``verm train synth``'s mutations of N sources a domain (the critic-quality benchmark's pairs
and definitions) and prints recall and precision per domain and variant.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus_sources  # noqa: E402
from corpus_sources import DOMAINS, CorpusItem  # noqa: E402
from critic_quality import make_references, same_pixels  # noqa: E402
from critic_quality_metrics import percentile  # noqa: E402
from verm.check import Checker, CriticError  # noqa: E402
from verm.render import Renderers  # noqa: E402
from verm.types import Discrepancy, RenderFailure  # noqa: E402

SCREENSHOTS = ("jpeg", "hidpi", "cropped")
SEVERE = 2  # a screenshot variant's finding of this severity or more is a false positive
HANG_S = 120.0  # a source whose judging takes longer than this is reported as a hang
SAMPLE_SIZES = {"chart": 60, "svg": 300, "html": 16, "table": 30}
SAMPLE_SEED = "verm-corpus-sample-1"
DEFAULT_ICONS_PER_PACKAGE = 500

# A failure that is the source's own, not verm's: class → what it means.
SCRIPT_CLASSES: dict[str, str] = {
    "data_file": "reads a data file the sdist does not ship (or a sample file since removed)",
    "missing_program": "runs a program that is not installed (ffmpeg, LaTeX)",
    "missing_module": "imports an optional module that is not installed (a GUI toolkit, ...)",
    "removed_api": "calls a matplotlib (or numpy) API removed or changed since 3.7.5",
    "interactive": "needs a display or a GUI backend, or waits on user input (a timeout)",
    "slow": "draws for longer than the render timeout (10 s by default)",
    "needs_arguments": "expects command-line arguments and exits without them",
    "no_figure": "draws no matplotlib figure (prints, or writes files only)",
    "subprocesses": "starts worker processes, which the sandbox does not allow",
    "nondeterministic": "two renders differ (unseeded randomness or the clock)",
}
# A failure that is verm's: class → what it means. Each fails the test.
VERM_CLASSES: dict[str, str] = {
    "render_crash": "the render failed in verm's own code (anchors, hooks, capture)",
    "render_failure": "the render failed for a reason not classified as the source's own",
    "critic_crash": "the critic raised on this pair of images",
    "identity_fp": "findings against the source's own pinned render",
    "screenshot_fp": "findings of severity >= 2 against a screenshot of its own render",
    "hang": f"judging the source took more than {HANG_S:g} s",
    "crash": "an exception escaped the pipeline",
}

INTERACTIVE = re.compile(r"ginput|waitforbuttonpress|\binput\(|mainloop\(|start_event_loop")
REMOVED_API = re.compile(
    r"unexpected keyword argument|has no attribute|cannot import name|is not a valid value for|"
    r"unsupported operand type\(s\) for -: 'StyleFlags'|takes \d+ positional argument")


@dataclass
class Result:
    """What one source gave."""

    key: str
    kind: str
    package: str
    status: str = "ok"  # "ok", "script" (the source's own failure) or "verm"
    klass: str = ""  # the failure's class (SCRIPT_CLASSES or VERM_CLASSES)
    reason: str = ""
    identity: list[str] = field(default_factory=list)  # findings against the pinned render
    screenshot: dict[str, list[str]] = field(default_factory=dict)  # variant → sev ≥ 2 findings
    minor: int = 0  # severity-1 findings against screenshots (allowed; counted)
    known: list[str] = field(default_factory=list)  # findings the manifest lists as known
    check_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


def finding_text(d: Discrepancy) -> str:
    """A finding as the manifest records a known one: category, severity, location, words."""
    return f"{d.category}/{d.severity} {d.location}: {d.description}"


# ---- classification --------------------------------------------------------------------------

def classify_failure(failure: RenderFailure, text: str) -> tuple[str, str]:
    """(status, class) of a failed render: the source's own when the message says so, else
    verm's. A traceback through verm's own code is verm's, whatever it says."""
    message, detail = failure.message, failure.detail or ""
    if re.search(r"No such file or directory: '(ffmpeg|latex|dvipng|convert|gs)'|"
                 r"latex could not be found|ffmpeg", message):
        return "script", "missing_program"  # (a draw that needs LaTeX fails in the draw)
    if re.search(r"Failed to import any of the following Qt binding|example requires \w+",
                 message):
        return "script", "missing_module"
    if "drawing the figure failed" in message or "/verm/" in detail:
        return "verm", "render_crash"
    if message.startswith("TclError: no display name"):
        return "script", "interactive"
    if failure.reason == "timeout":  # waiting on the user, or merely slow
        return "script", "interactive" if INTERACTIVE.search(text) else "slow"
    if re.search(r"'NoneType' object has no attribute '(add_tool|toolmanager|window)'",
                 message):
        return "script", "interactive"  # the figure manager's GUI parts (Agg has none)
    if failure.reason == "no-figure":
        return "script", "needs_arguments" if "sys.exit" in message else "no_figure"
    if failure.reason != "exception":
        return "verm", "render_failure"
    if message.startswith(("FileNotFoundError", "OSError")):
        return "script", "data_file"
    m = re.match(r"(ModuleNotFoundError|ImportError): No module named '([\w.]+)'", message)
    if m and m.group(2).split(".")[0] not in ("matplotlib", "mpl_toolkits", "numpy", "verm"):
        return "script", "missing_module"
    if message.startswith(("BrokenPipeError", "PermissionError")) and (
            "multiprocessing" in text or "Pool(" in text):
        return "script", "subprocesses"
    if REMOVED_API.search(message):
        return "script", "removed_api"
    return "verm", "render_failure"


# ---- one source ------------------------------------------------------------------------------

def judge_source(checker: Checker, item: CorpusItem, tmp: Path,
                 known: dict[str, list[str]] | None = None,
                 variants: Sequence[str] = SCREENSHOTS) -> Result:
    """Render, pin and check ``item`` (see the module's docstring); never raises."""
    out = Result(item.key, item.kind, item.package)
    known_here = set((known or {}).get(item.key, ()))
    t0 = time.perf_counter()
    try:
        source = checker.load(item.path)
        reference = checker.render(source)
        if not reference.ok or reference.image is None:
            failure = reference.failure or RenderFailure("blank", "no image")
            out.status, out.klass = classify_failure(failure, source.text)
            out.reason = failure.message[:300]
            return out
        folder = tmp / re.sub(r"[^\w.-]+", "_", item.key)
        refs = make_references(checker, item, reference, folder, ("sidecar", *variants))
        result = checker.check(source, refs.pop("sidecar"))
        out.check_ms.append(result.elapsed_ms)
        if result.discrepancies:
            if not same_pixels(result.render.image, reference.image):
                out.status, out.klass = "script", "nondeterministic"
                out.reason = "a second render differs from the first"
                return out
            out.identity = _unknown(result.discrepancies, known_here, out)
        for variant, path in refs.items():
            result = checker.check(source, path)
            out.check_ms.append(result.elapsed_ms)
            severe = [d for d in result.discrepancies if d.severity >= SEVERE]
            out.minor += len(result.discrepancies) - len(severe)
            found = _unknown(severe, known_here, out, variant)
            if found:
                out.screenshot[variant] = found
        if out.identity:
            out.status, out.klass = "verm", "identity_fp"
        elif out.screenshot:
            out.status, out.klass = "verm", "screenshot_fp"
    except CriticError as exc:
        out.status, out.klass, out.reason = "verm", "critic_crash", str(exc)[:300]
    except Exception as exc:
        out.status, out.klass = "verm", "crash"
        out.reason = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        out.seconds = time.perf_counter() - t0
        if out.seconds > HANG_S and out.status != "verm":
            out.status, out.klass = "verm", "hang"
            out.reason = f"{out.seconds:.0f} s"
    return out


def _unknown(found: Sequence[Discrepancy], known: set[str], out: Result,
             variant: str = "sidecar") -> list[str]:
    """The findings the manifest does not list as known critic findings of this source
    (``variant: text``); the known ones are kept in ``out.known``."""
    fresh = []
    for d in found:
        text = f"{variant}: {finding_text(d)}"
        (out.known if text in known else fresh).append(text)
    return fresh


def run(items: Sequence[CorpusItem], jobs: int = 2, known: dict[str, list[str]] | None = None,
        progress: Callable[[int, int, Result], None] | None = None,
        variants: Sequence[str] = SCREENSHOTS, rotate: bool = False) -> list[Result]:
    """Every item judged on ``jobs`` threads over one warm Checker, in the items' order;
    ``rotate``: each source against one screenshot variant, in turn within its domain (a third
    of the time, every variant still on a third of each domain)."""
    results: dict[str, Result] = {}
    lock = threading.Lock()
    turn: Counter[str] = Counter()

    def variants_of(item: CorpusItem) -> Sequence[str]:
        if not rotate:
            return variants
        turn[item.kind] += 1
        return (variants[(turn[item.kind] - 1) % len(variants)],)

    with Checker(critic="analytic", renderers=Renderers(batch=True)) as checker, \
            tempfile.TemporaryDirectory(prefix="verm-corpus-") as tmp, \
            ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(judge_source, checker, item, Path(tmp), known, variants_of(item))
                   for item in items]
        for n, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            with lock:
                results[result.key] = result
            if progress is not None:
                progress(n, len(items), result)
    return [results[item.key] for item in items]


# ---- selection -------------------------------------------------------------------------------

def select(domains: Sequence[str], icons_per_package: int | None = DEFAULT_ICONS_PER_PACKAGE,
           limit: int | None = None) -> list[CorpusItem]:
    """The corpus in ``domains``; icons capped per package (a fixed, spread-out choice)."""
    chosen = []
    for item in corpus_sources.items(tuple(domains)):
        chosen.append(item)
    if icons_per_package is not None:
        by_pkg: dict[str, list[CorpusItem]] = {}
        for item in chosen:
            if item.kind == "svg":
                by_pkg.setdefault(item.package, []).append(item)
        keep = {i.key for icons in by_pkg.values() for i in spread(icons, icons_per_package)}
        chosen = [i for i in chosen if i.kind != "svg" or i.key in keep]
    if limit is not None:
        keep = {i.key for d in DOMAINS for i in spread([i for i in chosen if i.kind == d], limit)}
        chosen = [i for i in chosen if i.key in keep]
    return chosen


def spread(items: Sequence[CorpusItem], n: int) -> list[CorpusItem]:
    """``n`` items evenly spread over the (sorted) list: every letter of an icon set."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def sample_keys(everything: Sequence[CorpusItem]) -> dict[str, list[str]]:
    """The fixed sample the test runs: per domain a seeded random choice of the given size
    (icons spread over the packages in proportion), sorted."""
    rng = random.Random(SAMPLE_SEED)
    out: dict[str, list[str]] = {}
    for domain in DOMAINS:
        keys = sorted(i.key for i in everything if i.kind == domain)
        size = SAMPLE_SIZES[domain]
        out[domain] = sorted(rng.sample(keys, size) if size and size < len(keys) else keys)
    return out


def sample_items(manifest: dict) -> list[CorpusItem]:
    """The manifest's fixed sample, as corpus items (fetching what is missing)."""
    wanted = {key for keys in manifest["sample"].values() for key in keys}
    domains = tuple(d for d in DOMAINS if manifest["sample"].get(d))
    found = {i.key: i for i in corpus_sources.items(domains) if i.key in wanted}
    missing = sorted(wanted - set(found))
    if missing:
        raise LookupError(f"the sample names sources the corpus lacks: {missing[:5]}")
    return [found[k] for d in DOMAINS for k in manifest["sample"].get(d, [])]


# ---- report ----------------------------------------------------------------------------------

def summary(results: Sequence[Result], seconds: float) -> list[str]:
    lines = ["", "| domain | sources | ok | script's own | verm's | identity FPs | "
             "screenshot sev>=2 FPs | known critic findings | p50 check ms | p95 check ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for domain in [*DOMAINS, "all"]:
        mine = [r for r in results if domain in ("all", r.kind)]
        if not mine:
            continue
        times = [t for r in mine for t in r.check_ms]
        lines.append(
            f"| {domain} | {len(mine)} | {sum(r.status == 'ok' for r in mine)} | "
            f"{sum(r.status == 'script' for r in mine)} | "
            f"{sum(r.status == 'verm' for r in mine)} | "
            f"{sum(len(r.identity) for r in mine)} ({sum(bool(r.identity) for r in mine)} src) | "
            f"{sum(len(v) for r in mine for v in r.screenshot.values())} "
            f"({sum(bool(r.screenshot) for r in mine)} src) | "
            f"{sum(len(r.known) for r in mine)} | "
            f"{percentile(times, 50):.0f} | {percentile(times, 95):.0f} |")
    by_class = Counter((r.status, r.klass) for r in results if r.status != "ok")
    if by_class:
        lines += ["", "failures by class:"]
        for (status, klass), n in sorted(by_class.items()):
            meaning = (SCRIPT_CLASSES if status == "script" else VERM_CLASSES)[klass]
            lines.append(f"  {status:6} {klass:16} {n:4}  ({meaning})")
    verm = [r for r in results if r.status == "verm"]
    if verm:
        lines += ["", "verm's failures:"]
        for r in verm:
            lines.append(f"  {r.key}: {r.klass} {r.reason}")
            lines += [f"    {f}" for f in r.identity]
            lines += [f"    {f}" for v in r.screenshot.values() for f in v]
    script = [r for r in results if r.status == "script"]
    if script:
        lines += ["", "the sources' own failures:"]
        lines += [f"  {r.key}: {r.klass}: {r.reason[:140]}" for r in script]
    lines.append(f"\ntime: {seconds:.0f} s")
    return lines


# ---- mutations -------------------------------------------------------------------------------

def mutations(items: Sequence[CorpusItem], per_domain: int, args: argparse.Namespace) -> None:
    """Recall and precision on ``verm train synth``'s mutations of ``per_domain`` rendering
    sources a domain, judged as the critic-quality benchmark judges (its pairs, variants and
    definitions)."""
    import critic_quality as cq
    from critic_quality_metrics import Item

    rng = random.Random(f"verm-corpus-mutations:{args.seed}")
    chosen: list[Item] = []
    for domain in DOMAINS:
        mine = [i for i in items if i.kind == domain]
        for i in rng.sample(mine, min(per_domain, len(mine))):
            chosen.append(Item(i.path, i.key, i.kind, "corpus"))
    qargs = argparse.Namespace(pairs=args.pairs, seed=args.seed,
                               variants=["sidecar", *SCREENSHOTS], jobs=args.jobs)
    outcomes = cq.run_all(chosen, qargs)
    from critic_quality_metrics import summarize

    judged = [j for o in outcomes for j in o.judged if j.critic == "analytic"]
    print("\n== mutations (verm train synth) — analytic critic\n")
    print("| domain | reference | sources | pairs | labels | findings | precision | recall |"
          " identity FPs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for domain in [*DOMAINS, "all"]:
        for variant in qargs.variants:
            mine = [j for j in judged if j.variant == variant
                    and domain in ("all", j.item.kind)]
            if not mine:
                continue
            s = summarize(mine)
            print(f"| {domain} | {variant} | {s['sources']} | {s['pairs']} | {s['labels']} | "
                  f"{s['findings']} | {s['precision']:.2f} | {s['recall']:.2f} | "
                  f"{s['identity_fp']} |")
    skipped = [o for o in outcomes if o.skipped]
    for o in skipped:
        print(f"  skipped {o.item.key}: {o.skipped}")


# ---- main ------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", default=",".join(DOMAINS))
    parser.add_argument("--limit", type=int, default=None,
                        help="at most N sources a domain, spread over it")
    parser.add_argument("--icons-per-package", type=int, default=DEFAULT_ICONS_PER_PACKAGE,
                        help="icons a package, spread over it (0: all of them; default "
                             f"{DEFAULT_ICONS_PER_PACKAGE})")
    parser.add_argument("--sample", action="store_true", help="only the test's fixed sample")
    parser.add_argument("--write-sample", action="store_true",
                        help="write a fresh sample and its expected script failures into the "
                             "manifest (from this run of it)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--mutations", type=int, default=0,
                        help="also judge synth mutations of N sources a domain")
    parser.add_argument("--pairs", type=int, default=2, help="mutation pairs a source")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.domains = [d for d in args.domains.split(",") if d]
    if unknown := [d for d in args.domains if d not in DOMAINS]:
        parser.error(f"unknown domain: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> list[Result]:
    args = parse_args(argv)
    manifest = corpus_sources.load_manifest()
    if args.write_sample:
        manifest["sample"] = sample_keys(corpus_sources.items(tuple(args.domains)))
    if args.sample or args.write_sample:
        items = sample_items(manifest)
    else:
        items = select(args.domains, args.icons_per_package or None, args.limit)
    print(f"{len(items)} sources: {dict(Counter(i.kind for i in items))}", file=sys.stderr)

    def progress(n: int, total: int, r: Result) -> None:
        state = r.status if r.status == "ok" else f"{r.status} {r.klass} {r.reason[:100]}"
        print(f"[{n}/{total}] {r.key}: {state} ({r.seconds:.1f} s)", file=sys.stderr,
              flush=True)

    start = time.perf_counter()
    results = run(items, args.jobs, manifest.get("known_critic_findings"), progress)
    seconds = time.perf_counter() - start
    print("\n".join(summary(results, seconds)))
    if args.write_sample:
        manifest["script_failures"] = {r.key: r.klass for r in results if r.status == "script"}
        manifest["known_critic_findings"] = {
            r.key: [*r.known, *r.identity, *(f for v in r.screenshot.values() for f in v)]
            for r in results if r.klass in ("identity_fp", "screenshot_fp") or r.known}
        corpus_sources.MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"sample written to {corpus_sources.MANIFEST}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    if args.mutations:
        ok = {r.key for r in results if r.status == "ok"}
        mutations([i for i in items if i.key in ok], args.mutations, args)
    return results


if __name__ == "__main__":
    main()
