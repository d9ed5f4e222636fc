"""Registration and the noise-blind comparison, on a real matplotlib chart.

Each test states a transform a real reference goes through (tight crop, padding, HiDPI scale,
JPEG) and checks the critic undoes it exactly, then that real changes still show.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from verm.critic.analytic.compare import Frame, compare
from verm.critic.analytic.register import register


def chart(*, grid: bool = False, title: str = "Sales by region", dpi: int = 100) -> Image.Image:
    fig, ax = plt.subplots(figsize=(8, 6), dpi=dpi)
    try:
        ax.plot([0, 1, 2, 3, 4], [3, 1, 4, 1, 5], color="#d62728", marker="o")
        ax.set_title(title)
        ax.set_xlabel("week")
        if grid:
            ax.grid(True)
        fig.canvas.draw()
        return Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    finally:
        plt.close(fig)


def content_box(image: Image.Image) -> tuple[int, int, int, int]:
    a = np.asarray(image).astype(np.int16)
    ys, xs = np.nonzero((np.abs(a - 255) > 8).any(axis=2))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def jpeg(image: Image.Image, quality: int = 85) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def base() -> Image.Image:
    return chart()


def test_identical_pictures_register_without_search(base):
    reg = register(base, chart())
    assert (reg.scale, reg.dx, reg.dy, reg.method) == (1.0, 0.0, 0.0, "identical")


def test_tight_crop_with_margin_is_a_pure_offset(base):
    x0, y0, x1, y1 = content_box(base)
    ref = base.crop((x0 - 7, y0 - 5, x1 + 3, y1 + 9))
    reg = register(ref, base)
    assert (reg.scale, reg.dx, reg.dy) == (1.0, -(x0 - 7), -(y0 - 5))
    assert compare(ref, base, reg).regions == []


@pytest.mark.parametrize("pad", [0, 31])
def test_hidpi_jpeg_crop_registers_exactly(base, pad):
    big = base.resize((1600, 1200), Image.Resampling.LANCZOS)
    x0, y0, x1, y1 = content_box(big)
    shot = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), "white")
    shot.paste(big.crop((x0, y0, x1, y1)), (pad, pad))
    ref = jpeg(shot)
    reg = register(ref, base)
    assert reg.scale == 2.0
    assert (reg.dx, reg.dy) == (pad - x0, pad - y0)
    cmp = compare(ref, base, reg)
    assert cmp.frame.on_render and cmp.regions == []


def test_render_larger_than_reference_is_compared_in_reference_pixels(base):
    reg = register(base, base.resize((1600, 1200), Image.Resampling.LANCZOS))
    assert reg.scale == 0.5
    cmp = compare(base, base.resize((1600, 1200), Image.Resampling.LANCZOS), reg)
    assert not cmp.frame.on_render and cmp.frame.size == (800, 600)
    assert cmp.regions == []


def test_jpeg_of_the_same_size_is_noise(base):
    cmp = compare(jpeg(base, 80), base, register(jpeg(base, 80), base))
    assert cmp.regions == []


def test_one_pixel_grid_lines_show_up_through_jpeg(base):
    ref = jpeg(base)
    grid = chart(grid=True)
    cmp = compare(ref, grid, register(ref, grid))
    assert cmp.regions and cmp.changed_pixels > 1000


def test_a_changed_word_is_one_region(base):
    other = chart(title="Sales by country")
    cmp = compare(base, other, register(base, other))
    assert len(cmp.regions) == 1
    x0, _, x1, y1 = cmp.regions[0].box
    assert y1 < 80 and x1 - x0 > 30  # the title's last word, as one box


def test_frame_maps_boxes_both_ways():
    f = Frame(2.0, -120.0, -100.0, True, (800, 600), (-10, 0))
    box = (100.0, 50.0, 200.0, 80.0)
    assert f.to_render(f.from_render(box)) == pytest.approx(box)
    assert f.to_ref(f.from_ref(box)) == pytest.approx(box)
    assert f.to_ref(f.from_render(box)) == pytest.approx((80.0, 0.0, 280.0, 60.0))
