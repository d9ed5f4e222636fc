"""The benchmark report: each benchmark's JSON figures rendered as Markdown, targets beside them.

``python -m benchmarks`` runs the benchmarks and hands their outcomes here; this module only
reads and writes. Each benchmark has a renderer (its figures → a table and the headline
numbers); a benchmark that failed, timed out or was not run gets its reason and its output's
tail instead, never nothing. The targets come from the benchmarks' own constants (the JSON
carries them, or they are read from the script's module-level assignments without importing
it), so a target changed in the code changes here too.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

OK, FAILED, TIMED_OUT, NOT_RUN = "ok", "failed", "timed out", "not run"


@dataclass
class Outcome:
    """One benchmark's run: how it ended, and its figures when it wrote them."""

    name: str
    title: str
    status: str  # OK, FAILED, TIMED_OUT or NOT_RUN
    command: str = ""
    seconds: float = 0.0
    returncode: int | None = None
    reason: str = ""  # why it failed or was not run
    tail: str = ""  # the end of its output (failures, and a non-zero exit with figures)
    data: Any = None  # its figures (the JSON it wrote, reduced by REDUCERS)
    date: str = ""  # when it ran (UTC)
    commit: str = ""  # verm's commit it ran at

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Outcome:
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


@dataclass
class Section:
    """A benchmark's part of the report."""

    lines: list[str]
    headlines: list[str] = field(default_factory=list)


# ---- small helpers ---------------------------------------------------------------------------

def nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def num(value: Any, fmt: str = ".0f", unit: str = "") -> str:
    return "–" if nan(value) else f"{format(value, fmt)}{unit}"


def mark(value: Any, op: str, bound: float | None) -> str:
    """✓ or ✗ for a figure against its target (nothing when there is no target)."""
    if bound is None or nan(value):
        return ""
    met = value <= bound if op == "<=" else value >= bound
    return "✓" if met else "✗"


def target(op: str, bound: float | None, unit: str = "", fmt: str = "g") -> str:
    if bound is None:
        return "–"
    return f"{'≤' if op == '<=' else '≥'} {format(bound, fmt)}{unit}"


def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def constants(script: str, names: Sequence[str]) -> dict[str, Any]:
    """Module-level constants of a benchmark script, read without importing it (model_gpu.py
    needs torch and CUDA to import its way)."""
    tree = ast.parse((HERE / script).read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, ast.AnnAssign) and node.value else [])
        for t in targets:
            if isinstance(t, ast.Name) and t.id in names:
                with contextlib.suppress(ValueError):
                    found[t.id] = ast.literal_eval(node.value)  # type: ignore[arg-type]
    return found


# ---- one renderer per benchmark --------------------------------------------------------------

def check_latency(d: dict[str, Any]) -> Section:
    rows, heads = [], []
    for r in d["rows"]:
        speedup = r["naive_ms"] / r["check_ms"] if r["check_ms"] else math.nan
        rows.append([r["kind"], f"{r['size'][0]}×{r['size'][1]}", num(r["render_ms"], ".1f"),
                     f"{num(r['check_ms'], '.1f')} {mark(r['check_ms'], '<=', r['target_ms'])}",
                     target("<=", r["target_ms"]), num(r["burst_ms"], ".1f"),
                     num(r["naive_ms"], ".0f"), num(speedup, ".1f", "×"),
                     f"{r['identity_errors']} {mark(r['identity_errors'], '<=', 0)}"])
        if r["kind"] == "chart":
            heads.append(f"warm `Checker.check` of a chart {num(r['check_ms'], '.0f')} ms p50 "
                         f"(target ≤ {r['target_ms']:g}; naive {num(speedup, '.1f')}× slower)")
    s = d["settings"]
    lines = table(["kind", "size", "render p50 ms", "check p50 ms", "target", "burst p50 ms",
                   "naive p50 ms", "naive ÷ verm", "identity findings (0)"], rows)
    lines.append(f"\n{s['runs']} runs a kind, {s['gap_s']:g} s apart (burst: back to back); naive "
                 f"({s['naive_runs']} runs): a fresh interpreter or browser per render + one "
                 "plain SSIM.")
    return Section(lines, heads)


