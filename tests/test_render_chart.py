"""The matplotlib renderer, end to end: real scripts, real matplotlib, a real warm fork server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from verm.render.base import RenderOptions
from verm.render.chart import MODULES, ChartRenderer
from verm.render.sandbox import Job, Sandbox
from verm.source import Source
from verm.types import Anchor, Render

CHARTS = Path(__file__).parent / "fixtures" / "charts"


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    sandbox = Sandbox(MODULES)
    chart = ChartRenderer(sandbox)
    yield chart
    chart.close()
    sandbox.close()


def render(renderer: ChartRenderer, name: str, text: str | None = None,
           **options: object) -> Render:
    return renderer.render(Source.load(CHARTS / name, text), RenderOptions(**options))  # type: ignore[arg-type]


def line_of(name: str, needle: str) -> int:
    """0-based line of the first line of fixture ``name`` that contains ``needle``."""
    for i, line in enumerate((CHARTS / name).read_text().splitlines()):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {name}")


def anchor(result: Render, key: str) -> Anchor:
    found = [a for a in result.anchors if a.key == key]
    assert found, f"no anchor {key}; have {[a.key for a in result.anchors]}"
    return found[0]


def line(a: Anchor) -> int:
    assert a.range is not None, f"{a.key} has no range"
    return a.range.start.line


# --- a bar chart: pixels and anchors -----------------------------------------------------------


def test_bar_chart_renders_at_figure_size_with_meta(renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py")
    assert result.ok, result.failure
    assert result.image is not None and result.image.mode == "RGB"
    assert result.size == (800, 600)
    assert result.meta["dpi"] == 100 and result.meta["figures"] == 1
    assert result.meta["worker_ms"] > 0 and result.elapsed_ms > 0


def test_title_and_axis_labels_blame_the_line_that_set_them(renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py")
    title = anchor(result, "ax0/title")
    assert title.role == "title" and title.name == "title"
    assert title.text == "Revenue by quarter"
    # created by plt.subplots, modified by set_title: the modifying line is the one to blame
    assert line(title) == line_of("bar.py", "ax.set_title(")
    assert title.props["created_line"] == line_of("bar.py", "plt.subplots(")
    assert line(anchor(result, "ax0/xlabel")) == line_of("bar.py", "ax.set_xlabel(")
    assert anchor(result, "ax0/ylabel").name == "y-axis label"
    assert line(anchor(result, "ax0/ylabel")) == line_of("bar.py", "ax.set_ylabel(")


def test_bar_anchor_has_ax_bar_line_facecolour_and_category_name(
        renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py")
    bars = [a for a in result.anchors if a.role == "bar"]
    assert [b.name for b in bars] == ["bar 'Q1'", "bar 'Q2'", "bar 'Q3'", "bar 'Q4'"]
    q3 = anchor(result, "ax0/bar2")
    assert q3.name == "bar 'Q3'"
    assert line(q3) == line_of("bar.py", "ax.bar(")
    assert q3.color == "#1f77b4"
    assert q3.props["value"] == pytest.approx(9.8)
    text = (CHARTS / "bar.py").read_text().splitlines()[line(q3)]
    assert q3.range is not None and q3.range.end.character == len(text)


def test_anchor_boxes_land_on_their_pixels(renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py")
    assert result.image is not None
    width, height = result.size
    for a in result.anchors:
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, a
    x0, y0, x1, y1 = anchor(result, "ax0/bar2").box
    assert result.image.getpixel((int((x0 + x1) / 2), int((y0 + y1) / 2))) == (0x1F, 0x77, 0xB4)
    # the tallest bar (Q4) reaches higher on the image than Q3: image y grows downwards
    assert anchor(result, "ax0/bar3").box[1] < y0


def test_ticks_legend_grid_and_containers(renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py")
    roles = {a.role for a in result.anchors}
    assert {"figure", "axes", "title", "xlabel", "ylabel", "xticklabel", "yticklabel",
            "legend", "legend-text", "bar", "grid", "spine"} <= roles
    tick = anchor(result, "ax0/xtick2")
    assert (tick.role, tick.name, tick.text) == ("xticklabel", "x tick 'Q3'", "Q3")
    # a category's name: the list of names passed to `ax.bar` (what renaming it edits)
    assert line(tick) == line_of("bar.py", "quarters = [")
    legend = anchor(result, "ax0/legend")
    assert legend.container and line(legend) == line_of("bar.py", "ax.legend(")
    entry = anchor(result, "ax0/legend/text0")
    assert entry.name == "legend entry 'Revenue'"
    assert line(entry) == line_of("bar.py", "ax.bar(")  # the label came from `label=` there
    assert line(anchor(result, "ax0/ygrid")) == line_of("bar.py", "ax.grid(")
    axes = anchor(result, "ax0")
    assert axes.container and axes.name == "plot area"
    assert anchor(result, "figure").box == (0.0, 0.0, 800.0, 600.0)


def test_line_chart_lines_named_by_label_with_colour_and_width(renderer: ChartRenderer) -> None:
    result = render(renderer, "line.py")
    assert result.ok, result.failure
    web, shop = anchor(result, "ax0/line0"), anchor(result, "ax0/line1")
    assert (web.role, web.name, web.color) == ("line", "line 'Web'", "#ff7f0e")
    assert web.props["linewidth"] == 2.5
    assert line(web) == line_of("line.py", 'label="Web"')
    assert (shop.name, shop.color, line(shop)) == (
        "line 'Shop'", "#2ca02c", line_of("line.py", 'label="Shop"'))
    assert {anchor(result, k).role for k in ("ax0/xgrid", "ax0/ygrid")} == {"grid"}
    entry = anchor(result, "ax0/legend/text0")
    assert (entry.name, entry.props["handle_color"]) == ("legend entry 'Web'", "#ff7f0e")


def test_a_line_with_markers_records_where_each_marker_is_drawn(
        renderer: ChartRenderer) -> None:
    """The web line's six circle markers: their centres land on pixels of its colour, their
    width is 6 pt at the figure's dpi; the shop line has no markers, so none are recorded."""
    result = render(renderer, "line.py")
    assert result.ok and result.image is not None
    web, shop = anchor(result, "ax0/line0"), anchor(result, "ax0/line1")
    marks = web.props["marks"]
    assert len(marks) == 6 and web.props["marker_px"] == round(6.0 * 100 / 72, 1)
    pixels = result.image.convert("RGB")
    for x, y in marks:
        r, g, b = pixels.getpixel((round(x), round(y)))
        assert abs(r - 0xff) + abs(g - 0x7f) + abs(b - 0x0e) < 30, (x, y, (r, g, b))
    assert "marks" not in shop.props and "marker_px" not in shop.props


