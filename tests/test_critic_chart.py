"""The analytic critic on real matplotlib charts: identity, lossy/scaled references, errors.

Each chart is a script drawn by verm's chart renderer, as ``verm check`` draws it: the critic
sees the image and the anchors (names, keys, lines) that renderer really emits.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from verm.check import Checker
from verm.critic import get_critic
from verm.critic.diffimage import diff_image
from verm.source import Source
from verm.types import Reference, Render

QUARTERS = ["Q1", "Q2", "Q3", "Q4"]


@dataclass
class Chart:
    """What a chart script may vary; the defaults draw the reference."""

    values: tuple[float, ...] = (3.0, 5.0, 4.0, 6.0)
    colors: tuple[str, ...] = ("#1f77b4",) * 4
    title: str = "Revenue 2024"
    grid: bool = False
    legend: bool = False
    figsize: tuple[float, float] = (8.0, 6.0)
    dpi: int = 100
    facecolor: str = "#ffffff"
    legend_loc: str = "upper left"


SCRIPT = """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize={spec.figsize!r}, dpi={spec.dpi!r}, facecolor={spec.facecolor!r})
bars = ax.bar({quarters!r}, {values!r}, color={colors!r}, label="revenue")
ax.set_title({spec.title!r})
ax.set_xlabel("Quarter")
ax.set_ylabel("Revenue (M$)")
ax.set_ylim(0, 7)
"""


class ChartRenderer:
    """verm's own chart renderer (the one ``verm check`` runs): the image and the anchors a
    pinned sidecar holds, with the real names, keys and source lines."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.checker = Checker()
        self.renders: dict[str, Render] = {}

    def __call__(self, spec: Chart) -> Render:
        text = SCRIPT.format(spec=spec, quarters=QUARTERS, values=list(spec.values),
                             colors=list(spec.colors))
        if spec.grid:
            text += "ax.grid(True)\n"
        if spec.legend:
            text += f"ax.legend(loc={spec.legend_loc!r})\n"
        if text not in self.renders:
            src = self.folder / f"chart{len(self.renders)}.py"
            src.write_text(text)
            render = self.checker.render(Source.load(src))
            assert render.ok, render.failure
            self.renders[text] = render
        return self.renders[text]


_renderer: list[ChartRenderer] = []


@pytest.fixture(scope="module", autouse=True)
def chart_renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRenderer]:
    renderer = ChartRenderer(tmp_path_factory.mktemp("charts"))
    _renderer.append(renderer)
    yield renderer
    _renderer.remove(renderer)
    renderer.checker.close()


def render_chart(spec: Chart) -> Render:
    """``spec`` drawn by the real chart renderer: RGB image + the anchors it emits."""
    return _renderer[0](spec)


def reference_of(render: Render, *, sidecar: bool = False) -> Reference:
    assert render.image is not None
    return Reference(
        path=Path("chart.ref.png"),
        image=render.image,
        anchors=list(render.anchors) if sidecar else None,
        anchors_size=render.image.size if sidecar else None,
    )


def hidpi_jpeg(image: Image.Image, *, pad: int = 0, quality: int = 85) -> Image.Image:
    """A hand-made screenshot: 2× upscale, cropped tight to content, padded, saved as JPEG."""
    big = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    a = np.asarray(big).astype(np.int16)
    ys, xs = np.nonzero((np.abs(a - 255) > 8).any(axis=2))
    big = big.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    if pad:
        canvas = Image.new("RGB", (big.width + 2 * pad, big.height + 2 * pad), "white")
        canvas.paste(big, (pad, pad))
        big = canvas
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def critic():
    return get_critic("analytic", ocr=False)


@pytest.fixture(scope="module")
def base() -> Render:
    return render_chart(Chart())


def judge(critic, reference: Reference, spec: Chart):
    return critic.judge(reference, render_chart(spec))


Q3_ORANGE = ("#1f77b4", "#1f77b4", "#ff7f0e", "#1f77b4")


