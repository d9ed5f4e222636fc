"""A chart line restyled against a designer's screenshot (no sidecar) is a style change.

Drawn dashed, dotted or with markers, a line keeps its path: against a pinned render the sidecar
says so, against a screenshot it read as the series "drawn differently" (a dashed line) or grown
by its markers (its box a few px larger): a data_error of severity 3 on the plotting call. The
line's own colour tells: a dashed line's pixels all lie on the reference's path, markers add ink
at several data points round a path the reference's pixels all lie on; another marker shape
differs only round each data point (each difference smaller than the gap between points).
Controls: wrong data on
the same line, and one point added at its end, stay data changes. Each case is the real render
saved as a PNG screenshot, judged by ``Checker.check``, asserting the exact findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import against_screenshot, screenshot_findings, screenshot_of
from verm.check import Checker

LINE = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
ax.plot([0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4], color="red")
ax.set_title("Weekly load")
"""
PLOT = 'ax.plot([0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4], color="red")'


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def judged(checker: Checker, tmp_path: Path, edited: str) -> list[tuple[str, int, int]]:
    return [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in against_screenshot(checker, tmp_path, "line.py", LINE, edited)]


@pytest.mark.parametrize("style", ['linestyle="--"', 'linestyle=":"', 'linestyle="-."',
                                   'marker="o"', 'marker="^"'])
def test_a_line_restyled_is_one_style_finding_on_its_call(checker: Checker, tmp_path: Path,
                                                           style: str) -> None:
    edited = LINE.replace('color="red")', f'color="red", {style})')
    assert judged(checker, tmp_path, edited) == [("style_error", 3, 1)]


@pytest.mark.parametrize(("old", "new"), [
    ("[2, 0, 1, 3, 2, 4]", "[2, 0, 3, 3, 2, 4]"),
    ("[0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4]", "[0, 1, 2, 3, 4, 5, 6], [2, 0, 1, 3, 2, 4, 1]"),
], ids=["changed-point", "point-added"])
def test_wrong_data_on_the_line_is_still_data(checker: Checker, tmp_path: Path, old: str,
                                              new: str) -> None:
    edited = LINE.replace(old, new)
    assert edited != LINE
    assert judged(checker, tmp_path, edited) == [("data_error", 3, 3)]


MARKED = LINE.replace('color="red")', 'color="red", marker="o")')


@pytest.mark.parametrize("marker", ['marker="D"', 'marker="^"', 'marker="x"'])
def test_other_markers_on_the_same_path_are_one_style_finding(checker: Checker, tmp_path: Path,
                                                              marker: str) -> None:
    edited = MARKED.replace('marker="o"', marker)
    found = screenshot_findings(checker, tmp_path, "line.py", MARKED, edited)
    assert found == [("style_error", 3, 1)]


def test_a_moved_point_of_a_marked_line_is_still_data(checker: Checker, tmp_path: Path) -> None:
    edited = MARKED.replace("[2, 0, 1, 3, 2, 4]", "[2, 0, 3, 3, 2, 4]")
    found = screenshot_findings(checker, tmp_path, "line.py", MARKED, edited)
    assert found == [("data_error", 3, 3)]


SEGMENT = LINE.replace("[0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4]", "[0, 10], [0, 5]")


def test_markers_on_a_two_point_line_are_one_style_finding(checker: Checker,
                                                           tmp_path: Path) -> None:
    """A line of two points given markers grows at its two ends only: two clumps of new ink,
    one per point, is every point marked — a restyle, not the line's data resized."""
    edited = SEGMENT.replace('color="red")', 'color="red", marker="o")')
    found = screenshot_findings(checker, tmp_path, "line.py", SEGMENT, edited)
    assert found == [("style_error", 3, 1)]


def test_a_two_point_line_made_longer_is_still_data(checker: Checker, tmp_path: Path) -> None:
    """Its end moved (the limits fixed): the line grew at one end, not at both."""
    text = SEGMENT + "ax.set_ylim(0, 10)\n"
    edited = text.replace("[0, 10], [0, 5]", "[0, 10], [0, 8]")
    found = screenshot_findings(checker, tmp_path, "line.py", text, edited)
    assert found == [("data_error", 3, 3)]


