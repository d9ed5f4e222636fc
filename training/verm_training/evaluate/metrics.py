"""Scores of a critic against known errors: error-level P/R/F1 (hard and soft), severity
Pearson and reward ranking accuracy — the VC-RewardBench metrics, made deterministic.

Why a matcher of our own: the paper matches predicted to annotated errors with an LLM (yes /
partial / no). That needs a served model and is not reproducible run to run. The default here
reads the same evidence a person would — the category and where the error is — and decides
one-to-one, greedily by best score, so the same critique always scores the same:

- **yes** (1): the same category, and the locations overlap (or one side has no location, as
  in the table schema: the category alone decides, the descriptions order the candidates);
- **partial** (0.5): different categories, but the locations overlap (the critic saw the right
  element and named the wrong kind of error);
- **no**: anything else.

Hard counts yes; soft counts yes + ½ partial. ``--llm-matcher`` swaps the verdict for the
served model's answer and keeps the rest (``llm_matcher.py``).

Per item: P = tp/|pred|, R = tp/|gold|, F1 their harmonic mean; an item with no errors on
either side scores 1 for all three (the paper's rule), one with errors on one side only 0.
Reported: the mean of the per-item scores (the paper's headline) and micro P/R/F1 (counts
summed over items).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

Verdict = Literal["yes", "partial", "no"]
VALUE: dict[str, float] = {"yes": 1.0, "partial": 0.5, "no": 0.0}
OVERLAP = 0.5  # location words shared (overlap coefficient), or fuzzy ratio at least FUZZY
FUZZY = 0.8
AXES = frozenset({"x", "y", "z"})
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from",
    "is", "are", "its", "it", "this", "that", "there", "chart", "plot", "graph", "image",
    # places that say nowhere in particular (a critic without anchors says "figure")
    "figure", "page", "canvas", "whole", "entire", "overall"})


@dataclass(frozen=True)
class Error:
    """One error: annotated (gold) or predicted, in the shared taxonomy."""

    category: str
    severity: int
    location: str = ""
    description: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Error:
        """Either schema: ``category`` (charts, SVG, the card) or ``type`` (tables, the
        benchmark's evaluator)."""
        category = d.get("category") or d.get("type") or d.get("error_type") or ""
        try:
            severity = int(d.get("severity") or 1)
        except (TypeError, ValueError):
            severity = 1
        return cls(category=str(category).strip().lower().replace(" ", "_"),
                   severity=max(1, min(3, severity)),
                   location=str(d.get("location") or ""),
                   description=str(d.get("description") or ""))


@dataclass(frozen=True)
class Match:
    gold: int  # index into the gold list
    pred: int  # index into the predicted list
    verdict: Verdict

    @property
    def value(self) -> float:
        return VALUE[self.verdict]


def words(text: str) -> frozenset[str]:
    """Content words, lower-cased, plural 's' dropped: "the X-axis labels" → {x, axis, label}."""
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in STOP_WORDS:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return frozenset(out)


def similarity(a: str, b: str) -> float | None:
    """How much two location (or description) texts overlap, 0..1; None when either is empty
    (no evidence either way)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return None
    if wa & AXES and wb & AXES and not wa & wb & AXES:
        return 0.0  # "x-axis label" and "y-axis label" share two words and no element
    overlap = len(wa & wb) / min(len(wa), len(wb))
    fuzzy = SequenceMatcher(None, " ".join(sorted(wa)), " ".join(sorted(wb))).ratio()
    return max(overlap, fuzzy if fuzzy >= FUZZY else 0.0)


def rule_verdict(gold: Error, pred: Error) -> tuple[Verdict, float]:
    """The deterministic verdict for one pair, and a score that orders candidates."""
    loc = similarity(gold.location, pred.location)
    desc = similarity(gold.description, pred.description) or 0.0
    same = gold.category == pred.category
    if loc is None:
        return ("yes" if same else "no"), desc
    if loc >= OVERLAP:
        return ("yes" if same else "partial"), loc + desc / 10
    return "no", 0.0


Judge = Callable[[Error, Error], Verdict]


def match(gold: Sequence[Error], pred: Sequence[Error], judge: Judge | None = None
          ) -> list[Match]:
    """One-to-one matching: every pair judged, then taken greedily — yes before partial, a
    higher score first, earlier items on ties — so a duplicated prediction matches once."""
    candidates: list[tuple[float, float, int, int, Verdict]] = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            verdict, score = rule_verdict(g, p)
            if judge is not None:
                verdict = judge(g, p)
            if verdict != "no":
                candidates.append((-VALUE[verdict], -score, gi, pi, verdict))
    candidates.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, _, gi, pi, verdict in candidates:
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            out.append(Match(gi, pi, verdict))
    return sorted(out, key=lambda m: (m.gold, m.pred))


def prf(tp: float, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1 of one item (or of summed counts); both empty → 1, 1, 1."""
    if n_pred == 0 and n_gold == 0:
        return 1.0, 1.0, 1.0
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than two points or a constant side (undefined)."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


@dataclass
class Scored:
    """One judged item: its known errors, the critic's, the matching and the reward."""

    id: str
    domain: str
    group: str  # the reference it was judged against (ranking compares within a group)
    gold: list[Error]
    pred: list[Error]
    reward: float
    matches: list[Match] = field(default_factory=list)
    failed: str | None = None  # why the critic gave no verdict (counted as none found)

    @property
    def gold_severity(self) -> int:
        return sum(e.severity for e in self.gold)

    @property
    def pred_severity(self) -> int:
        return sum(e.severity for e in self.pred)

    def tp(self, soft: bool) -> float:
        return sum(m.value if soft else float(m.verdict == "yes") for m in self.matches)

    def to_json(self) -> dict[str, Any]:
        hard, soft = prf(self.tp(False), len(self.pred), len(self.gold)), \
            prf(self.tp(True), len(self.pred), len(self.gold))
        return {"id": self.id, "domain": self.domain, "group": self.group,
                "reward": round(self.reward, 4), "gold_severity": self.gold_severity,
                "pred_severity": self.pred_severity, "f1_hard": round(hard[2], 4),
                "f1_soft": round(soft[2], 4),
                "gold": [e.__dict__ for e in self.gold], "pred": [e.__dict__ for e in self.pred],
                "matches": [m.__dict__ for m in self.matches],
                **({"failed": self.failed} if self.failed else {})}


def score_item(item: Scored, judge: Judge | None = None) -> Scored:
    item.matches = match(item.gold, item.pred, judge)
    return item


def ranking_accuracy(items: Iterable[Scored]) -> tuple[float | None, int]:
    """Over pairs of items judged against the same reference whose known severity differs:
    the share the critic's reward orders the same way (more severe → lower reward); a tie in
    reward counts ½. Returns (accuracy or None without pairs, number of pairs)."""
    groups: dict[str, list[Scored]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    agree, pairs = 0.0, 0
    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if a.gold_severity == b.gold_severity:
                    continue
                pairs += 1
                worse, better = (a, b) if a.gold_severity > b.gold_severity else (b, a)
                if worse.reward < better.reward:
                    agree += 1
                elif worse.reward == better.reward:
                    agree += 0.5
    return (agree / pairs if pairs else None), pairs


def summary(items: Sequence[Scored]) -> dict[str, Any]:
    """Every metric over ``items``: per-item means, micro counts, Pearson, ranking."""
    out: dict[str, Any] = {"items": len(items)}
    n_pred = sum(len(i.pred) for i in items)
    n_gold = sum(len(i.gold) for i in items)
    for kind, soft in (("hard", False), ("soft", True)):
        per = [prf(i.tp(soft), len(i.pred), len(i.gold)) for i in items]
        for k, name in enumerate(("precision", "recall", "f1")):
            out[f"{name}_{kind}"] = sum(p[k] for p in per) / len(per) if per else None
        micro = prf(sum(i.tp(soft) for i in items), n_pred, n_gold)
        for k, name in enumerate(("precision", "recall", "f1")):
            out[f"micro_{name}_{kind}"] = micro[k] if items else None
    out["pearson"] = pearson([i.gold_severity for i in items], [i.pred_severity for i in items])
    out["ranking_accuracy"], out["ranking_pairs"] = ranking_accuracy(items)
    out["mean_reward"] = sum(i.reward for i in items) / len(items) if items else None
    out["gold_errors"], out["pred_errors"] = n_gold, n_pred
    return out


def per_category(items: Sequence[Scored]) -> dict[str, dict[str, Any]]:
    """Micro P/R/F1 per error category: precision over the critic's errors of that category,
    recall over the known ones (a partial match counts for each side's own category)."""
    stats: dict[str, dict[str, float]] = {}

    def slot(category: str) -> dict[str, float]:
        return stats.setdefault(category, {"gold": 0, "pred": 0, "tp_pred_hard": 0.0,
                                           "tp_pred_soft": 0.0, "tp_gold_hard": 0.0,
                                           "tp_gold_soft": 0.0})

    for item in items:
        for e in item.gold:
            slot(e.category)["gold"] += 1
        for e in item.pred:
            slot(e.category)["pred"] += 1
        for m in item.matches:
            g, p = item.gold[m.gold], item.pred[m.pred]
            hard = float(m.verdict == "yes")
            slot(p.category)["tp_pred_hard"] += hard
            slot(p.category)["tp_pred_soft"] += m.value
            slot(g.category)["tp_gold_hard"] += hard
            slot(g.category)["tp_gold_soft"] += m.value
    out: dict[str, dict[str, Any]] = {}
    for category, s in sorted(stats.items()):
        row: dict[str, Any] = {"gold_errors": int(s["gold"]), "pred_errors": int(s["pred"])}
        for kind in ("hard", "soft"):
            p = s[f"tp_pred_{kind}"] / s["pred"] if s["pred"] else None
            r = s[f"tp_gold_{kind}"] / s["gold"] if s["gold"] else None
            both = (p or 0.0) + (r or 0.0)  # a side with no errors of this kind scores 0
            f = 2 * (p or 0.0) * (r or 0.0) / both if both else 0.0
            row.update({f"precision_{kind}": p, f"recall_{kind}": r, f"f1_{kind}": f})
        out[category] = row
    return out