def test_tick_styling_blames_the_styling_line_for_every_tick(renderer: ChartRenderer) -> None:
    result = render(renderer, "line.py")
    xticks = [a for a in result.anchors if a.role == "xticklabel"]
    assert len(xticks) >= 5
    assert {line(a) for a in xticks} == {line_of("line.py", "labelrotation=30")}
    assert {line(a) for a in result.anchors if a.role == "yticklabel"} == {
        line_of("line.py", "plt.subplots(")}


def test_many_artist_kinds_get_roles_and_names(renderer: ChartRenderer) -> None:
    result = render(renderer, "mixed.py")
    assert result.ok, result.failure
    names = {a.name for a in result.anchors}
    assert anchor(result, "suptitle").text == "Overview"
    assert line(anchor(result, "suptitle")) == line_of("mixed.py", "fig.suptitle(")
    assert "wedge 'Apples' (subplot 'Fruit')" in names
    assert not any(a.role == "spine" for a in result.anchors if a.key.startswith("ax0/"))
    assert [a.name for a in result.anchors if a.text == "Overview"] == ["figure title"]
    assert anchor(result, "ax0").name == "subplot 'Fruit'"
    assert anchor(result, "ax0/title").name == "title (subplot 'Fruit')"
    scatter = anchor(result, "ax1/collection0")
    assert (scatter.role, scatter.name, scatter.color) == (
        "collection", "scatter 'samples' (subplot 2)", "#d62728")
    assert scatter.area < 0.9 * anchor(result, "ax1").area  # the points, not the whole axes
    assert anchor(result, "ax1/text0").name == "text 'peak' (subplot 2)"
    assert anchor(result, "ax2/image0").role == "image"
    colorbar = anchor(result, "cb0")
    assert colorbar.role == "colorbar" and line(colorbar) == line_of("mixed.py", "fig.colorbar(")


