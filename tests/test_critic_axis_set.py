"""An axis the script sets itself, changed, and bars turned on their side, judged against a
screenshot (no sidecar).

A log scale bends every series, and limits that clip bars leave no series where an axis map
would put it: no map says which series changed, and each read as its own data change (plus
the plot's ground "recoloured" by bars filling it). When the tick numbers changed and the
script sets that axis's limits, scale or ticks on a line of its own, that line is the one
cause. Controls: a category renamed (words at the ticks, the other axis's numbers nudged a
pixel) and a data value changed under fixed limits are not axis changes. Each case is the real
render saved as a PNG, judged by ``Checker.check``, asserting the exact findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import screenshot_findings
from verm.check import Checker

BARS = """import matplotlib.pyplot as plt

quarters = ["Q1", "Q2", "Q3", "Q4"]
revenue = [120, 135, 150, 170]

fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
ax.bar(quarters, revenue, color="#4C72B0")
ax.set_title("Revenue 2025")
ax.set_ylim(0, 200)
fig.tight_layout()
"""

LINE = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
ax.plot([1, 2, 3, 4, 5, 6], [3, 8, 20, 55, 140, 400], color="#2ca02c")
ax.set_title("Growth")
plt.show()
"""


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def judged(checker: Checker, tmp_path: Path, text: str, edited: str
           ) -> list[tuple[str, int, int]]:
    return screenshot_findings(checker, tmp_path, "chart.py", text, edited)


def test_limits_that_clip_every_bar_are_one_finding_on_the_limits_line(
        checker: Checker, tmp_path: Path) -> None:
    edited = BARS.replace("ax.set_ylim(0, 200)", "ax.set_ylim(0, 80)")
    assert judged(checker, tmp_path, BARS, edited) == [("structure_error", 8, 2)]


def test_a_log_scale_set_is_one_finding_on_its_line(checker: Checker, tmp_path: Path) -> None:
    edited = LINE.replace("plt.show()", 'ax.set_yscale("log")\nplt.show()')
    assert judged(checker, tmp_path, LINE, edited) == [("structure_error", 5, 2)]


def test_a_category_renamed_is_its_text_not_the_axis(checker: Checker, tmp_path: Path) -> None:
    edited = BARS.replace('"Q1"', '"Total"')
    assert judged(checker, tmp_path, BARS, edited) == [("text_error", 2, 2)]


def test_a_value_changed_under_fixed_limits_is_data(checker: Checker, tmp_path: Path) -> None:
    edited = BARS.replace("135", "60")
    assert judged(checker, tmp_path, BARS, edited) == [("data_error", 3, 3)]


HBARS = """import matplotlib.pyplot as plt

teams = ["Ana", "Ben", "Cy", "Dee"]
scores = [12, 30, 21, 8]
fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
ax.bar(teams, scores, color="#2a9d8f")
ax.set_title("Scores")
"""


def test_bars_turned_on_their_side_are_one_chart_type_change(checker: Checker,
                                                             tmp_path: Path) -> None:
    """Every bar another size, the names on the other axis: the bars' shapes say the call drew
    another type (vertical bars share a width, horizontal ones a height). A title retitled in
    the same edit is still its own text change."""
    edited = HBARS.replace("ax.bar(", "ax.barh(").replace('"Scores"', '"Points"')
    assert judged(checker, tmp_path, HBARS, edited) == [("structure_error", 5, 3),
                                                        ("text_error", 6, 2)]


COLOURED = """import matplotlib.pyplot as plt

fruits = ["apple", "blueberry", "cherry", "orange"]
counts = [40, 100, 30, 55]
fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
ax.bar(fruits, counts, color=["tab:red", "tab:blue", "tab:green", "tab:orange"],
       label=fruits)
ax.legend(title="Fruit")
"""


def test_bars_of_one_colour_each_turned_on_their_side_are_one_chart_type_change(
        checker: Checker, tmp_path: Path) -> None:
    """One call's bars in as many colours as bars (matplotlib's bar_colors example): their
    shapes are judged together, the legend's handles (bars' colours, another shape) apart."""
    edited = COLOURED.replace("ax.bar(", "ax.barh(")
    assert judged(checker, tmp_path, COLOURED, edited) == [("structure_error", 5, 3)]


def test_bars_turned_in_a_figure_of_another_shape_are_both_changes(checker: Checker,
                                                                   tmp_path: Path) -> None:
    """Drawn again at the screenshot's size, the turned bars differ in so many pixels that the
    registration searches for the alignment; found unmoved, the chart type is judged there."""
    edited = HBARS.replace("ax.bar(", "ax.barh(").replace("figsize=(6, 4)", "figsize=(9, 4)")
    assert judged(checker, tmp_path, HBARS, edited) == [("structure_error", 4, 2),
                                                        ("structure_error", 5, 3)]


LABELLED = """import matplotlib.pyplot as plt

quarters = ["Q1", "Q2", "Q3", "Q4"]
revenue = [120, 135, 150, 170]

fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
bars = ax.bar(quarters, revenue, color="#4C72B0")
ax.bar_label(bars, label_type="center", color="white")
ax.annotate("best", xy=(3, 170), xytext=(1.6, 185), arrowprops={"arrowstyle": "->"})
ax.set_ylim(0, 220)
"""


