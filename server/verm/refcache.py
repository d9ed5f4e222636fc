"""The decoded references a long-lived process keeps between saves: an LRU bounded in bytes.

Decoding a large screenshot costs more than judging it, so the server keeps each decoded
reference until its file or sidecar changes. Unbounded, a workspace of large references (eight
7900² PNGs) grew the server from 65 MB to 2.5 GB and kept it after the documents closed; here
the least recently used references go first once the user's ``reference-cache-mb`` is spent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from verm.pins import Pin, load_reference, sidecar_path
from verm.safeio import DEFAULT_LIMITS, ReadLimits
from verm.types import Reference

ANCHOR_BYTES = 600  # an Anchor with its Range, box and strings, as Python objects


def footprint(ref: Reference) -> int:
    """Bytes a decoded reference holds: PIL keeps RGB pixels in 4 bytes, plus its anchors."""
    w, h = ref.image.size
    return w * h * (1 if ref.image.mode in ("1", "L", "P") else 4) \
        + ANCHOR_BYTES * len(ref.anchors or ())


def stamp(path: Path) -> tuple[int, int, int]:
    """What changes when a file is replaced or rewritten (mtime, size, inode)."""
    try:
        st = path.stat()
    except OSError:
        return (-1, -1, -1)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ReferenceCache:
    """``get(pin)`` decodes a reference once and reuses it while its file and sidecar are
    unchanged; thread-safe (judging threads share it); at most ``limits.reference_cache_bytes``
    kept, a single larger reference is returned but not kept."""

    def __init__(self, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.bytes = 0
        self._entries: OrderedDict[Path, tuple[tuple[int, ...], Reference, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pin: Pin) -> Reference:
        """The decoded reference of ``pin`` (raises ``BadReferenceError`` as ``load_reference``)."""
        key = stamp(pin.path) + stamp(sidecar_path(pin.path))
        with self._lock:
            hit = self._entries.get(pin.path)
            if hit is not None and hit[0] == key:
                self._entries.move_to_end(pin.path)
                return hit[1]
        ref = load_reference(pin, self.limits)  # outside the lock: other documents go on
        size = footprint(ref)
        with self._lock:
            self._drop(pin.path)
            budget = self.limits.reference_cache_bytes
            if size <= budget:
                while self._entries and self.bytes + size > budget:
                    self._drop(next(iter(self._entries)))
                self._entries[pin.path] = (key, ref, size)
                self.bytes += size
        return ref

    def forget(self, path: Path) -> None:
        """Drop the reference at ``path`` (its documents closed); the next ``get`` re-reads."""
        with self._lock:
            self._drop(Path(path))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def _drop(self, path: Path) -> None:
        gone = self._entries.pop(path, None)
        if gone is not None:
            self.bytes -= gone[2]

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __len__(self) -> int:
        return len(self._entries)
