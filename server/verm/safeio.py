"""Bounded reads of workspace files: regular files only, never more than a size cap.

A workspace is untrusted (DESIGN.md, "Trust"): any path it names — a pragma's reference, a
source, a linked stylesheet, a sidecar, a config file — may be a symlink to ``/dev/zero``, a FIFO
that never yields, ``/dev/stdin`` (the language server's JSON-RPC stream) or a multi-gigabyte
file. These reads happen in the editor's server process, on every save, outside any sandbox, so
each one is checked before it starts: ``stat`` first (opening some devices has side effects),
then open non-blocking and ``fstat`` the descriptor (the path may have been swapped in between),
refuse anything but a regular file, refuse a file over its cap, and read at most cap + 1 bytes
(a file may grow while it is read). Caps are the user's to raise (``ReadLimits``), never the
workspace's.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import NoReturn

MB = 1_000_000
USER_CONFIG = "~/.config/verm/config.toml"


class UnsafeReadError(OSError):
    """verm refused to read a path: not a regular file, or larger than its cap.

    An ``OSError`` so every ``except OSError`` around a read already treats it as "cannot read";
    ``str()`` is the whole user-facing message (no errno prefix).
    """

    def __init__(self, message: str, path: Path | str) -> None:
        super().__init__(message)
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.args[0])


# user-config key → (ReadLimits field, unit in bytes or pixels)
_KEYS: dict[str, tuple[str, int]] = {
    "max-source-mb": ("source_bytes", MB),
    "max-reference-mb": ("reference_bytes", MB),
    "max-reference-megapixels": ("reference_pixels", 1_000_000),
    "max-sidecar-mb": ("sidecar_bytes", MB),
    "max-config-mb": ("config_bytes", MB),
    "max-stylesheet-mb": ("stylesheet_bytes", MB),
    "reference-cache-mb": ("reference_cache_bytes", MB),
}
_SETTING = {attr: key for key, (attr, _) in _KEYS.items()}


@dataclass(frozen=True)
class ReadLimits:
    """Caps on what verm reads and keeps, chosen by the user (config, environment, flags).

    Defaults are far above anything hand-made and far below what hurts an editor:
    - a source is hand-written code, a page or a table: 8 MB is ~100× a large one, and the
      editor's own buffer of such a file already costs several times that;
    - a reference is a screenshot: 64 MP (8000×8000, 192 MB decoded as RGB) covers a full
      page at 2× on a 4K screen; 64 MB of PNG is more than such a screenshot compresses to;
    - a sidecar is verm's own anchors JSON, ~200 bytes per anchor: 16 MB is ~80,000 anchors;
    - a config file is a few lines of TOML: 1 MB;
    - a stylesheet may be a framework's unminified build (Tailwind's full one is ~4 MB): 8 MB;
    - decoded references kept between saves: 256 MB, more than the largest one (so it is
      always cached) and ~20 typical 4 MP screenshots.
    """

    source_bytes: int = 8 * MB
    reference_bytes: int = 64 * MB
    reference_pixels: int = 64_000_000
    sidecar_bytes: int = 16 * MB
    config_bytes: int = 1 * MB
    stylesheet_bytes: int = 8 * MB
    reference_cache_bytes: int = 256 * MB

    KEYS = tuple(_KEYS)  # the user-config keys ``from_mapping`` understands

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], base: ReadLimits | None = None,
                     where: str = "user config") -> ReadLimits:
        """``base`` (default: the defaults) with the ``KEYS`` found in ``data`` applied.

        Values are positive numbers (or numeric strings, as from the environment) in MB or
        megapixels; other keys are ignored so a whole user-config table can be passed. Raises
        ``ValueError`` naming ``where`` and the key for a bad value.
        """
        changes: dict[str, int] = {}
        for key, (attr, unit) in _KEYS.items():
            if key not in data:
                continue
            value = data[key]
            try:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)  # type: ignore[arg-type]
                if not number > 0 or number == float("inf"):
                    raise ValueError
            except (TypeError, ValueError):
                raise ValueError(f"{where}: {key} must be a positive number, got {value!r}")\
                    from None
            changes[attr] = max(1, round(number * unit))
        return replace(base or DEFAULT_LIMITS, **changes)

    def to_mapping(self) -> dict[str, float]:
        """The user-config view of these limits (for ``verm`` to show what is in force)."""
        return {key: getattr(self, attr) / unit for key, (attr, unit) in _KEYS.items()}


DEFAULT_LIMITS = ReadLimits()
assert {f.name for f in fields(ReadLimits)} == set(_SETTING)


def setting_of(attr: str) -> str:
    """The user-config key that raises the ``ReadLimits`` field ``attr``."""
    return _SETTING[attr]


def raise_hint(attr: str) -> str:
    """How the user raises the ``ReadLimits`` field ``attr``, for an error message."""
    return f"raise {setting_of(attr)} in your user config, {USER_CONFIG}"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _shown(path: Path) -> str:
    """``path``, and where it really leads when that differs (a symlink to ``/dev/zero``)."""
    real = os.path.realpath(path)
    if real != os.path.abspath(path) and os.path.lexists(real):
        return f"{path} (→ {real})"
    return str(path)


def _megabytes(n: int) -> str:
    return f"{n / MB:.3g} MB"


def read_bounded(path: Path | str, *, limit: int, what: str, expect: str = "a regular file",
                 setting: str | None = None) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them; never blocks.

    Raises ``UnsafeReadError`` for a device, FIFO, socket or directory (saying what it is and
    that ``what`` should be ``expect``) and for a file over ``limit`` (saying the cap and, when
    ``setting`` is given, the user-config key that raises it); other ``OSError`` as ``open`` does.
    """
    path = Path(path)
    if "\0" in str(path):  # os.stat would raise ValueError, which callers do not expect
        raise UnsafeReadError(f"{what} {str(path)!r} contains a NUL character", path)
    kind = _kind(os.stat(path).st_mode)  # before open: opening a device can have side effects
    if kind is None:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        try:
            st = os.fstat(fd)
            kind = _kind(st.st_mode)  # what was opened, if it was swapped since the stat
            if kind is None:
                if st.st_size > limit:
                    _too_large(path, st.st_size, limit, what, setting)
                return _read_at_most(fd, path, limit, what, setting, st.st_size)
        finally:
            os.close(fd)
    raise UnsafeReadError(f"{what} {_shown(path)} is {kind}, not {expect}", path)


