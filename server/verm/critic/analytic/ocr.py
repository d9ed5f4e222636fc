"""Optional OCR of reference text (tesseract): names what a reference says when no sidecar does.

Never required: without pytesseract or the tesseract binary, ``TextReader.available`` is False
and the critic describes text changes without the reference's words.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections import OrderedDict
from typing import Any

from PIL import Image, ImageOps

from verm.types import Box

MIN_TEXT_HEIGHT = 32  # tesseract reads small text far better upscaled to about this height
_FAILED = object()
CACHE_SIZE = 1024  # crops remembered: a screenshot's texts are read once, not on every save


class TextReader:
    """Reads one line of text from an image crop (``--psm 7``); ~100 ms a call."""

    def __init__(self, *, enabled: bool = True, timeout_s: float = 2.0) -> None:
        self._tess: Any = None
        self.timeout_s = timeout_s
        if enabled and shutil.which("tesseract"):
            try:
                import pytesseract
            except ImportError:
                pytesseract = None
            self._tess = pytesseract
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
        text = self._ocr(grey)
        if text is _FAILED:  # a timeout under load may read fine next time: not remembered
            return None
        with self._lock:
            self._seen[key] = text
            while len(self._seen) > CACHE_SIZE:
                self._seen.popitem(last=False)
        return text

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