def test_limits_changed_under_value_labels_and_an_annotation_are_one_finding(
        checker: Checker, tmp_path: Path) -> None:
    """Texts placed at data points (a bar's value label, an annotation) move with the axis:
    the limits are the one cause, not a text change each."""
    edited = LABELLED.replace("ax.set_ylim(0, 220)", "ax.set_ylim(0, 300)")
    assert judged(checker, tmp_path, LABELLED, edited) == [("structure_error", 9, 2)]


def test_a_value_changed_under_its_value_label_is_one_data_finding(
        checker: Checker, tmp_path: Path) -> None:
    """The label shows the new number at the bar's new end: the data change's, not a text
    change of its own."""
    text = HBARS + "ax.bar_label(ax.containers[0])\n"
    edited = text.replace("[12, 30, 21, 8]", "[12, 30, 21, 16]")
    assert judged(checker, tmp_path, text, edited) == [("data_error", 3, 3)]


SQUARE = """import matplotlib.pyplot as plt

fig = plt.figure(figsize=(5, 5), dpi=100, linewidth=2, edgecolor="#444444")
ax = fig.add_axes([0.15, 0.15, 0.7, 0.7], aspect=1)
ax.plot([0.5, 1.5, 2.5, 3.5], [1, 3, 2, 3.5], color="#1f77b4")
ax.set_xlim(0, 4)
ax.set_ylim(0, 4)
ax.set_title("Squares")
"""


def test_an_axis_scale_that_squeezes_a_fixed_aspect_plot_is_one_finding(
        checker: Checker, tmp_path: Path) -> None:
    """A log scale on an aspect-1 plot draws it a few px wide: its title, ticks and line all
    changed with it. One cause, on the line setting that axis (the figure's edge line is a
    frame round its white ground, not the ground)."""
    edited = SQUARE.replace('ax.set_title("Squares")',
                            'ax.set_yscale("log")\nax.set_title("Squares")')
    assert judged(checker, tmp_path, SQUARE, edited) == [("structure_error", 7, 2)]


def test_a_framed_figures_line_changed_is_its_data(checker: Checker, tmp_path: Path) -> None:
    """The figure's edge line round the canvas is not its background."""
    edited = SQUARE.replace("[1, 3, 2, 3.5]", "[1, 3, 0.5, 3.5]")
    assert judged(checker, tmp_path, SQUARE, edited) == [("data_error", 4, 3)]


GROUPS = """import matplotlib.pyplot as plt
import numpy as np
x = np.arange(3)
fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
ax.bar(x, [18, 18, 15], 0.25, label="Depth")
ax.bar(x + 0.25, [39, 49, 48], 0.25, label="Length")
ax.bar(x + 0.5, [190, 196, 217], 0.25, label="Flipper")
ax.set_ylim(0, 250)
"""


def test_limits_that_clip_one_series_are_the_limits(checker: Checker, tmp_path: Path) -> None:
    """Lower limits rescale two series and clip the third at the plot's top: drawn to the edge
    the map puts it past, it follows the axis too — one limits finding on `set_ylim`, not the
    clipped series' data."""
    edited = GROUPS.replace("ax.set_ylim(0, 250)", "ax.set_ylim(0, 150)")
    assert screenshot_findings(checker, tmp_path, "groups.py", GROUPS, edited) == [
        ("structure_error", 7, 2)]


SURVEY = """import matplotlib.pyplot as plt
import numpy as np

answers = np.array([[10, 15, 17, 32, 26], [26, 22, 29, 10, 13], [35, 37, 7, 2, 19],
                    [32, 11, 9, 15, 33]])
colors = plt.colormaps["RdYlGn"](np.linspace(0.15, 0.85, 5))
fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
ax.invert_yaxis()
ax.xaxis.set_visible(False)
ax.set_xlim(0, answers.sum(axis=1).max())
starts = answers.cumsum(axis=1) - answers
for i in range(5):
    bars = ax.barh(["Q1", "Q2", "Q3", "Q4"], answers[:, i], left=starts[:, i], height=0.5,
                   color=colors[i])
    ax.bar_label(bars, label_type="center", color="white" if i in (0, 4) else "dimgrey")
"""


@pytest.mark.parametrize("edit", ["set_xlim(5, ", "set_xlim(-10, "], ids=["clipped", "widened"])
def test_limits_of_a_hidden_axis_are_one_finding_on_their_line(checker: Checker,
                                                               tmp_path: Path, edit: str) -> None:
    """No tick label changes: every stacked bar (measured along its own row, the labels of its
    neighbours aside) follows one map along x that is not the identity. One finding on the
    limits line, not each bar recoloured and each moved value label a changed text."""
    edited = SURVEY.replace("set_xlim(0, ", edit)
    assert screenshot_findings(checker, tmp_path, "chart.py", SURVEY, edited) == [
        ("structure_error", 9, 2)]


def test_one_bar_changed_under_a_hidden_axis_is_not_its_limits(checker: Checker,
                                                               tmp_path: Path) -> None:
    """Control: a value of the last column made smaller (every row still sums to the limit
    but this one): no map moves every bar — its data, on the plotting call."""
    edited = SURVEY.replace("[32, 11, 9, 15, 33]", "[32, 11, 9, 15, 30]")
    assert screenshot_findings(checker, tmp_path, "chart.py", SURVEY, edited) == [
        ("data_error", 12, 3)]