def _read_at_most(fd: int, path: Path, limit: int, what: str, setting: str | None,
                  expected: int) -> bytes:
    """At most ``limit + 1`` bytes; the file's ``expected`` size plus one in a single read (no
    copy), then 1 MB at a time for a file that grew or reported no size (``/proc``)."""
    chunks: list[bytes] = []
    size = 0
    first = min(expected, limit) + 1
    while size <= limit:
        chunk = os.read(fd, min(limit + 1 - size, first if not chunks else 1 << 20))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    _too_large(path, size, limit, what, setting, grew=True)


def _too_large(path: Path, size: int, limit: int, what: str, setting: str | None,
               grew: bool = False) -> NoReturn:
    hint = f" (raise {setting} in your user config, {USER_CONFIG})" if setting else ""
    found = f"grew past {_megabytes(limit)} while read" if grew else f"is {_megabytes(size)}"
    raise UnsafeReadError(
        f"{what} {_shown(path)} {found}; verm reads at most {_megabytes(limit)} of a {what}"
        f"{hint}", path)


def _read(path: Path | str, limits: ReadLimits | None, attr: str, what: str,
          expect: str) -> bytes:
    limit = getattr(limits or DEFAULT_LIMITS, attr)
    return read_bounded(path, limit=limit, what=what, expect=expect, setting=setting_of(attr))


def read_source(path: Path | str, limits: ReadLimits | None = None) -> bytes:
    """A source file (chart script, page, SVG, table), within ``limits.source_bytes``."""
    return _read(path, limits, "source_bytes", "source", "a source file")


def read_reference(path: Path | str, limits: ReadLimits | None = None) -> bytes:
    """A reference image's bytes, within ``limits.reference_bytes`` (pixels: see pins)."""
    return _read(path, limits, "reference_bytes", "reference", "an image file")


def read_sidecar(path: Path | str, limits: ReadLimits | None = None) -> bytes:
    """A reference's ``.anchors.json``, within ``limits.sidecar_bytes``."""
    return _read(path, limits, "sidecar_bytes", "anchors sidecar", "a JSON file")


def read_config(path: Path | str, limits: ReadLimits | None = None) -> bytes:
    """A ``verm.toml``/``pyproject.toml``/user config, within ``limits.config_bytes``."""
    return _read(path, limits, "config_bytes", "config", "a TOML file")


def read_stylesheet(path: Path | str, limits: ReadLimits | None = None) -> bytes:
    """A linked stylesheet or data file, within ``limits.stylesheet_bytes``."""
    return _read(path, limits, "stylesheet_bytes", "stylesheet", "a CSS file")


__all__ = ["DEFAULT_LIMITS", "ReadLimits", "UnsafeReadError", "raise_hint", "read_bounded",
           "read_config", "read_reference", "read_sidecar", "read_source", "read_stylesheet",
           "setting_of"]