def test_identity_has_no_discrepancies(critic, base):
    critique = judge(critic, reference_of(base), Chart())
    assert critique.rendered
    assert critique.discrepancies == []
    assert critique.reward == 2.0


@pytest.mark.parametrize("pad", [0, 24])
def test_jpeg_hidpi_cropped_reference_is_equivalent(critic, base, pad):
    assert base.image is not None
    reference = Reference(Path("shot.jpg"), hidpi_jpeg(base.image, pad=pad))
    critique = critic.judge(reference, base)
    assert critique.discrepancies == [], [d.description for d in critique.discrepancies]
    assert critique.reward == 2.0
    assert critique.meta["registration"]["scale"] == 2.0


def test_same_chart_drawn_at_double_dpi_registers_at_scale_half(critic, base):
    """The render is the larger picture: it is compared in the reference's pixels."""
    critique = critic.judge(reference_of(base), render_chart(Chart(dpi=200)))
    assert critique.meta["registration"]["scale"] == 0.5
    assert critique.meta["frame"] == "reference"
    assert critique.discrepancies == [], [d.description for d in critique.discrepancies]


def test_recoloured_bar_is_a_style_error_with_both_colours(critic, base):
    critique = judge(critic, reference_of(base), Chart(colors=Q3_ORANGE))
    [d] = critique.discrepancies
    assert (d.category, d.location, d.severity) == ("style_error", "bar 'Q3'", 1)  # cosmetic
    assert "#1f77b4" in d.description and "#ff7f0e" in d.description
    assert d.fix == {"kind": "color", "expected": "#1f77b4", "actual": "#ff7f0e"}
    assert d.anchor is not None and d.anchor.key == "ax0/bar2"


@pytest.mark.parametrize("value", [5.0, 3.0])
def test_changed_bar_height_is_a_data_error_on_that_bar(critic, base, value):
    critique = judge(critic, reference_of(base), Chart(values=(3.0, 5.0, value, 6.0)))
    [d] = critique.discrepancies
    assert (d.category, d.location, d.severity) == ("data_error", "bar 'Q3'", 3)
    assert "264" in d.description  # the reference bar's height in px


def test_changed_title_is_a_text_error_on_the_title(critic, base):
    critique = judge(critic, reference_of(base), Chart(title="Revenue 2023"))
    [d] = critique.discrepancies
    assert (d.category, d.location) == ("text_error", "title")
    assert "Revenue 2023" in d.description
    assert d.ref_box is not None and d.ref_box[1] < 100  # at the top of the reference


def test_added_grid_is_one_minor_style_error(critic, base):
    critique = judge(critic, reference_of(base), Chart(grid=True))
    # The grid crosses the bars (matplotlib draws it above patches): that is no recolouring.
    assert [(d.category, d.severity, d.location) for d in critique.discrepancies] == [
        ("style_error", 1, "grid lines")], [d.description for d in critique.discrepancies]


def test_added_legend_is_a_structure_error(critic, base):
    critique = judge(critic, reference_of(base), Chart(legend=True))
    [d] = critique.discrepancies
    assert (d.category, d.location) == ("structure_error", "legend")


@pytest.mark.parametrize("sidecar", [False, True])
def test_changed_figure_size_is_one_structure_error(critic, base, sidecar):
    critique = judge(critic, reference_of(base, sidecar=sidecar), Chart(figsize=(10.0, 6.0)))
    [d] = critique.discrepancies
    assert (d.category, d.location, d.severity) == ("structure_error", "figure", 2)
    assert "800×600" in d.description and "1000×600" in d.description


def test_blank_render_scores_zero(critic, base):
    blank = Render(kind="chart", source=Path("chart.py"), image=Image.new("RGB", (800, 600),
                                                                          "white"))
    critique = critic.judge(reference_of(base), blank)
    assert critique.rendered is False
    assert critique.reward == 0.0
    [d] = critique.discrepancies
    assert d.category == "structure_error" and "blank" in d.description


