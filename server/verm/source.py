"""A source file as verm sees it: path, decoded text, kind, and its ``verm:`` pragmas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from verm.safeio import ReadLimits, UnsafeReadError, read_source
from verm.types import LINE_BREAK, Kind

SUFFIX_KINDS: dict[str, Kind] = {
    ".py": "chart",
    ".svg": "svg",
    ".html": "html",
    ".htm": "html",
    ".md": "table",
    ".markdown": "table",
}

# `# verm: reference=a.png figure=2`, `<!-- verm: viewport=800x600 -->`, `// verm: ...`
_PRAGMA = re.compile(r"(?:#|<!--|//|/\*)\s*verm:\s*(?P<body>.*?)\s*(?:-->|\*/)?\s*$")
_PAIR = re.compile(r"""(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?P<val>"[^"]*"|'[^']*'|\S+)""")


class SourceError(Exception):
    """A source that cannot be read as text (missing, a directory, not UTF-8)."""


def kind_of(path: Path) -> Kind | None:
    return SUFFIX_KINDS.get(path.suffix.lower())


def parse_pragmas(text: str) -> dict[str, tuple[str, int]]:
    """``{key: (value, 0-based line)}`` of every ``verm:`` pragma; later ones win."""
    found: dict[str, tuple[str, int]] = {}
    for lineno, line in enumerate(LINE_BREAK.split(text)):  # LSP's line ends, as Range
        if "verm:" not in line:
            continue
        m = _PRAGMA.search(line)
        if not m:
            continue
        for pair in _PAIR.finditer(m.group("body")):
            val = pair.group("val")
            if val[:1] in "\"'" and val[-1:] == val[:1]:
                val = val[1:-1]
            found[pair.group("key").lower()] = (val, lineno)
    return found


@dataclass
class Source:
    path: Path
    text: str
    kind: Kind
    pragmas: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, text: str | None = None,
             limits: ReadLimits | None = None) -> Source:
        """Read ``path`` (or take the editor's unsaved ``text``) and parse its pragmas.

        Only a regular file within ``limits.source_bytes`` is read (a workspace may hold a
        symlink to ``/dev/zero`` or a FIFO). The editor's text is the server's to cap (its
        ``maxFileMB``), before it gets here.
        """
        path = Path(path).absolute()
        kind = kind_of(path)
        if kind is None:
            raise SourceError(
                f"{path}: verm does not know how to render '{path.suffix or path.name}' files "
                f"(known: {', '.join(sorted(SUFFIX_KINDS))})"
            )
        if text is None:
            try:
                raw = read_source(path, limits)
            except FileNotFoundError:
                raise SourceError(f"{path}: no such file") from None
            except UnsafeReadError as exc:
                raise SourceError(str(exc)) from None
            except OSError as exc:
                raise SourceError(f"{path}: cannot read ({exc.strerror})") from None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise SourceError(
                    f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                    f"{exc.start}); save the file as UTF-8"
                ) from None
        return cls(path=path, text=text, kind=kind, pragmas=parse_pragmas(text))

    def pragma(self, key: str) -> str | None:
        hit = self.pragmas.get(key)
        return hit[0] if hit else None