SPANS = """import matplotlib.pyplot as plt
import numpy as np

t = np.arange(-1, 2, 0.05)
fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
ax.plot(t, np.sin(2 * np.pi * t))
ax.axhline(linewidth=8, color="#d62728")
ax.axhline(y=1, color="#555555")
ax.axhspan(0.25, 0.75, facecolor="0.5")
ax.axvspan(1.25, 1.55, facecolor="#2ca02c")
"""


def test_markers_drawn_over_other_lines_and_spans_are_one_style_finding(
        checker: Checker, tmp_path: Path) -> None:
    """The new markers cover the thick line, the line at y=1 and the spans where the curve
    crosses them: those changed only under the markers, the restyle's consequences."""
    edited = SPANS.replace("np.sin(2 * np.pi * t))", 'np.sin(2 * np.pi * t), marker="o")')
    found = screenshot_findings(checker, tmp_path, "spans.py", SPANS, edited)
    assert found == [("style_error", 5, 1)]


TWO_LINES = LINE.replace('[2, 0, 1, 3, 2, 4], color="red")',
                         '[2, 0, 1, 3, 2, 4],\n        color="red")')


@pytest.mark.parametrize("new", ['color="blue")', 'color="red", linestyle="--")',
                                 'color="red", marker="s")'])
def test_a_style_set_on_the_calls_second_line_is_reported_there(checker: Checker,
                                                                tmp_path: Path, new: str) -> None:
    """The call runs over two lines and the style keyword is on the second: a fix edits that
    line, so the finding is there, not on the call's first line."""
    edited = TWO_LINES.replace('color="red")', new)
    found = screenshot_findings(checker, tmp_path, "line.py", TWO_LINES, edited)
    assert found == [("style_error", 4, 1)]


SAME_COLOUR = SPANS + "ax.axhline(y=0.5, xmin=0.25, xmax=0.75)\nax.axvline(x=1)\n"


@pytest.mark.parametrize("style", ['linestyle="--"', 'marker="o"'])
def test_a_line_restyled_among_lines_of_its_colour_is_one_style_finding(
        checker: Checker, tmp_path: Path, style: str) -> None:
    """Two more lines in the curve's own colour cross its box, unchanged: their ink is not
    the curve's restyle, and what its dashes uncover or its markers cover is its doing."""
    edited = SAME_COLOUR.replace("np.sin(2 * np.pi * t))", f"np.sin(2 * np.pi * t), {style})")
    found = screenshot_findings(checker, tmp_path, "spans.py", SAME_COLOUR, edited)
    assert found == [("style_error", 5, 1)]


def test_a_curve_with_new_data_over_lines_and_spans_is_one_data_finding(
        checker: Checker, tmp_path: Path) -> None:
    """The curve's new path covers and uncovers the thick line, the lines of its colour and
    the spans it crosses: they changed only under its ink, its consequences."""
    edited = SAME_COLOUR.replace("np.sin(2 * np.pi * t))", "np.sin(3 * np.pi * t))")
    found = screenshot_findings(checker, tmp_path, "spans.py", SAME_COLOUR, edited)
    assert found == [("data_error", 5, 3)]


OUTLINES = """import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(3)
x = np.linspace(0.5, 3.5, 34)
fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
ax.plot(x, 3 + np.cos(x), color="C0", linewidth=2.5, label="signal")
ax.plot(x, 2 + rng.uniform(-1, 1, x.size), linewidth=0, markersize=9,
        marker="s", markerfacecolor="none", markeredgecolor="C4", markeredgewidth=2.5)
ax.legend()
"""


