"""A legend moved, judged against a designer's screenshot (no sidecar): one style finding.

Moved onto the data, a legend's translucent frame lets other marks show through at both places,
and its texts sit at another fraction of a pixel: its plain crop matched nowhere, and the move
read as a legend "absent from the reference" (structure) plus the lines and bars under its old
and new places "drawn differently" (data). Its own ink, softened, is found where it was; what
it covered or uncovered, grid lines included, is the move's consequence. A legend placed by a
``loc=`` on its call's second line is reported on that line. Each case is the real render saved
as a PNG, judged by ``Checker.check``, asserting the exact (category, line, severity) list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import against_screenshot, screenshot_findings
from verm.check import Checker

ERRORBARS = """import matplotlib.pyplot as plt

dose = [1, 2, 3, 4, 5]
control = [2.0, 2.4, 2.9, 3.1, 3.6]
treated = [2.2, 3.1, 3.9, 4.6, 5.4]
spread = [0.3, 0.2, 0.4, 0.3, 0.5]

fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
ax.errorbar(dose, control, yerr=spread, color="#7f7f7f", capsize=3, label="Control")
ax.errorbar(dose, treated, yerr=spread, color="#d62728", capsize=3, label="Treated")
ax.set_title("Response by dose")
ax.legend(loc="upper left")
"""

TWIN = """import matplotlib.pyplot as plt

months = ["Mar", "Apr", "May", "Jun", "Jul"]
fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
ax.plot(months, [9.0, 13.5, 17.0, 21.0, 24.5], color="#d62728", marker="o",
        label="Temperature")
rain = ax.twinx()
rain.bar(months, [60, 48, 55, 40, 32], color="#1f77b4", alpha=0.4, label="Rainfall")
ax.set_title("Spring weather")
ax.legend(loc="upper left")
"""

HIST = """import matplotlib.pyplot as plt
import numpy as np

x = np.random.default_rng(3).normal(size=(400, 3))
fig, ax = plt.subplots(figsize=(5, 3.6), dpi=100)
ax.hist(x, 10, histtype="bar", color=["red", "tan", "lime"], label=["red", "tan", "lime"])
ax.legend(prop={"size": 10},
          loc="upper right")
"""


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def judged(checker: Checker, tmp_path: Path, text: str, edited: str
           ) -> list[tuple[str, int, int]]:
    return screenshot_findings(checker, tmp_path, "chart.py", text, edited)


@pytest.mark.parametrize("loc", ["lower right", "center"])
def test_a_legend_moved_onto_the_lines_is_one_move_on_its_call(checker: Checker, tmp_path: Path,
                                                              loc: str) -> None:
    edited = ERRORBARS.replace('loc="upper left"', f'loc="{loc}"')
    assert judged(checker, tmp_path, ERRORBARS, edited) == [("style_error", 11, 1)]


@pytest.mark.parametrize("loc", ["upper right", "center"])
def test_a_twin_axes_legend_moved_leaves_the_series_alone(checker: Checker, tmp_path: Path,
                                                          loc: str) -> None:
    """Moved to the centre, the legend lies under the twin's translucent bars: its colours
    there are theirs, and it is found by the patch of its size it left where it was."""
    edited = TWIN.replace('loc="upper left"', f'loc="{loc}"')
    assert judged(checker, tmp_path, TWIN, edited) == [("style_error", 9, 1)]


def test_a_legend_moved_over_bars_is_reported_on_its_loc_line(checker: Checker,
                                                             tmp_path: Path) -> None:
    edited = HIST.replace('loc="upper right"', 'loc="center left"')
    assert judged(checker, tmp_path, HIST, edited) == [("style_error", 7, 1)]


def test_a_legend_entry_renamed_in_place_is_a_text_change(checker: Checker,
                                                          tmp_path: Path) -> None:
    edited = ERRORBARS.replace('label="Treated"', 'label="Dosed"')
    assert judged(checker, tmp_path, ERRORBARS, edited) == [("text_error", 9, 2)]


HATS = """import matplotlib.pyplot as plt

players = ["A", "B", "C", "D", "E"]
fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
low = ax.bar([0, 1, 2, 3, 4], [5, 4, 6, 3, 5], color="#bbbbbb", label="Game 1")
high = ax.bar([0, 1, 2, 3, 4], [25, 32, 34, 20, 25], bottom=[5, 4, 6, 3, 5],
              color="#1f77b4", label="Game 2")
ax.bar_label(low, padding=2)
ax.set_xticks([0, 1, 2, 3, 4], players)
ax.set_ylim(0, 60)
ax.legend(loc="upper right")
"""


def test_a_legend_moved_over_value_labels_is_one_finding(checker: Checker,
                                                         tmp_path: Path) -> None:
    """The labels it now covers changed only because it covers them."""
    edited = HATS.replace('loc="upper right"', 'loc="lower left"')
    assert judged(checker, tmp_path, HATS, edited) == [("style_error", 10, 1)]


WAVES = """import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 10, 300)
fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
first, = ax.plot(x, np.sin(x), linewidth=2.5, label="Dashes set on the line afterwards")
first.set_dashes([2, 2, 10, 2])
ax.plot(x, np.sin(x) - 0.2, linewidth=2.5, dashes=[6, 2], label="Dashes given to plot")
ax.plot(x, np.sin(x) - 0.4, linewidth=2.5, dashes=[4, 4], gapcolor="tab:pink",
        label="Dashes with a gap colour between them")
ax.legend(handlelength=4)
"""


def test_an_entry_cut_short_over_lines_seen_through_the_legend_is_its_label(
        checker: Checker, tmp_path: Path) -> None:
    """The lost words lie inside the lines' boxes, not in any colour of theirs: the entry's
    text change, on the line whose `label=` wrote it (not the later `set_dashes`). The
    reference's words are read whole through the lines crossing them (a steep line's pixels
    are no column rule to cut the crop at)."""
    edited = WAVES.replace("Dashes set on the line afterwards", "Dashes set on")
    found = against_screenshot(checker, tmp_path, "chart.py", WAVES, edited)
    assert [(d.category, d.range.start.line, d.severity) for d in found] == [
        ("text_error", 5, 2)]
    assert "reference text 'Dashes set on the line afterwards'" in found[0].description


@pytest.mark.parametrize(("label", "severity"), [("oCntrol", 1), ("Contr", 2)],
                         ids=["letters-swapped", "cut-short"])
def test_a_legend_moved_with_an_entry_reworded_is_both_changes(checker: Checker,
                                                               tmp_path: Path, label: str,
                                                               severity: int) -> None:
    """The move takes its entries' findings as its own (drawn elsewhere, their words read as
    changed); an entry whose words, compared where the legend was, are not the reference's
    is a change of its own, on its series' line."""
    edited = (ERRORBARS.replace('loc="upper left"', 'loc="center"')
              .replace('label="Control"', f'label="{label}"'))
    assert judged(checker, tmp_path, ERRORBARS, edited) == [
        ("text_error", 8, severity), ("style_error", 11, 1)]
