"""The critic-quality benchmark's records and scores: pure functions over findings and labels.

Kept apart from the benchmark's rendering so the rules can be read (and tested) in one place:
a finding counts for a label only when its range covers the label's line and spans at most
``LINE_SPAN`` lines (issue 10: a diagnostic on the whole file explains nothing).
"""

from __future__ import annotations

import ast
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from verm.types import Range
from verm_training.data import Label

LINE_SPAN = 3  # a diagnostic counts only when its range spans at most this many lines

# The targets (issue 10): metric → (comparison, bound); the gallery rows have their own.
TARGETS: dict[str, tuple[str, float]] = {
    "precision": (">=", 0.80), "recall": (">=", 0.90), "category": (">=", 0.85),
    "severity_r": (">=", 0.80), "ranking": (">=", 0.90), "per_error": ("<=", 1.5),
    "per_error_max": ("<=", 4.0), "identity_fp": ("<=", 0.0),
}
GALLERY_TARGETS: dict[str, tuple[str, float]] = {"recall": (">=", 0.85), "per_error": ("<=", 2.0)}


@dataclass(frozen=True)
class Item:
    """One source of the set: where it is, its domain, where it came from."""

    path: Path
    key: str
    kind: str
    origin: str  # "repo", "quality" or "gallery"
    chart_type: str = ""

    @property
    def row(self) -> str:
        """The table row it counts in: its domain, or "gallery" for the real-world scripts."""
        return "gallery" if self.origin == "gallery" else self.kind


@dataclass(frozen=True)
class Pair:
    """A source text to judge against the unmutated source's reference, with its labels.

    ``uses`` holds, per label, the lines that read a name the label's line assigns (a chart's
    data list and the ``bar`` call that plots it), for the lenient recall column only."""

    role: str  # "identity", "single" or "triple"
    mutations: tuple[str, ...]
    text: str
    labels: tuple[Label, ...]
    uses: tuple[frozenset[int], ...] = ()

    @property
    def rank_key(self) -> tuple[int, int]:
        """How bad it should look: more errors is worse, then a higher severity sum."""
        return len(self.labels), sum(label.severity for label in self.labels)

    def uses_of(self, i: int) -> frozenset[int]:
        return self.uses[i] if i < len(self.uses) else frozenset()


@dataclass(frozen=True)
class Finding:
    """A diagnostic as the benchmark scores it: its lines and what it says."""

    start: int
    end: int
    category: str
    severity: int
    location: str = ""
    message: str = ""
    related: int = 0  # consequences folded into it (the JSON's optional ``related`` list)

    @property
    def lines(self) -> int:
        return self.end - self.start + 1


@dataclass
class Judged:
    """One pair judged by one critic against one reference variant."""

    item: Item
    pair: Pair
    variant: str
    critic: str
    findings: list[Finding] = field(default_factory=list)
    reward: float = 0.0
    rendered: bool = True
    elapsed_ms: float = 0.0
    error: str | None = None  # the check raised (a critic bug, an unusable reference)


# ---- matching --------------------------------------------------------------------------------

def line_span(rng: Range | None) -> tuple[int, int]:
    """First and last line a range covers (an end at column 0 of a later line is not on it)."""
    if rng is None:
        return 0, 0
    end = rng.end.line
    if end > rng.start.line and rng.end.character == 0:
        end -= 1
    return rng.start.line, max(rng.start.line, end)


def covers(finding: Finding, line: int | None) -> bool:
    """The issue's rule: the finding's range covers the mutated line and spans ≤ 3 lines."""
    return (line is not None and finding.lines <= LINE_SPAN
            and finding.start <= line <= finding.end)


def true_positive(finding: Finding, labels: Sequence[Label]) -> bool:
    return any(covers(finding, label.line) for label in labels)


def primary(findings: Sequence[Finding], label: Label) -> Finding | None:
    """The finding a user reads for this label: the most severe one covering its line (the
    narrowest, then the first, on a tie); None when the label was missed."""
    hits = [(i, f) for i, f in enumerate(findings) if covers(f, label.line)]
    if not hits:
        return None
    return max(hits, key=lambda h: (h[1].severity, -h[1].lines, -h[0]))[1]


def found_via_use(findings: Sequence[Finding], label: Label, uses: Iterable[int]) -> bool:
    """Found on the label's line or on a line that uses what that line assigns."""
    lines = [label.line, *uses]
    return any(covers(f, line) for f in findings for line in lines)


