"""A legend or grid whose call was deleted, judged against a designer's screenshot (no sidecar).

No sidecar says where the call was. The legend's framed box (or the grid's thin lines) is
reference ink that no render element explains: it used to be handed to whatever lay under it (a
wedge "recoloured", lines "resized", unnamed data "missing" on the `subplots` line). Now it is
one finding, a missing legend (structure, 2) or grid (style, 1), on the plot's last line and the
next: where the call would go back. A framed note is not a legend (no handle in a labelled
series' colour). Each case is the real render saved as a PNG, judged by ``Checker.check``,
asserting the exact (category, line, severity) list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import against_screenshot, screenshot_findings, screenshot_of
from verm.check import Checker

# A chart of the quality benchmark: two series with error bars and a legend.
ERRORBARS = (Path(__file__).parents[1] / "benchmarks" / "fixtures" / "quality" / "charts"
             / "errorbar_trials.py").read_text()

PIE = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.0, 4.5), dpi=100)
ax.pie([45, 25, 20, 10], labels=["Acme", "Globex", "Initech", "Umbrella"], startangle=90)
ax.set_title("Market share")
ax.legend(loc="lower left")
"""

WEEK = """import matplotlib.pyplot as plt

days = [1, 2, 3, 4, 5, 6, 7]
fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
ax.plot(days, [320, 340, 310, 390, 420, 380, 450], color="#1f77b4", marker="o", label="Visits")
ax.plot(days, [40, 42, 38, 51, 60, 55, 63], color="#d62728", linestyle="--", label="Orders")
ax.set_title("Weekly traffic")
ax.grid(True, alpha=0.3)
ax.legend(loc="center right")
"""


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def test_a_deleted_legend_is_one_missing_legend_on_the_plots_last_line(
        checker: Checker, tmp_path: Path) -> None:
    """Not the error bars it lay over "resized": one structure finding, on `set_ylabel` (the
    plot's last line once the `ax.legend` call is gone)."""
    edited = ERRORBARS.replace('ax.legend(loc="upper left")\n', "")
    found = screenshot_findings(checker, tmp_path, "chart.py", ERRORBARS, edited)
    assert found == [("structure_error", 13, 2)]


def test_a_missing_guide_covers_the_insertion_point_after_the_plots_last_line(
        checker: Checker, tmp_path: Path) -> None:
    """The call goes back after the last line: the range runs from it through the next line
    (where a call deleted and left as a blank line was), as a missing shape's does."""
    edited = ERRORBARS.replace('ax.legend(loc="upper left")', "")
    (found,) = against_screenshot(checker, tmp_path, "chart.py", ERRORBARS, edited)
    assert found.range is not None
    assert (found.range.start.line, found.range.end.line, found.range.end.character) == (
        13, 15, 0)
    assert ERRORBARS.splitlines()[14] == 'ax.legend(loc="upper left")'


SPACED = """import matplotlib.pyplot as plt
days = [1, 2, 3, 4, 5, 6, 7]
fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
ax.plot(days, [320, 340, 310, 390, 420, 380, 450], color="#1f77b4", marker="o", label="Visits")
ax.set_title("Weekly traffic")

ax.legend(loc="center right")
print("drawn")
"""


def test_a_missing_guide_reaches_past_a_blank_line_to_where_the_script_goes_on(
        checker: Checker, tmp_path: Path) -> None:
    """A blank line after the plot's last call is no place for the deleted call: the range runs
    on to the next line of code (where the `ax.legend` call was, deleted)."""
    edited = SPACED.replace('ax.legend(loc="center right")\n', "")
    (found,) = against_screenshot(checker, tmp_path, "chart.py", SPACED, edited)
    assert (found.category, found.severity) == ("structure_error", 2)
    assert found.range is not None
    assert (found.range.start.line, found.range.end.line, found.range.end.character) == (
        4, 7, 0)
    assert edited.splitlines()[6] == 'print("drawn")'


def test_a_deleted_legend_over_a_wedge_is_found_through_its_translucent_frame(
        checker: Checker, tmp_path: Path) -> None:
    """The frame's edge over the wedge is the wedge's colour mixed in: taken out, the edge is
    even. Not the wedge "recoloured" where the legend's face lightened it."""
    edited = PIE.replace('ax.legend(loc="lower left")\n', "")
    found = screenshot_findings(checker, tmp_path, "chart.py", PIE, edited)
    assert found == [("structure_error", 4, 2)]


