"""Watching: re-judge open documents when a file their picture depends on changes on disk.

A document depends on its reference PNG and the reference's anchors sidecar (a designer drops a
new mock, ``git pull``), on the data files a chart script reads (named in its text, next to it),
and on the stylesheets, scripts and images an HTML or SVG page links. The map is rebuilt after
each judgement, off the loop, from the outcome the server keeps.

Changes arrive one of two ways, never both for one client: the client's own file watcher
(``workspace/didChangeWatchedFiles``, registered dynamically after ``initialized`` when the client
offers it, as VS Code does), or a watchdog ``Observer`` on the folders of the dependencies (for
clients without it, such as Neovim 0.7). Either way changes are debounced (editors and
``git pull`` write a file several times) and every open document that depends on a changed file
is scheduled again; the Checker re-reads a reference whose mtime/size/inode changed.

A document is untrusted input: it may link thousands of files anywhere on disk. Only files
inside the workspace folders (and the folders the user lists in ``watchFolders``) are watched,
at most ``MAX_FOLDERS_PER_DOC`` folders a document and ``MAX_FOLDERS`` in all; watchdog watches
each such root once, recursively (its inotify emitter is a thread per watch: one per root, not
one per folder); and the scans of the text are linear (no regex that backtracks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

from lsprotocol import types as lsp

from verm.lsp.jobs import Request
from verm.lsp.server import Outcome, VermServer, uri_to_path
from verm.pins import sibling_reference, sidecar_path
from verm.safeio import read_bounded
from verm.source import kind_of

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger("verm.lsp")

DEBOUNCE_S = 0.2  # quiet time after the last change before re-judging
MAX_WAIT_S = 1.0  # ...but never wait longer than this after the first one (a long `git pull`)
DATA_SUFFIXES = ("csv", "json", "txt", "tsv", "parquet", "xlsx", "npy", "dat", "mplstyle")
REGISTRATION_ID = "verm-watch"
# What the client's watcher reports: references, data files, what pages link.
CLIENT_GLOBS = (
    "**/*.{png,jpg,jpeg,webp,gif,svg}",
    "**/*.{" + ",".join(DATA_SUFFIXES) + "}",
    "**/*.{css,js,mjs,woff,woff2}",
)
# watchdog event kinds that mean the content may have changed (not opened/closed_no_write,
# which the judgement's own reads produce and would loop).
CHANGES = frozenset({"created", "modified", "moved", "deleted", "closed"})
MAX_LINKED_BYTES = 1_000_000  # a linked stylesheet larger than this is not read for url()s
MAX_LINKED_SHEETS = 64  # stylesheets read for their url()s, per document
MAX_FOLDERS_PER_DOC = 64  # folders of one document's dependencies that are watched
MAX_FOLDERS = 256  # ...and of all open documents together
MAX_ROOTS = 16  # workspace and user folders watched (one watchdog thread each)
MAX_PATH_CHARS = 4096  # a longer run of path characters is a blob (base64), not a file name

# A data file name: a run of path characters, from the run's start (the look-behind), of at most
# MAX_PATH_CHARS, ending in a data suffix. Unbounded, ``[...]*`` retried from every position of a
# long word: quadratic (60 KB of base64 held the interpreter lock for 35 s).
_DATA = re.compile(r"(?<![\w.\-/\\])[\w.\-/\\]{0," + str(MAX_PATH_CHARS) + r"}\w\.(?:"
                   + "|".join(DATA_SUFFIXES) + r")\b", re.IGNORECASE)
_LINK = re.compile(r"""\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
                   re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^\s"')]+))\s*\)"""
                      r"""|@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][\w+.-]*:")


# -- which files a document depends on ------------------------------------------------------
def _local(value: str, base: Path) -> str | None:
    """A link's file on disk, or None for URLs, fragments and templates (never fetched)."""
    value = value.strip()
    if not value or value.startswith(("#", "//", "{{", "<")) or _SCHEME.match(value):
        return None
    value = unquote(value.split("#", 1)[0].split("?", 1)[0])
    if not value:
        return None
    # The HTML renderer serves the page's folder as the site root: "/x.css" is base/x.css.
    return os.path.normpath(base / value.lstrip("/"))


def data_files(path: Path, text: str) -> set[str]:
    """Data-like file names in the text, resolved from the script's folder (its cwd)."""
    out = set()
    for match in _DATA.finditer(text):
        name = match.group(0).replace("\\", "/")
        out.add(os.path.normpath(path.parent / name))
    return out


