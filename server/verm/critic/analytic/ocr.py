"""Optional OCR of reference text (tesseract): names what a reference says when no sidecar does.

Never required: without the tesseract binary on PATH, ``TextReader.available`` is False
and the critic describes text changes without the reference's words.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import threading
from collections import OrderedDict
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from verm.cache import cache_dir
from verm.types import Box

MIN_TEXT_HEIGHT = 32  # tesseract reads small text far better upscaled to about this height
_FAILED = object()
CACHE_SIZE = 1024  # crops remembered: a screenshot's texts are read once, not on every save
DISK_SIZE = 4096  # readings kept in the cache folder (a few bytes each)
PRUNE_EVERY = 256  # writes between checks of the folder's size


RULE_SHARE = 0.6  # of a crop's side in one unbroken line: a border, not letters
# A column rule runs the crop's whole height; a steep line crossing a short crop (a series
# seen through a legend) runs much of it.
COLUMN_SHARE = 0.9
INK_STEP = 48  # grey step from the crop's commonest grey that is a letter's ink
RULE_STEP = 12  # … that is a rule's (a light border, anti-aliased over two rows)


def _without_rules(crop: Image.Image) -> Image.Image:
    """The crop cut to its words when a table's or box's borders run through it (a cell's box,
    padded, holds its rules and a neighbour's letters, which tesseract reads too): the part
    between rules at the crop's centre (where the box asked about is); unchanged when no rule
    crosses it."""
    grey = np.asarray(ImageOps.grayscale(crop), dtype=np.int16)
    values, counts = np.unique(grey, return_counts=True)
    step = np.abs(grey - values[np.argmax(counts)])
    lined = step > RULE_STEP
    rows = np.nonzero(_edge_runs(lined) >= RULE_SHARE * crop.width)[0]
    cols = np.nonzero(_edge_runs(lined.T) >= COLUMN_SHARE * crop.height)[0]
    # A rule is one grey along its length; a letter's stem met by a line crossing behind it
    # above and below is not.
    cols = np.array([c for c in cols if np.ptp(grey[lined[:, c], c]) <= INK_STEP], dtype=int)
    if rows.size == 0 and cols.size == 0:
        return crop
    ink = step > INK_STEP
    ink[rows, :] = False
    ink[:, cols] = False
    cy, cx = crop.height // 2, crop.width // 2
    y0, y1 = next(((a, b) for a, b in _between(rows, crop.height) if a <= cy < b),
                  (0, crop.height))
    x0, x1 = next(((a, b) for a, b in _between(cols, crop.width) if a <= cx < b),
                  (0, crop.width))
    ys, xs = np.nonzero(ink[y0:y1, x0:x1])
    if ys.size == 0:
        return crop
    pad = 2
    return crop.crop((max(x0, x0 + int(xs.min()) - pad), max(y0, y0 + int(ys.min()) - pad),
                      min(x1, x0 + int(xs.max()) + pad + 1),
                      min(y1, y0 + int(ys.max()) + pad + 1)))


def _edge_runs(mask: np.ndarray) -> np.ndarray:
    """Each row's longest run of True that reaches an end of the row (its leading or trailing
    run): a rule crosses the padded crop's edge, a letter's stem lies inside its padding."""
    width = mask.shape[1]
    full = mask.all(axis=1)
    leading = np.where(full, width, np.argmin(mask, axis=1))
    trailing = np.where(full, width, np.argmin(mask[:, ::-1], axis=1))
    return np.maximum(leading, trailing)


def _between(rules: np.ndarray, size: int) -> list[tuple[int, int]]:
    """The stretches of [0, size) between ``rules`` (sorted indices), each at least 1 long."""
    edges = [-1, *rules.tolist(), size]
    return [(a + 1, b) for a, b in pairwise(edges) if b - a > 1]


class TextReader:
    """Reads one line of text from an image crop (``--psm 7``); ~100 ms a call."""

    def __init__(self, *, enabled: bool = True, timeout_s: float = 2.0,
                 folder: Path | bool | None = True) -> None:
        """``folder``: where readings are kept across processes (True: verm's cache folder;
        None or False: this process only)."""
        self._tess: Any = None
        self.timeout_s = timeout_s
        self.folder: Path | None = (cache_dir() / "ocr" if folder is True
                                    else folder or None)  # type: ignore[assignment]
        self._writes = 0
        binary = shutil.which("tesseract") if enabled else None
        if binary:
            self._tess = Tesseract(binary)
        self._seen: OrderedDict[bytes, str | None] = OrderedDict()  # crop digest → text
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._tess is not None

    def read(self, image: Image.Image, box: Box, *, vertical: bool = False) -> str | None:
        """The text inside ``box`` of ``image``, or None when unreadable or OCR is missing."""
        if self._tess is None:
            return None
        x0, y0, x1, y1 = box
        pad = max(2.0, 0.15 * min(x1 - x0, y1 - y0))
        crop = image.crop((
            int(max(0, x0 - pad)),
            int(max(0, y0 - pad)),
            int(min(image.width, x1 + pad + 1)),
            int(min(image.height, y1 + pad + 1)),
        ))
        if crop.width < 2 or crop.height < 2:
            return None
        crop = _without_rules(crop)
        if vertical:
            crop = crop.rotate(-90, expand=True)
        grey = ImageOps.grayscale(crop)
        if grey.height < MIN_TEXT_HEIGHT:
            f = MIN_TEXT_HEIGHT / grey.height
            grey = grey.resize((max(1, round(grey.width * f)), MIN_TEXT_HEIGHT),
                               Image.Resampling.LANCZOS)
        grey = ImageOps.expand(grey, border=8, fill=int(grey.getpixel((0, 0)) or 255))
        key = hashlib.blake2b(grey.tobytes(), digest_size=16,
                              person=b"%dx%d" % grey.size).digest()
        with self._lock:
            if key in self._seen:  # the same pixels (a reference's text, an unchanged label)
                self._seen.move_to_end(key)
                return self._seen[key]
        found, text = self._from_disk(key)
        if not found:
            text = self._ocr(grey)
            if text is _FAILED:  # a timeout under load may read fine next time: not remembered
                return None
            self._to_disk(key, text)
        with self._lock:
            self._seen[key] = text
            while len(self._seen) > CACHE_SIZE:
                self._seen.popitem(last=False)
        return text

    def _from_disk(self, key: bytes) -> tuple[bool, str | None]:
        """A reading another verm process made of the same pixels (``verm check`` after the
        editor's server, or the next run of it)."""
        if self.folder is None:
            return False, None
        try:
            raw = (self.folder / key.hex()).read_bytes()
        except OSError:
            return False, None
        text = raw[:4096].decode("utf-8", "replace")
        return True, (text or None)

    def _to_disk(self, key: bytes, text: str | None) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key.hex()}.{os.getpid()}.tmp"
            tmp.write_bytes((text or "").encode("utf-8"))
            os.replace(tmp, self.folder / key.hex())  # readers see all of it or nothing
            self._writes += 1
            if self._writes % PRUNE_EVERY == 0:
                _prune(self.folder)
        except OSError:
            pass  # a cache that cannot be written only costs the next reading


    def _ocr(self, grey: Image.Image) -> Any:
        try:
            text = self._tess.image_to_string(grey, config="--psm 7", timeout=self.timeout_s)
        except Exception:  # OCR is best effort: a timeout or crash just means "unknown"
            return _FAILED
        text = " ".join(str(text).split())
        if not text:
            return None
        clean = sum(ch.isalnum() or ch in " .,:;%$€£-+()'/" for ch in text)
        return text if clean >= 0.7 * len(text) else None


class Tesseract:
    """The ``tesseract`` binary on the user's PATH, fed a PNG on stdin.

    Called directly rather than through pytesseract, whose import pulls in pandas when that is
    installed (a third of a second on every start of ``verm check`` and of the server)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def image_to_string(self, image: Image.Image, config: str = "", timeout: float = 2.0
                        ) -> str:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        done = subprocess.run([self.binary, "stdin", "stdout", *config.split()],
                              input=buffer.getvalue(), capture_output=True, timeout=timeout,
                              check=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        return done.stdout.decode("utf-8", "replace")


def _prune(folder: Path) -> None:
    """Keep the folder bounded: past DISK_SIZE readings, forget the oldest half."""
    try:
        entries = [e for e in os.scandir(folder) if e.is_file() and not e.name.startswith(".")]
        if len(entries) <= DISK_SIZE:
            return
        entries.sort(key=lambda e: e.stat().st_mtime)
        for e in entries[: len(entries) // 2]:
            with contextlib.suppress(OSError):
                os.unlink(e.path)
    except OSError:
        pass