def test_failed_render_is_not_rendered_and_not_judged(critic, base):
    from verm.types import RenderFailure

    failed = Render(kind="chart", source=Path("chart.py"), image=None,
                    failure=RenderFailure("exception", "ZeroDivisionError"))
    critique = critic.judge(reference_of(base), failed)
    assert (critique.rendered, critique.discrepancies, critique.reward) == (False, [], 0.0)


def test_three_errors_score_lower_than_one(critic, base):
    ref = reference_of(base)
    one = judge(critic, ref, Chart(title="Revenue 2023"))
    three = judge(critic, ref, Chart(title="Revenue 2023", grid=True, colors=Q3_ORANGE))
    assert [(d.category, d.severity, d.location) for d in three.discrepancies] == [
        ("text_error", 2, "title"), ("style_error", 1, "bar 'Q3'"),
        ("style_error", 1, "grid lines")]
    assert three.reward < one.reward < 2.0


def test_data_error_scores_lower_than_grid_error(critic, base):
    ref = reference_of(base)
    data = judge(critic, ref, Chart(values=(3.0, 5.0, 5.0, 6.0)))
    grid = judge(critic, ref, Chart(grid=True))
    assert data.reward < grid.reward < 2.0


def test_sidecar_names_both_texts(critic, base):
    critique = judge(critic, reference_of(base, sidecar=True), Chart(title="Revenue 2023"))
    [d] = critique.discrepancies
    assert d.category == "text_error"
    assert "'Revenue 2024'" in d.description and "'Revenue 2023'" in d.description
    assert d.fix == {"kind": "text", "expected": "Revenue 2024", "actual": "Revenue 2023"}


def test_sidecar_compares_element_to_element(critic, base):
    ref = reference_of(base, sidecar=True)
    [bar] = judge(critic, ref, Chart(values=(3.0, 5.0, 5.0, 6.0))).discrepancies
    assert (bar.category, bar.location) == ("data_error", "bar 'Q3'")
    assert "value 5, reference 4" in bar.description  # the sidecar carries the bars' data
    [color] = judge(critic, ref, Chart(colors=Q3_ORANGE)).discrepancies
    assert color.fix == {"kind": "color", "expected": "#1f77b4", "actual": "#ff7f0e"}


def test_errors_on_a_lossy_hidpi_reference_are_reported_in_reference_pixels(critic, base):
    assert base.image is not None
    reference = Reference(Path("shot.jpg"), hidpi_jpeg(base.image))
    critique = judge(critic, reference, Chart(title="Revenue 2023"))
    [d] = critique.discrepancies
    assert (d.category, d.location) == ("text_error", "title")
    assert d.ref_box is not None and d.render_box is not None
    reg = critique.meta["registration"]
    assert reg["scale"] == 2.0
    for lo, hi, offset in ((0, 2, reg["dx"]), (1, 3, reg["dy"])):
        centre_ref = (d.ref_box[lo] + d.ref_box[hi]) / 2
        centre_render = (d.render_box[lo] + d.render_box[hi]) / 2
        assert centre_ref == pytest.approx(2 * centre_render + offset, abs=6)


def test_ocr_reads_the_reference_text_when_installed(base):
    critic = get_critic("analytic")
    # scripts/setup.sh installs tesseract-ocr: its absence is a broken setup, not a skip.
    assert critic.reader.available, "tesseract is missing: apt-get install tesseract-ocr"  # type: ignore[attr-defined]
    critique = judge(critic, reference_of(base), Chart(title="Revenue 2023"))
    [d] = critique.discrepancies
    assert "'Revenue 2024'" in d.description and "'Revenue 2023'" in d.description


def test_unknown_critic_lists_the_known_ones():
    with pytest.raises(ValueError, match="analytic"):
        get_critic("oracle")