def lsp_latency(d: dict[str, Any]) -> Section:
    rows, heads = [], []
    speedup_target = d["speedup_target"]
    for r in d["rows"]:
        ratio = (r["naive_p50_ms"] / r["p50_ms"]) if r["naive_p50_ms"] else None
        v50 = f"{num(r['p50_ms'], '.1f')} {mark(r['p50_ms'], '<=', r['target_ms'])}"
        rows.append([r["kind"], v50.strip(),
                     num(r["p95_ms"], ".1f"), target("<=", r["target_ms"]),
                     num(r["naive_p50_ms"], ".0f"),
                     f"{num(ratio, '.1f', '×')} {mark(ratio, '>=', speedup_target)}",
                     target(">=", speedup_target, "×"),
                     f"{r['flagged']} {mark(r['flagged'], '<=', 0)}"])
        if r["kind"] == "chart":
            heads.append(f"save → diagnostics in the editor, chart {num(r['p50_ms'], '.0f')} ms "
                         f"p50 (target ≤ {r['target_ms']:g}; naive server "
                         f"{num(ratio, '.1f')}× slower)")
    lines = table(["kind", "verm p50 ms", "p95 ms", "target", "naive p50 ms", "naive ÷ verm",
                   "target", "identity saves flagged (0)"], rows)
    idle_target = d["idle_rss_target_mb"]
    lines.append(f"\nIdle memory (browser closed, spares retired), RSS sum of the server's tree: "
                 f"**{num(d['idle_rss_mb'])} MB** {mark(d['idle_rss_mb'], '<=', idle_target)} "
                 f"(target ≤ {idle_target:g} MB; PSS {num(d['idle_pss_mb'])} MB); right after "
                 f"the saves, browser warm: RSS {num(d['warm_rss_mb'])} MB. Idle hover round "
                 f"trip {num(d['hover_ms'], '.1f')} ms.")
    heads.append(f"idle server {num(d['idle_rss_mb'])} MB RSS (target ≤ {idle_target:g})")
    if d.get("stages"):
        cols = list(dict.fromkeys(c for row in d["stages"].values() for c in row
                                  if not c.startswith("ms:")))
        lines += ["", "Where a warm save's time goes (profiled server, medians, ms; "
                  "'in worker' is part of 'render'):", ""]
        lines += table(["kind", *cols], [[k, *(num(row.get(c), ".1f") for c in cols)]
                                         for k, row in d["stages"].items()])
    s = d["settings"]
    lines.append(f"\n{s['runs']} warm saves a kind after {s['warm']} discarded, "
                 f"{s['pause_s']:g} s pause before each; naive server: {s['naive_runs']} saves.")
    return Section(lines, heads)


def ocr_latency(d: dict[str, Any]) -> Section:
    rows = [[r["server"], num(r["same_ms"]["p50"], ".1f"), num(r["title_ms"]["p50"], ".1f"),
             num(r["title_ms"]["p95"], ".1f"), num(r["first_title_ms"], ".0f"),
             num(r["title_ms"]["p50"] - r["same_ms"]["p50"], ".1f"), "yes" if r["read"] else "no"]
            for r in d["rows"]]
    lines = table(["server", "same words p50 ms", "title changed p50 ms", "p95 ms",
                   "first save ms", "Δ p50 ms", "reference words read"], rows)
    delta, goal = d["delta_ms"], d["target_ms"]
    s = d["settings"]
    lines.append(f"\nA chart against its render saved as a plain PNG (no sidecar): the title "
                 f"changed costs **{num(delta, '.1f')} ms** more than saves that change no words "
                 f"{mark(delta, '<=', goal)} (target ≤ {goal:g} ms: OCR reads the screenshot's "
                 f"title once); a server reading it on every save pays "
                 f"{num(d['naive_delta_ms'], '.0f')} ms ({num(d['speedup'], '.2f', '×')} slower). "
                 f"{s['runs']} warm saves a series after {s['warm']} discarded, "
                 f"{s['pause_s']:g} s pause before each.")
    heads = [f"save → diagnostics against a screenshot with a changed title: "
             f"+{num(delta, '.0f')} ms p50 over no text change (target ≤ {goal:g}; reading it "
             f"on every save +{num(d['naive_delta_ms'], '.0f')} ms)"]
    return Section(lines, heads)


NAMES = {"chart": "a chart", "html": "an HTML page", "svg": "an SVG icon", "table": "a table"}


