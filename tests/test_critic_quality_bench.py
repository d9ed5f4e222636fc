"""The critic-quality benchmark scores what it says it scores.

Its metric rules (a finding counts only on the label's line, spanning ≤ 3 lines; ranking by
error count then severity; Pearson without spread is undefined) are checked on hand-built
findings and labels, and one tiny real run (one repository chart, one variant, no gallery)
shows the whole pipeline produces those figures and the JSON dump.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import critic_quality as bench  # noqa: E402
from critic_quality_metrics import (  # noqa: E402
    Finding,
    Item,
    Judged,
    Pair,
    covers,
    line_span,
    pearson,
    primary,
    ranking,
    summarize,
    use_lines,
)
from verm.types import Position, Range  # noqa: E402
from verm_training.data import Label  # noqa: E402
from verm_training.synth.mutation import Mutation  # noqa: E402

ITEM = Item(Path("chart.py"), "chart.py", "chart", "repo")


def label(line: int, category: str = "data_error", severity: int = 3) -> Label:
    return Label(category=category, severity=severity, location="x", description="d", line=line)


def finding(start: int, end: int | None = None, category: str = "data_error",
            severity: int = 3) -> Finding:
    return Finding(start, start if end is None else end, category, severity)


def judged(labels: tuple[Label, ...], findings: list[Finding], reward: float = 2.0,
           key: str = "chart.py") -> Judged:
    item = Item(Path(key), key, "chart", "repo")
    role = "identity" if not labels else "single" if len(labels) == 1 else "triple"
    return Judged(item, Pair(role, (), "", labels), "sidecar", "analytic", findings, reward)


def test_a_finding_covers_a_line_only_within_three_lines() -> None:
    assert covers(finding(5), 5)
    assert covers(finding(4, 6), 5)  # three lines: still specific enough
    assert not covers(finding(4, 7), 5)  # four lines: too wide to count
    assert not covers(finding(0, 40), 5)  # the whole file explains nothing
    assert not covers(finding(6), 5)  # the next line is another line
    assert not covers(finding(5), None)


def test_a_range_ending_at_column_zero_does_not_cover_that_line() -> None:
    whole_line = Range(Position(3, 0), Position(4, 0))
    assert line_span(whole_line) == (3, 3)
    assert line_span(Range(Position(3, 2), Position(5, 1))) == (3, 5)
    assert line_span(None) == (0, 0)


def test_the_primary_finding_is_the_most_severe_covering_one() -> None:
    found = [finding(2, category="style_error", severity=1),
             finding(2, category="data_error", severity=3), finding(9)]
    hit = primary(found, label(2))
    assert hit is not None and hit.category == "data_error"
    assert primary(found, label(5)) is None


def test_precision_recall_category_and_findings_per_error() -> None:
    rows = [
        judged((), []),  # identity, clean
        judged((label(3),), [finding(3), finding(7)]),  # found; one extra on another line
        judged((label(5, "text_error", 2),), [finding(5, category="style_error", severity=2)]),
        judged((label(8),), [finding(0, 20)]),  # a whole-file finding: neither hit nor found
    ]
    f = summarize(rows)
    assert f["precision"] == pytest.approx(2 / 4)
    assert f["recall"] == pytest.approx(2 / 3)
    assert f["category"] == pytest.approx(1 / 2)  # the text label was called a style change
    assert f["per_error"] == pytest.approx((2 + 1 + 1) / 3)
    assert f["per_error_max"] == 2
    assert f["identity_fp"] == 0


def test_identity_findings_are_false_positives() -> None:
    f = summarize([judged((), [finding(1), finding(2)]), judged((label(1),), [finding(1)])])
    assert f["identity_fp"] == 2 and f["identity_fp_pairs"] == 1
    assert f["precision"] == pytest.approx(1 / 3)


def test_ranking_orders_by_error_count_then_severity() -> None:
    identity, mild, severe, triple = (0, 0), (1, 1), (1, 3), (3, 3)
    right = [(identity, 2.0), (mild, 1.98), (severe, 1.94), (triple, 1.90)]
    assert ranking(right) == (6, 6)
    # A severe single above a mild one is wrong; so is a triple that ties a single.
    wrong = [(identity, 2.0), (mild, 1.90), (severe, 1.94), (triple, 1.94)]
    assert ranking(wrong) == (3, 6)
    # Two singles of the same severity are not compared.
    assert ranking([((1, 2), 1.9), ((1, 2), 1.5)]) == (0, 0)


def test_ranking_compares_pairs_of_one_source_only() -> None:
    rows = [judged((), [], 2.0, "a.py"), judged((label(1),), [finding(1)], 1.94, "a.py"),
            judged((label(1),), [], 2.0, "b.py")]  # b's only pair has nothing to rank against
    assert summarize(rows)["ranked_pairs"] == 1
    assert summarize(rows)["ranking"] == 1.0


def test_pearson_edge_cases() -> None:
    assert pearson([0, 1, 2], [0, 2, 4]) == pytest.approx(1.0)
    assert pearson([0, 1, 2], [4, 2, 0]) == pytest.approx(-1.0)
    assert math.isnan(pearson([1, 1, 1], [0, 1, 2]))  # no spread: undefined, not 0
    assert math.isnan(pearson([1], [1]))


def test_use_lines_find_where_an_edited_list_is_plotted() -> None:
    text = "import x\nvalues = [1, 2]\nax.bar(names, values)\nax.plot(values)\n"
    assert use_lines(text, 1) == frozenset({2, 3})
    assert use_lines(text, 2) == frozenset()
    assert use_lines("<svg/>", 0) == frozenset()


def test_mutations_compose_only_on_disjoint_lines() -> None:
    base = "a\nb\nc\nd"
    one = Mutation("f", "one", "A\nb\nc\nd", (label(0),))
    two = Mutation("g", "two", "a\nb\nC\nd", (label(2),))
    clash = Mutation("h", "clash", "a2\nb\nc\nd", (label(0),))
    shorter = Mutation("i", "shorter", "a\nb\nc", (label(2),))
    assert bench.compose(base, [one, two]) == "A\nb\nC\nd"
    assert bench.compose(base, [one, clash]) is None
    assert bench.compose(base, [one, shorter]) is None


def test_cropping_never_cuts_into_content() -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (40, 30), "white")
    ImageDraw.Draw(image).rectangle((2, 10, 30, 20), fill="black")  # 2 px from the left
    out = bench.cropped(image)
    assert out.size == (40 - 2 - 4, 30 - 4 - 4)
    assert bench.content_margin(out)[0] == 0


def test_one_chart_end_to_end(tmp_path: Path) -> None:
    dump = tmp_path / "quality.json"
    result = bench.main(["--sources", "tests/fixtures/charts/bar.py", "--gallery", "0",
                         "--variants", "sidecar", "--pairs", "1", "--jobs", "1",
                         "--json", str(dump)])
    figures = result["metrics"]["sidecar"]["chart"]
    assert figures["sources"] == 1 and figures["pairs"] >= 2  # identity + a single at least
    assert figures["identity_fp"] == 0  # a render judged against its own pin
    data = json.loads(dump.read_text())
    identity = [p for p in data["pairs"] if p["role"] == "identity"]
    assert {p["critic"] for p in identity} == {"analytic", "naive"}
    single = next(p for p in data["pairs"] if p["role"] == "single"
                  and p["critic"] == "analytic")
    assert single["labels"] and isinstance(single["labels"][0]["line"], int)
    assert all({"lines", "category", "severity", "matched"} <= set(d)
               for d in single["diagnostics"])
