"""synth's pipeline: sources → mutations → renders → rows → a split dataset on disk.

Every source is one unit of work (its reference render, then its mutations' renders), so a
source's pairs come from one worker and all go to one split. A unit's randomness is seeded by
``(seed, source key)`` alone, which makes the dataset the same whichever worker ran it and in
whichever order the units finished. Rendering goes through verm's own ``Checker`` — the warm
fork-server sandbox for scripts and SVG, the pooled browser for pages and tables — exactly as
``verm check`` renders.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from PIL import Image

from verm.source import SourceError, kind_of
from verm.types import TAXONOMY
from verm_training.data import COLUMNS, make_row
from verm_training.synth.mutation import Mutation

DOMAINS = tuple(TAXONOMY)
ATTEMPTS_PER_PAIR = 3  # mutations tried per wanted pair, at most (no-ops and failures cost one)


@dataclass
class Unit:
    """One source to synthesise from, with the key that names it in rows and seeds."""

    path: Path
    key: str
    kind: str


@dataclass
class Outcome:
    """What one source gave: rows (in a fixed order) and its counts."""

    key: str
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    tried: int = 0
    noop: int = 0
    duplicate: int = 0
    failed: int = 0
    failure: str | None = None  # the source itself could not be used (reference render failed)
    render_s: float = 0.0
    judge_s: float = 0.0


@dataclass
class SynthReport:
    """``out/synth.json``: what was made, what was dropped and why, and where time went."""

    out: str
    seed: int
    pairs: int = 0
    train: int = 0
    test: int = 0
    sources: int = 0
    train_sources: list[str] = field(default_factory=list)
    test_sources: list[str] = field(default_factory=list)
    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped_noop: int = 0
    dropped_duplicate: int = 0
    failed_renders: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    render_s: float = 0.0
    judge_s: float = 0.0
    write_s: float = 0.0
    workers: int = 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---- sources and split ------------------------------------------------------------------------

def collect(sources: Iterable[str | Path], domains: Iterable[str] | None = None) -> list[Unit]:
    """The source files named (files, or folders searched recursively), in a stable order,
    keyed by their path relative to the folder all of them share."""
    wanted = set(domains or DOMAINS)
    files: set[Path] = set()
    for item in sources:
        path = Path(item).absolute()
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file() and kind_of(p) is not None
                         and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file() and kind_of(path) is not None:
            files.add(path)
        elif not path.exists():
            raise SourceError(f"{path}: no such file or folder")
    files = {f for f in files if kind_of(f) in wanted}
    if not files:
        return []
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    return [Unit(f, f.relative_to(root).as_posix(), str(kind_of(f))) for f in sorted(files)]


def split(keys: Iterable[str], seed: int, test_share: float) -> set[str]:
    """The keys of the test split: a seeded choice of whole sources (never a source in both).
    With two or more sources and a positive share, at least one goes to each side."""
    ordered = sorted(set(keys))
    random.Random(f"verm-synth-split:{seed}").shuffle(ordered)
    n = round(len(ordered) * test_share)
    if len(ordered) >= 2 and test_share > 0:
        n = min(max(n, 1), len(ordered) - 1)
    return set(ordered[:n])


# ---- one source ------------------------------------------------------------------------------

def candidates(text: str, kind: str, rng: random.Random) -> list[Mutation]:
    """The source's mutations in the order they are tried: distinct texts, families shuffled
    and taken in turn, so a handful of pairs covers many kinds of error."""
    from verm_training.synth import chart, html, svg, table

    module = {"chart": chart, "svg": svg, "html": html, "table": table}[kind]
    seen = {text}
    families: dict[str, list[Mutation]] = {}
    for m in module.mutations(text, rng):
        if m.text not in seen:
            seen.add(m.text)
            families.setdefault(m.family, []).append(m)
    order = sorted(families)
    rng.shuffle(order)
    for name in order:
        rng.shuffle(families[name])
    out: list[Mutation] = []
    while any(families.values()):
        for name in order:
            if families[name]:
                out.append(families[name].pop())
    return out


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


def encoded(image: Image.Image) -> dict[str, Any]:
    """A row's image as PNG bytes, encoded here in the worker (in parallel, the GIL released
    while zlib works) rather than one by one when the dataset is saved; a fast compression
    level: the dataset is written once and read by a trainer, size matters less than time."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return {"bytes": buffer.getvalue(), "path": None}


