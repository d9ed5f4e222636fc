"""Every kind of artist matplotlib ships draws, and is anchored — at worst by its window extent.

Regression for the real-world 3D bar chart (`ax.bar(..., zs=, zdir=)` makes `Patch3D`s inside a
`BarContainer`) that failed with "'Patch3D' object has no attribute 'get_x'" in the anchor walk.
Real scripts, real matplotlib, the real warm fork server.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from verm.render.chart import MODULES, ChartRenderer
from verm.render.sandbox import Sandbox
from verm.source import Source
from verm.types import Anchor, Render

PRELUDE = "import matplotlib.pyplot as plt\nimport numpy as np\n"


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    sandbox = Sandbox(MODULES)
    chart = ChartRenderer(sandbox)
    yield chart
    chart.close()
    sandbox.close()


def draw(renderer: ChartRenderer, folder: Path, script: str) -> tuple[Render, list[str]]:
    """Render ``script`` (dedented, after the imports) from ``folder``; the render and the
    script's lines."""
    text = PRELUDE + textwrap.dedent(script)
    src = folder / "chart.py"
    src.write_text(text)
    result = renderer.render(Source.load(src))
    assert result.ok, result.failure
    return result, text.splitlines()


def line_of(lines: list[str], needle: str) -> int:
    found = [i for i, line in enumerate(lines) if needle in line]
    assert found, needle
    return found[0]


def marks(result: Render, role: str) -> list[Anchor]:
    """Anchors of ``role``, each checked to lie inside the image with a source line."""
    found = [a for a in result.anchors if a.role == role]
    width, height = result.size
    for a in found:
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (a.key, a.box)
        assert a.range is not None, a.key
    return found


def lines_of(anchors: list[Anchor]) -> set[int]:
    return {a.range.start.line for a in anchors if a.range is not None}


def test_3d_bar_chart_draws_and_each_bar_is_anchored_on_its_line(
        renderer: ChartRenderer, tmp_path: Path) -> None:
    result, lines = draw(renderer, tmp_path, """
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    for colour, k in zip(["r", "g", "b"], [2, 1, 0]):
        ax.bar(np.arange(6), np.arange(6) + k + 1, zs=k, zdir="y", color=colour, label=f"s{k}")
    ax.set_xlabel("X")
    ax.set_zlabel("Height")
    """)
    bars = marks(result, "bar")
    assert len(bars) == 18
    assert lines_of(bars) == {line_of(lines, "ax.bar(")}
    assert {a.color for a in bars} == {"#ff0000", "#008000", "#0000ff"}
    xlabel = [a for a in result.anchors if a.role == "xlabel"]
    assert [a.text for a in xlabel] == ["X"]
    assert lines_of(xlabel) == {line_of(lines, "set_xlabel(")}
    zlabel = [a for a in result.anchors if a.key == "ax0/zlabel"]
    assert [a.text for a in zlabel] == ["Height"]
    assert lines_of(zlabel) == {line_of(lines, "set_zlabel(")}
    assert [a for a in result.anchors if a.key.startswith("ax0/ztick")]
    assert "anchors_skipped" not in result.meta


def test_3d_surface_scatter_polygons_quiver_line_and_bar3d_are_anchored(
        renderer: ChartRenderer, tmp_path: Path) -> None:
    result, lines = draw(renderer, tmp_path, """
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = plt.figure(figsize=(8, 6))
    ax = fig.add_subplot(projection="3d")
    X, Y = np.meshgrid(np.linspace(-2, 2, 12), np.linspace(-2, 2, 12))
    ax.plot_surface(X, Y, np.sin(X * Y), cmap="viridis")
    ax.scatter([0, 1, 2], [1, 2, 0], [2, 0, 1], c="red", label="points")
    ax.add_collection3d(Poly3DCollection([[(0, 0, 0), (1, 0, 0), (0, 1, 1)]], facecolor="g"))
    ax.quiver([0], [0], [0], [1], [1], [1])
    ax.bar3d([1, 2], [1, 2], [0, 0], 0.5, 0.5, [1, 2], color="orange")
    ax.plot([0, 1], [0, 1], [0, 1], color="black")
    ax.text(0, 0, 1, "peak")
    ax.set_title("surface")
    ax.legend()
    """)
    collections = marks(result, "collection")
    assert lines_of(collections) >= {line_of(lines, n) for n in (
        "plot_surface(", "ax.scatter(", "add_collection3d(", "ax.quiver(", "ax.bar3d(")}
    line3d = marks(result, "line")
    assert lines_of(line3d) == {line_of(lines, "ax.plot(")}
    texts = [a for a in marks(result, "text") if not a.key.startswith("ax0/z")]  # z: ticks
    assert [a.text for a in texts] == ["peak"]
    assert [a.text for a in marks(result, "title")] == ["surface"]
    assert [a.text for a in marks(result, "legend-text")] == ["points"]


