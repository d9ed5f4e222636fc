"""Start the render workers a workspace needs before the editor asks for its first judgement.

A cold open used to be three waits in a row: the server's imports (~0.7 s), then, on the first
render, the chart fork server's imports (~0.9 s) or Chromium's launch, then the judgement. The
render workers are separate processes, so they can start while the server is still importing:
``early()`` runs first thing in ``verm serve`` and looks at the folder the editor started the
server in (VS Code and the Neovim client start it in the workspace folder); ``for_roots()``
runs at ``initialize`` for the folders the client names, and also launches Chromium, whose path
is a user setting known only then. Only pinned sources start anything: a folder with none costs
a bounded scan of file names and nothing more. Nothing of the workspace is run or read here
beyond names (and the ``references`` keys of its config, to learn which kinds they pin).
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from verm.source import SUFFIX_KINDS
from verm.types import Kind

log = logging.getLogger("verm.lsp")

ENV_VAR = "VERM_PRESTART"  # "0": start no worker before a source needs it (saves memory)
SCAN_ENTRIES = 5000  # directory entries looked at, at most: a huge checkout costs ~10 ms
SCAN_DEPTH = 6
SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "build", "dist"}
REF_SUFFIX = ".ref.png"
CONFIG_BYTES = 256 * 1024
ALL_KINDS = len(set(SUFFIX_KINDS.values()))  # found them all: the scan can stop


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def pinned_kinds(folder: Path, budget: int = SCAN_ENTRIES) -> set[Kind]:
    """The kinds of the sources under ``folder`` that have a reference: sibling
    ``<stem>.ref.png`` files next to a source, and keys of a ``references`` table in
    ``verm.toml`` / ``pyproject.toml``'s ``[tool.verm]``. Symlinks are not followed."""
    kinds: set[Kind] = set()
    kinds |= _config_kinds(folder)
    queue = deque([(folder, 0)])  # breadth first, by name: shallow pins are found first
    while queue and budget > 0 and len(kinds) < ALL_KINDS:
        path, depth = queue.popleft()
        try:
            with os.scandir(path) as it:
                entries = []
                for entry in it:
                    entries.append(entry)
                    budget -= 1
                    if budget <= 0:
                        break
        except OSError:
            continue
        names = {e.name for e in entries}
        for entry in sorted(entries, key=lambda e: e.name):
            name = entry.name
            if name.endswith(REF_SUFFIX) and not name.startswith("."):
                stem = name[: -len(REF_SUFFIX)]
                for suffix, kind in SUFFIX_KINDS.items():
                    if stem + suffix in names:
                        kinds.add(kind)
            elif (depth < SCAN_DEPTH and not name.startswith(".") and name not in SKIP_DIRS
                  and entry.is_dir(follow_symlinks=False)):
                queue.append((Path(entry.path), depth + 1))
    return kinds


def _config_kinds(folder: Path) -> set[Kind]:
    """Kinds named by the workspace config's ``references`` keys (globs like ``charts/*.py``)."""
    kinds: set[Kind] = set()
    for name, table in (("verm.toml", ()), ("pyproject.toml", ("tool", "verm"))):
        path = folder / name
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > CONFIG_BYTES:
                continue
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        for key in table:
            data = data.get(key) if isinstance(data, dict) else None
        refs = data.get("references") if isinstance(data, dict) else None
        if isinstance(refs, dict):
            for pattern in refs:
                kind = SUFFIX_KINDS.get(os.path.splitext(str(pattern))[1].lower())
                if kind:
                    kinds.add(kind)
    return kinds


def early(folder: Path | None = None) -> threading.Thread:
    """First thing at server start: in the background, scan the folder the server was started
    in and start the fork servers its pinned charts and icons need (Chromium waits for
    ``initialize``: its path is a user setting)."""
    from verm import render

    def run() -> None:
        if not enabled():
            return
        try:
            kinds = pinned_kinds(folder or Path.cwd())
            render.prestart(kind for kind in kinds if kind in render.SANDBOX_MODULES)
        except Exception as exc:  # a head start is never worth failing the server for
            log.warning("verm: could not start the render workers early: %s", exc)

    thread = threading.Thread(target=run, name="verm-warmup", daemon=True)
    thread.start()
    return thread


def for_roots(roots: Iterable[Path], start: object) -> threading.Thread:
    """At ``initialize``: scan the workspace folders; ``start(kinds)`` starts what they need."""

    def run() -> None:
        if not enabled():
            return
        try:
            kinds: set[Kind] = set()
            for root in roots:
                kinds |= pinned_kinds(root)
            if kinds:
                start(kinds)  # type: ignore[operator]
        except Exception as exc:
            log.warning("verm: could not start the render workers early: %s", exc)

    thread = threading.Thread(target=run, name="verm-warmup-roots", daemon=True)
    thread.start()
    return thread