def cold_start(d: dict[str, Any]) -> Section:
    rows, heads = [], []
    for r in d["rows"]:
        ratio = r["naive_ms"] / r["first_ms"] if r["first_ms"] else math.nan
        rows.append([r["kind"], num(r["initialize_ms"]),
                     f"{num(r['first_ms'])} {mark(r['first_ms'], '<=', r['target_ms'])}",
                     f"{num(r['first_min_ms'])}–{num(r['first_max_ms'])}",
                     target("<=", r["target_ms"]), num(r["naive_ms"]), num(ratio, ".2f", "×")])
        heads.append(f"cold start, open → first diagnostics of {NAMES.get(r['kind'], r['kind'])} "
                     f"{num(r['first_ms'] / 1000, '.2f')} s p50 (target ≤ "
                     f"{r['target_ms'] / 1000:g} s)")
    lines = table(["kind", "initialize answered ms", "first diagnostics p50 ms", "min–max",
                   "target", "naive p50 ms", "naive ÷ verm"], rows)
    lines.append(f"\nFrom process start, through a real stdio client; {d['settings']['runs']} "
                 f"runs a kind (naive: {d['settings']['naive_runs']}). `verm check` of one "
                 f"chart from a fresh shell: **{num(d['check_ms'])} ms** p50 "
                 f"({num(d['check_min_ms'])}–{num(d['check_max_ms'])}; no target, issue 12 "
                 "asks to report and cut it: ~1.2 s before).")
    heads.append("`verm check` of one chart from a fresh shell "
                 f"{num(d['check_ms'] / 1000, '.2f')} s")
    return Section(lines, heads)


def reduce_critic_quality(raw: dict[str, Any], stdout: str) -> dict[str, Any]:
    """Keep the figures; drop the per-pair dump (hundreds of pairs)."""
    sources = raw.get("sources", [])
    return {"seconds": raw.get("seconds"), "settings": raw.get("settings"),
            "metrics": raw.get("metrics", {}), "naive_sidecar": raw.get("naive_sidecar", {}),
            "sources_used": sum(s.get("skipped") is None for s in sources),
            "sources_skipped": sum(s.get("skipped") is not None for s in sources)}


CRITIC_COLUMNS = (("precision", ".2f"), ("recall", ".2f"), ("category", ".2f"),
                  ("severity_r", ".2f"), ("ranking", ".2f"), ("per_error", ".2f"),
                  ("per_error_max", ".0f"), ("identity_fp", "d"))


def critic_quality(d: dict[str, Any]) -> Section:
    import sys

    sys.path.insert(0, str(HERE))
    from critic_quality_metrics import GALLERY_TARGETS, TARGETS  # the benchmark's own

    def cells(f: dict[str, Any], targets: dict[str, tuple[str, float]]) -> list[str]:
        out = []
        for key, fmt in CRITIC_COLUMNS:
            t = targets.get(key)
            value = f.get(key)
            out.append(f"{num(value, fmt)} {mark(value, *t) if t else ''}".strip())
        return [*out, num(f.get("p50_ms"))]

    head = ["reference", "rows", "pairs", "precision", "recall", "category", "severity r",
            "ranking", "findings/error", "max", "identity FPs", "check p50 ms"]
    rows = [["**target**", "", "", *(target(*TARGETS[k]) if k in TARGETS else "–"
                                     for k, _ in CRITIC_COLUMNS), ""]]
    metrics = d["metrics"]
    for variant, by_row in metrics.items():
        shown = by_row.items() if variant == "sidecar" else [
            (k, v) for k, v in by_row.items() if k == "all"]
        for row, f in shown:
            targets = GALLERY_TARGETS if row == "gallery" else TARGETS
            rows.append([variant, row, f.get("pairs", ""), *cells(f, targets)])
    naive = d.get("naive_sidecar", {}).get("all")
    if naive:
        rows.append(["sidecar, **naive critic**", "all", naive.get("pairs", ""),
                     *cells(naive, {})])
    lines = table(head, rows)
    g = {k: f"{'≤' if op == '<=' else '≥'} {v:g}" for k, (op, v) in GALLERY_TARGETS.items()}
    s = d.get("settings") or {}
    lines.append(f"\nGallery rows have their own targets (recall {g.get('recall')}, findings per "
                 f"error {g.get('per_error')}); screenshot variants show their 'all' row. "
                 f"{d.get('sources_used')} sources used, {d.get('sources_skipped')} skipped; "
                 f"{s.get('pairs')} single-error pairs a source, gallery {s.get('gallery')}"
                 f"{', --quick' if s.get('quick') else ''}; {num(d.get('seconds'))} s.")
    heads = []
    side = metrics.get("sidecar", {}).get("all")
    if side:
        heads.append(f"critic against a pinned render: precision {num(side['precision'], '.2f')}"
                     f", recall {num(side['recall'], '.2f')}, {num(side['per_error'], '.2f')} "
                     f"findings per error (targets ≥ {TARGETS['precision'][1]:g}, "
                     f"≥ {TARGETS['recall'][1]:g}, ≤ {TARGETS['per_error'][1]:g})")
    return Section(lines, heads)


