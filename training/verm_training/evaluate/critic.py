"""``verm train eval-critic``: score a critic on known errors — a synth test set or
VC-RewardBench — so a fine-tune is compared with its base model on the same pairs.

Each pair is judged the way ``verm check`` judges a source, through ``critic.judge(reference,
render)``, except that there is no source: the render is the pair's second image and has no
anchors (a model critic reads images only; the analytic critic then locates by pixels alone).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from verm.types import Reference, Render
from verm_training.evaluate.critic_flags import add_critic_flags, build_critic, critic_settings
from verm_training.evaluate.items import DataError, Pair, read_synth, read_vc_rewardbench
from verm_training.evaluate.metrics import (
    Error,
    Judge,
    Scored,
    per_category,
    score_item,
    summary,
)
from verm_training.evaluate.report import table, write_json

EXIT_OK, EXIT_USAGE = 0, 2
COLUMNS = (("F1-hard", "f1_hard", True), ("F1-soft", "f1_soft", True),
           ("P-hard", "precision_hard", True), ("R-hard", "recall_hard", True),
           ("P-soft", "precision_soft", True), ("R-soft", "recall_soft", True),
           ("sev-r", "pearson", False), ("rank-acc", "ranking_accuracy", True),
           ("reward", "mean_reward", False))
CATEGORY_COLUMNS = (("gold", "gold_errors", False), ("pred", "pred_errors", False),
                    ("P-hard", "precision_hard", True), ("R-hard", "recall_hard", True),
                    ("F1-hard", "f1_hard", True), ("F1-soft", "f1_soft", True))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, metavar="DIR",
                      help="a data set saved by `verm train synth` (its --split, default test)")
    data.add_argument("--vc-rewardbench", type=Path, metavar="FILE",
                      help="VC-RewardBench's JSONL (image paths relative to its folder)")
    parser.add_argument("--split", default="test", help="the split of --data (default test)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="score only the first N pairs")
    add_critic_flags(parser)
    parser.add_argument("--llm-matcher", action="store_true",
                        help="match errors as the paper did: ask the model at --endpoint "
                        "whether two errors are the same (yes/partial/no) instead of the "
                        "deterministic matcher")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="pairs judged at once (default: 4 for a remote critic, else 1)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.json",
                        help="write every metric and each pair's errors and matches here")


def _pairs(args: argparse.Namespace) -> list[Pair]:
    if args.vc_rewardbench is not None:
        if not args.vc_rewardbench.is_file():
            raise DataError(f"{args.vc_rewardbench}: no such file")
        return read_vc_rewardbench(args.vc_rewardbench, args.limit)
    if not args.data.is_dir():
        raise DataError(f"{args.data}: no such folder")
    return read_synth(args.data, args.split, args.limit)


def judge_pair(critic: Any, pair: Pair) -> Scored:
    """One pair through the critic; a critic that fails is recorded, not fatal (reward 0, no
    errors) so one bad image does not lose an hour of judging."""
    reference, render_image = pair.images()
    ref = Reference(path=pair.reference_path, image=reference)
    render = Render(kind=pair.domain, source=Path(pair.id),  # type: ignore[arg-type]
                    image=render_image, anchors=[])
    item = Scored(id=pair.id, domain=pair.domain, group=pair.group, gold=pair.gold, pred=[],
                  reward=0.0)
    try:
        critique = critic.judge(ref, render)
    except Exception as exc:  # a critic bug or a server down: say it per pair
        item.failed = f"{type(exc).__name__}: {exc}"
        return item
    item.pred = [Error(d.category, int(d.severity), d.location or "", d.description or "")
                 for d in critique.discrepancies]
    item.reward = float(critique.reward)
    return item


def judge_all(critic: Any, pairs: list[Pair], jobs: int) -> Iterator[Scored]:
    """Each pair's judgement in order; ``jobs`` at once for a critic that waits on a server."""
    if jobs <= 1:
        for pair in pairs:
            yield judge_pair(critic, pair)
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="eval-critic") as pool:
        yield from pool.map(lambda p: judge_pair(critic, p), pairs)


def results(items: list[Scored]) -> dict[str, Any]:
    """Every metric: over all pairs, per domain, per category."""
    domains = sorted({i.domain for i in items})
    return {"overall": summary(items),
            "domains": {d: summary([i for i in items if i.domain == d]) for d in domains},
            "categories": per_category(items)}


def render_tables(out: dict[str, Any]) -> str:
    rows = [("all", out["overall"]), *out["domains"].items()]
    return "\n\n".join([table("pairs", rows, COLUMNS),
                        table("category", list(out["categories"].items()), CATEGORY_COLUMNS)])


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="pair", file=sys.stderr, disable=not sys.stderr.isatty())


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print("eval-critic: --limit must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        pairs = _pairs(args)
        critic = build_critic(args)
    except (DataError, ValueError) as exc:
        print(f"eval-critic: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not pairs:
        getattr(critic, "close", lambda: None)()
        print(f"eval-critic: {args.vc_rewardbench or args.data}: no pairs to score"
              + ("" if args.vc_rewardbench else f" in the {args.split!r} split"), file=sys.stderr)
        return EXIT_USAGE
    judge: Judge | None = None
    matcher = None
    try:
        if args.llm_matcher:
            from verm_training.evaluate.llm_matcher import LlmMatcher

            settings = critic_settings(args)
            judge = matcher = LlmMatcher(settings.endpoints, settings.model_name,
                                         settings.api_key_env)
        jobs = args.jobs or (4 if args.critic == "remote" else 1)
        started = time.perf_counter()
        items: list[Scored] = []
        with _progress(len(pairs)) as bar:
            for item in judge_all(critic, pairs, jobs):
                items.append(score_item(item, judge))
                bar.update(1)
    except ValueError as exc:
        print(f"eval-critic: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        getattr(critic, "close", lambda: None)()
    failed = [i for i in items if i.failed]
    out: dict[str, Any] = {
        "critic": args.critic, "model": args.model, "adapter": args.adapter,
        "endpoint": args.endpoint, "model_name": args.model_name,
        "data": str(args.vc_rewardbench or args.data),
        "format": "vc-rewardbench" if args.vc_rewardbench else "synth",
        "matcher": "llm" if matcher is not None else "rule",
        "seconds": round(time.perf_counter() - started, 2),
        **results(items), "failed": len(failed),
        "pairs": [i.to_json() for i in items]}
    print(render_tables(out))
    if failed:
        print(f"eval-critic: the critic failed on {len(failed)} of {len(items)} pairs "
              f"(first: {failed[0].id}: {failed[0].failed}); they count as no errors found, "
              f"reward 0", file=sys.stderr)
    if args.out is not None:
        write_json(args.out, out)
        print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK
