"""The ensemble's merge: a finding both critics make is said once, in the model's words, with
the analytic box and quick fix; findings only one critic makes are all kept."""

from __future__ import annotations

from verm.critic.ensemble import merge, same_finding
from verm.types import Anchor, Discrepancy, Range

TITLE = Anchor(box=(100, 10, 300, 30), role="title", key="ax0/title", name="title",
               range=Range.of_line(7), text="Sales by quarter")
BAR = Anchor(box=(50, 60, 90, 300), role="bar", key="ax0/bar2", name="bar 'Q3'",
             range=Range.of_line(6))


def analytic_title() -> Discrepancy:
    return Discrepancy("text_error", 2, "title", "reference text 'Sales per quarter', render "
                       "'Sales by quarter'", ref_box=(100, 10, 300, 30),
                       render_box=(100, 10, 300, 30), anchor=TITLE, range=Range.of_line(7),
                       fix={"kind": "text", "expected": "Sales per quarter"})


def test_the_same_element_and_category_is_one_finding_with_both_views():
    model = Discrepancy("text_error", 3, "Title", "The title reads 'by' instead of 'per'",
                        anchor=TITLE, render_box=TITLE.box)
    [one] = merge([analytic_title()], [model])
    assert one.description == ("The title reads 'by' instead of 'per' (analytic: reference "
                               "text 'Sales per quarter', render 'Sales by quarter')")
    assert one.severity == 3  # the graver of the two
    assert one.fix == {"kind": "text", "expected": "Sales per quarter"}  # the quick fix stays
    assert one.ref_box == (100, 10, 300, 30) and one.range == Range.of_line(7)


def test_overlapping_boxes_count_as_one_place_without_a_shared_anchor():
    model = Discrepancy("text_error", 2, "top of the chart", "heading wording differs",
                        render_box=(120, 12, 280, 28))
    assert same_finding(model, analytic_title())
    assert len(merge([analytic_title()], [model])) == 1


def test_a_different_category_or_place_keeps_both():
    colour = Discrepancy("style_error", 1, "title", "the title is grey", anchor=TITLE,
                         render_box=TITLE.box)
    bars = Discrepancy("text_error", 2, "bars", "bar labels differ", anchor=BAR,
                       render_box=BAR.box)
    merged = merge([analytic_title()], [colour, bars])
    assert [d.description for d in merged] == [
        "the title is grey", "bar labels differ",
        "reference text 'Sales per quarter', render 'Sales by quarter'"]
