"""A model's location words land on the source line that drew the element, in every domain.

Each fixture is rendered once, by verm's real renderers (matplotlib in the sandbox, cairosvg,
Chromium); each phrase of the corpus is a location (and description) as a Visual-ERM model
writes it, with the 0-based line of the fixture that creates the element meant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from verm.check import Checker
from verm.critic.model.words import BLIND_SCORE, match_location
from verm.locate import locate
from verm.types import Discrepancy, Render

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = {
    "line": FIXTURES / "charts" / "line.py",  # two series, legend, title
    "bar": FIXTURES / "charts" / "bar.py",  # bars, legend, title, grid
    "sub": FIXTURES / "words" / "subplots.py",  # 1x2: grouped bars | pie
    "mixed": FIXTURES / "charts" / "mixed.py",  # pie, scatter, text, image, colorbar
    "icon": FIXTURES / "words" / "icon.svg",  # frame, star, badge, circle, ellipse, line, text
    "badge": FIXTURES / "svg" / "badge.svg",  # a <g> of rects
    "page": FIXTURES / "words" / "page.html",  # nav, header, form, button, img, footer
    "table": FIXTURES / "e2e" / "stock.md",  # 3 columns x 3 rows
}

# (fixture, location, description, category, the 0-based line that creates the element)
CORPUS: list[tuple[str, str, str, str | None, int]] = [
    # a multi-series line chart
    ("line", "Title", "the title text differs", "text_error", 10),
    ("line", "Legend", "the label 'Shop' is misspelled as 'Shp'", "text_error", 9),
    ("line", "legend entry 'Web'", "", None, 8),
    ("line", "the orange line", "is thicker than in the reference", "style_error", 8),
    ("line", "the green line", "dashed in the reference", "style_error", 9),
    ("line", "the red line", "should be blue", "style_error", 8),
    ("line", "line 'Shop'", "", "data_error", 9),
    ("line", "second line", "values differ", "data_error", 9),
    ("line", "Web series", "markers are missing", "style_error", 8),
    ("line", "x-axis tick labels", "rotated by 30 degrees instead of 45", "style_error", 14),
    ("line", "y-axis label", "reads 'visitors per day'", "text_error", 11),
    ("line", "the legend box", "placed at upper right in the reference", "structure_error", 12),
    ("line", "plot area", "background colour differs", "style_error", 7),
    # a bar chart with a legend and a title
    ("bar", "Bar for Q3", "taller in the reference", "data_error", 7),
    ("bar", "Title", "'Revenue by quarter' reads 'Revenue per quarter'", "text_error", 8),
    ("bar", "x-axis label", "", "text_error", 9),
    ("bar", "Y axis title", "font is smaller", "style_error", 10),
    ("bar", "Legend", "has no frame in the reference", "style_error", 11),
    ("bar", "legend entry 'Revenue'", "", None, 7),
    ("bar", "grid lines", "should be dashed", "style_error", 12),
    ("bar", "the bar for March", "is missing", "data_error", 7),
    ("bar", "y-axis tick labels", "formatted with one decimal", "text_error", 6),
    ("bar", "the blue bars", "should be orange", "style_error", 7),
    ("bar", "tallest bar", "too short", "data_error", 7),
    # a 1x2 subplot figure: grouped bars on the left, a pie on the right
    ("sub", "left subplot", "its aspect differs", "structure_error", 7),
    ("sub", "right subplot title", "reads 'By fruits'", "text_error", 18),
    ("sub", "left subplot's title", "", "text_error", 12),
    ("sub", "first subplot's x label", "", "text_error", 13),
    ("sub", "second subplot's x label", "missing in the render", "structure_error", 7),
    ("sub", "subplot (1,2)", "the pie is rotated", "structure_error", 16),
    ("sub", "pie slice 'Apples'", "too large", "data_error", 16),
    ("sub", "the South bar for Feb", "too short", "data_error", 10),
    ("sub", "second bar from the left", "", "data_error", 10),
    ("sub", "third bar from the left", "", "data_error", 9),
    ("sub", "the orange bars", "should be red", "style_error", 10),
    ("sub", "legend entry 'North'", "", "text_error", 9),
    ("sub", "legend", "in the left subplot, placed differently", "structure_error", 15),
    ("sub", "figure title", "missing", "text_error", 8),
    ("sub", "overall title 'Regional sales'", "", "text_error", 8),
    ("sub", "left subplot y-axis label", "reads 'Unit'", "text_error", 14),
    ("sub", "x-axis tick labels of the left subplot", "", "text_error", 11),
    ("sub", "legend", "missing in the right subplot", "structure_error", 7),
    ("sub", "right subplot", "the label 'Figs' overlaps the pie", "text_error", 16),
    ("sub", "the 'By month' panel", "y range differs", "structure_error", 7),
    ("sub", "somewhere in the figure", "looks different", None, 7),
    # a pie, a scatter, an image and a colorbar
    ("mixed", "colorbar", "tick labels differ", "text_error", 11),
    ("mixed", "scatter points", "should be blue", "style_error", 8),
    ("mixed", "annotation 'peak'", "", "text_error", 9),
    ("mixed", "heatmap", "colormap differs", "style_error", 10),
    ("mixed", "main title", "reads 'Overview!'", "text_error", 5),
    # an SVG icon with several shapes
    ("icon", "<circle> fill", "", "style_error", 5),
    ("icon", "the star icon's stroke", "thinner in the reference", "style_error", 2),
    ("icon", "the blue rectangle at top-right", "", "shape_error", 4),
    ("icon", "red circle", "radius smaller", "shape_error", 5),
    ("icon", "green ellipse", "", "shape_error", 6),
    ("icon", "horizontal line", "too long", "shape_error", 7),
    ("icon", "text 'Starred'", "", "text_symbol_error", 8),
    ("icon", "label", "'Starred' reads 'Stared'", "text_symbol_error", 8),
    ("icon", "#badge", "", "style_error", 4),
    ("icon", "frame", "corner radius differs", "shape_error", 1),
    ("icon", "the yellow star", "has six points", "shape_error", 2),
    ("icon", "the bottom-left shape", "", "shape_error", 6),
    ("icon", "icon", "overall size differs", "structure_error", 0),
    ("badge", "the orange rectangle", "", "style_error", 10),
    ("badge", "group 'bars'", "moved", "structure_error", 8),
    ("badge", "triangle", "points down in the reference", "shape_error", 5),
    # an HTML page with nav, header, button and footer
    ("page", "navigation bar", "background darker", "style_error", 15),
    ("page", "the 'Submit' button", "", "text_error", 27),
    ("page", "footer text", "smaller font", "style_error", 31),
    ("page", "header", "more padding in the reference", "layout_error", 20),
    ("page", "heading", "'Welcome back' reads 'Welcome'", "text_error", 21),
    ("page", "second nav link", "", "text_error", 17),
    ("page", "link 'About'", "", "text_error", 18),
    ("page", "the green button", "", "style_error", 27),
    ("page", "logo image", "missing", "structure_error", 29),
    ("page", "email input field", "wider", "layout_error", 26),
    ("page", "paragraph under the heading", "wrong colour", "style_error", 22),
    ("page", "#submit", "", "style_error", 27),
    ("page", ".lead paragraph", "", "style_error", 22),
    ("page", "main content", "", "layout_error", 24),
    ("page", "the 'Home' link", "text colour", "style_error", 16),
    ("page", "copyright notice", "'Copyright 2026 Example Inc.' lacks the year", "text_error",
     31),
    ("page", "sidebar", "missing", "structure_error", 14),
    # a Markdown table
    ("table", "row 3, column Qty", "", "numeric_error", 6),
    ("table", "header row", "bold in the reference", "layout_error", 2),
    ("table", "cell 'Pears'", "", "text_error", 5),
    ("table", "column 'Price'", "right-aligned in the reference", "layout_error", 2),
    ("table", "row 2", "value differs", "numeric_error", 5),
    ("table", "last row", "", "numeric_error", 6),
    ("table", "second row, Price column", "'0.80' shows '0.8'", "numeric_error", 5),
    ("table", "Qty of Plums", "", "numeric_error", 6),
    ("table", "the Price column", "", "layout_error", 2),
    ("table", "table", "borders missing", "layout_error", 2),
    ("table", "title", "reads 'Stocks'", "text_error", 0),
    ("table", "Apples row", "", "text_error", 4),
    ("table", "footnote", "missing", "structure_error", 2),
    # written after the matcher, as a held-out check of its vocabulary
    ("line", "Chart title 'Visitors'", "", None, 10),
    ("line", "legend label for Shop", "", None, 9),
    ("line", "Orange data series", "", None, 8),
    ("line", "y-axis", "range starts at 0 in the reference", None, 7),
    ("line", "first legend entry", "", None, 8),
    ("line", "the last x tick label", "'6' is '7'", "text_error", 14),
    ("bar", "fourth bar", "", None, 7),
    ("bar", "x tick label 'Q2'", "", None, 3),  # the list of category names
    ("bar", "the legend", "'Revenue' reads 'Revenu'", "text_error", 7),
    ("bar", "horizontal axis label", "", None, 9),
    ("bar", "vertical axis title", "", None, 10),
    ("bar", "chart title", "font weight bold in reference", "style_error", 8),
    ("sub", "Right panel", "the 'Pears' slice is bigger", "data_error", 16),
    ("sub", "left chart legend", "", None, 15),
    ("sub", "the blue bars in the left subplot", "", None, 9),
    ("sub", "title of the second subplot", "", None, 18),
    ("sub", "x-axis label", "'Months' in reference", "text_error", 13),
    ("sub", "pie chart", "slices in different order", "data_error", 16),
    ("sub", "wedge labels", "font larger", "style_error", 16),
    ("mixed", "color bar", "", None, 11),
    ("mixed", "red scatter markers", "", None, 8),
    ("icon", "the circle", "should be blue", "style_error", 5),
    ("icon", "star polygon", "", None, 2),
    ("icon", "caption text", "", None, 8),
    ("icon", "divider line", "", None, 7),
    ("icon", "outer rounded rectangle", "stroke colour", "style_error", 1),
    ("badge", "red dot", "", None, 4),
    ("badge", "second rect in the group", "", None, 10),
    ("badge", "'OK' text", "", None, 12),
    ("page", "nav links", "spacing", "layout_error", 16),
    ("page", "main heading", "", None, 21),
    ("page", "Submit button background", "", "style_error", 27),
    ("page", "About link", "", None, 18),
    ("page", "the footer", "", None, 31),
    ("page", "subtitle paragraph 'Sign in to continue.'", "", None, 22),
    ("page", "text input", "", None, 26),
    ("page", "the dark top navigation", "", None, 15),
    ("table", "Qty column, row 2", "", None, 5),
    ("table", "cell (3, 2)", "", None, 6),
    ("table", "'Plums' row, Price", "", "numeric_error", 6),
    ("table", "column headers", "", None, 2),
    ("table", "first row", "", None, 4),
    ("table", "value '0.50'", "", None, 4),
    ("table", "price of Pears", "", None, 5),
]

# Phrases that name nothing the render has: the enclosing element, flagged as not specific.
FALLBACKS = {("bar", "the bar for March"), ("sub", "second subplot's x label"),
             ("sub", "legend", "missing in the right subplot"), ("page", "sidebar"),
             ("table", "footnote"), ("sub", "somewhere in the figure")}


@pytest.fixture(scope="module")
def renders() -> Iterator[dict[str, Render]]:
    with Checker() as checker:
        out = {name: checker.render(checker.load(path)) for name, path in SOURCES.items()}
    for name, render in out.items():
        assert render.ok, (name, render.failure)
    yield out


def _line(renders: dict[str, Render], case: tuple[str, str, str, str | None, int]) -> int:
    name, location, description, category, _ = case
    match = match_location(location, description, renders[name], category)
    assert match is not None and match.anchor.range is not None
    return match.anchor.range.start.line


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c[0]}:{c[1]}" for c in CORPUS])
def test_phrase_lands_on_its_line(renders: dict[str, Render],
                                  case: tuple[str, str, str, str | None, int]):
    name, location, description, category, line = case
    match = match_location(location, description, renders[name], category)
    assert match is not None
    assert _line(renders, case) == line, match.why
    assert 0.0 <= match.score <= 1.0 and match.why


def test_corpus_is_large_and_covers_every_domain():
    assert len(CORPUS) >= 60
    kinds = {SOURCES[c[0]].suffix for c in CORPUS}
    assert kinds == {".py", ".svg", ".html", ".md"}


def test_hit_rate_and_no_stray_line_zero(renders: dict[str, Render]):
    """Every phrase lands where it should; line 0 only for the elements line 0 draws."""
    lines = [(_line(renders, c), c[4]) for c in CORPUS]
    hits = sum(got == want for got, want in lines)
    assert hits / len(CORPUS) == 1.0
    assert all(got != 0 or want == 0 for got, want in lines)
    zero = [c for c in CORPUS if c[4] == 0]
    assert {(c[0], c[1]) for c in zero} == {("icon", "icon"), ("table", "title")}


def test_fallbacks_blame_the_enclosing_element_not_specific(renders: dict[str, Render]):
    for case in CORPUS:
        name, location, description, category, _ = case
        match = match_location(location, description, renders[name], category)
        assert match is not None
        wanted_fallback = (name, location) in FALLBACKS or (
            name, location, description) in FALLBACKS
        assert match.specific is not wanted_fallback, (case, match.why)


def test_enclosing_element_by_domain(renders: dict[str, Render]):
    """Nothing understood: the subplot figure, the <svg>, the <body>, the table — not line 0
    where the container is elsewhere — and a score that says nothing was understood."""
    expected = {"line": ("axes", 7), "sub": ("figure", 7), "icon": ("svg", 0),
                "page": ("page", 14), "table": ("table", 2)}
    for name, (role, line) in expected.items():
        match = match_location("zzz", "", renders[name])
        assert match is not None and not match.specific
        assert match.anchor.role == role and match.anchor.range is not None
        assert match.anchor.range.start.line == line
        assert match.score == BLIND_SCORE


def test_typo_in_either_direction_matches_the_legend_entry(renders: dict[str, Render]):
    """'Sails' is what the render shows or what the reference shows: both find 'Revenue'-like
    entries by fuzzy text; here the render says 'North' and the model quotes 'Nort'."""
    for said in ("the label 'Nort' should read 'North'", "'Norht' is misspelled"):
        match = match_location("Legend", said, renders["sub"], "text_error")
        assert match is not None and match.anchor.role == "legend-text"
        assert match.anchor.text == "North"


def test_no_ranged_anchor_means_none(renders: dict[str, Render]):
    bare = Render(kind="chart", source=Path("x.py"), image=None,
                  anchors=[replace(a, range=None) for a in renders["bar"].anchors[:3]])
    assert match_location("title", "", bare) is None


def test_locate_uses_the_words_for_a_model_finding(renders: dict[str, Render]):
    render = renders["page"]
    d = Discrepancy("text_error", 2, "the 'Submit' button", "reads 'Send'")
    assert locate(d, render).start.line == 27
    d = Discrepancy("structure_error", 2, "sidebar", "missing")
    assert locate(d, render).start.line == 14  # the enclosing <body>, not line 0
    d = Discrepancy("style_error", 1, "zzz", "x")
    assert locate(d, render).start.line == 0  # not a word understood: top of file


def test_locate_prefers_the_model_reading_over_a_bare_role_word(renders: dict[str, Render]):
    """"Legend" + a quoted label is the entry's line; "second subplot's x label" is not the
    first subplot's x label just because that one is the only x label drawn."""
    d = Discrepancy("text_error", 2, "Legend", "the label 'South' reads 'Sout'")
    assert locate(d, renders["sub"]).start.line == 10
    d = Discrepancy("structure_error", 2, "second subplot's x label", "missing")
    assert locate(d, renders["sub"]).start.line == 7