def use_lines(text: str, line: int | None) -> frozenset[int]:
    """Lines (0-based) of a Python source that read a name assigned on ``line``; empty for
    other sources, unparsable text or a line that assigns nothing."""
    if line is None:
        return frozenset()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return frozenset()
    names = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and node.lineno - 1 <= line <= (node.end_lineno or node.lineno) - 1
             for target in node.targets if isinstance(target, ast.Name)}
    return frozenset(n.lineno - 1 for n in ast.walk(tree) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Load) and n.id in names) - {line}


# ---- statistics ------------------------------------------------------------------------------

def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's r; NaN when either side has no spread (or fewer than two points)."""
    if len(xs) < 2 or len(xs) != len(ys):
        return math.nan
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


def ranking(pairs: Sequence[tuple[tuple[int, int], float]]) -> tuple[int, int]:
    """(right, compared) over one source's (rank key, reward) pairs: identity above a single,
    a single above the triple, the milder of two singles above the worse. Pairs with equal
    keys are not compared; a tie in reward counts as wrong."""
    right = total = 0
    for (ka, ra), (kb, rb) in combinations(pairs, 2):
        if ka == kb:
            continue
        total += 1
        milder, worse = (ra, rb) if ka < kb else (rb, ra)
        right += milder > worse
    return right, total


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def meets(value: float, target: tuple[str, float]) -> bool:
    op, bound = target
    return not math.isnan(value) and (value >= bound if op == ">=" else value <= bound)


# ---- one row of figures ----------------------------------------------------------------------

def by_source(judged: Iterable[Judged]) -> dict[str, list[Judged]]:
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        groups.setdefault(j.item.key, []).append(j)
    return groups


def ranking_of(judged: Sequence[Judged]) -> tuple[int, int]:
    """Ranking summed over sources (pairs are only compared within their own source)."""
    right = compared = 0
    for group in by_source(judged).values():
        r, c = ranking([(j.pair.rank_key, j.reward) for j in group])
        right, compared = right + r, compared + c
    return right, compared


def summarize(judged: Sequence[Judged]) -> dict[str, Any]:
    """The benchmark's figures over judgements of one critic (one variant, one row); checks
    that raised are counted in ``errors`` and left out of the rest."""
    ok = [j for j in judged if j.error is None]
    findings = sum(len(j.findings) for j in ok)
    tp = sum(true_positive(f, j.pair.labels) for j in ok for f in j.findings)
    labels = [(j, i, label) for j in ok for i, label in enumerate(j.pair.labels)]
    found = [(label, f) for j, _, label in labels
             if (f := primary(j.findings, label)) is not None]
    by_use = sum(found_via_use(j.findings, label, j.pair.uses_of(i)) for j, i, label in labels)
    per_error = [len(j.findings) / len(j.pair.labels) for j in ok if j.pair.labels]
    identity = [j for j in ok if not j.pair.labels]
    right, compared = ranking_of(ok)
    times = [j.elapsed_ms for j in ok]
    return {
        "sources": len({j.item.key for j in ok}), "pairs": len(ok), "labels": len(labels),
        "errors": len(judged) - len(ok), "findings": findings,
        "precision": ratio(tp, findings), "recall": ratio(len(found), len(labels)),
        "recall_use": ratio(by_use, len(labels)),
        "category": ratio(sum(f.category == label.category for label, f in found), len(found)),
        "severity_r": pearson([sum(f.severity for f in j.findings) for j in ok],
                              [sum(label.severity for label in j.pair.labels) for j in ok]),
        "ranking": ratio(right, compared), "ranked_pairs": compared,
        "per_error": statistics.fmean(per_error) if per_error else math.nan,
        "per_error_max": max(per_error, default=math.nan),
        "identity_fp": sum(len(j.findings) for j in identity),
        "identity_fp_pairs": sum(bool(j.findings) for j in identity),
        "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
    }


def badness(j: Judged) -> tuple[int, float]:
    """Missed labels first, then findings per error: what the critic engineer should see."""
    missed = sum(primary(j.findings, label) is None for label in j.pair.labels)
    return missed, len(j.findings) / max(1, len(j.pair.labels))


def worst(judged: Sequence[Judged], n: int = 10) -> list[Judged]:
    """The n worst analytic judgements of labelled pairs, one per (source, pair)."""
    worst_of: dict[tuple[str, str], Judged] = {}
    for j in judged:
        if j.critic != "analytic" or j.error is not None or not j.pair.labels:
            continue
        key = (j.item.key, "+".join(j.pair.mutations))
        if key not in worst_of or badness(j) > badness(worst_of[key]):
            worst_of[key] = j
    return sorted(worst_of.values(), key=badness, reverse=True)[:n]
