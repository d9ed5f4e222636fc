"""Connected components of a boolean mask: ``scipy.ndimage.label`` + ``find_objects``, in numpy.

The critic groups changed pixels into regions with this on every judgement. scipy's version
is the standard one, but importing ``scipy.ndimage`` costs the long-lived language server
~25 MB and a tenth of a second at start for two functions. Here the mask is cut into
horizontal runs, runs that touch in consecutive rows are joined (4-connectivity, scipy's
default structure) by hooking roots to smaller roots with pointer jumping — a few numpy
passes, no Python loop per pixel or run — and components are numbered in raster order of
their first pixel, exactly as scipy numbers them.
"""

from __future__ import annotations

import numpy as np


def label(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[slice, slice]]]:
    """``(labels, boxes)``: labels 1..n (int32, 0 outside the mask) and, for label i, the
    bounding ``(row slice, column slice)`` at ``boxes[i - 1]``."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    labels = np.zeros((h, w), dtype=np.int32)
    if h == 0 or w == 0:
        return labels, []
    stride = w + 2  # a False column either side: no run crosses a row boundary
    padded = np.zeros((h, stride), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded.ravel())
    starts = np.flatnonzero(edges == 1) + 1  # flat index of each run's first pixel
    ends = np.flatnonzero(edges == -1) + 1  # ...and one past its last
    n = starts.size
    if n == 0:
        return labels, []
    roots = _join(starts, ends, stride)
    firsts, comp = np.unique(roots, return_inverse=True)  # roots are each component's first run
    comp = comp.astype(np.int32) + 1

    rows = starts // stride
    cols0 = starts - rows * stride - 1
    cols1 = ends - rows * stride - 1
    lengths = ends - starts
    flat = np.zeros(h * stride, dtype=np.int32)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
        int(lengths.sum()))
    flat[offsets] = np.repeat(comp, lengths)
    labels[:] = flat.reshape(h, stride)[:, 1:-1]

    k = firsts.size
    top = np.full(k, h, dtype=np.int64)
    bottom = np.zeros(k, dtype=np.int64)
    left = np.full(k, w, dtype=np.int64)
    right = np.zeros(k, dtype=np.int64)
    idx = comp - 1
    np.minimum.at(top, idx, rows)
    np.maximum.at(bottom, idx, rows + 1)
    np.minimum.at(left, idx, cols0)
    np.maximum.at(right, idx, cols1)
    boxes = [(slice(int(t), int(b)), slice(int(lo), int(hi)))
             for t, b, lo, hi in zip(top, bottom, left, right, strict=True)]
    return labels, boxes


def _join(starts: np.ndarray, ends: np.ndarray, stride: int) -> np.ndarray:
    """For each run, the index of the first run of its component."""
    n = starts.size
    # Runs of the row above that overlap run j: shifted up one row, j spans
    # [start - stride, end - stride); the runs meeting that span are contiguous in the sorted
    # run list, and all lie in the row above (the padding keeps the span inside it).
    lo = np.searchsorted(ends, starts - stride, side="right")
    hi = np.searchsorted(starts, ends - stride, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    parent = np.arange(n)
    if total == 0:
        return parent
    below = np.repeat(np.arange(n), counts)
    above = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
    while True:
        a, b = parent[above], parent[below]  # roots: the tree is flat after each round
        small, big = np.minimum(a, b), np.maximum(a, b)
        cross = small != big
        if not cross.any():
            return parent
        np.minimum.at(parent, big[cross], small[cross])  # hook roots onto smaller roots
        while True:  # pointer jumping until every run points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
