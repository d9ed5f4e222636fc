"""The critic-quality benchmark's output: a table per variant, the naive baseline beside it,
the sources used and skipped, the worst pairs in words, and the per-pair JSON dump."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from critic_quality_metrics import (
    GALLERY_TARGETS,
    LINE_SPAN,
    TARGETS,
    Judged,
    badness,
    found_via_use,
    meets,
    primary,
    ratio,
    summarize,
    true_positive,
    worst,
)

ROWS = ("chart", "svg", "html", "table", "gallery", "all")
COLUMNS = (("precision", "prec", ".2f"), ("recall", "recall", ".2f"),
           ("recall_use", "R+use", ".2f"), ("category", "categ", ".2f"),
           ("severity_r", "sev-r", ".2f"), ("ranking", "rank", ".2f"),
           ("per_error", "f/err", ".2f"), ("per_error_max", "max", ".1f"),
           ("identity_fp", "id-FP", "d"), ("p50_ms", "p50 ms", ".0f"),
           ("p95_ms", "p95 ms", ".0f"))
LEGEND = (
    f"recall: a label is found when a diagnostic's range covers its line and spans ≤ {LINE_SPAN} "
    "lines (R+use, no target: also on a line that reads what the label's line assigns);\n"
    "precision: diagnostics covering a labelled line of their pair (an identity pair's are all "
    "false); categ: the found label's most severe diagnostic has its category;\n"
    "sev-r: Pearson of per-pair severity sums (identity included); rank: identity > single > "
    "triple and milder single > worse single, per source (a tie is wrong);\n"
    "f/err: diagnostics per injected error (mean; max: the worst pair); id-FP: diagnostics on "
    "identity pairs; p50/p95: Checker.check wall time (render included);\n"
    "gallery rows: their own targets (recall ≥ 0.85, ≤ 2 findings per edit); chart rows exclude "
    "the gallery, 'all' includes it.")


def cell(value: float, fmt: str, target: tuple[str, float] | None) -> str:
    text = "-" if isinstance(value, float) and math.isnan(value) else format(value, fmt)
    if target is None:
        return text
    return f"{text} {'ok' if meets(value, target) else 'MISS'}"


def rows_of(judged: Sequence[Judged]) -> dict[str, list[Judged]]:
    rows: dict[str, list[Judged]] = {row: [] for row in ROWS}
    for j in judged:
        rows[j.item.row].append(j)
        rows["all"].append(j)
    return {row: js for row, js in rows.items() if js}


def _target_text(key: str) -> str:
    target = TARGETS.get(key)
    if target is None:
        return ""
    op, value = target
    return f"{'≥' if op == '>=' else '≤'}{value:g}"


def table(title: str, judged: Sequence[Judged]) -> tuple[list[str], dict[str, Any]]:
    """One variant's table (a row per domain, the gallery and all) and its figures."""
    figures = {row: summarize(js) for row, js in rows_of(judged).items()}
    head = f"{'row':<8} {'src':>4} {'pairs':>5} {'labels':>6} " + " ".join(
        f"{name:>10}" for _, name, _ in COLUMNS)
    goal = f"{'target':<8} {'':>4} {'':>5} {'':>6} " + " ".join(
        f"{_target_text(key):>10}" for key, _, _ in COLUMNS)
    lines = [title, head, goal]
    for row, f in figures.items():
        targets = GALLERY_TARGETS if row == "gallery" else TARGETS
        cells = " ".join(f"{cell(f[key], fmt, targets.get(key)):>10}" for key, _, fmt in COLUMNS)
        errors = f"  ({f['errors']} checks raised)" if f["errors"] else ""
        lines.append(f"{row:<8} {f['sources']:>4} {f['pairs']:>5} {f['labels']:>6} {cells}"
                     f"{errors}")
    return lines, figures


def baseline_lines(verm: dict[str, Any], naive: dict[str, Any]) -> list[str]:
    """How the analytic critic compares with the naive one, row by row (sidecar)."""
    lines = ["analytic ÷ naive on sidecar (findings per error: lower is better; precision and "
             "recall: higher is better)"]
    for row, n in naive.items():
        v = verm.get(row)
        if v is None:
            continue
        lines.append(f"  {row:<8} findings/error ×{ratio(v['per_error'], n['per_error']):.2f}  "
                     f"precision ×{ratio(v['precision'], n['precision']):.2f}  "
                     f"recall ×{ratio(v['recall'], n['recall']):.2f}  "
                     f"identity FPs {v['identity_fp']} vs {n['identity_fp']}")
    return lines


def describe(j: Judged, shown: int = 8) -> list[str]:
    """One judgement in words: the labels, found or missed, and what the critic said."""
    lines = [f"- {j.item.key} [{j.variant}] {j.pair.role}: {' + '.join(j.pair.mutations)} — "
             f"{len(j.findings)} findings for {len(j.pair.labels)} errors, {badness(j)[0]} "
             f"missed, reward {j.reward:.2f}"]
    for label in j.pair.labels:
        hit = primary(j.findings, label)
        said = "MISSED" if hit is None else f"found as {hit.category} s{hit.severity}"
        lines.append(f"    label L{label.line}: {label.category} s{label.severity} "
                     f"{label.location!r} — {said}")
    for f in j.findings[:shown]:
        mark = "+" if true_positive(f, j.pair.labels) else "-"
        lines.append(f"    {mark} L{f.start}-{f.end} {f.category} s{f.severity} "
                     f"{f.location!r}: {f.message[:110]}")
    if len(j.findings) > shown:
        lines.append(f"    ... {len(j.findings) - shown} more")
    return lines


def worst_lines(judged: Sequence[Judged], n: int = 10) -> list[str]:
    lines = [f"\n{n} worst pairs (missed labels, then findings per error; + covers a labelled "
             "line, - does not):"]
    for j in worst(judged, n):
        lines += describe(j)
    return lines


def pair_json(j: Judged) -> dict[str, Any]:
    """Everything about one judgement, for debugging the critic."""
    labels = []
    for i, label in enumerate(j.pair.labels):
        hit = primary(j.findings, label)
        labels.append({**label.to_json(), "found": hit is not None,
                       "found_category": hit.category if hit else None,
                       "found_via_use": found_via_use(j.findings, label, j.pair.uses_of(i)),
                       "use_lines": sorted(j.pair.uses_of(i))})
    return {
        "source": j.item.key, "origin": j.item.origin, "kind": j.item.kind,
        "chart_type": j.item.chart_type, "variant": j.variant, "critic": j.critic,
        "role": j.pair.role, "mutations": list(j.pair.mutations), "reward": round(j.reward, 4),
        "rendered": j.rendered, "elapsed_ms": round(j.elapsed_ms, 1), "error": j.error,
        "labels": labels,
        "diagnostics": [{"lines": [f.start, f.end], "category": f.category,
                         "severity": f.severity, "location": f.location, "message": f.message,
                         "matched": true_positive(f, j.pair.labels), "related": f.related}
                        for f in j.findings],
    }


def clean(value: Any) -> Any:
    """NaN as null, so the dump is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value
