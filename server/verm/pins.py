"""Which reference a source must look like, reading it safely, and pinning a render as one.

Resolution order (DESIGN.md): a CLI flag; a ``verm: reference=...`` pragma in the source; the
``references`` table of the workspace config; a sibling ``<stem>.ref.png``. When verm pins a
render it also writes ``<ref>.anchors.json`` (the render's anchors, its size and the PNG's hash)
so later judgements can compare element to element; a hand-made screenshot, or a PNG replaced
after pinning (hash mismatch), simply has no usable sidecar.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError

from verm.config import Config
from verm.source import Source
from verm.types import Anchor, Range, Reference, Render

PinHow = Literal["flag", "pragma", "config", "sibling"]
SIDECAR_VERSION = 1
MAX_REFERENCE_PIXELS = 64_000_000  # 8000×8000: larger is a mistake or a decompression bomb


class BadReferenceError(Exception):
    """A pinned reference that cannot be used: missing, not an image, corrupt, too large."""

    def __init__(self, message: str, pin: Pin | None = None) -> None:
        super().__init__(message)
        self.pin = pin


class PinExistsError(Exception):
    """Pinning would overwrite an existing reference and the caller did not ask to."""


@dataclass(frozen=True)
class Pin:
    path: Path
    how: PinHow
    range: Range | None = None  # where in the source the pin is declared (pragma line)

    def describe(self) -> str:
        return {"flag": "--reference", "pragma": "the verm: pragma", "config": "the config",
                "sibling": "a sibling file"}[self.how]


def sibling_reference(source: Path) -> Path:
    return source.with_name(f"{source.stem}.ref.png")


def sidecar_path(reference: Path) -> Path:
    return reference.with_name(f"{reference.name}.anchors.json")


def resolve_pin(source: Source, config: Config, flag: Path | None = None) -> Pin | None:
    """The reference ``source`` is pinned to, in DESIGN.md's order; ``None`` if unpinned."""
    if flag is not None:
        return Pin(Path(os.path.normpath(Path(flag).absolute())), "flag")
    hit = source.pragmas.get("reference")
    if hit:
        value, line = hit
        return Pin(Path(os.path.normpath(source.path.parent / value)), "pragma",
                   Range.of_line(line, source.text))
    mapped = config.reference_for(source.path)
    if mapped is not None:
        return Pin(mapped, "config")
    sibling = sibling_reference(source.path)
    if sibling.is_file():
        return Pin(sibling, "sibling")
    return None


def default_pin_target(source: Source, config: Config) -> Pin:
    """Where ``verm pin`` writes when nothing pins the source yet: the sibling file."""
    return resolve_pin(source, config) or Pin(sibling_reference(source.path), "sibling")


def load_reference(pin: Pin) -> Reference:
    """Read the pinned image as RGB (alpha flattened on white) and its sidecar when valid."""
    path = pin.path
    if not path.exists():
        raise BadReferenceError(
            f"reference {path} (from {pin.describe()}) does not exist; create it with "
            f"`verm pin`", pin)
    if path.is_dir():
        raise BadReferenceError(f"reference {path} is a directory, not an image", pin)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadReferenceError(f"reference {path}: cannot read ({exc.strerror})", pin) from None
    image = decode_image(raw, path, pin)
    anchors, size = _read_sidecar(path, raw)
    return Reference(path=path, image=image, anchors=anchors, anchors_size=size)


def decode_image(raw: bytes, path: Path, pin: Pin | None = None) -> Image.Image:
    if not raw:
        raise BadReferenceError(f"reference {path} is empty (0 bytes)", pin)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            if img.width * img.height > MAX_REFERENCE_PIXELS:
                raise BadReferenceError(
                    f"reference {path} is {img.width}×{img.height} pixels; verm accepts at most "
                    f"{MAX_REFERENCE_PIXELS // 1_000_000} megapixels", pin)
            img.load()
    except BadReferenceError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise BadReferenceError(
            f"reference {path} is not an image verm can read (expected PNG; JPEG and WebP also "
            f"work)", pin) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadReferenceError(f"reference {path} is corrupt or truncated ({exc})", pin) from None
    return flatten(img)


def flatten(img: Image.Image) -> Image.Image:
    """RGB on white: transparent screenshots compare like the white canvas they were made on."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _read_sidecar(path: Path, raw: bytes) -> tuple[list[Anchor] | None, tuple[int, int] | None]:
    side = sidecar_path(path)
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        if data.get("version") != SIDECAR_VERSION:
            return None, None
        if data.get("sha256") != hashlib.sha256(raw).hexdigest():
            return None, None  # the PNG changed since verm pinned it: the anchors are stale
        anchors = [Anchor.from_json(a) for a in data["anchors"]]
        w, h = data["size"]
        return anchors, (int(w), int(h))
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in its folder and a rename: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def pin_render(render: Render, target: Path, *, force: bool = False) -> Path:
    """Save ``render`` as the reference at ``target`` (+ anchors sidecar), atomically.

    Raises ``PinExistsError`` when ``target`` exists and ``force`` is false.
    """
    if not render.ok or render.image is None:
        raise ValueError("cannot pin a render that failed")
    if target.exists() and not force:
        raise PinExistsError(
            f"{target} already exists; pass --force to replace it with the current render")
    data = png_bytes(render.image)
    sidecar = {
        "version": SIDECAR_VERSION,
        "source": render.source.name,
        "kind": render.kind,
        "size": list(render.image.size),
        "sha256": hashlib.sha256(data).hexdigest(),
        "anchors": [a.to_json() for a in render.anchors],
    }
    atomic_write(target, data)
    atomic_write(sidecar_path(target), json.dumps(sidecar, indent=1).encode())
    return target
