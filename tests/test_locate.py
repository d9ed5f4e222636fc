"""Discrepancy → source range: anchor, declaration, ancestor key, location words, top of file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from verm.locate import locate
from verm.types import TOP_OF_FILE, Anchor, Discrepancy, Range, Render


def _anchor(key: str, role: str, line: int | None, name: str = "", box=(0, 0, 10, 10), **kw):
    return Anchor(box=box, role=role, key=key, name=name or role,
                  range=Range.of_line(line) if line is not None else None, **kw)


RENDER = Render(
    kind="chart", source=Path("chart.py"), image=Image.new("RGB", (100, 100)),
    anchors=[
        _anchor("ax0", "axes", 5, "plot area", box=(0, 0, 100, 100), container=True),
        _anchor("ax0/title", "title", 9, "title", box=(30, 0, 70, 8)),
        _anchor("ax0/bar2", "bar", 7, "bar 'Q3'", box=(50, 40, 60, 100)),
        _anchor("ax0/legend", "legend", 12, "legend", box=(70, 10, 95, 30), container=True),
        _anchor("ax0/legend/text0", "legend-text", 12, "legend entry 'Sales'"),
    ],
)


def test_the_blamed_anchor_wins():
    d = Discrepancy("data_error", 3, "bar 'Q3'", "shorter", anchor=RENDER.anchors[2])
    assert locate(d, RENDER).start.line == 7


def test_colour_fix_points_at_the_declaration_that_sets_it():
    styled = _anchor("html>body>p[0]", "text", 20, "<p>",
                     props={"css": {"color": {"line": 4, "start": 6, "end": 18}}})
    page = Render(kind="html", source=Path("page.html"), image=RENDER.image, anchors=[styled])
    d = Discrepancy("style_error", 2, "<p>", "colour", anchor=styled,
                    fix={"kind": "color", "expected": "#000000", "actual": "#333333"})
    assert locate(d, page) == Range.span(4, 6, 18)


def test_style_fix_points_at_its_declaration_and_skips_linked_stylesheets():
    rule = {"font-size": {"line": 7, "start": 2, "end": 18},
            "color": {"line": 3, "start": 0, "end": 9, "file": "/site/style.css"}}
    h1 = _anchor("html>body>h1[0]", "text", 12, "<h1>", props={"css": rule})
    page = Render(kind="html", source=Path("page.html"), image=RENDER.image, anchors=[h1])
    size = Discrepancy("style_error", 1, "<h1>", "bigger", anchor=h1,
                       fix={"kind": "style", "property": "font-size"})
    assert locate(size, page) == Range.span(7, 2, 18)
    colour = Discrepancy("style_error", 1, "<h1>", "colour", anchor=h1,
                         fix={"kind": "color", "property": "color"})
    assert locate(colour, page).start.line == 12  # the rule is in another file: the tag


def test_missing_element_falls_back_to_its_nearest_rendered_ancestor():
    gone = _anchor("ax0/legend/text3", "legend-text", None, "legend entry 'Costs'")
    d = Discrepancy("structure_error", 2, "legend entry 'Costs'", "missing", anchor=gone)
    assert locate(d, RENDER).start.line == 12


def test_location_words_when_no_anchor_is_blamed():
    assert locate(Discrepancy("text_error", 2, "title", "x"), RENDER).start.line == 9
    assert locate(Discrepancy("style_error", 1, "the legend box", "x"), RENDER).start.line == 12
    assert locate(Discrepancy("data_error", 3, "bar 'Q3'", "x"), RENDER).start.line == 7


def test_nothing_known_means_top_of_file():
    assert locate(Discrepancy("style_error", 1, "somewhere", "x"), RENDER) == TOP_OF_FILE