def test_outlined_markers_of_another_shape_are_one_style_finding(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """Markers only (no line width), outlined in a colour of their own, scattered round a
    line: the anchor's colour is the outlines' (the line's own, never drawn, is the cycle's
    blue — the line beside it), and squares turned stars round the same points are a restyle,
    not the points (and the blue line) resized."""
    edited = OUTLINES.replace('marker="s"', 'marker="*"')
    found = screenshot_findings(checker, tmp_path, "outlines.py", OUTLINES, edited)
    assert found == [("style_error", 8, 1)]


def test_a_moved_outlined_marker_is_still_data(checker: Checker, tmp_path: Path) -> None:
    """Control: points of a markers-only line moved (no partner at the reference's place)."""
    edited = OUTLINES.replace("2 + rng.uniform(-1, 1, x.size)",
                              "2 + rng.uniform(-1, 1, x.size) * np.where(x > 3, -1, 1)")
    found = screenshot_findings(checker, tmp_path, "outlines.py", OUTLINES, edited)
    assert found == [("data_error", 7, 3)]


GUIDED = """import matplotlib.pyplot as plt
import numpy as np

x = np.arange(14)
y = np.sin(x / 2)
fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
ax.plot(x, y + 2, drawstyle="steps")
ax.plot(x, y + 2, "o--", color="grey", alpha=0.3)
ax.plot(x, y + 1, drawstyle="steps-mid")
ax.plot(x, y + 1, "o--", color="grey", alpha=0.3)
ax.plot(x, y, drawstyle="steps-post")
ax.plot(x, y, "o--", color="grey", alpha=0.3)
ax.grid(axis="x", color="0.95")
ax.set_title("plt.plot(drawstyle=...)")
"""


def test_markers_drawn_over_a_faint_guide_of_the_same_points_are_one_style_finding(
        checker: Checker, tmp_path: Path) -> None:
    """The new markers cover a translucent grey guide's dots: the reference shows light grey
    (the guide's grey on the white plot, its anchor's ``faint`` colour) where the markers now
    are — their ink drawn over the guide, not the line recoloured, and the guide covered."""
    edited = GUIDED.replace('drawstyle="steps")', 'drawstyle="steps", marker="o")')
    found = screenshot_findings(checker, tmp_path, "guided.py", GUIDED, edited)
    assert found == [("style_error", 6, 1)]


TWINS = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
twin1 = ax.twinx()
twin2 = ax.twinx()
twin2.spines.right.set_position(("axes", 1.2))
ax.plot([0, 1, 2], [0, 1, 2], "C0", label="Density")
twin1.plot([0, 1, 2], [0, 3, 2], "C1", label="Temperature")
twin2.plot([0, 1, 2], [50, 30, 15], "C2", label="Velocity")
ax.set(xlim=(0, 2), ylim=(0, 2))
twin1.set(ylim=(0, 4))
twin2.set(ylim=(1, 65))
fig.subplots_adjust(right=0.75)
"""


def test_a_line_dashed_under_twin_axes_lines_is_one_style_finding(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """The twin axes' lines cross the dashed one: they are other plots over the same frame,
    and what changed of them only where its dashes' ink went is the restyle's doing."""
    edited = TWINS.replace('"C0", label="Density")', '"C0", label="Density", linestyle="--")')
    found = screenshot_findings(checker, tmp_path, "twins.py", TWINS, edited)
    assert found == [("style_error", 6, 1)]


STALE = """import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0.5, 3.5, 20)
fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
ax.plot(x, 3 + np.cos(x), color="C0", label="signal")
ax.plot(x, 2 + np.sin(3 * x), linewidth=0, marker="s", markerfacecolor="none",
        markeredgecolor="C4")