def linked_files(path: Path, text: str, within: list[str] | None = None) -> set[str]:
    """Local files a page links (``href=``/``src=``/``url()``), and what linked CSS imports.

    Linked stylesheets are read only inside ``within`` (None: anywhere), only if they are
    regular files (not a FIFO or ``/dev/zero``), at most ``MAX_LINKED_SHEETS`` of them."""
    out = set()
    for match in _LINK.finditer(text):
        found = _local(next(g for g in match.groups() if g is not None), path.parent)
        if found is not None:
            out.add(found)
    out |= _css_urls(text, path.parent)
    sheets = sorted(f for f in out if f.lower().endswith(".css")
                    and (within is None or inside(f, within)))
    for css in sheets[:MAX_LINKED_SHEETS]:
        sheet = _read_small(css, MAX_LINKED_BYTES)
        if sheet is not None:
            out |= _css_urls(sheet, Path(css).parent)
    return out


def _read_small(path: str, limit: int) -> str | None:
    """A regular file's text if it is at most ``limit`` bytes, else None (never blocks on a
    FIFO or a device, never reads more than ``limit + 1`` bytes: ``safeio``)."""
    try:
        data = read_bounded(path, limit=limit, what="linked file")
    except (OSError, ValueError):
        return None
    return data.decode("utf-8", errors="replace")


def inside(path: str, folders: Iterable[str]) -> str | None:
    """The first of ``folders`` (absolute, normalised) that holds ``path``, or None."""
    for folder in folders:
        if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
            return folder
    return None


def _css_urls(text: str, base: Path) -> set[str]:
    out = set()
    for match in _CSS_URL.finditer(text):
        found = _local(next(g for g in match.groups() if g is not None), base)
        if found is not None:
            out.add(found)
    return out


def dependencies(path: Path, text: str | None, reference: Path | None,
                 within: list[str] | None = None) -> frozenset[str]:
    """Every file whose change can change this document's judgement (absolute, normalised);
    linked stylesheets are read only inside ``within`` (None: anywhere)."""
    deps: set[str] = set()
    if reference is None:
        deps.add(os.path.normpath(sibling_reference(path).absolute()))  # a mock may arrive
        return frozenset(deps)
    deps |= {os.path.normpath(reference.absolute()),
             os.path.normpath(sidecar_path(reference).absolute())}
    kind = kind_of(path)
    if text is not None:
        if kind in ("chart", "html"):
            deps |= data_files(path.absolute(), text)
        if kind in ("html", "svg"):
            deps |= linked_files(path.absolute(), text, within)
    deps.discard(os.path.normpath(path.absolute()))  # the editor reports its own file
    return frozenset(deps)


def _outcome_dependencies(request: Request, outcome: Outcome,
                          within: list[str]) -> frozenset[str]:
    path = Path(request.path)
    text = request.text
    if text is None:
        text = _read_small(request.path, 5_000_000)
    return dependencies(path, text, outcome.pin.path if outcome.pin is not None else None,
                        within)


def bounded(deps: frozenset[str], within: list[str], per_doc: int = MAX_FOLDERS_PER_DOC
            ) -> tuple[frozenset[str], int]:
    """The dependencies worth watching: inside ``within``, in at most ``per_doc`` folders
    (nearest the document's first, by name); and how many were left out."""
    kept: set[str] = set()
    folders: set[str] = set()
    for f in sorted(deps, key=lambda f: (f.count(os.sep), f)):
        if inside(f, within) is None:
            continue
        folder = os.path.dirname(f)
        if folder not in folders:
            if len(folders) >= per_doc:
                continue
            folders.add(folder)
        kept.add(f)
    return frozenset(kept), len(deps) - len(kept)