def test_gallery_of_plot_types_maps_without_skips_and_clips_to_axes(
        renderer: ChartRenderer) -> None:
    result = render(renderer, "gallery.py")
    assert result.ok, result.failure
    assert "anchors_skipped" not in result.meta
    assert len(result.anchors) > 100
    hist_axes = anchor(result, "ax0")
    for bar in (a for a in result.anchors if a.key.startswith("ax0/bar")):
        # log-scale bars start at -inf: their boxes stop at the axes' edge
        assert hist_axes.box[1] <= bar.box[1] and bar.box[3] <= hist_axes.box[3] + 1, bar
    assert all(a.box[:2] != (0.0, 0.0) for a in result.anchors if a.role == "line")
    assert anchor(result, "ax3/bar1").name == "bar 'y' (subplot 4)"
    assert line(anchor(result, "supxlabel")) == line_of("gallery.py", "fig.supxlabel(")


# --- choosing the figure, the script's folder, editor text -------------------------------------


def test_figure_pragma_picks_the_first_of_two_figures(renderer: ChartRenderer) -> None:
    result = render(renderer, "two_figures.py")
    assert result.ok, result.failure
    assert result.size == (400, 320)  # figure 1 is 5x4 in at 80 dpi; the last one is 3x2
    assert result.meta["figures"] == 2
    second = render(renderer, "two_figures.py", figure="2")  # options override the pragma
    assert second.size == (240, 160)


def test_figure_chosen_by_label_among_pyplot_and_plain_figures(renderer: ChartRenderer) -> None:
    result = render(renderer, "labelled_figures.py")
    assert result.ok, result.failure
    assert result.size == (400, 200) and result.meta["figures"] == 2


def test_missing_figure_named_by_pragma_is_reported_on_the_pragma(
        renderer: ChartRenderer) -> None:
    text = (CHARTS / "two_figures.py").read_text().replace("figure=1", "figure=7")
    result = render(renderer, "two_figures.py", text=text)
    assert result.failure is not None and result.failure.reason == "no-figure"
    assert "figure 7" in result.failure.message and "1, 2" in result.failure.message
    assert result.failure.range.start.line == 0


def test_script_reads_csv_next_to_it(renderer: ChartRenderer) -> None:
    result = render(renderer, "csv_chart.py")
    assert result.ok, result.failure
    assert [a.name for a in result.anchors if a.role == "bar"] == [
        "bar 'North'", "bar 'South'", "bar 'East'", "bar 'West'"]


def test_unsaved_editor_text_is_what_renders(renderer: ChartRenderer) -> None:
    text = (CHARTS / "bar.py").read_text().replace("Revenue by quarter", "Unsaved title")
    result = render(renderer, "bar.py", text=text)
    assert anchor(result, "ax0/title").text == "Unsaved title"


def test_renders_are_pixel_identical_across_renders_and_servers(
        renderer: ChartRenderer) -> None:
    first, second = render(renderer, "bar.py"), render(renderer, "bar.py")
    with Sandbox(MODULES) as other_server:  # a pinned reference is compared in a later session
        third = ChartRenderer(other_server).render(Source.load(CHARTS / "bar.py"))
    images = [r.image for r in (first, second, third)]
    assert all(im is not None for im in images)
    assert len({im.tobytes() for im in images if im is not None}) == 1
    assert [a.to_json() for a in first.anchors] == [a.to_json() for a in third.anchors]
    assert "anchors_skipped" not in first.meta