def test_a_deleted_framed_note_is_not_a_missing_legend(checker: Checker,
                                                       tmp_path: Path) -> None:
    """A framed text box deleted from a plot whose wedges have labels but no legend: its frame
    holds glyphs, whose soft edges take many greys, but no handle in a wedge's colour. It is
    not reported as a legend. (With no render element left to name, it stays unnamed ink on
    the plot's line.)"""
    text = PIE.replace('ax.legend(loc="lower left")\n',
                       'ax.text(0.02, 0.04, "Survey of 2024", transform=ax.transAxes,\n'
                       '        bbox={"facecolor": "white", "edgecolor": "#cccccc"})\n')
    edited = text.replace('"Survey of 2024"', '""')
    result = against_screenshot(checker, tmp_path, "chart.py", text, edited)
    assert [(d.category, d.range.start.line, d.severity, d.location) for d in result] == [
        ("data_error", 2, 2, "plot area")]


def test_a_pale_grid_both_ways_deleted_is_one_style_error(checker: Checker,
                                                          tmp_path: Path) -> None:
    """A grid at alpha 0.3 drawn both ways differs faintly along every row (its upright lines'
    soft edges): that is lines, not a lossy copy's noise, so it is judged exactly and found."""
    edited = WEEK.replace("ax.grid(True, alpha=0.3)\n", "")
    found = screenshot_findings(checker, tmp_path, "chart.py", WEEK, edited)
    assert found == [("style_error", 7, 1)]


def test_a_legend_handle_recoloured_with_its_changed_series_folds_into_it(
        checker: Checker, tmp_path: Path) -> None:
    """A series recoloured and given other data reads as a new series (not a recolour): its
    legend handle, now in its new colour, is its consequence, not a finding of its own."""
    text = WEEK.replace("ax.grid(True, alpha=0.3)\n", "")
    edited = text.replace('[40, 42, 38, 51, 60, 55, 63], color="#d62728"',
                          '[63, 55, 60, 51, 38, 42, 40], color="#2ca02c"')
    result = against_screenshot(checker, tmp_path, "chart.py", text, edited)
    assert [(d.category, d.range.start.line, d.severity) for d in result] == [
        ("data_error", 5, 3)]
    assert [r.location for r in result[0].related] == ["legend"]


HISTOGRAM = (Path(__file__).parents[1] / "benchmarks" / "fixtures" / "quality" / "charts"
             / "hist_latency.py").read_text()


@pytest.mark.parametrize("shot", ["jpeg", "cropped"])
def test_a_grid_deleted_over_recoloured_bars_is_not_their_cover(
        checker: Checker, tmp_path: Path, shot: str) -> None:
    """The deleted grid ran over the bars at alpha 0.3: there its pixels are the bars' hue. Its
    colour is read where it crossed bare ground, not over the bars — a "grid" in the bars'
    reference colour passed for a cover drawn over them, and their recolour folded into it."""
    edited = (HISTOGRAM.replace('color="#17becf"', 'color="#2ca02c"')
              .replace('ax.grid(axis="y", alpha=0.3)\n', ""))
    src, path = screenshot_of(checker, tmp_path, "hist.py", HISTOGRAM, jpeg=shot == "jpeg",
                              crop=4 if shot == "cropped" else 0)
    found = checker.check(checker.load(src, edited), path).discrepancies
    assert [(d.category, d.range.start.line, d.severity, d.location.split()[0]) for d in found
            ] == [("style_error", 8, 1, "bar"), ("style_error", 11, 1, "grid")]


BARH = (Path(__file__).parents[1] / "benchmarks" / "fixtures" / "quality" / "charts"
        / "barh_ranking.py").read_text()


@pytest.mark.parametrize("scale", [1.0, 2.0], ids=["png", "2x"])
def test_a_dotted_grid_deleted_over_bars_is_one_style_error(
        checker: Checker, tmp_path: Path, scale: float) -> None:
    """A dotted grid differs dot by dot (at 2× under half of each line's length): its gaps are
    closed along the line. It is read by its dots' cores (their rims are paler), so where it
    crossed the bars it is its own ink, not the bars "recoloured" grey."""
    edited = BARH.replace('ax.grid(axis="x", linestyle=":")\n', "")
    src, shot = screenshot_of(checker, tmp_path, "barh.py", BARH, scale=scale)
    found = checker.check(checker.load(src, edited), shot).discrepancies
    assert [(d.category, d.range.start.line, d.severity, d.location) for d in found] == [
        ("style_error", 10, 1, "grid lines")]