def test_2d_artist_kinds_draw_and_are_anchored(renderer: ChartRenderer, tmp_path: Path) -> None:
    result, lines = draw(renderer, tmp_path, """
    from matplotlib.collections import PolyCollection
    from matplotlib.offsetbox import AnchoredText
    from matplotlib.patches import Circle, FancyArrowPatch

    fig, axs = plt.subplots(2, 3, figsize=(9, 6))
    axs[0, 0].add_collection(PolyCollection([[(0, 0), (1, 0), (1, 1)]], facecolors="c"))
    axs[0, 0].autoscale_view()
    axs[0, 1].pcolormesh(np.arange(12).reshape(3, 4))
    axs[0, 2].add_patch(FancyArrowPatch((0.1, 0.1), (0.9, 0.9), arrowstyle="->", mutation_scale=20))
    axs[0, 2].annotate("note", xy=(0.5, 0.5), xytext=(0.2, 0.8), arrowprops={"arrowstyle": "->"})
    axs[0, 2].add_artist(Circle((0.5, 0.2), 0.1))
    axs[1, 0].table(cellText=[["1", "2"], ["3", "4"]], colLabels=["a", "b"], loc="center")
    axs[1, 0].axis("off")
    axs[1, 1].imshow(np.arange(25).reshape(5, 5))
    axs[1, 1].add_artist(AnchoredText("boxed", loc="upper left"))
    axs[1, 2].contourf(np.arange(25).reshape(5, 5))
    axs[1, 2].errorbar([1, 2], [1, 2], yerr=[0.1, 0.2])
    axs[1, 2].fill_between([0, 1, 2], [0, 1, 0])
    inset = axs[1, 2].inset_axes([0.6, 0.6, 0.35, 0.35])
    inset.plot([0, 1], [1, 0], color="purple")
    fig.add_artist(plt.Line2D([0.02, 0.98], [0.5, 0.5], color="grey"))
    """)
    on = {a.range.start.line for a in result.anchors if a.range is not None}
    for needle in ("PolyCollection([[", "pcolormesh(", "FancyArrowPatch((", "annotate(",
                   "Circle((", "imshow(", "AnchoredText(", "contourf(", "errorbar(",
                   "fill_between(", "inset.plot(", "fig.add_artist("):
        assert line_of(lines, needle) in on, needle
    table = marks(result, "table")
    assert lines_of(table) == {line_of(lines, ".table(")}
    cells = [a for a in result.anchors if a.key.startswith(table[0].key + "/")]
    assert sorted(a.text for a in cells) == ["1", "2", "3", "4", "a", "b"]
    assert lines_of(cells) == {line_of(lines, ".table(")}
    assert marks(result, "image")
    assert "anchors_skipped" not in result.meta


def test_an_artist_verm_cannot_measure_costs_its_anchor_not_the_render(
        renderer: ChartRenderer, tmp_path: Path) -> None:
    result, lines = draw(renderer, tmp_path, """
    from matplotlib.artist import Artist

    class Odd(Artist):
        def draw(self, renderer):
            pass

        def get_window_extent(self, renderer=None):
            raise RuntimeError("no extent")

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], label="kept")
    ax.add_artist(Odd())
    """)
    assert lines_of(marks(result, "line")) == {line_of(lines, "ax.plot(")}
    assert result.meta["anchors_skipped"] >= 1


