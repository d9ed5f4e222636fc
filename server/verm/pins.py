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
import logging
import os
import stat
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from verm.config import Config
from verm.safeio import (
    DEFAULT_LIMITS,
    ReadLimits,
    UnsafeReadError,
    raise_hint,
    read_reference,
    read_sidecar,
)
from verm.source import Source
from verm.types import JPEG_INFO, LOSSY_INFO, Anchor, Range, Reference, Render

PinHow = Literal["flag", "pragma", "config", "sibling"]
SIDECAR_VERSION = 1
MAX_REFERENCE_PIXELS = DEFAULT_LIMITS.reference_pixels  # the default; the user may raise it
log = logging.getLogger("verm.pins")


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


def load_reference(pin: Pin, limits: ReadLimits | None = None) -> Reference:
    """Read the pinned image as RGB (alpha flattened on white) and its sidecar when valid.

    Only a regular file within the user's byte and pixel caps is read (safeio: a workspace may
    pin ``/dev/zero``, ``/dev/stdin``, a FIFO or a decompression bomb).
    """
    path = pin.path
    try:
        raw = read_reference(path, limits)
    except FileNotFoundError:
        raise BadReferenceError(
            f"reference {path} (from {pin.describe()}) does not exist; create it with "
            f"`verm pin`", pin) from None
    except UnsafeReadError as exc:
        raise BadReferenceError(str(exc), pin) from None
    except OSError as exc:
        raise BadReferenceError(f"reference {path}: cannot read ({exc.strerror})", pin) from None
    image = decode_image(raw, path, pin, limits)
    anchors, size = _read_sidecar(path, raw, limits)
    return Reference(path=path, image=image, anchors=anchors, anchors_size=size)


# Formats whose header verm reads itself: their size is checked against the user's pixel cap
# before PIL's own decompression-bomb check (89/178 MP), which would hide the size behind
# "not an image" and could not be raised by the user.
_HEADERS: tuple[tuple[bytes, type[ImageFile.ImageFile]], ...] = (
    (b"\x89PNG\r\n\x1a\n", PngImagePlugin.PngImageFile),
    (b"\xff\xd8\xff", JpegImagePlugin.JpegImageFile),
)