ax.plot(x, 1 + np.sin(x), color="C2")
"""


def test_a_pinned_colour_the_reference_never_drew_is_no_recolour(checker: Checker,
                                                                 tmp_path: Path) -> None:
    """A sidecar pinned by an older verm names a markers-only line by its cycle colour (orange),
    never drawn: the reference shows its purple outlines. A change elsewhere in the plot
    (the third line's data) is that change alone, not the outlines "recoloured"."""
    import json

    from verm.pins import pin_render, sidecar_path

    src = tmp_path / "stale.py"
    src.write_text(STALE)
    reference = tmp_path / "stale.ref.png"
    pin_render(checker.render(checker.load(src)), reference)
    side = sidecar_path(reference)
    data = json.loads(side.read_text())
    [markers] = [a for a in data["anchors"] if a["key"] == "ax0/line1"]
    assert markers["color"] == "#9467bd"  # pinned now: the outlines' colour
    markers["color"] = "#ff7f0e"  # as an older verm pinned it
    side.write_text(json.dumps(data))
    edited = STALE.replace("1 + np.sin(x), color", "1 + np.sin(x) * 0.5, color")
    found = checker.check(checker.load(src, edited), reference).discrepancies
    assert [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found] == [
        ("data_error", 8, 3)]


SCALES = """import matplotlib.pyplot as plt
import numpy as np
t = np.linspace(0.01, 10, 400)
fig, ax1 = plt.subplots(figsize=(5, 3.5), dpi=80)
ax1.plot(t, np.exp(t), color="tab:red")
ax2 = ax1.twinx()
ax2.plot(t, np.sin(2 * np.pi * t), color="tab:blue")
"""


def test_a_line_dashed_inside_a_twins_box_is_one_style_finding(checker: Checker,
                                                               tmp_path: Path) -> None:
    """The dashed curve runs inside the box of a twin's wave (the smaller box, which owned its
    dashes' gaps): where the render shows its ground and the reference the curve's colour, the
    curve's ink went — its restyle, not the wave "drawn differently"."""
    edited = SCALES.replace('color="tab:red")', 'color="tab:red", linestyle="--")')
    found = screenshot_findings(checker, tmp_path, "scales.py", SCALES, edited)
    assert found == [("style_error", 4, 1)]


DASHED_AFTER = """import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
line, = ax.plot([0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4], color="red")
line.set_dashes([2, 2, 10, 2])
ax.set_title("Weekly load")
"""


def test_a_line_styled_where_drawn_and_just_after_is_found_over_both_lines(
        checker: Checker, tmp_path: Path) -> None:
    """Markers given to a line whose dashes the next statement sets: the pixels say it was
    restyled, not by which of the two lines — the finding covers the call and its restyling."""
    edited = DASHED_AFTER.replace('color="red")', 'color="red", marker="o")')
    (found,) = against_screenshot(checker, tmp_path, "line.py", DASHED_AFTER, edited)
    assert (found.category, found.severity) == ("style_error", 1)
    assert found.range is not None
    assert (found.range.start.line, found.range.end.line, found.range.end.character) == (
        2, 4, 0)


BENCH_CHART = (Path(__file__).resolve().parent.parent / "benchmarks" / "fixtures"
               / "bench_chart.py").read_text()


@pytest.mark.parametrize("shape", ["s", "D"])
def test_markers_of_another_shape_at_the_same_size_are_a_restyle(checker: Checker,
                                                                tmp_path: Path,
                                                                shape: str) -> None:
    """Circles made squares (or diamonds) at 6 pt change a few pixels round each point, each
    within reach of the other picture's rim: no region shows it. Compared marker by marker,
    twelve markers of another shape are the line's style, on its call."""
    edited = BENCH_CHART.replace('marker="o"', f'marker="{shape}"')
    line = next(i for i, t in enumerate(BENCH_CHART.splitlines()) if 'marker="o"' in t)
    assert screenshot_findings(checker, tmp_path, "chart.py", BENCH_CHART, edited) == [
        ("style_error", line, 1)]


def test_markers_moved_with_their_data_are_not_a_restyle(checker: Checker,
                                                         tmp_path: Path) -> None:
    """The same markers at other values: the data, not the style."""
    edited = BENCH_CHART.replace("rng.integers(20, 90, 12), color=\"#C44E52\"",
                                 "rng.integers(20, 60, 12), color=\"#C44E52\"")
    line = next(i for i, t in enumerate(BENCH_CHART.splitlines()) if 'marker="o"' in t)
    found = screenshot_findings(checker, tmp_path, "chart.py", BENCH_CHART, edited)
    assert found == [("data_error", line, 3)]


THIN = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
ax.plot([0, 1, 2, 3, 4, 5], [2, 0, 1, 3, 2, 4], color="tab:blue", linewidth=1.5)
ax.set_title("Weekly load")
"""


def against_jpeg(checker: Checker, tmp_path: Path, text: str, edited: str,
                 quality: int = 80) -> list[tuple[str, int, int]]:
    """(category, line, severity) for ``edited`` against ``text``'s render saved as a JPEG."""
    src, shot = screenshot_of(checker, tmp_path, "thin.py", text, jpeg=True, quality=quality)
    found = checker.check(checker.load(src, edited), shot).discrepancies
    return [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found]


@pytest.mark.parametrize("edit", ['linestyle="--"', 'linestyle=":"', 'color="tab:purple"'],
                         ids=["dashed", "dotted", "recoloured"])
@pytest.mark.parametrize("quality", [80, 60])
def test_a_thin_line_restyled_against_a_jpeg_is_found(checker: Checker, tmp_path: Path,
                                                      edit: str, quality: int) -> None:
    """JPEG smears a 1.5-px line's colour past the lossy comparison's slack: no region shows
    it dashed or recoloured. Saved as the reference was (its own tables), the render's ink of
    the line's colour differs from the reference's by half or more: one style finding."""
    edited = (THIN.replace('color="tab:blue"', edit) if edit.startswith("color")
              else THIN.replace("linewidth=1.5)", f"linewidth=1.5, {edit})"))
    assert against_jpeg(checker, tmp_path, THIN, edited, quality) == [("style_error", 3, 1)]


@pytest.mark.parametrize("quality", [80, 60])
def test_an_unchanged_thin_line_against_a_jpeg_is_not_a_change(checker: Checker,
                                                               tmp_path: Path,
                                                               quality: int) -> None:
    """Only the title changed: the line, saved the same way, draws the same ink."""
    edited = THIN.replace("Weekly load", "Weekly loads")
    assert against_jpeg(checker, tmp_path, THIN, edited, quality) == [("text_error", 4, 2)]


@pytest.mark.parametrize("shape", ["v", "x", "*"])
def test_smaller_markers_of_another_shape_are_said_to_be_markers(checker: Checker,
                                                                  tmp_path: Path,
                                                                  shape: str) -> None:
    """Circles made triangles, crosses or stars draw less ink, all on the reference's path —
    as a dashed line does; but all that changed lies round the data points: the diagnostic
    says the markers changed, not that the line is dashed."""
    edited = BENCH_CHART.replace('marker="o"', f'marker="{shape}"')
    line = next(i for i, t in enumerate(BENCH_CHART.splitlines()) if 'marker="o"' in t)
    found = against_screenshot(checker, tmp_path, "chart.py", BENCH_CHART, edited)
    assert [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in found] == [("style_error", line, 1)]
    assert "other markers" in found[0].description, found[0].description
    assert "dashes" not in found[0].description


WAVES = """import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 10, 500)
plt.rc("lines", linewidth=2.5)
fig, ax = plt.subplots()
wave, = ax.plot(x, np.sin(x), label="Dashes set after the call")
wave.set_dashes([2, 2, 10, 2])
wave.set_dash_capstyle("round")
ax.plot(x, np.sin(x) - 0.2, dashes=[6, 2], label="Dashes as a keyword")
ax.plot(x, np.sin(x) - 0.4, dashes=[4, 4], gapcolor="tab:pink", label="Dashes with a gap colour")
ax.legend(handlelength=4)
"""


def test_markers_over_thick_dashed_lines_against_a_jpeg_are_one_restyle(
        checker: Checker, tmp_path: Path) -> None:
    """500 stars along a thick dashed line that two neighbours follow closely: against the
    JPEG the biggest difference reads as the line "recoloured" (its stars where the reference
    is pale ground) — on its last styling line, with the neighbours the stars cover "drawn
    with more ink" and another resized. Its path is the reference's, with more ink: one
    restyle, over the call and its restyling, the rest its consequences."""
    edited = WAVES.replace('label="Dashes set after the call")',
                           'label="Dashes set after the call", marker="*")')
    src, shot = screenshot_of(checker, tmp_path, "waves.py", WAVES, jpeg=True)
    found = checker.check(checker.load(src, edited), shot).discrepancies
    assert [(d.category, d.range.start.line, d.range.end.line, d.severity) for d in found] == [
        ("style_error", 6, 9, 1)]
