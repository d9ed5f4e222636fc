"""One diagnostic per cause: each edit below changes many pixels (a rescaled axis, a reflowed
column, a legend over two lines) and must be reported exactly once, on the edited line, in the
taxonomy's category — against a pinned render (with its sidecar) and, where the pixels alone can
tell, against the same picture as a designer's screenshot (no sidecar). Consequences ride along
as ``related``, each with its own range.

Everything is real: the sources are rendered by verm's renderers, pinned with ``pin_render`` and
judged by ``Checker.check``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from verm.check import Checker
from verm.pins import pin_render

BARS = '''import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
regions = ["North", "South", "East", "West", "Central", "Coast", "Hills", "Delta"]
sales = [42, 55, 38, 71, 64, 47, 59, 80]
ax.bar(regions, sales, color="#1f77b4")
ax.set_title("Sales by region")
ax.set_ylabel("Units")
ax.grid(axis="y", alpha=0.3)
ax.set_ylim(0, 90)
'''
LINES = '''import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
x = list(range(10))
ax.plot(x, [v * 1.0 for v in x], color="#1f77b4", label="alpha")
ax.plot(x, [v * 1.5 for v in x], color="#ff7f0e", label="beta")
ax.plot(x, [v * 0.5 for v in x], color="#2ca02c", label="gamma")
ax.set_title("Growth")
ax.legend(loc="upper left")
ax.grid(True)
'''
TABLE = '''| Name | City | Score |
| --- | --- | --- |
| Ann | Oslo | 12 |
| Bob | Rome | 7 |
| Cid | Lima | 9 |
'''
STOCK = """# Stock

