"""Connected components: the same labels and boxes as scipy.ndimage, on masks of every shape."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from verm.critic.analytic.components import label

RNG = np.random.default_rng(1)


def _random(shape: tuple[int, int], p: float) -> np.ndarray:
    return RNG.random(shape) < p


def _blobs() -> np.ndarray:
    m = np.zeros((300, 400), dtype=bool)
    for _ in range(30):
        y, x = RNG.integers(0, 280), RNG.integers(0, 380)
        m[y:y + RNG.integers(2, 30), x:x + RNG.integers(2, 30)] = True
    return m


def _nested_u() -> np.ndarray:
    """Arms that meet only far below where they start: one component, found late."""
    u = np.zeros((50, 50), dtype=bool)
    u[5:45, 5] = u[5:45, 40] = u[44, 5:41] = True
    u[10:40, 20] = u[10, 20:38] = True
    return u


def _diagonal() -> np.ndarray:
    """Pixels touching only at corners are separate under 4-connectivity."""
    return np.eye(12, dtype=bool)


MASKS = [
    *(_random(shape, p) for p in (0.0, 0.05, 0.4, 0.6, 1.0)
      for shape in ((1, 1), (1, 9), (9, 1), (13, 17), (120, 90))),
    _blobs(), _nested_u(), _diagonal(),
]


@pytest.mark.parametrize("mask", MASKS, ids=lambda m: f"{m.shape}-{int(m.sum())}")
def test_labels_and_boxes_match_scipy(mask: np.ndarray):
    expected, n = ndi.label(mask)
    labels, boxes = label(mask)
    assert len(boxes) == n
    assert np.array_equal(labels, expected)
    assert boxes == list(ndi.find_objects(expected))


def test_counts_what_it_should():
    _, boxes = label(_nested_u())
    assert len(boxes) == 2  # the U and the hook inside it
    assert len(label(_diagonal())[1]) == 12
    empty, none = label(np.zeros((0, 5), dtype=bool))
    assert empty.shape == (0, 5) and none == []