def synth_source(checker: Any, unit: Unit, seed: int, pairs: int, image_size: int) -> Outcome:
    """Up to ``pairs`` rows for one source: its render is the reference, each mutation's
    render the prediction; pixel-identical renders (no visible change) are dropped."""
    outcome = Outcome(unit.key, unit.kind)
    try:
        source = checker.load(unit.path)
    except Exception as exc:  # unreadable: the source's problem, reported, never a crash
        outcome.failure = str(exc)
        return outcome
    t = time.perf_counter()
    reference = checker.render(source)
    outcome.render_s += time.perf_counter() - t
    if not reference.ok:
        outcome.failure = f"the source did not render: {reference.failure.message}"
        return outcome
    rng = random.Random(f"verm-synth:{seed}:{unit.key}")
    shown: list[Image.Image] = [reference.image]
    ref_png: dict[str, Any] | None = None  # encoded once for all of this source's rows
    for mutation in candidates(source.text, unit.kind, rng):
        if len(outcome.rows) >= pairs or outcome.tried >= pairs * ATTEMPTS_PER_PAIR:
            break
        outcome.tried += 1
        t = time.perf_counter()
        render = checker.render(checker.load(unit.path, mutation.text))
        outcome.render_s += time.perf_counter() - t
        t = time.perf_counter()
        if not render.ok:
            outcome.failed += 1
        elif same_pixels(render.image, reference.image):
            outcome.noop += 1
        elif any(same_pixels(render.image, other) for other in shown[1:]):
            outcome.duplicate += 1
        else:
            shown.append(render.image)
            row = make_row(unit.kind, reference.image, render.image, list(mutation.labels),
                           source=unit.key, mutation=mutation.name, longest=image_size)
            if ref_png is None:
                ref_png = encoded(row["images"][0])
            row["images"] = [ref_png, encoded(row["images"][1])]
            outcome.rows.append(row)
        outcome.judge_s += time.perf_counter() - t
    return outcome


# ---- workers ---------------------------------------------------------------------------------

_worker_checker: Any = None  # one per worker process, made by _init_worker


def _init_worker(critic: str | None) -> None:
    """A worker's own Checker (its own fork server and browser), closed when the worker ends."""
    from multiprocessing import util

    from verm.check import Checker
    from verm.render import Renderers

    global _worker_checker
    _worker_checker = Checker(critic=critic or "analytic", renderers=Renderers(batch=True))
    util.Finalize(None, _worker_checker.close, exitpriority=10)


def _work(job: tuple[Callable[..., Outcome], Unit, dict[str, Any]]) -> Outcome:
    fn, unit, kwargs = job
    return fn(_worker_checker, unit, **kwargs)


def run_units(units: list[Unit], fn: Callable[..., Outcome], kwargs: dict[str, Any], *,
              workers: int, checker: Any = None, critic: str | None = None,
              progress: bool | None = None, pool: str = "thread") -> list[Outcome]:
    """``fn(checker, unit, **kwargs)`` for every unit, results in the units' order, with a
    progress bar on a terminal.

    ``pool="thread"``: ``workers`` threads over one Checker — its renders already run in forked
    sandbox children (charts, SVG), so threads only wait, and one set of warm renderers is
    started instead of one per process. ``pool="process"``: ``workers`` processes, each with
    its own Checker (own fork server and browser: more start-up, but pages and tables render
    in parallel browsers and the parent's Python work is spread too).
    """
    bar = _progress(len(units), progress)
    results: dict[str, Outcome] = {}
    try:
        if pool == "process" and workers > 1 and len(units) > 1:
            with ProcessPoolExecutor(max_workers=min(workers, len(units)),
                                     mp_context=get_context("spawn"),
                                     initializer=_init_worker, initargs=(critic,)) as procs:
                futures = {procs.submit(_work, (fn, unit, kwargs)): unit for unit in units}
                for future in as_completed(futures):
                    unit = futures[future]
                    results[unit.key] = future.result()
                    bar(unit.key)
        else:
            own = checker is None
            if own:
                from verm.check import Checker
                from verm.render import Renderers

                checker = Checker(critic=critic or "analytic", renderers=Renderers(batch=True))
            try:
                with ThreadPoolExecutor(max_workers=max(1, min(workers, len(units)))) as threads:
                    futures = {threads.submit(fn, checker, unit, **kwargs): unit
                               for unit in units}
                    for future in as_completed(futures):
                        unit = futures[future]
                        results[unit.key] = future.result()
                        bar(unit.key)
            finally:
                if own:
                    checker.close()
    finally:
        bar(None)
    return [results[u.key] for u in units]


