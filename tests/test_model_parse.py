"""The model critic's output parser: a corpus of messy model answers, read whole and streamed."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from verm.critic.model.parse import Judgement, ModelError, StreamParser, parse_judgement
from verm.types import TAXONOMY

CORPUS = Path(__file__).parent / "fixtures" / "model_outputs"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
NAMES = sorted(EXPECTED)


def _text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def _stream(text: str, domain: str, sizes: list[int]) -> tuple[list[ModelError], Judgement]:
    parser, emitted, i, k = StreamParser(domain), [], 0, 0
    while i < len(text):
        size = sizes[k % len(sizes)]
        emitted += parser.feed(text[i:i + size])
        i, k = i + size, k + 1
    return emitted, parser.finish()


def _random_sizes(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.choice([1, 1, 2, 3, 5, 8, 13, 40, 200]) for _ in range(500)]


def test_corpus_is_large_and_every_file_has_an_expectation() -> None:
    files = {p.name for p in CORPUS.glob("*.txt")}
    assert len(files) >= 25
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_corpus_parses_to_the_expected_errors(name: str) -> None:
    want = EXPECTED[name]
    got = parse_judgement(_text(name), want["domain"])
    assert [[e.category, e.severity, e.location, e.description] for e in got.errors] \
        == want["errors"]
    assert (got.readable, got.complete) == (want["readable"], want["complete"])
    assert got.counts == want["counts"]
    assert len(got.problems) == len(want["problems"])
    for expected, problem in zip(want["problems"], got.problems, strict=True):
        assert problem.startswith(expected)
    for error in got.errors:
        assert error.category in TAXONOMY[want["domain"]]
        assert error.severity in (1, 2, 3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("chunking", ["chars", "seed1", "seed2", "seed3"])
def test_streaming_in_any_chunks_agrees_with_the_whole_text(name: str, chunking: str) -> None:
    domain, text = EXPECTED[name]["domain"], _text(name)
    sizes = [1] if chunking == "chars" else _random_sizes(int(chunking[-1]))
    emitted, finished = _stream(text, domain, sizes)
    assert finished == parse_judgement(text, domain)
    if "streamed_differs" not in EXPECTED[name]:
        assert emitted == finished.errors


def test_a_stray_think_close_voids_a_streamed_draft_and_finish_says_so() -> None:
    text = _text("chart_stray_close_after_draft.txt")
    emitted, finished = _stream(text, "chart", [7])
    assert [e.location for e in emitted] == ["draft colormap", "Heatmap cells", "Colorbar ticks"]
    assert [e.location for e in finished.errors] == ["Heatmap cells", "Colorbar ticks"]
    assert any("stray </think>" in p for p in finished.problems)


def test_an_answer_only_inside_an_unclosed_think_is_used_at_finish() -> None:
    emitted, finished = _stream(_text("chart_unclosed_think_with_json.txt"), "chart", [1])
    assert emitted == []
    assert finished.readable and [e.location for e in finished.errors] == ["Scatter markers"]


@pytest.mark.parametrize("name", [n for n in NAMES if EXPECTED[n]["errors"]
                                  and "streamed_differs" not in EXPECTED[n]])
def test_each_error_is_returned_by_the_feed_that_closes_it(name: str) -> None:
    """Fed one character at a time, an error comes out exactly on its closing brace (or the
    closing quote of a bare-sentence error), and one character earlier nothing has."""
    domain, text = EXPECTED[name]["domain"], _text(name)
    parser = StreamParser(domain)
    for i, c in enumerate(text):
        out = parser.feed(c)
        if out:
            assert c in "}\"'", f"emitted at {i} on {c!r}"
            assert len(out) == 1


def test_an_error_is_emitted_with_the_chunk_holding_its_brace_not_later() -> None:
    parser = StreamParser("chart")
    assert parser.feed('{"errors": [{"category": "text_error", "severity": 1, ') == []
    assert parser.feed('"location": "Title", "description": "Typo."') == []
    first = parser.feed('}, {"category": "data_')
    assert [e.description for e in first] == ["Typo."]
    assert parser.feed('error", "severity": 3, "description": "Bars doubled."') == []
    assert [e.category for e in parser.feed('}')] == ["data_error"]
    assert parser.feed("]}") == []
    assert [e.description for e in parser.finish().errors] == ["Typo.", "Bars doubled."]


def test_objects_outside_the_errors_list_are_never_emitted() -> None:
    parser = StreamParser("chart")
    counts = parser.feed('{"counts": {"category": "data_error", "severity": 2, "description": "x"}')
    assert counts == []
    assert parser.feed(', "meta": {"severity": 3, "location": "Title"}, "errors": [') == []
    assert len(parser.feed('{"category": "style_error", "severity": 1, "description": "y"}')) == 1
    assert [e.description for e in parser.finish().errors] == ["y"]


def test_a_think_block_split_across_chunks_is_still_skipped() -> None:
    parser = StreamParser("chart")
    out = []
    for chunk in ["<thi", 'nk>{"errors": [{"category": "data_error", "severity": 1, ',
                  '"description": "draft"}]}</th', "ink>", '{"errors": []}']:
        out += parser.feed(chunk)
    result = parser.finish()
    assert out == [] and result.errors == [] and result.readable and result.complete


def test_truncated_inside_the_first_error_is_unreadable_not_error_free() -> None:
    result = parse_judgement('{"errors": [{"category": "data_error", "sever', "chart")
    assert (result.readable, result.complete, result.errors) == (False, False, [])


def test_garbage_and_empty_text_are_unreadable() -> None:
    for text in ["", "   ", "}}}]]]", "{not json at all}", "<think></think>", "[1, 2, 3]"]:
        result = parse_judgement(text, "svg")
        assert not result.readable and result.errors == [], text


def test_an_empty_errors_list_is_readable_with_no_errors() -> None:
    result = parse_judgement('{"errors": []}', "table")
    assert result.readable and result.complete and result.errors == []


def test_table_type_and_category_keys_and_missing_location() -> None:
    text = ('{"errors": [{"type": "numeric", "severity": 2, "description": "1.2 vs 12"}, '
            '{"category": "Layout Error", "severity": "low", "description": "merged rows"}]}')
    result = parse_judgement(text, "table")
    assert [(e.category, e.severity, e.location) for e in result.errors] == [
        ("numeric_error", 2, ""), ("layout_error", 1, "")]
    assert result.errors[0].raw == {"type": "numeric", "severity": 2, "description": "1.2 vs 12"}


@pytest.mark.parametrize(("domain", "category", "expected"), [
    ("chart", "colour mismatch", "style_error"), ("chart", "number_error", "data_error"),
    ("table", "digit_error", "numeric_error"), ("table", "position_error", "layout_error"),
    ("svg", "geometry_error", "shape_error"), ("svg", "typo", "text_symbol_error"),
    ("svg", "extra_element", "structure_error"), ("html", "alignment", "layout_error"),
    ("html", "Font Error", "style_error"), ("html", "mystery", "structure_error"),
])
def test_unknown_categories_map_by_keyword(domain: str, category: str, expected: str) -> None:
    text = json.dumps({"errors": [{"category": category, "severity": 1, "description": "d"}]})
    result = parse_judgement(text, domain)
    assert [e.category for e in result.errors] == [expected]
    assert any(repr(category) in p for p in result.problems)


def test_unknown_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="domain"):
        StreamParser("pdf")


def test_feed_after_finish_is_refused() -> None:
    parser = StreamParser("chart")
    parser.finish()
    with pytest.raises(ValueError, match="finish"):
        parser.feed("{}")


def test_streaming_a_long_answer_char_by_char_is_linear_not_quadratic() -> None:
    """500 errors (~60 kB) one character per feed: a parser that re-read the whole text on
    every chunk would do ~10^9 character steps; a linear one finishes in well under a second
    on any machine, so 10 s is a generous bound that still catches the quadratic one."""
    one = {"category": "data_error", "severity": 2, "location": "Bar", "description": "x" * 60}
    text = json.dumps({"data_error_count": 500, "errors": [one] * 500})
    parser = StreamParser("chart")
    start = time.perf_counter()
    count = sum(len(parser.feed(c)) for c in text)
    assert count == 500
    assert time.perf_counter() - start < 10
    assert len(parser.finish().errors) == 500
