"""The pixel searches the analytic critic's causal grouping rests on, on pictures drawn here:
finding an element's crop elsewhere in the reference (moves.find), and the axis map that tells
a rescaled series from a changed one (rescale)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from verm.critic.analytic.moves import EXACT_RMS, _grey, find
from verm.critic.analytic.rescale import Series, _off_map


def canvas(at: tuple[int, int] | None, size: tuple[int, int] = (200, 120)) -> np.ndarray:
    """A white picture with a small legend-like box (frame, colour swatch, text) at ``at``."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.line([(0, 100), (199, 20)], fill="#1f77b4", width=2)  # something to sit over
    if at is not None:
        x, y = at
        draw.rectangle([x, y, x + 50, y + 24], outline="#cccccc", fill="white")
        draw.line([(x + 4, y + 12), (x + 16, y + 12)], fill="#ff7f0e", width=3)
        draw.text((x + 20, y + 6), "beta", fill="black")
    return _grey(np.asarray(image))


def test_an_element_drawn_elsewhere_is_found_where_it_was() -> None:
    ref, render = canvas((10, 10)), canvas((130, 80))
    found = find(ref, render, (130, 80, 181, 105), EXACT_RMS)
    assert found == (10.0, 10.0, 61.0, 35.0)


def test_an_element_in_its_place_or_without_features_is_not_a_move() -> None:
    same = canvas((10, 10))
    assert find(same, same, (10, 10, 61, 35), EXACT_RMS) is None
    blank = canvas(None)
    assert find(blank, blank, (150, 95, 190, 115), EXACT_RMS) is None  # plain white


def test_an_element_the_reference_never_had_is_not_found() -> None:
    assert find(canvas(None), canvas((130, 80)), (130, 80, 181, 105), EXACT_RMS) is None


def series(ref: tuple[float, float], render: tuple[float, float]) -> Series:
    """A series spanning ``ref`` rows in the reference and ``render`` rows in the render."""
    return Series([], (0.0, ref[0], 10.0, ref[1]), (0.0, render[0], 10.0, render[1]))


def test_series_off_the_shared_axis_map_are_the_changed_ones() -> None:
    # The axis doubled its range: unchanged series halve their heights towards the baseline
    # at y=300; the third was drawn from the same pixels though its data doubled.
    moved = [series((200, 300), (250, 300)), series((100, 300), (200, 300))]
    changed = series((50, 300), (50, 300))
    assert _off_map([*moved, changed]) == [changed]


def test_all_series_on_one_map_mean_the_limits_changed() -> None:
    scaled = [series((200, 300), (250, 300)), series((100, 300), (200, 300)),
              series((60, 300), (180, 300))]
    assert _off_map(scaled) == []


def test_a_series_clipped_at_the_plots_edge_follows_the_map() -> None:
    # Limits halved: the series double their heights from the baseline at y=300; the third's
    # top, mapped to y=-100, is drawn to the plot's top edge at y=20 — on the map, not changed.
    scaled = [series((250, 300), (200, 300)), series((200, 300), (100, 300))]
    clipped = series((100, 300), (20, 300))
    assert _off_map([*scaled, clipped], (0.0, 20.0, 10.0, 300.0)) == []
    assert _off_map([*scaled, clipped]) == [clipped]  # no edge known: its own data


def test_an_axis_that_did_not_move_says_nothing() -> None:
    same = [series((200, 300), (200, 300)), series((100, 300), (100, 300))]
    assert _off_map(same) is None