def test_a_sweep_of_plot_kinds_projections_and_toolkits_is_anchored_line_by_line(
        renderer: ChartRenderer, tmp_path: Path) -> None:
    result, lines = draw(renderer, tmp_path, """
    import mpl_toolkits.axisartist as axisartist
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage, TextArea
    from matplotlib.patches import Arc, ConnectionPatch, Ellipse, PathPatch, RegularPolygon
    from matplotlib.path import Path
    from matplotlib.sankey import Sankey
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    fig = plt.figure(figsize=(12, 10))
    a = fig.add_subplot(4, 5, 1); a.violinplot([np.arange(10), np.arange(5)])
    a = fig.add_subplot(4, 5, 2); a.boxplot([np.arange(10), [1, 2, 30]])
    a = fig.add_subplot(4, 5, 3); a.hexbin(np.arange(50) % 7, np.arange(50) % 5, gridsize=5)
    a = fig.add_subplot(4, 5, 4); Y, X = np.mgrid[-3:3:10j, -3:3:10j]; a.streamplot(X, Y, -Y, X)
    a = fig.add_subplot(4, 5, 5); a.broken_barh([(1, 2), (4, 1)], (0, 1))
    a.eventplot([[1, 2, 3]])
    a = fig.add_subplot(4, 5, 6, projection="polar"); a.bar([0, 1], [1, 2])
    a = fig.add_subplot(4, 5, 7); a.pie([1, 2, 3], shadow=True, labels="abc", autopct="%1.0f%%")
    a = fig.add_subplot(4, 5, 8); a.hist2d(np.arange(30) % 5, np.arange(30) % 3)
    a = fig.add_subplot(4, 5, 9); a.spy(np.eye(5))
    a = fig.add_subplot(4, 5, 10); a.stackplot([1, 2, 3], [1, 2, 1], [2, 1, 2])
    a = fig.add_subplot(4, 5, 11); a.tricontourf([0, 1, 0, 1], [0, 0, 1, 1], [1, 2, 3, 4])
    a = fig.add_subplot(4, 5, 12); Sankey(ax=a).add(flows=[1, -0.5, -0.5]).finish()
    a = fig.add_subplot(4, 5, 13)
    a.add_artist(AnnotationBbox(OffsetImage(np.eye(4), zoom=3), (0.5, 0.5)))
    a.add_artist(AnnotationBbox(TextArea("boxed text"), (0.5, 0.2)))
    a = fig.add_subplot(4, 5, 14); a.add_patch(Arc((0.5, 0.5), 0.5, 0.3, theta2=200))
    a.add_patch(Ellipse((0.3, 0.3), 0.2, 0.1))
    a.add_patch(PathPatch(Path([(0, 0), (0.2, 0.8), (0.9, 0.1)]), fc="none"))
    a.add_patch(RegularPolygon((0.7, 0.7), 5, radius=0.1))
    b = fig.add_subplot(4, 5, 15)
    fig.add_artist(ConnectionPatch((0.5, 0.5), (0.5, 0.5), "data", "data", axesA=a, axesB=b))
    b.twinx().plot([0, 1], [5, 3], color="g")
    b.secondary_xaxis("top")
    a = fig.add_subplot(4, 5, 16, projection="mollweide"); a.plot([0, 1], [0, 0.5])
    a = fig.add_subplot(4, 5, 17, axes_class=axisartist.Axes); a.plot([1, 2], [2, 1])
    a = fig.add_subplot(4, 5, 18); im = a.imshow(np.eye(3))
    fig.colorbar(im, cax=make_axes_locatable(a).append_axes("right", size="5%", pad=0.05))
    a = fig.add_subplot(4, 5, 19); a.matshow(np.eye(4))
    a.quiver([0, 1], [0, 1], [1, 1], [1, 0])
    a = fig.add_subplot(4, 5, 20); a.specgram(np.sin(np.arange(512)), NFFT=64, noverlap=32)
    a.axline((0, 0), slope=1)
    a.axhspan(10, 20, alpha=0.2)
    a.bar_label(a.bar([1, 2], [3, 4]))
    fig.figimage(np.eye(8) * 255, 5, 5)
    fig.suptitle("sweep")
    """)
    on = {a.range.start.line for a in result.anchors if a.range is not None and not a.container}
    drawing = [i for i, text in enumerate(lines)
               if (i > line_of(lines, "fig = plt.figure(") and "add_subplot(" not in text)
               or ";" in text]
    assert drawing and [lines[i] for i in drawing if i not in on] == []
    # axisartist draws its own axis lines, ticks and labels: anchored coarsely, by extent
    assert any(a.name.startswith("AxisArtist") for a in result.anchors)
    assert "anchors_skipped" not in result.meta


def test_a_figure_saved_into_a_buffer_the_script_reads_back_is_written_there(
        renderer: ChartRenderer, tmp_path: Path) -> None:
    """matplotlib's gallery (misc/svg_filter_line.py, svg_filter_pie.py) saves the figure as SVG
    into a BytesIO and parses it: verm's savefig must fill the buffer (it wrote nothing, and the
    script failed with "ParseError: no element found"); still no file is written."""
    result, _ = draw(renderer, tmp_path, """
        import io
        import xml.etree.ElementTree as ET
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], label="line")
        f = io.BytesIO()
        plt.savefig(f, format="svg")
        tree, ids = ET.XMLID(f.getvalue())
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=20)
        assert png.getvalue().startswith(b"\\x89PNG")
        ax.set_title(f"{len(ids)} ids")
    """)
    assert result.image is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.py"]
    assert any(a.text and a.text.endswith(" ids") for a in result.anchors)
