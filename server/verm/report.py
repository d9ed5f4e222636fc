"""How ``verm check`` prints results: text for people, JSON Lines for scripts, SARIF for CI UIs,
GitHub workflow commands, JUnit XML (``verm.junit``). Each prints an ``Outcome`` — of a check
that just ran, or read back from a shard's JSON report — so ``verm merge-reports`` prints what
the unsharded run would have."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from verm import __version__
from verm.check import CheckResult
from verm.outcome import SEVERITY_WORDS, Outcome
from verm.types import TAXONOMY, Range

SARIF_LEVELS = {3: "error", 2: "warning", 1: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _outcome(result: CheckResult | Outcome, cwd: Path) -> Outcome:
    return result if isinstance(result, Outcome) else Outcome.of(result, cwd)


def text_lines(result: CheckResult | Outcome, cwd: Path) -> list[str]:
    """``path:line:col: severity category: description (location)``, each followed by the
    ``note:`` lines of what it also changed, then a summary line."""
    result = _outcome(result, cwd)
    src = result.source
    out = []
    for d in result.discrepancies:
        start = d.range.start if d.range else None
        line, col = (start.line + 1, start.character + 1) if start else (1, 1)
        out.append(f"{src}:{line}:{col}: {SEVERITY_WORDS[d.severity]} {d.category}: "
                   f"{d.description} ({d.location})")
        for r in d.related:  # consequences of this cause, as a compiler's notes
            rl = r.range.start.line + 1 if r.range else line
            out.append(f"{src}:{rl}:1: note: also {r.description} ({r.location})")
    out.append(summary(result, cwd))
    return out


def summary(result: CheckResult | Outcome, cwd: Path) -> str:
    """How far the source is from its reference: findings by severity and the reward."""
    result = _outcome(result, cwd)
    src, ref = result.source, result.reference
    if not result.rendered:
        return f"{src}: not rendered — reward 0.00 (reference {ref})"
    n = len(result.discrepancies)
    if n == 0:
        return f"{src}: visually equivalent to {ref} — reward {result.reward:.2f}"
    parts = ", ".join(f"{c} {w}{'s' if c != 1 and w != 'info' else ''}"
                      for w, c in result.counts().items() if c)
    return (f"{src}: {n} discrepanc{'y' if n == 1 else 'ies'} ({parts}) against {ref} — "
            f"reward {result.reward:.2f}")


GITHUB_LEVELS = {3: "error", 2: "warning", 1: "notice"}


def github_lines(result: CheckResult | Outcome, cwd: Path) -> list[str]:
    """GitHub Actions workflow commands: one annotation per discrepancy on its source lines
    (shown on the pull request's diff), then the summary line as plain log text."""
    result = _outcome(result, cwd)
    src = result.source
    out = []
    for d in result.discrepancies:
        r = d.range
        props = {"file": src, "line": (r.start.line + 1) if r else 1,
                 "endLine": (max(r.end.line, r.start.line) + 1) if r else 1,
                 "title": f"verm {d.category} ({d.location})"}
        if r is not None and r.start.line == r.end.line and r.end.character > r.start.character:
            props.update(col=r.start.character + 1, endColumn=r.end.character + 1)
        fields = ",".join(f"{k}={_gh_property(str(v))}" for k, v in props.items())
        message = d.description + "".join(f"\nalso: {x.description} ({x.location})"
                                          for x in d.related)
        out.append(f"::{GITHUB_LEVELS[d.severity]} {fields}::{_gh_data(message)}")
    out.append(summary(result, cwd))
    return out


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def json_line(result: CheckResult | Outcome, cwd: Path, seconds: bool = False) -> str:
    """The ``--format json`` line; ``seconds``: with the time spent judging it (for
    ``--json-report`` files, which ``--shard-durations`` balances shards by)."""
    result = _outcome(result, cwd)
    data = dict(result.json)
    if seconds and result.seconds is not None:
        data["seconds"] = round(result.seconds, 3)
    return json.dumps(data, ensure_ascii=False)


def totals_line(results: list[Outcome]) -> str:
    """The last line of a text report of several sources: how many fail, and the worst."""
    equivalent = sum(r.equivalent for r in results)
    line = (f"{len(results)} sources checked: {equivalent} equivalent, "
            f"{len(results) - equivalent} with discrepancies")
    failed = sum(not r.rendered for r in results)
    if failed:
        line += f" ({failed} not rendered)"
    if equivalent < len(results):
        worst = min(results, key=lambda r: r.reward)
        line += f"; worst: {worst.source}, reward {worst.reward:.2f}"
    return line


def _region(r: Range | None) -> dict[str, int]:
    """A SARIF region (1-based lines and columns) for a source range."""
    return {
        "startLine": (r.start.line + 1) if r else 1,
        "startColumn": (r.start.character + 1) if r else 1,
        "endLine": (r.end.line + 1) if r else 1,
        "endColumn": (max(r.end.character, r.start.character) + 1) if r else 1,
    }


def sarif(results: Iterable[CheckResult | Outcome], cwd: Path) -> dict[str, Any]:
    """One SARIF 2.1.0 log: a rule per taxonomy category, a result per discrepancy."""
    categories = sorted({c for cats in TAXONOMY.values() for c in cats})
    rules = [{
        "id": c,
        "name": "".join(w.title() for w in c.split("_")),
        "shortDescription": {"text": f"Visual {c.replace('_', ' ')}"},
        "helpUri": "https://arxiv.org/abs/2603.13224",
    } for c in categories]
    rule_index = {c: i for i, c in enumerate(categories)}
    sarif_results = []
    for res in (_outcome(r, cwd) for r in results):
        uri = res.source
        for d in res.discrepancies:
            region = _region(d.range)
            sarif_results.append({
                "ruleId": d.category,
                "ruleIndex": rule_index[d.category],
                "level": SARIF_LEVELS[d.severity],
                "message": {"text": f"{d.description} ({d.location})"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }}],
                **({"relatedLocations": [{
                    "id": i,
                    "message": {"text": f"also: {r.description} ({r.location})"},
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                        "region": _region(r.range),
                    },
                } for i, r in enumerate(d.related)]} if d.related else {}),
                "properties": {
                    "severity": d.severity,
                    "location": d.location,
                    "bbox": d.to_json()["bbox"],
                    "reference": res.reference,
                    "reward": round(res.reward, 4),
                    "kind": res.kind,
                },
            })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "verm",
                "version": __version__,
                "informationUri": "https://arxiv.org/abs/2603.13224",
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": cwd.absolute().as_uri() + "/"}},
            "results": sarif_results,
        }],
    }