def test_oversized_figure_is_drawn_at_lower_dpi(renderer: ChartRenderer) -> None:
    result = render(renderer, "bar.py", max_pixels=400)
    assert result.ok, result.failure
    assert max(result.size) <= 400 and result.size[0] >= 399
    assert result.meta["dpi_lowered_from"] == 100 and result.meta["dpi"] < 100
    assert "max_pixels" in result.meta["note"]


def test_show_does_not_block_and_savefig_writes_nothing(renderer: ChartRenderer,
                                                        tmp_path: Path) -> None:
    src = tmp_path / "show_savefig.py"  # a copy: the fixtures folder is never written to
    src.write_text((CHARTS / "show_savefig.py").read_text())
    result = renderer.render(Source.load(src), RenderOptions(timeout_s=5))
    assert result.ok, result.failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["show_savefig.py"]
    assert result.size == (200, 150)  # savefig(dpi=50) is honoured; the closed figure captured


BLOCKS = """import matplotlib.pyplot as plt

fig, (ax1, ax2) = plt.subplots(2, 1)
ax1.plot([1, 2, 3], [3, 1, 2], "o-")
ax2.plot([1, 2, 3], [1, 2, 3], ".-")
plt.show()

plt.subplot(2, 1, 1)
plt.plot([1, 2, 3], [3, 1, 2], "o-")
plt.subplot(2, 1, 2)
plt.plot([1, 2, 3], [1, 2, 3], ".-")
plt.show()
"""


def test_each_block_ending_in_show_draws_a_figure_of_its_own(renderer: ChartRenderer,
                                                              tmp_path: Path) -> None:
    """matplotlib's gallery scripts plot in blocks, each ending in `plt.show()`: a window
    closes its figures, so the second block's `plt.subplot` starts a new figure. Kept open,
    it drew into the first figure's axes: each axes held both blocks' lines, blamed on lines
    of both (an edit of the first block showed on the second's line)."""
    src = tmp_path / "blocks.py"
    src.write_text(BLOCKS)
    result = renderer.render(Source.load(src), RenderOptions(timeout_s=10))
    assert result.ok, result.failure
    assert result.meta["figures"] == 2
    lines = sorted((a.key, line(a)) for a in result.anchors if a.role == "line")
    assert lines == [("ax0/line0", 8), ("ax1/line0", 10)]  # the last figure's, its lines
    # Closing restores the dpi a figure was made at: drawn for a HiDPI screen, its scaled one.
    hidpi = renderer.render(Source.load(src), RenderOptions(timeout_s=10, scale=2.0))
    assert hidpi.ok and hidpi.size == (2 * result.size[0], 2 * result.size[1])


def test_draws_and_layout_inside_the_script_take_no_blame(renderer: ChartRenderer) -> None:
    result = render(renderer, "drawn_early.py")
    assert result.ok, result.failure
    assert not (CHARTS / "never-written.png").exists()
    assert line(anchor(result, "ax0/title")) == line_of("drawn_early.py", "ax.set_title(")
    blamed = {line(a) for a in result.anchors}
    for innocent in ("fig.canvas.draw()", "get_xticklabels()", "fig.tight_layout()",
                     "plt.savefig("):
        assert line_of("drawn_early.py", innocent) not in blamed, innocent


def test_sys_exit_after_drawing_is_not_a_failure(renderer: ChartRenderer) -> None:
    result = render(renderer, "sys_exit.py")
    assert result.ok, result.failure
    assert result.size == (300, 200)


# --- bad input: each one clear failure on the right line ---------------------------------------


def test_syntax_error_reports_its_line(renderer: ChartRenderer) -> None:
    text = (CHARTS / "bad_syntax.py.txt").read_text()
    result = render(renderer, "bad_syntax.py", text=text)
    assert result.failure is not None and result.failure.reason == "syntax"
    assert result.image is None
    assert "SyntaxError" in result.failure.message
    assert result.failure.range.start.line in (3, 4)  # the unclosed call, or where it is noticed


