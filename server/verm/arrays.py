"""RGB arrays of PIL images, converted once per image object.

A pinned reference is judged against every save, and a render is read by registration and
comparison: each ``np.asarray(image)`` is a full copy (~1.5 ms at 800×600). A renderer that
had the pixels as an array already hands it over with ``remember_array``. Images are never
changed in place in verm, so an array stays valid for its image's lifetime.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
from PIL import Image

_KEPT = 16
# id(image) → (weak reference to it, its array). PIL images are unhashable (they define __eq__),
# so the weak reference is checked instead: a recycled id never returns a stale array.
_ARRAYS: dict[int, tuple[weakref.ref[Image.Image], np.ndarray]] = {}
_LOCK = threading.Lock()


def rgb_array(image: Image.Image) -> np.ndarray:
    """The image as a read-only (H, W, 3) uint8 array."""
    hit = _ARRAYS.get(id(image))
    if hit is not None and hit[0]() is image:
        return hit[1]
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    arr = np.asarray(rgb)
    remember_array(image, arr)
    return arr


def remember_array(image: Image.Image, arr: np.ndarray) -> None:
    """Record ``arr`` (H, W, 3 uint8, the same pixels) as ``image``'s RGB array."""
    arr.flags.writeable = False
    with _LOCK:
        _ARRAYS[id(image)] = (weakref.ref(image), arr)
        while len(_ARRAYS) > _KEPT:
            _ARRAYS.pop(next(iter(_ARRAYS)))
