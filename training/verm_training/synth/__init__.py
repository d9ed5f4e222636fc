"""``verm train synth``: reward-model data from a team's own sources, with exact labels.

Each source is rendered as it is (the reference) and after deterministic mutations — AST edits
of chart scripts, attribute and text edits of SVG and HTML, cell/row/column edits of Markdown
tables — whose labels (category, severity, location, description, line) are known by
construction. ``--from-git`` instead pairs today's references with older versions of the
pinned sources from the repository's history, labelled by a critic (weak labels, real edits).

The CLI wires ``add_arguments`` and ``run``; tests and benchmarks call ``synthesize``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from verm_training.synth.core import (
    DOMAINS,
    SynthReport,
    collect,
    finish,
    run_units,
    save_report,
    split,
    synth_source,
)

__all__ = ["SynthReport", "add_arguments", "run", "synthesize", "synthesize_from_git"]


def synthesize(sources: Iterable[str | Path], out: str | Path, pairs_per_source: int = 8,
               seed: int = 0, *, test_share: float = 0.2, workers: int = 1,
               image_size: int = 1024, domains: Iterable[str] | None = None,
               checker: Any = None, progress: bool | None = None,
               pool: str = "thread") -> SynthReport:
    """Mutate every source, render both sides, write the split dataset to ``out``.

    ``workers`` sources are worked on at once: threads over one ``checker`` (default; made
    here when None — tests pass one to share its warm renderers) or, with
    ``pool="process"``, processes with a Checker each (see ``core.run_units``).
    """
    start = time.perf_counter()
    out = Path(out)
    units = collect(sources, domains)
    test_keys = split([u.key for u in units], seed, test_share)
    outcomes = run_units(units, synth_source, {"seed": seed, "pairs": pairs_per_source,
                                               "image_size": image_size},
                         workers=workers, checker=checker, progress=progress, pool=pool)
    report = SynthReport(out=str(out), seed=seed, workers=workers)
    finish(out, report, outcomes, test_keys,
           f"Pairs made by deterministic mutation of {len(units)} sources "
           f"({pairs_per_source} per source wanted): the reference is the original's render, "
           "the prediction the mutated source's render, the labels exact.")
    report.seconds = time.perf_counter() - start
    save_report(out, report)
    return report


def synthesize_from_git(repo: str | Path, out: str | Path, seed: int = 0, *,
                        test_share: float = 0.2, workers: int = 1, image_size: int = 1024,
                        critic: str = "analytic", max_commits: int = 20,
                        domains: Iterable[str] | None = None, checker: Any = None,
                        progress: bool | None = None) -> SynthReport:
    """Pairs from the history of ``repo``'s pinned sources (see ``synth.history``)."""
    from verm_training.synth.history import git_units, history_source

    start = time.perf_counter()
    out = Path(out)
    units = git_units(Path(repo), domains)
    test_keys = split([u.key for u in units], seed, test_share)
    outcomes = run_units(units, history_source,
                         {"repo": str(Path(repo).absolute()), "max_commits": max_commits,
                          "image_size": image_size},
                         workers=workers, checker=checker, critic=critic, progress=progress)
    report = SynthReport(out=str(out), seed=seed, workers=workers)
    finish(out, report, outcomes, test_keys,
           f"Pairs from the git history of {len(units)} pinned sources: the reference is "
           "today's pinned reference, the prediction an older version's render, the labels "
           f"the {critic} critic's findings (weak labels from real edits).")
    report.seconds = time.perf_counter() - start
    save_report(out, report)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``verm train synth``."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--sources", nargs="+", metavar="PATH",
                      help="source files or folders (searched recursively) to mutate")
    what.add_argument("--from-git", metavar="REPO",
                      help="make pairs from the history of the repository's pinned sources")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write")
    parser.add_argument("--pairs-per-source", type=_positive, default=8, metavar="N",
                        help="pairs wanted per source (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of mutations and split")
    parser.add_argument("--test-share", type=_share, default=0.2, metavar="F",
                        help="share of sources in the test split (default 0.2)")
    parser.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes, each with its own renderers (default: cores)")
    parser.add_argument("--image-size", type=_positive, default=1024, metavar="PX",
                        help="longest side of the images stored (default 1024)")
    parser.add_argument("--critic", choices=("analytic", "model", "remote"), default="analytic",
                        help="the critic that labels --from-git pairs (default analytic)")
    parser.add_argument("--max-commits", type=_positive, default=20, metavar="N",
                        help="older versions per source for --from-git (default 20)")
    parser.add_argument("--domains", nargs="+", choices=DOMAINS, metavar="DOMAIN",
                        help=f"only these domains ({', '.join(DOMAINS)})")


def run(args: argparse.Namespace) -> int:
    """Run ``verm train synth``; 0 when pairs were written, 1 when none were, 2 on bad input."""
    from verm.source import SourceError

    try:
        if getattr(args, "from_git", None):
            report = synthesize_from_git(
                args.from_git, args.out, args.seed, test_share=args.test_share,
                workers=args.workers, image_size=args.image_size, critic=args.critic,
                max_commits=args.max_commits, domains=args.domains)
        else:
            report = synthesize(args.sources, args.out, args.pairs_per_source, args.seed,
                                test_share=args.test_share, workers=args.workers,
                                image_size=args.image_size, domains=args.domains)
    except (SourceError, NotADirectoryError, ValueError) as exc:
        print(f"verm train synth: {exc}", file=sys.stderr)
        return 2
    print(f"verm train synth: {report.pairs} pairs ({report.train} train, {report.test} test) "
          f"from {report.sources} sources in {report.seconds:.1f} s; {report.dropped_noop} "
          f"no-op mutations dropped; {len(report.failures)} sources unusable → {args.out}",
          file=sys.stderr)
    for failure in report.failures:
        print(f"  {failure['source']}: {failure['reason']}", file=sys.stderr)
    return 0 if report.pairs else 1


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return n


def _share(value: str) -> float:
    f = float(value)
    if not 0 <= f < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a share in [0, 1)")
    return f