def _progress(total: int, enabled: bool | None) -> Callable[[str | None], None]:
    """A tqdm bar on stderr when it is a terminal (or when asked); ``None`` closes it."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return lambda _key: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="source", file=sys.stderr, desc="verm synth")

    def update(key: str | None) -> None:
        if key is None:
            bar.close()
        else:
            bar.set_postfix_str(key[-40:], refresh=False)
            bar.update(1)

    return update


# ---- writing ---------------------------------------------------------------------------------

def features() -> Any:
    """The dataset's columns (``verm_training.data.COLUMNS``) as ``datasets`` features."""
    from datasets import Features, List, Value
    from datasets import Image as ImageFeature

    message = List({"role": Value("string"),
                    "content": List({"type": Value("string"), "text": Value("string")})})
    feats = Features({"images": List(ImageFeature()), "prompt": message, "completion": message,
                      "domain": Value("string"), "source": Value("string"),
                      "mutation": Value("string"), "labels": Value("string"),
                      "severity": Value("int64")})
    assert tuple(feats) == COLUMNS
    return feats


def write(out: Path, train: list[dict[str, Any]], test: list[dict[str, Any]]) -> None:
    """Save ``{"train", "test"}`` with ``save_to_disk`` (an empty split still loads back)."""
    import pyarrow as pa
    from datasets import Dataset, DatasetDict

    feats = features()
    splits = {}
    for name, rows in (("train", train), ("test", test)):
        splits[name] = (Dataset.from_list(rows, features=feats) if rows
                        else Dataset(pa.Table.from_pylist([], schema=feats.arrow_schema)))
    shards = {name: 1 for name, rows in (("train", train), ("test", test)) if not rows}
    DatasetDict(splits).save_to_disk(str(out), num_shards=shards or None)


def report_into(report: SynthReport, outcomes: list[Outcome], test_keys: set[str]) -> None:
    """Counts per domain and category, drops and failures, from the sources' outcomes."""
    for o in outcomes:
        d = report.domains.setdefault(o.kind, {"sources": 0, "pairs": 0, "categories": {},
                                               "dropped_noop": 0, "failures": 0})
        d["sources"] += 1
        d["pairs"] += len(o.rows)
        d["dropped_noop"] += o.noop
        d["failures"] += o.failed + (o.failure is not None)
        cats = Counter(d["categories"])
        for row in o.rows:
            cats.update(label["category"] for label in json.loads(row["labels"]))
        d["categories"] = dict(sorted(cats.items()))
        report.dropped_noop += o.noop
        report.dropped_duplicate += o.duplicate
        report.failed_renders += o.failed
        report.render_s += o.render_s
        report.judge_s += o.judge_s
        if o.failure is not None:
            report.failures.append({"source": o.key, "reason": o.failure})
        (report.test_sources if o.key in test_keys else report.train_sources).append(o.key)
    report.sources = len(outcomes)
    report.pairs = sum(len(o.rows) for o in outcomes)


def finish(out: Path, report: SynthReport, outcomes: list[Outcome], test_keys: set[str],
           card: str) -> SynthReport:
    """Write the dataset, ``synth.json`` and ``README.md``; fill in the report's totals."""
    report_into(report, outcomes, test_keys)
    train = [row for o in outcomes if o.key not in test_keys for row in o.rows]
    test = [row for o in outcomes if o.key in test_keys for row in o.rows]
    report.train, report.test = len(train), len(test)
    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    write(out, train, test)
    report.write_s = time.perf_counter() - t
    (out / "README.md").write_text(card_text(report, card), encoding="utf-8")
    return report


def save_report(out: Path, report: SynthReport) -> None:
    report.seconds = round(report.seconds, 3)
    for key in ("render_s", "judge_s", "write_s"):
        setattr(report, key, round(getattr(report, key), 3))
    (out / "synth.json").write_text(json.dumps(report.to_json(), indent=2) + "\n",
                                    encoding="utf-8")


def card_text(report: SynthReport, how: str) -> str:
    """A short dataset card: what the rows are, how they were made, the counts."""
    lines = [
        "# verm reward-model dataset", "",
        f"{how} Rows follow `verm_training.data` (images [reference, render], the model "
        "critic's prompt, the critique as completion, labels as columns).", "",
        f"- pairs: {report.pairs} (train {report.train}, test {report.test}); split by source "
        f"({len(report.train_sources)} train, {len(report.test_sources)} test sources), "
        f"seed {report.seed}",
        f"- dropped: {report.dropped_noop} no-op (pixel-identical) renders, "
        f"{report.dropped_duplicate} duplicates, {report.failed_renders} failed renders; "
        f"{len(report.failures)} sources unusable", "",
        "| domain | sources | pairs | categories |", "| --- | --- | --- | --- |",
    ]
    for domain, d in sorted(report.domains.items()):
        cats = ", ".join(f"{k} {v}" for k, v in d["categories"].items())
        lines.append(f"| {domain} | {d['sources']} | {d['pairs']} | {cats} |")
    lines += ["", "Load it with `datasets.load_from_disk(PATH)`; details in `synth.json`.", ""]
    return "\n".join(lines)