def reduce_corpus(raw: list[dict[str, Any]], stdout: str) -> dict[str, Any]:
    """corpus.py's ``--json`` is one record per source: count them per domain as its printed
    summary does, and keep the mutations table it prints (it writes no JSON of it)."""
    from statistics import median

    def pct(values: list[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    domains: dict[str, dict[str, Any]] = {}
    kinds = list(dict.fromkeys(r["kind"] for r in raw))
    for domain in [*kinds, "all"]:
        mine = [r for r in raw if domain in ("all", r["kind"])]
        times = [t for r in mine for t in r.get("check_ms", [])]
        domains[domain] = {
            "sources": len(mine), "ok": sum(r["status"] == "ok" for r in mine),
            "script": sum(r["status"] == "script" for r in mine),
            "verm": sum(r["status"] == "verm" for r in mine),
            "identity_fp": sum(len(r.get("identity", [])) for r in mine),
            "screenshot_fp": sum(len(v) for r in mine for v in r.get("screenshot", {}).values()),
            "known": sum(len(r.get("known", [])) for r in mine),
            "p50_ms": median(times) if times else None, "p95_ms": pct(times, 95)}
    classes = Counter(f"{r['status']} {r['klass']}" for r in raw if r["status"] != "ok")
    verm = []
    for r in (r for r in raw if r["status"] == "verm"):
        said = [*r.get("identity", []), *(f for v in r.get("screenshot", {}).values() for f in v)]
        more = f" (+ {len(said) - 2} more)" if len(said) > 2 else ""
        verm.append(f"{r['key']}: {r['klass']} {r.get('reason', '')[:160]}".strip()
                    + ("; " + "; ".join(f[:160] for f in said[:2]) + more if said else ""))
    mutations, skipped, on = [], [], False
    for line in stdout.splitlines():
        on = on or line.startswith("== mutations")
        if on and line.startswith("| ") and not line.startswith("| ---"):
            mutations.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif on and line.startswith("  skipped "):
            skipped.append(line.strip()[len("skipped "):])
    return {"domains": domains, "classes": dict(classes), "verm_failures": verm,
            "mutations": mutations, "mutations_skipped": skipped}


def corpus(d: dict[str, Any]) -> Section:
    rows = []
    for domain, f in d["domains"].items():
        rows.append([domain, f["sources"], f["ok"], f["script"],
                     f"{f['verm']} {mark(f['verm'], '<=', 0)}",
                     f"{f['identity_fp']} {mark(f['identity_fp'], '<=', 0)}",
                     f"{f['screenshot_fp']} {mark(f['screenshot_fp'], '<=', 0)}",
                     f["known"], num(f["p50_ms"]), num(f["p95_ms"])])
    lines = table(["domain", "sources", "ok", "script's own failures", "verm's failures (0)",
                   "identity FPs (0)", "screenshot sev ≥ 2 FPs (0)",
                   "known critic findings", "check p50 ms", "p95 ms"], rows)
    if d["classes"]:
        lines += ["", "Failures by class: " + ", ".join(
            f"{k} {n}" for k, n in sorted(d["classes"].items())) + "."]
    if d["verm_failures"]:
        lines += ["", "verm's failures:", ""] + [f"- {v}" for v in d["verm_failures"][:20]]
        if len(d["verm_failures"]) > 20:
            lines.append(f"- … and {len(d['verm_failures']) - 20} more")
    if d["mutations"]:
        lines += ["", "Mutations (`verm train synth`), analytic critic:", ""]
        lines += table(d["mutations"][0], d["mutations"][1:])
        skipped = d.get("mutations_skipped") or []
        if skipped:
            lines += ["", "Sources the mutations skipped: " + "; ".join(skipped) + "."]
    lines.append("\nTargets (issue 12): no verm failure, no finding against a source's own pin, "
                 "no finding of severity ≥ 2 against a screenshot of it. 'Known critic "
                 "findings' are the manifest's recorded exceptions.")
    a = d["domains"].get("all", {})
    heads = [f"real-world corpus: {a.get('sources')} sources, {a.get('verm')} verm failures, "
             f"{a.get('identity_fp')} identity false positives (targets 0)"] if a else []
    return Section(lines, heads)


def model_latency(d: dict[str, Any]) -> Section:
    rows = []
    for label, key, fmt in (("cold: new worker + load", "cold_start_s", ".2f"),
                            ("  of which loading in the worker", "load_in_worker_s", ".2f"),
                            ("warm: first streamed text", "first_text_s", ".3f"),
                            ("warm: full critique", "full_s", ".2f")):
        rows.append([label, num(d["none"][key], fmt, " s"), num(d["4bit"][key], fmt, " s")])
    rows.append(["tokens (greedy)", num(d["none"]["tokens"]), num(d["4bit"]["tokens"])])
    rows.append(["worker RSS after generating", num(d["none"]["worker_rss_mb"], ".0f", " MB"),
                 num(d["4bit"]["worker_rss_mb"], ".0f", " MB")])
    lines = table(["tiny Qwen3-VL on the CPU", "quantize none", "4bit"], rows)
    lines.append(f"\nWarm `check`: analytic critic {num(d['analytic_check_s'] * 1000)} ms, model "
                 f"critic {num(d['model_check_s'], '.2f')} s"
                 + (f", trained critic {num(d['trained_check_s'], '.2f')} s"
                    if d.get("trained_check_s") else "") + " (p50).")
    mem, budget = d.get("memory_mb"), d["idle_rss_target_mb"]
    heads = []
    if mem:
        lines.append(f"Memory: server idle **{num(mem['server_idle'])} MB** "
                     f"{mark(mem['server_idle'], '<=', budget)} (target ≤ {budget:g}); after an "
                     f"analytic judgement {num(mem['server_after_analytic'])} MB, after a model "
                     f"judgement {num(mem['server_after_model'])} MB (target: no growth, torch "
                     f"only in the worker — torch mapped in the server: "
                     f"{'yes ✗' if mem['server_maps_torch'] else 'no ✓'}); the worker "
                     f"{num(mem['worker'])} MB.")
    lines.append("The model is tests/tinyvl.py's (~0.5M parameters): verm's overheads around a "
                 "model, not a real model's speed (that is model_gpu.py).")
    heads.append(f"model critic worker (tiny model, CPU): first streamed text "
                 f"{num(d['4bit']['first_text_s'] * 1000)} ms (4bit)")
    return Section(lines, heads)


def synth_throughput(d: dict[str, Any]) -> Section:
    rows = [[r["domain"], r["workers"], r["pairs"], num(r["seconds"], ".1f"),
             num(r["pairs_s"], ".2f"), f"{r['render']:.0%}", f"{r['judge']:.0%}",
             f"{r['write']:.0%}", r["noop"]] for r in d["rows"]]
    lines = table(["domain", "workers", "pairs", "seconds", "pairs/s", "render", "judge",
                   "write", "no-ops dropped"], rows)
    goal = d["target_chart_pairs_s"]
    charts = [r["pairs_s"] for r in d["rows"] if r["domain"] == "chart"]
    best = max(charts) if charts else None
    naive = d.get("naive_pairs_s")
    lines.append(f"\nBest chart rate **{num(best, '.2f')} pairs/s** {mark(best, '>=', goal)} "
                 f"(target ≥ {goal:g}); naive (a fresh `verm render` process per chart render): "
                 f"{num(naive, '.2f')} pairs/s. Settings: {d['settings']}.")
    heads = [f"`verm train synth`: {num(best, '.1f')} chart pairs/s (target ≥ {goal:g})"]
    return Section(lines, heads)


def check_scale(d: dict[str, Any]) -> Section:
    goal = d["target_speedup"]
    rows = []
    for r in d["rows"]:
        t = target(">=", goal, "×") if r["jobs"] == 2 else ""
        rows.append([f"`--jobs {r['jobs']}`", num(r["wall_s"], ".1f"),
                     num(r["sources_per_s"], ".2f"), num(1000 / r["sources_per_s"]),
                     f"{num(r['speedup'], '.2f', '×')} "
                     f"{mark(r['speedup'], '>=', goal) if r['jobs'] == 2 else ''}".strip(), t])
    n = d["naive"]
    rows.append(["naive: a `verm check` per source",
                 num(n["per_source_s"] * d["settings"]["sources"], ".1f"),
                 num(n["sources_per_s"], ".2f"), num(n["per_source_s"] * 1000), "", ""])
    lines = table(["run", "wall s", "sources/s", "ms a source", "vs --jobs 1", "target"], rows)
    s = d["settings"]
    lines.append(f"\n{s['sources']} mixed sources (a tenth changed), {s['cores']} cores; pinned "
                 f"in {num(d['pin_s'], '.1f')} s; naive: {s['naive']} timed, scaled.")
    if d.get("ceiling"):
        one = d["rows"][0]
        busy = num(one["cpu_s"] / one["wall_s"], ".2f")
        lines.append(f"`--jobs {one['jobs']}` already keeps {busy} cores busy (Chromium's "
                     "processes, render workers and judging overlap): "
                     f"{s['cores']} cores can run it at most {num(d['ceiling'], '.2f')}× faster.")
    two = next((r for r in d["rows"] if r["jobs"] == 2), None)
    heads = [f"`verm check` of {s['sources']} sources: {num(two['sources_per_s'], '.1f')} "
             f"sources/s with `--jobs 2`, {num(two['speedup'], '.2f')}× `--jobs 1` (target ≥ "
             f"{goal:g}×)"] if two else []
    return Section(lines, heads)


def fuzz(d: dict[str, Any]) -> Section:
    lines = table(["random examples a property", "properties passed", "failed (0)", "seconds"],
                  [[d["examples"], d["passed"], f"{d['failed']} {mark(d['failed'], '<=', 0)}",
                    num(d["seconds"])]])
    return Section(lines, [f"fuzzing: {d['passed']} properties × {d['examples']} examples, "
                           f"{d['failed']} failed"])


def model_gpu(d: dict[str, Any]) -> Section:
    lines = ["```json", json.dumps(d, indent=1, default=str)[:6000], "```"]
    return Section(lines)


RENDERERS: dict[str, Callable[[Any], Section]] = {
    "check_latency": check_latency, "lsp_latency": lsp_latency, "cold_start": cold_start,
    "critic_quality": critic_quality, "corpus": corpus, "model_latency": model_latency,
    "synth_throughput": synth_throughput, "check_scale": check_scale, "fuzz": fuzz,
    "model_gpu": model_gpu, "ocr_latency": ocr_latency,
}
# What a benchmark's JSON becomes before it is kept: (raw JSON, its stdout) → figures.
REDUCERS: dict[str, Callable[[Any, str], Any]] = {
    "critic_quality": reduce_critic_quality, "corpus": reduce_corpus,
}


def gpu_targets() -> str:
    c = constants("model_gpu.py", ["TARGET_VRAM_4BIT_GB", "TARGET_FIRST_ERROR_S",
                                   "TARGET_CRITIQUE_S"])
    return (f"targets: VRAM ≤ {c.get('TARGET_VRAM_4BIT_GB')} GB in 4-bit, first streamed error "
            f"≤ {c.get('TARGET_FIRST_ERROR_S')} s, full critique ≤ {c.get('TARGET_CRITIQUE_S')} "
            "s p50")


# ---- the whole report ------------------------------------------------------------------------

def section(o: Outcome) -> Section:
    when = f"{o.date}, verm {o.commit}" if o.date else ""
    info = [f"`{o.command}`" if o.command else "", f"{num(o.seconds)} s" if o.seconds else "",
            when]
    head = [f"## {o.title}", ""]
    if any(info):
        head += [" · ".join(i for i in info if i), ""]
    if o.status == NOT_RUN:
        extra = f" ({gpu_targets()})" if o.name == "model_gpu" else ""
        return Section([*head, f"**Not run:** {o.reason}{extra}"])
    if o.status != OK or o.data is None:
        verdict = "Timed out" if o.status == TIMED_OUT else "Failed"
        return Section([*head, f"**{verdict}:** {o.reason}", "", "```",
                        *o.tail.rstrip().splitlines()[-40:], "```"],
                       [f"{o.title}: {o.status.upper()} ({o.reason})"])
    try:
        body = RENDERERS[o.name](o.data) if o.name in RENDERERS else Section(
            ["```json", json.dumps(o.data, indent=1, default=str)[:4000], "```"])
    except Exception as exc:  # a renderer that cannot read the figures must not hide them
        body = Section(["**Failed:** its figures could not be rendered "
                        f"({type(exc).__name__}: {exc}):", "", "```json",
                        json.dumps(o.data, indent=1, default=str)[:4000], "```"])
    if o.returncode:
        body.lines += ["", f"The script exited with status {o.returncode} (its own verdict: a "
                       "target missed, or a part it could not run); its last lines:", "", "```",
                       *o.tail.rstrip().splitlines()[-12:], "```"]
    return Section([*head, *body.lines], body.headlines)


def render(meta: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    """RESULTS.md: how it was run, where, the headline numbers, then a section a benchmark."""
    sections = [section(o) for o in outcomes]
    lines = ["# verm benchmark results", "",
             "Written by `python -m benchmarks`; do not edit by hand. Reproduce:", "",
             "```sh",
             "# the full run, on a quiet machine: not yet timed (the whole corpus is ~2,500",
             "# sources, fuzzing 5000 examples a property); each benchmark has its own timeout",
             ".venv/bin/python -m benchmarks",
             ".venv/bin/python -m benchmarks --quick     # small counts: 22 min at load 10",
             ".venv/bin/python -m benchmarks --timeout-scale 2    # a slow or busy machine",
             ".venv/bin/python -m benchmarks --only cold_start,fuzz  # some; the rest are kept",
             ".venv/bin/python -m benchmarks --render-only        # rewrite this from results.json",
             "```", "",
             f"This run: `{meta.get('command', '')}` ({'quick' if meta.get('quick') else 'full'}"
             f" run; ✓ met, ✗ missed).", ""]
    lines += table(["", ""], [
        ["date", meta.get("date", "")],
        ["machine", f"{meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, "
                    f"{meta.get('ram_gb', '?')} GB RAM; {meta.get('platform', '')}"],
        ["load average (1/5/15 min)", f"before {meta.get('load_before', '?')}, after "
                                      f"{meta.get('load_after', '?')}"],
        ["verm", meta.get("commit", "?")],
        ["versions", ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())],
        ["wall time", f"{num(meta.get('seconds'))} s"],
    ])
    busy = busy_note(meta)
    for note in (meta.get("note"), busy):
        if note:
            lines += ["", note]
    heads = [h for s in sections for h in s.headlines]
    if heads:
        lines += ["", "## Headline numbers", "", *(f"- {h}" for h in heads)]
    lines += ["", "## Status", ""]
    lines += table(["benchmark", "status", "seconds"], [
        [f"[{o.title}](#{anchor(o.title)})", o.status + (f" (exit {o.returncode})"
                                                        if o.status == OK and o.returncode
                                                        else ""), num(o.seconds)]
        for o in outcomes])
    for s in sections:
        lines += ["", *s.lines]
    return "\n".join(lines) + "\n"


def busy_note(meta: dict[str, Any]) -> str:
    """A warning when the machine was busier than its cores: every latency is then slower
    than on a quiet machine, and the ratios against the naive baselines less reliable."""
    try:
        load = max(float(str(meta[k]).split()[0]) for k in ("load_before", "load_after"))
        cores = int(meta["cores"])
    except (KeyError, ValueError, TypeError):
        return ""
    if load <= cores:
        return ""
    return (f"**The machine was busy** (1-minute load up to {load:.1f} on {cores} cores, other "
            "work running beside the benchmarks): latencies here are slower than on a quiet "
            "machine. Compare figures within one run, and rerun on a quiet machine before "
            "quoting them as verm's speed.")


def anchor(title: str) -> str:
    """GitHub's heading anchor."""
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return keep.replace(" ", "-")


def save(path: Path, meta: dict[str, Any], outcomes: Sequence[Outcome]) -> None:
    path.write_text(json.dumps({"meta": meta, "outcomes": [asdict(o) for o in outcomes]},
                               indent=1, default=str) + "\n", encoding="utf-8")


def load(path: Path) -> tuple[dict[str, Any], list[Outcome]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return raw.get("meta", {}), [Outcome.from_json(o) for o in raw.get("outcomes", [])]