def test_diff_image_shows_reference_render_and_difference(critic, base):
    render = render_chart(Chart(colors=Q3_ORANGE))
    ref = reference_of(base)
    critique = critic.judge(ref, render)
    image = diff_image(ref, render, critique)
    assert image.width > 3 * 800 and image.height > 600
    diff_panel = np.asarray(image)[18:, 2 * 808 : 3 * 808]
    orange = (np.abs(diff_panel.astype(int) - (240, 140, 0)).sum(axis=2) < 10).sum()
    assert orange > 1000  # the recoloured bar is tinted


def test_repeated_judgements_give_the_same_verdict(critic, base):
    """Judged 7 times, each case gives the same findings every time (no state carried between
    judgements, no randomness); the medians are printed for ``pytest -s``, not asserted."""
    ref = reference_of(base)
    assert base.image is not None
    jpeg = Reference(Path("shot.jpg"), hidpi_jpeg(base.image, pad=20))
    cases = {
        "identity": (ref, base, []),
        "one error": (ref, render_chart(Chart(title="Revenue 2023")),
                      [("text_error", 2, "title")]),
        "three errors": (ref, render_chart(Chart(title="Revenue 2023", grid=True,
                                                  colors=Q3_ORANGE)),
                         [("text_error", 2, "title"), ("style_error", 1, "bar 'Q3'"),
                          ("style_error", 1, "grid lines")]),
        "2× JPEG screenshot": (jpeg, base, []),
    }
    for name, (reference, render, expected) in cases.items():
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            critique = critic.judge(reference, render)
            times.append((time.perf_counter() - t0) * 1000)
            assert [(d.category, d.severity, d.location)
                    for d in critique.discrepancies] == expected, name
        print(f"analytic judge 800×600 {name}: median {sorted(times)[3]:.1f} ms")


def test_changed_figure_background_is_one_style_error(critic, base):
    [d] = judge(critic, reference_of(base), Chart(facecolor="#eeeeee")).discrepancies
    assert (d.category, d.location) == ("style_error", "figure")
    assert "#ffffff" in d.description and "#eeeeee" in d.description


@pytest.mark.parametrize("sidecar", [False, True])
def test_moved_legend_is_one_minor_style_error(critic, sidecar):
    pinned = render_chart(Chart(legend=True))
    critique = judge(critic, reference_of(pinned, sidecar=sidecar),
                     Chart(legend=True, legend_loc="upper right"))
    assert [(d.category, d.severity, d.location) for d in critique.discrepancies] == [
        ("style_error", 1, "legend")], [d.description for d in critique.discrepancies]
    [d] = critique.discrepancies
    assert d.description.startswith("moved by (+")


def test_one_colour_change_seen_twice_is_one_discrepancy(critic):
    """The bars and their legend handle change together: one colour in the code."""
    pinned = render_chart(Chart(legend=True))
    orange = ("#ff7f0e",) * 4
    [d] = judge(critic, reference_of(pinned), Chart(legend=True, colors=orange)).discrepancies
    assert d.category == "style_error" and d.fix is not None
    assert (d.fix["expected"], d.fix["actual"]) == ("#1f77b4", "#ff7f0e")


def test_a_flat_icon_against_its_jpeg_is_not_blank(critic):
    """A plain square icon is one colour; its JPEG wobbles around that colour. The same
    picture, not a blank render; against a square of another colour, its one colour is a
    recolour of what fills the canvas (drawn: not blank either)."""
    import io

    green = Image.new("RGB", (20, 20), "#00c000")
    buffer = io.BytesIO()
    green.save(buffer, format="JPEG", quality=80)
    shot = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    assert shot.getextrema() != green.getextrema()  # not exactly one colour any more
    flat = Render(kind="svg", source=Path("icon.svg"), image=green)
    reference = Reference(path=Path("icon.jpg"), image=shot)
    assert critic.judge(reference, flat).discrepancies == []
    other = Reference(path=Path("icon.jpg"), image=Image.new("RGB", (20, 20), "#c00000"))
    critique = critic.judge(other, flat)
    assert critique.rendered is True
    assert [(d.category, d.severity) for d in critique.discrepancies] == [("style_error", 1)]
    assert "#c00000" in critique.discrepancies[0].description