# -- the watcher ----------------------------------------------------------------------------
class Watcher:
    """The dependency map of the open documents, and the one mechanism reporting its changes."""

    def __init__(self, server: VermServer) -> None:
        self.server = server
        self.mode: Literal["off", "client", "watchdog"] = "off"
        self.deps: dict[str, frozenset[str]] = {}  # uri → files
        # file → uris; replaced, never mutated, so the observer thread may read it unlocked
        self.index: dict[str, frozenset[str]] = {}
        self._pending: set[str] = set()
        self._first: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}  # root → its one recursive watch
        self._watch_lock = threading.Lock()  # schedules run in executor threads, one at a time
        self._warned: set[str] = set()
        self._left_out: dict[str, int] = {}  # uri → dependencies not watched (told once)

    def folders(self) -> list[str]:
        """Where files may be watched: the workspace folders, then the user's own folders
        (editor setting ``watchFolders``, user config ``watch-folders``; absolute paths), at
        most ``MAX_ROOTS``. A workspace file cannot add one."""
        out = [os.path.normpath(os.path.abspath(root)) for root in self.server.roots]
        for extra in (self.server.settings.extra.get("watchFolders"),
                      self.server.user_config().get("watch-folders")):
            for folder in [extra] if isinstance(extra, str) else (
                    extra if isinstance(extra, list) else []):
                if isinstance(folder, str) and os.path.isabs(os.path.expanduser(folder)):
                    out.append(os.path.normpath(os.path.expanduser(folder)))
        return list(dict.fromkeys(out))[:MAX_ROOTS]

    # after each judgement ----------------------------------------------------------------
    def judged(self, request: Request, outcome: Outcome) -> None:
        """In the judging thread: work out the document's dependencies, keep them on the loop."""
        try:
            deps = _outcome_dependencies(request, outcome, self.folders())
        except Exception:
            log.exception("verm: could not work out what %s depends on", request.uri)
            return
        self.server.call_soon(self.update, request.uri, deps)

    def update(self, uri: str, deps: frozenset[str]) -> None:
        """On the loop: replace one document's dependencies (those inside the watched folders,
        within the caps); forget closed documents."""
        try:
            self._update(uri, deps)
        except Exception:
            log.exception("verm: could not update what %s depends on", uri)

    def _update(self, uri: str, deps: frozenset[str]) -> None:
        kept, left_out = bounded(deps, self.folders())
        self.deps[uri] = kept
        if left_out and self._left_out.get(uri) != left_out:
            log.warning("verm: not watching %d of the files %s depends on: outside the "
                        "workspace folders (add theirs to verm.watchFolders) or over %d "
                        "folders; save the source to re-judge it", left_out, uri,
                        MAX_FOLDERS_PER_DOC)
        self._left_out[uri] = left_out
        open_docs = self.server.workspace.text_documents
        for gone in [u for u in self.deps if u not in open_docs]:
            del self.deps[gone]
            self._left_out.pop(gone, None)
        index: dict[str, set[str]] = {}
        folders: set[str] = set()
        for doc, files in self.deps.items():
            mine = {os.path.dirname(f) for f in files}
            if len(folders | mine) > MAX_FOLDERS:
                log.warning("verm: watching no more than %d folders; not watching what %s "
                            "depends on", MAX_FOLDERS, doc)
                continue
            folders |= mine
            for f in files:
                index.setdefault(f, set()).add(doc)
                real = os.path.realpath(f)
                if real != f:  # the client or the observer may name it either way
                    index.setdefault(real, set()).add(doc)
        self.index = {f: frozenset(docs) for f, docs in index.items()}
        if self.mode == "watchdog":
            self._sync_watches()

    # choosing the mechanism ----------------------------------------------------------------
    async def start(self) -> None:
        """After ``initialized``: the client's watcher if it offers one, else watchdog."""
        caps = self.server.client_capabilities.workspace
        watched = caps.did_change_watched_files if caps else None
        if watched is not None and watched.dynamic_registration and await self._register():
            self.mode = "client"
            log.info("verm: watching references and data files through the editor")
            return
        self._start_observer()

    async def _register(self) -> bool:
        options = lsp.DidChangeWatchedFilesRegistrationOptions(
            watchers=[lsp.FileSystemWatcher(glob_pattern=g) for g in CLIENT_GLOBS])
        params = lsp.RegistrationParams(registrations=[lsp.Registration(
            id=REGISTRATION_ID, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options)])
        try:
            await asyncio.wait_for(self.server.client_register_capability_async(params), 5.0)
            return True
        except Exception as exc:
            log.warning("verm: the editor refused to watch files (%s); using watchdog", exc)
            return False

    def _start_observer(self) -> None:
        try:
            from watchdog.observers import Observer
        except ImportError:
            log.warning("verm: cannot watch references and data files: install `watchdog` "
                        "(pip install watchdog), or use an editor with workspace file watching")
            return
        try:
            observer = Observer()
            observer.daemon = True
            observer.start()
        except Exception as exc:
            log.warning("verm: cannot watch files (%s); save the source to re-judge it", exc)
            return
        self._observer = observer
        self.mode = "watchdog"
        log.info("verm: watching references and data files with watchdog")
        self._sync_watches()

    def _sync_watches(self) -> None:
        """Watch, recursively, each folder (workspace or user's) that holds a dependency of an
        open document: one watch, one thread, per folder, not one per dependency folder.
        Scheduling walks the folder's tree, so it runs off the loop."""
        folders = self.folders()
        wanted = {inside(f, folders) for files in self.deps.values() for f in files} - {None}
        loop = self.server.loop
        if loop is not None and loop.is_running():
            loop.run_in_executor(None, self._schedule, wanted)
        else:
            self._schedule(wanted)

    def _schedule(self, wanted: set[str | None]) -> None:
        with self._watch_lock:
            observer = self._observer
            if observer is None:
                return
            for folder in set(self._watches) - wanted:
                with contextlib.suppress(Exception):  # its folder may be gone already
                    observer.unschedule(self._watches.pop(folder))
            handler = _Handler(self)
            for folder in sorted(f for f in wanted - set(self._watches) if f is not None):
                try:
                    self._watches[folder] = observer.schedule(handler, folder, recursive=True)
                except Exception as exc:
                    if folder not in self._warned:
                        self._warned.add(folder)
                        log.warning("verm: cannot watch %s (%s); save the source to re-judge "
                                    "it", folder, exc)

    async def stop(self) -> None:
        """On shutdown: no timer left behind, the observer thread ended."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        observer, self._observer = self._observer, None  # a schedule under way sees None
        self._watches.clear()
        if observer is not None:
            observer.stop()
            await asyncio.get_running_loop().run_in_executor(None, observer.join, 2.0)

    # changes --------------------------------------------------------------------------------
    def wanted(self, path: str, is_dir: bool = False) -> bool:
        """Does any open document depend on ``path`` (or, for a folder, on a file in it)?"""
        index = self.index
        if path in index:
            return True
        if is_dir:
            prefix = path.rstrip(os.sep) + os.sep
            return any(f.startswith(prefix) for f in index)
        return False

    def changed(self, paths: Iterable[tuple[str, bool]]) -> None:
        """On the loop: note changed files; re-judge their dependents once things go quiet."""
        index = self.index
        for path, is_dir in paths:
            path = os.path.normpath(path)
            if path in index:
                self._pending |= index[path]
            elif is_dir:
                prefix = path.rstrip(os.sep) + os.sep
                for f, docs in index.items():
                    if f.startswith(prefix):
                        self._pending |= docs
        if not self._pending:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._first is None:
            self._first = now
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, min(DEBOUNCE_S, self._first + MAX_WAIT_S - now))
        self._timer = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        uris, self._pending = self._pending, set()
        self._timer = None
        self._first = None
        open_docs = self.server.workspace.text_documents
        for uri in sorted(uris):
            if uri in open_docs:
                log.debug("verm: a file %s depends on changed; judging it again", uri)
                self.server.schedule(uri, "watch")


def _event_paths(event: FileSystemEvent) -> list[tuple[str, bool]]:
    paths = [(os.fsdecode(event.src_path), event.is_directory)]
    dest = getattr(event, "dest_path", "")
    if dest:
        paths.append((os.fsdecode(dest), event.is_directory))
    return paths


class _Handler:
    """watchdog's callback (it only calls ``dispatch``), in the observer thread: filter cheaply,
    hand the rest to the loop."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES or (event.is_directory
                                               and event.event_type == "modified"):
            return  # reads (opened/closed_no_write) and a folder's own mtime are no change
        paths = [p for p in _event_paths(event) if self.watcher.wanted(*p)]
        if paths:
            self.watcher.server.call_soon(self.watcher.changed, paths)


# -- wiring -------------------------------------------------------------------------------
def setup(server: VermServer) -> None:
    watcher = Watcher(server)
    server.on_judged.append(watcher.judged)
    server.on_initialized.append(watcher.start)
    server.on_shutdown.append(watcher.stop)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: VermServer,
                                 params: lsp.DidChangeWatchedFilesParams) -> None:
        watcher.changed((str(uri_to_path(c.uri)), False) for c in params.changes
                        if c.uri.startswith("file:"))