def _open_header(raw: bytes) -> Image.Image:
    """The image with only its header parsed (no pixels decoded yet)."""
    for magic, cls in _HEADERS:
        if raw.startswith(magic):
            return cls(io.BytesIO(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our cap comes next
        return Image.open(io.BytesIO(raw))


def decode_image(raw: bytes, path: Path, pin: Pin | None = None,
                 limits: ReadLimits | None = None) -> Image.Image:
    """Decode ``raw`` to RGB, refusing more pixels than the user allows before decoding."""
    if not raw:
        raise BadReferenceError(f"reference {path} is empty (0 bytes)", pin)
    most = (limits or DEFAULT_LIMITS).reference_pixels
    cap = f"verm accepts at most {most / 1_000_000:g} megapixels ({raise_hint('reference_pixels')})"
    try:
        img = _open_header(raw)
        if img.width * img.height > most:
            raise BadReferenceError(
                f"reference {path} is {img.width}×{img.height} pixels; {cap}", pin)
        img.load()
    except BadReferenceError:
        raise
    except Image.DecompressionBombError:
        pil = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        why = cap if most < pil else "save it as PNG or JPEG to go beyond"
        raise BadReferenceError(
            f"reference {path} is over {pil / 1_000_000:.0f} megapixels; {why}", pin) from None
    except UnidentifiedImageError:
        raise BadReferenceError(
            f"reference {path} is not an image verm can read (expected PNG; JPEG and WebP also "
            f"work)", pin) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadReferenceError(f"reference {path} is corrupt or truncated ({exc})", pin) from None
    flat = flatten(img)
    # A JPEG is lossy however clean it looks: the critic judges it with a lossy copy's slack
    # (a page's flat bands of colour would otherwise pass for a pale grid's lines).
    flat.info[LOSSY_INFO] = img.format == "JPEG"
    if img.format == "JPEG":
        # How it was compressed: the critic can save a render the same way, and tell a change
        # from what the compression did to a thin line.
        tables = getattr(img, "quantization", None)
        if tables:
            flat.info[JPEG_INFO] = {"qtables": tables,
                                    "subsampling": JpegImagePlugin.get_sampling(img)}
    return flat


def flatten(img: Image.Image) -> Image.Image:
    """RGB on white: transparent screenshots compare like the white canvas they were made on."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _read_sidecar(path: Path, raw: bytes, limits: ReadLimits | None = None,
                  ) -> tuple[list[Anchor] | None, tuple[int, int] | None]:
    side = sidecar_path(path)
    try:
        data = json.loads(read_sidecar(side, limits))
        if data.get("version") != SIDECAR_VERSION:
            return None, None
        if data.get("sha256") != hashlib.sha256(raw).hexdigest():
            return None, None  # the PNG changed since verm pinned it: the anchors are stale
        anchors = [Anchor.from_json(a) for a in data["anchors"]]
        w, h = data["size"]
        return anchors, (int(w), int(h))
    except UnsafeReadError as exc:
        log.warning("%s; judging without its anchors", exc)
        return None, None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in its folder and a rename: all or nothing.

    A symlink is written through (the link stays, its file changes); an existing file keeps its
    mode, a new one gets the usual ``0666 & ~umask``, as an editor's save would.
    """
    path = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# -- where verm may write -------------------------------------------------------------------
PROJECT_MARKERS = (".git", ".hg", "verm.toml", "pyproject.toml")


class OutsideWorkspaceError(Exception):
    """A write that would land outside the workspace (a hostile pragma or config, a symlink)."""


def project_root(source: Path) -> Path:
    """The workspace of a source the CLI was pointed at: the nearest folder at or above it that
    holds a project marker (``.git``, ``verm.toml``, ``pyproject.toml``), else its own folder."""
    start = Path(os.path.abspath(source))
    folder = start if start.is_dir() else start.parent
    for d in (folder, *folder.parents):
        if any(os.path.lexists(d / marker) for marker in PROJECT_MARKERS):
            return d
    return folder


def relative_display(path: Path, roots: Sequence[Path]) -> str:
    """``path`` relative to the root that holds it (the whole path when none does)."""
    real = Path(os.path.realpath(path))
    for root in roots:
        with contextlib.suppress(ValueError):
            return real.relative_to(os.path.realpath(root)).as_posix()
    return str(real)


def confine(target: Path, roots: Sequence[Path], why: str = "") -> Path:
    """The real path ``target`` writes to, if it lies inside one of ``roots``.

    Symlinks (of the file and of every folder above it) are resolved first: a reference that is a
    link to ``~/.bashrc``, or a folder linked out of the workspace, is outside. Raises
    ``OutsideWorkspaceError`` naming both paths and how to proceed.
    """
    real = Path(os.path.realpath(target))
    for root in roots:
        if real.is_relative_to(os.path.realpath(root)):
            return real
    shown = str(target) if str(real) == os.path.abspath(target) else f"{target} (→ {real})"
    where = " or ".join(str(r) for r in roots) or "the workspace"
    raise OutsideWorkspaceError(
        f"refusing to write {shown}: it is outside the workspace ({where})"
        f"{f'; it comes from {why}' if why else ''}. A file in the workspace cannot make verm "
        f"write elsewhere")


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def pin_render(render: Render, target: Path, *, force: bool = False,
               within: Sequence[Path] | None = None, why: str = "") -> Path:
    """Save ``render`` as the reference at ``target`` (+ anchors sidecar), atomically.

    Both files must lie inside ``within`` (default: the source's project root, see
    ``project_root``), symlinks resolved; pass ``within=()`` only for a path the user named
    (``--reference``, ``--allow-outside``). Raises ``PinExistsError`` when ``target`` exists and
    ``force`` is false, ``OutsideWorkspaceError`` when a file would land outside.
    """
    if not render.ok or render.image is None:
        raise ValueError("cannot pin a render that failed")
    roots = [project_root(render.source)] if within is None else list(within)
    real = confine(target, roots, why) if roots else Path(os.path.realpath(target))
    side = sidecar_path(real)
    if roots:
        side = confine(side, roots, why)
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
    atomic_write(real, data)
    atomic_write(side, json.dumps(sidecar, indent=1).encode())
    return target