| Item | Qty | Price |
|------|----:|------:|
| Item 1 | 7 | 3.50 |
| Item 2 | 1 | 7.00 |
| Item 3 | 8 | 10.50 |
| Item 4 | 2 | 14.00 |
| Item 5 | 9 | 17.50 |
"""
ICON = '''<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect x="4" y="4" width="56" height="56" rx="8" fill="#eef"/>
  <circle cx="32" cy="32" r="18" fill="none" stroke="#336" stroke-width="3"/>
  <path d="M20 32 L44 32" stroke="#c33" stroke-width="2"/>
</svg>
'''


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker() as c:
        yield c


def judged(checker: Checker, tmp_path: Path, name: str, text: str, old: str, new: str,
           sidecar: bool) -> list[tuple[str, int, int]]:
    """(category, line, severity) of each diagnostic for ``text`` edited once (``old`` →
    ``new``), judged against the unedited render pinned with or without its sidecar."""
    src = tmp_path / name
    src.write_text(text)
    render = checker.render(checker.load(src))
    assert render.ok, render.failure
    pinned = tmp_path / "pinned.png"
    pin_render(render, pinned, within=())
    reference = pinned
    if not sidecar:
        reference = tmp_path / "screenshot.png"
        shutil.copy(pinned, reference)
    assert text.count(old) == 1
    edited = text.replace(old, new)
    result = checker.check(checker.load(src, edited), reference)
    judged.last = result  # type: ignore[attr-defined]
    return [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in result.discrepancies]


BOTH = pytest.mark.parametrize("sidecar", [True, False], ids=["sidecar", "screenshot"])


@BOTH
def test_a_value_that_rescales_the_axis_is_one_data_error_on_the_data_list(
        checker: Checker, tmp_path: Path, sidecar: bool) -> None:
    found = judged(checker, tmp_path, "bars.py", BARS.replace("ax.set_ylim(0, 90)\n", ""),
                   "59, 80]", "59, 30]", sidecar)
    # On the list that holds the values (what a fix edits), not the `ax.bar` call using it.
    assert found == [("data_error", 6, 3)]
    [d] = judged.last.discrepancies  # type: ignore[attr-defined]
    roles = {r.anchor.role for r in d.related if r.anchor is not None}
    assert roles & {"yticklabel", "grid", "bar"}, "the rescale's consequences ride along"
    assert all(r.range is not None for r in d.related)
    as_json = judged.last.to_json()["errors"][0]  # type: ignore[attr-defined]
    assert len(as_json["related"]) == len(d.related)


TWO_LINES = (Path(__file__).parent / "fixtures" / "charts" / "line.py").read_text()


def test_one_of_two_series_rescaling_the_axis_is_told_by_the_ticks(checker: Checker,
                                                                   tmp_path: Path) -> None:
    """Two series, one value of one lowers the y axis: each series is its own map, so the
    series alone cannot say which changed. The tick numbers, each found again up or down its
    own column of the screenshot, give the axis map: `web` is on it, `shop` is not."""
    found = judged(checker, tmp_path, "line.py", TWO_LINES, "99, 120, 118]", "99, 72, 118]",
                   False)
    assert found == [("data_error", 5, 3)]


def test_a_series_that_sets_the_limits_is_blamed_though_it_looks_the_same(
        checker: Checker, tmp_path: Path) -> None:
    """beta is the tallest line: scaled up, it draws the same pixels while the other two
    shrink. The sidecar's data digests know it is beta's data that changed."""
    found = judged(checker, tmp_path, "lines.py", LINES, "v * 1.5", "v * 2.5", True)
    assert found == [("data_error", 7, 3)]
    [d] = judged.last.discrepancies  # type: ignore[attr-defined]
    assert "y-axis now" in d.description


def test_limits_set_differently_are_one_structure_error_on_the_limits_line(
        checker: Checker, tmp_path: Path) -> None:
    found = judged(checker, tmp_path, "bars.py", BARS, "ax.set_ylim(0, 90)",
                   "ax.set_ylim(0, 150)", True)
    assert found == [("structure_error", 11, 2)]


@BOTH
def test_a_wider_cell_is_one_text_error_on_its_row_not_its_column(
        checker: Checker, tmp_path: Path, sidecar: bool) -> None:
    found = judged(checker, tmp_path, "t.md", TABLE, "| Rome |", "| Rome Capital City |",
                   sidecar)
    assert found == [("text_error", 3, 2)]


@BOTH
def test_one_changed_letter_in_a_cell_is_found(checker: Checker, tmp_path: Path,
                                               sidecar: bool) -> None:
    assert judged(checker, tmp_path, "t.md", TABLE, "| Rome |", "| Roma |",
                  sidecar) == [("text_error", 3, 2)]


def test_a_removed_legend_is_a_structure_error_on_its_line(checker: Checker,
                                                           tmp_path: Path) -> None:
    found = judged(checker, tmp_path, "lines.py", LINES, 'ax.legend(loc="upper left")',
                   "pass", True)
    assert found == [("structure_error", 10, 2)]


@BOTH
def test_a_moved_legend_is_one_finding_on_the_legend_call(checker: Checker, tmp_path: Path,
                                                          sidecar: bool) -> None:
    """Without a sidecar the legend's old place is found in the reference by its own pixels;
    the lines it used to cover are its consequence, not changed data."""
    found = judged(checker, tmp_path, "lines.py", LINES, '"upper left"', '"lower right"',
                   sidecar)
    assert found == [("style_error", 10, 1)]


@BOTH
@pytest.mark.parametrize("label", ['"bet"', '"beta prime"', '"zeta"'],
                         ids=["shortened", "lengthened", "replaced"])
def test_a_renamed_legend_entry_is_one_text_error_on_its_series(
        checker: Checker, tmp_path: Path, sidecar: bool, label: str) -> None:
    """The entry's words changed; the legend frame that shrank or grew around them is their
    consequence. Shortened, the reference's last letter lies beside the render's word."""
    found = judged(checker, tmp_path, "lines.py", LINES, 'label="beta"', f"label={label}",
                   sidecar)
    assert found == [("text_error", 7, 2)]


@BOTH
def test_a_recoloured_series_next_to_others_is_one_style_error(checker: Checker,
                                                                tmp_path: Path,
                                                                sidecar: bool) -> None:
    found = judged(checker, tmp_path, "lines.py", LINES, '"#ff7f0e"', '"#d62728"', sidecar)
    assert found == [("style_error", 7, 1)]


def test_a_thicker_stroke_is_a_style_error_not_a_shape_error(checker: Checker,
                                                              tmp_path: Path) -> None:
    found = judged(checker, tmp_path, "icon.svg", ICON, 'stroke-width="3"',
                   'stroke-width="6"', True)
    assert [(c, line) for c, line, _ in found] == [("style_error", 2)]


@pytest.mark.parametrize(("old", "new", "expected"), [
    # a row removed: every row below moved up a line, cell by cell they all "read differently";
    # blamed where the pinned version had it
    ("| Item 3 | 8 | 10.50 |\n", "", [("layout_error", 6, 3)]),
    # a row duplicated: the copy is the extra row
    ("| Item 3 | 8 | 10.50 |\n", "| Item 3 | 8 | 10.50 |\n| Item 3 | 8 | 10.50 |\n",
     [("layout_error", 7, 2)]),
    # two columns swapped: every cell of both changed
    ("| Item | Qty | Price |\n|------|----:|------:|\n| Item 1 | 7 | 3.50 |\n"
     "| Item 2 | 1 | 7.00 |\n| Item 3 | 8 | 10.50 |\n| Item 4 | 2 | 14.00 |\n"
     "| Item 5 | 9 | 17.50 |\n",
     "| Item | Price | Qty |\n|------|------:|----:|\n| Item 1 | 3.50 | 7 |\n"
     "| Item 2 | 7.00 | 1 |\n| Item 3 | 10.50 | 8 |\n| Item 4 | 14.00 | 2 |\n"
     "| Item 5 | 17.50 | 9 |\n", [("layout_error", 2, 3)]),
    # a column realigned: one finding on the delimiter row that says how it aligns
    ("|------|----:|------:|", "|------|----|------:|", [("layout_error", 3, 1)]),
], ids=["row-removed", "row-duplicated", "columns-swapped", "alignment"])
def test_a_table_change_of_rows_or_columns_is_one_finding(checker: Checker, tmp_path: Path,
                                                          old: str, new: str,
                                                          expected: list[tuple[str, int, int]]
                                                          ) -> None:
    assert judged(checker, tmp_path, "stock.md", STOCK, old, new, True) == expected


def test_a_realigned_column_does_not_swallow_a_changed_cell_of_another(checker: Checker,
                                                                       tmp_path: Path) -> None:
    """Two edits in one table: the realignment is one finding on the delimiter row, the wrong
    number another on its own row (it used to be folded into the realignment)."""
    found = judged(checker, tmp_path, "stock.md", STOCK,
                   "|------|----:|------:|\n| Item 1 | 7 | 3.50 |",
                   "|------|----|------:|\n| Item 1 | 7 | 5.50 |", True)
    assert sorted(found) == [("layout_error", 3, 1), ("numeric_error", 4, 3)]


def test_a_renamed_category_is_one_text_error_on_the_list_of_names(checker: Checker,
                                                                     tmp_path: Path) -> None:
    """A tick label of a categorical axis is the category's name from the list passed to
    `ax.bar`: renaming it is a cause (not a tick that followed a rescale), on that list."""
    found = judged(checker, tmp_path, "bars.py", BARS, '"Hills"', '"Uplands"', True)
    assert found == [("text_error", 5, 2)]


def test_markers_added_to_a_line_are_one_style_error_on_its_call(checker: Checker,
                                                                  tmp_path: Path) -> None:
    found = judged(checker, tmp_path, "lines.py", LINES, 'label="beta")',
                   'label="beta", marker="o")', True)
    assert found == [("style_error", 7, 1)]
    [d] = judged.last.discrepancies  # type: ignore[attr-defined]
    assert "marker none" in d.description and "circle" in d.description


def test_a_grid_switched_off_beside_a_rescale_is_its_own_finding(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """A value that rescales the axis moves every grid line (consequences); the grid gone as
    a whole is a cause of its own, on the `ax.grid` line the pinned version had."""
    text = BARS.replace("ax.set_ylim(0, 90)\n", "")
    old = text[text.index("59, 80]"):text.index("ax.grid(") + len('ax.grid(axis="y", alpha=0.3)\n')]
    new = old.replace("59, 80]", "59, 30]").replace('ax.grid(axis="y", alpha=0.3)\n', "")
    found = judged(checker, tmp_path, "bars.py", text, old, new, True)
    assert sorted(found) == [("data_error", 6, 3), ("style_error", 10, 1)]


def test_a_legend_placed_elsewhere_on_a_resized_figure_is_found(checker: Checker,
                                                                 tmp_path: Path) -> None:
    """Everything moves when the figure is resized; the legend also moved within its plot."""
    old = LINES[LINES.index("fig, ax"):]
    new = old.replace("figsize=(6, 4)", "figsize=(8, 4)").replace('loc="upper left"',
                                                                   'loc="lower right"')
    found = judged(checker, tmp_path, "lines.py", LINES, old, new, True)
    assert sorted(found) == [("structure_error", 4, 2), ("style_error", 10, 1)]


def test_a_grid_missing_from_a_screenshot_is_one_style_error_on_its_plots_last_line(
        checker: Checker, tmp_path: Path) -> None:
    """No sidecar says where the grid was set, and the edit deleted its call: one cosmetic
    finding, not the bars it ran over "recoloured", on the plot's last line (`set_ylim`, now
    where the grid call was), not on its `subplots` line."""
    found = judged(checker, tmp_path, "bars.py", BARS, 'ax.grid(axis="y", alpha=0.3)\n', "",
                   False)
    assert found == [("style_error", 10, 1)]
    [d] = judged.last.discrepancies  # type: ignore[attr-defined]
    assert "grid lines" in d.location


CYCLE = """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot([1, 3, 2, 4], label="one")
ax.plot([2, 1, 3, 2], label="two")
ax.plot([3, 4, 1, 1], label="three")
ax.legend()
"""


def test_a_series_taken_off_the_colour_cycle_is_one_style_error(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """The first series gets a colour of its own: the later ones each take the colour the one
    before had (the cycle shifts). One cause, on the line that set the colour."""
    found = judged(checker, tmp_path, "cycle.py", CYCLE, 'label="one")',
                   'label="one", color="gold")', True)
    assert found == [("style_error", 5, 1)]
    [d] = judged.last.discrepancies  # type: ignore[attr-defined]
    assert len(d.related) >= 2


PAIR = """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
left.plot([1, 3, 2, 4], color="#1f77b4")
left.set_title("Trend")
right.bar(["x", "y", "z"], [3, 1, 2], color="#ff7f0e")
right.set_title("Split")
"""


def test_another_subplot_grid_is_one_structure_error_on_its_line(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """Two plots side by side made one above the other: every mark, tick and title moved or
    resized with its plot. One cause, on the `subplots` line; nothing inside it on its own.
    Severity 3: every series is drawn elsewhere and at another size."""
    found = judged(checker, tmp_path, "pair.py", PAIR, "plt.subplots(1, 2,",
                   "plt.subplots(2, 1,", True)
    assert found == [("structure_error", 4, 3)]


def test_another_subplot_grid_against_a_screenshot_is_one_cause_too(checker: Checker,
                                                                    tmp_path: Path) -> None:
    """No sidecar says where the reference's plots are: their frames do. The render's frames
    are not drawn in the screenshot, which frames plots far from every render frame."""
    found = judged(checker, tmp_path, "pair.py", PAIR, "plt.subplots(1, 2,",
                   "plt.subplots(2, 1,", False)
    assert found == [("structure_error", 4, 3)]


PIES = """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
left.pie([27, 56, 17], labels=["Yes", "No", "Unsure"], colors=["#4c72b0", "#dd8452", "#55a868"])
right.pie([60, 40], labels=["Web", "Shop"], colors=["#c44e52", "#8172b3"])
right.set_title("Channel")
"""


def test_frameless_plots_laid_out_anew_against_a_screenshot_are_one_cause(
        checker: Checker, tmp_path: Path) -> None:
    """Pies have no frame to find: each plot differing in most of its ink, all laid out by
    one call, is the layout that moved them — one cause on the `subplots` line."""
    found = judged(checker, tmp_path, "pies.py", PIES, "plt.subplots(1, 2,",
                   "plt.subplots(2, 1,", False)
    assert found == [("structure_error", 4, 3)]


def test_one_frameless_plot_changed_leaves_the_layout_alone(checker: Checker,
                                                            tmp_path: Path) -> None:
    """The other pie's ink is where it was: its data changed, not the layout."""
    found = judged(checker, tmp_path, "pies.py", PIES, "[60, 40]", "[20, 80]", False)
    assert found == [("data_error", 6, 3)]


ALERTS = (Path(__file__).resolve().parent.parent / "benchmarks" / "fixtures" / "quality"
          / "pages" / "alerts.html").read_text()


@BOTH
def test_a_text_colour_rule_is_one_finding_on_the_rule(checker: Checker, tmp_path: Path,
                                                       sidecar: bool) -> None:
    """The alert's words and its bold words inherit one colour rule: the colour change read
    on the box and on the bold words is one finding on that rule's line (grouped by the rule
    it names, the box's reading of the same two colours joins it)."""
    found = judged(checker, tmp_path, "alerts.html", ALERTS, "color: #e67700",
                   "color: #2ca02c", sidecar)
    assert found == [("style_error", ALERTS[:ALERTS.index("color: #e67700")].count("\n"), 1)]