def test_exception_in_helper_module_blames_the_calling_line(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_helper.py")
    failure = result.failure
    assert failure is not None and failure.reason == "exception"
    assert failure.message.startswith("ZeroDivisionError: ")
    assert failure.range.start.line == line_of("bad_helper.py", "parts = shares(")
    assert "parts = shares(values)" in failure.detail
    assert "chart_helpers.py" not in failure.detail.split("--- script output")[0]


def test_exception_in_local_function_blames_the_deepest_user_frame(
        renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_local_helper.py")
    failure = result.failure
    assert failure is not None and failure.reason == "exception"
    assert failure.message == "IndexError: list index out of range"
    assert failure.range.start.line == line_of("bad_local_helper.py", "for v in values[factor]")
    assert "ax.plot(scale(" in failure.detail  # the caller is in the user's traceback too


def test_exception_deep_in_matplotlib_blames_the_user_call(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_library.py")
    failure = result.failure
    assert failure is not None and failure.reason == "exception"
    assert failure.message.startswith("ValueError: ") and "same first dimension" in failure.message
    assert failure.range.start.line == line_of("bad_library.py", "ax.plot(x, y)")
    assert "matplotlib" not in failure.detail.split("--- script output")[0]


def test_infinite_loop_times_out_on_its_line(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_loop.py", timeout_s=2)
    failure = result.failure
    assert failure is not None and failure.reason == "timeout"
    assert failure.message.startswith("timed out after 2 s")
    assert "loop forever or wait for input" in failure.message
    assert failure.range.start.line in (line_of("bad_loop.py", "while True"),
                                        line_of("bad_loop.py", "n += 1"))


def test_loop_inside_c_code_is_killed_by_the_wall_timeout(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_c_loop.py", timeout_s=2)
    failure = result.failure
    assert failure is not None and failure.reason == "timeout"
    assert failure.message == ("timed out after 2 s — does the script loop forever or wait for "
                               "input?")


def test_os_exit_is_a_crash_with_its_status(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_os_exit.py")
    failure = result.failure
    assert failure is not None and failure.reason == "crash"
    assert failure.message == ("the script exited with status 3 (os._exit?) before a figure "
                               "was drawn")


def test_segfault_is_a_crash_with_its_signal(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_segfault.py")
    failure = result.failure
    assert failure is not None and failure.reason == "crash"
    assert failure.message == "the script crashed (SIGSEGV) before a figure was drawn"


def test_huge_allocation_is_a_memory_failure(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_huge.py", memory_mb=256)
    failure = result.failure
    assert failure is not None and failure.reason == "memory"
    assert failure.range.start.line == line_of("bad_huge.py", "np.ones(")
    assert "256 MB" in failure.message


def test_memory_limit_is_enforced_by_the_sandbox(renderer: ChartRenderer) -> None:
    # 600 MB is harmless on this machine: only the rlimit makes it fail.
    result = render(renderer, "bad_big_buffer.py", memory_mb=256)
    failure = result.failure
    assert failure is not None and failure.reason == "memory"
    assert failure.range.start.line == line_of("bad_big_buffer.py", "bytearray(")
    assert render(renderer, "bad_big_buffer.py", memory_mb=2048).ok


def test_output_flood_is_stopped_at_the_limit(renderer: ChartRenderer) -> None:
    # Output goes to a file in RAM (/dev/shm): it must not grow past the memory budget. Stopped
    # at the limit, not by the timeout: the reason says which.
    result = render(renderer, "bad_output_flood.py", memory_mb=128, timeout_s=30)
    failure = result.failure
    assert failure is not None and failure.reason == "exception"
    assert "too much output" in failure.message and "128 MB" in failure.message
    assert failure.range.start.line == line_of("bad_output_flood.py", "print(chunk)")


def test_script_without_figure_says_how_to_make_one(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_no_figure.py")
    failure = result.failure
    assert failure is not None and failure.reason == "no-figure"
    assert "plt.subplots()" in failure.message
    assert "mean 4.5" in failure.detail  # the script's own output is kept for the user


def test_input_reads_eof_instead_of_hanging(renderer: ChartRenderer) -> None:
    result = render(renderer, "bad_input.py", timeout_s=30)
    failure = result.failure  # a hang would be a timeout, not an EOFError
    assert failure is not None and failure.reason == "exception"
    assert failure.message.startswith("EOFError")
    assert failure.range.start.line == line_of("bad_input.py", "input(")


def test_on_start_hands_out_a_job_that_cancels_the_render(renderer: ChartRenderer,
                                                          tmp_path: Path) -> None:
    src = tmp_path / "runs.py"  # says when it runs, then never finishes
    src.write_text("open('running', 'w').close()\nwhile True:\n    pass\n")
    jobs: list[Job] = []

    def cancel_once_running() -> None:  # on the event, not on a clock
        deadline = time.monotonic() + 60
        while not (tmp_path / "running").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        jobs[0].cancel()

    canceller = threading.Thread(target=cancel_once_running)
    canceller.start()
    result = renderer.render(Source.load(src), RenderOptions(timeout_s=60), on_start=jobs.append)
    canceller.join()
    assert len(jobs) == 1 and (tmp_path / "running").exists()
    # cancelled, not timed out: a cancel that did not work would end in "timed out after 60 s"
    assert result.failure is not None and "cancelled" in result.failure.message
    assert render(renderer, "bar.py").ok  # the fork server survives a cancel


# Speed (warm render against a fresh interpreter) is measured by benchmarks/check_latency.py, not
# asserted here: a loaded CI machine must not fail a test for being slow.


def test_installed_packages_a_script_imports_are_preloaded_for_the_next_renders() -> None:
    """pandas and friends cost every render their import time unless the fork server has
    them: it learns them from a render and takes over with them loaded, in the background."""
    src = Source.load(CHARTS / "imports_package.py")
    with Sandbox(MODULES) as box:
        chart = ChartRenderer(box)

        def title() -> str | None:
            result = chart.render(src)
            assert result.ok, result.failure
            return next(a.text for a in result.anchors if a.role == "title")

        assert title() == "imported"
        assert "markdown_it" in box.preloaded  # with what it imports itself (mdurl)
        assert "chart_helpers" not in box.preloaded, "never the script's own module"
        deadline = time.monotonic() + 60
        seen = title()
        while seen != "preloaded" and time.monotonic() < deadline:
            time.sleep(0.2)
            seen = title()
        assert seen == "preloaded"


def test_a_new_submodule_of_a_loaded_package_starts_no_new_fork_server(tmp_path: Path) -> None:
    """``tight_layout`` imports private matplotlib modules on first use: matplotlib is loaded
    in the fork server already, so there is nothing to preload and no fork server to replace
    (it would cost a second import of matplotlib right on the first save)."""
    script = tmp_path / "tight.py"
    script.write_text("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
                      "ax.plot([1, 2, 3])\nfig.tight_layout()\n")
    with Sandbox(MODULES) as box:
        assert ChartRenderer(box).render(Source.load(script)).ok
        assert "matplotlib" not in box.preloaded and "numpy" not in box.preloaded


def test_declared_preloads_are_loaded_before_the_first_render(tmp_path: Path) -> None:
    """`preload = [...]` in the config: even the first render finds the package imported;
    `preload = false`: nothing is preloaded, nor learned."""
    import shutil

    from verm.check import Checker

    for name in ("imports_package.py", "chart_helpers.py"):
        shutil.copy(CHARTS / name, tmp_path / name)
    src = tmp_path / "imports_package.py"

    def titles(config: str, renders: int) -> tuple[list[str | None], frozenset[str]]:
        (tmp_path / "verm.toml").write_text(config)
        with Checker() as checker:
            seen = []
            for _ in range(renders):
                result = checker.render(Source.load(src))
                assert result.ok, result.failure
                seen.append(next(a.text for a in result.anchors if a.role == "title"))
                time.sleep(0.5)
            return seen, checker.renderers.sandbox("chart").preloaded

    declared, preloaded = titles('preload = ["markdown_it"]\n', 1)
    assert declared == ["preloaded"] and "markdown_it" in preloaded
    off, preloaded = titles("preload = false\n", 4)
    assert off == ["imported"] * 4 and preloaded == frozenset()
