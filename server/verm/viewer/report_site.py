"""``verm check --report DIR``: a static HTML report of a check, for a CI artifact.

It opens from the file system with no server and no network: ``DIR/index.html`` holds every
result as JSON (no ``fetch`` of local files, which ``file://`` forbids) and loads, from ``DIR``
itself, the shared viewer (``viewer.js``, ``viewer.css`` — the very component of the editors'
visual-diff view) and the report's own index (``report.js``, ``report.css``). Each rendered
source's three aligned pictures (``verm.viewer.pictures``) are PNG files in ``DIR/pictures``,
and ``DIR/results.jsonl`` holds the check's JSON report (as ``--json-report`` writes it), so
``verm merge-reports --report OUT DIR...`` combines the report folders of sharded runs into one
report, in the unsharded order (``merge_sites``).

The workspace is untrusted, and so are the names and texts the report shows: nothing is written
outside ``DIR`` (picture names are a number and a sanitised stem, written without following
links), every text travels as escaped JSON and reaches the page through ``textContent`` only,
and the page's Content-Security-Policy allows nothing but its own files.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verm import __version__
from verm.check import Checker, CheckResult
from verm.pins import png_bytes
from verm.types import Discrepancy
from verm.viewer import ASSETS
from verm.viewer.page import content_security_policy, embed_json

TEMPLATE = ASSETS / "report.html"
COPIED = ("viewer.js", "viewer.css", "report.js", "report.css")
PICTURES = ("reference", "render", "diff")
LINE_CHARS = 400  # a source line shown longer than this is cut (a minified page's one line)
DETAIL_CHARS = 4000  # the tail of a failed render's traceback
STEM_CHARS = 40
SEVERITY_WORDS = {3: "error", 2: "warning", 1: "info"}  # as the text output words them
RESULTS = "results.jsonl"  # the check's JSON report, beside the page (merge-reports reads it)
INDEX_BYTES = 512 << 20  # the most of a shard's index.html merge-reports reads
PICTURE_BYTES = 256 << 20  # ... and of one of its pictures


class ReportError(Exception):
    """The report could not be written; the message says where and why."""


@dataclass(frozen=True)
class Unchecked:
    """A source the check could not judge (exit status 2: no or an unusable reference, bad
    settings): the report lists it with the message ``verm check`` printed."""

    path: Path
    message: str


def report_dir_argument(value: str) -> Path:
    """``--report DIR`` as argparse checks it before any source is judged: a folder, or a path
    that does not exist yet (it is created), never a file."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} exists and is not a folder")
    return path


class Report:
    """A report written as the check goes: each source's pictures are written as soon as it is
    judged (from the thread that judged it, so ``--jobs`` encode them in parallel) and its images
    let go; the page at ``finish``. A check of thousands of sources holds their findings, never
    their pictures. ``checker`` supplies the references; paths are shown relative to ``cwd``."""

    def __init__(self, folder: Path, checker: Checker, cwd: Path) -> None:
        self.checker = checker
        self.cwd = cwd
        self._writer = _open(folder)
        self._entries: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.error: ReportError | None = None  # the first write that failed; none after it

    def add(self, position: int, result: CheckResult | Unchecked,
            index: int | None = None) -> None:
        """The source at ``position`` in the report's order (any thread, any order);
        ``index``: its place among all the discovered sources (a shard's, for merging). A
        failed write is kept in ``error`` (``finish`` raises it), not raised here."""
        if self.error is not None:
            return
        try:
            entry = (_unchecked(position, result, self.cwd) if isinstance(result, Unchecked)
                     else _entry(position, result, self.checker, self.cwd, self._writer))
        except ReportError as exc:
            with self._lock:
                self.error = self.error or exc
            return
        if index is not None:
            entry["index"] = index
        with self._lock:
            self._entries[position] = entry

    def finish(self, records: Sequence[str] = ()) -> Path:
        """Write the page and ``records`` (the JSON report's lines, ``DIR/results.jsonl``);
        return the page. Raises the first failed write's ``ReportError``."""
        if self.error is not None:
            raise self.error
        self._writer.write(RESULTS, "".join(f"{line}\n" for line in records).encode("utf-8"))
        return _finish(self._writer, [self._entries[k] for k in sorted(self._entries)])


def write_report(folder: Path, results: Sequence[CheckResult | Unchecked], checker: Checker,
                 cwd: Path, *, indexes: Sequence[int] | None = None,
                 records: Sequence[str] = ()) -> Path:
    """Write the report of ``results`` (in this order) into ``folder``; return its index page
    (see ``Report``)."""
    report = Report(folder, checker, cwd)
    for i, result in enumerate(results):
        report.add(i, result, None if indexes is None else indexes[i])
    return report.finish(records)


def _open(folder: Path) -> _Writer:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{folder}: cannot create the report folder ({exc})") from None
    if not folder.is_dir():
        raise ReportError(f"{folder}: the report needs a folder, this is not one")
    writer = _Writer(folder)
    for name in COPIED:
        writer.write(name, (ASSETS / name).read_bytes())
    return writer


def _finish(writer: _Writer, entries: list[dict[str, Any]]) -> Path:
    """The page, once the pictures are written; the old pictures of a reused folder go."""
    writer.remove_stale_pictures()
    report = {"version": __version__, "sources": entries}
    nonce = secrets.token_urlsafe(18)
    values = {"csp": html.escape(content_security_policy(nonce, "'self'")),
              "nonce": html.escape(nonce),
              "data": embed_json(report)}
    page = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)],
                  TEMPLATE.read_text(encoding="utf-8"))
    return writer.write("index.html", page.encode("utf-8"))


class _Writer:
    """Writes files below one folder only: names are ours (no ``..``, no separators but the
    one ``pictures/`` level), and a link already there is replaced, never written through."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.real = Path(os.path.realpath(folder))

        self.written: set[Path] = set()

    def remove_stale_pictures(self) -> None:
        """A previous report's pictures this one did not write again (a folder reused by a
        run with fewer sources): only files named as this module names them."""
        folder = self.folder / "pictures"
        if not folder.is_dir() or folder.is_symlink():
            return
        for path in folder.iterdir():
            if _PICTURE_NAME.fullmatch(path.name) and path not in self.written:
                path.unlink(missing_ok=True)

    def write(self, name: str, data: bytes) -> Path:
        parts = name.split("/")
        if any(p in ("", ".", "..") or not _SAFE_NAME.fullmatch(p) for p in parts):
            raise ReportError(f"{name!r}: not a report file name")  # a bug in this module
        target = self.folder.joinpath(*parts)
        parent = target.parent
        if parent != self.folder:
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                raise ReportError(f"{parent}: in the way of the report's pictures (a link or "
                                  f"a file); remove it or choose another --report folder")
            parent.mkdir(exist_ok=True)
        if Path(os.path.realpath(parent)) != self.real.joinpath(*parts[:-1]):
            raise ReportError(f"{parent}: leads outside the report folder {self.folder}")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{parts[-1]}.", suffix=".tmp", dir=parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)  # replaces a link itself, never its target
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ReportError(f"{target}: cannot write the report ({exc})") from None
        self.written.add(target)
        return target


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PICTURE_NAME = re.compile(r"[0-9]{3,}-[A-Za-z0-9_-]+-(reference|render|diff)\.png")


def safe_stem(path: Path) -> str:
    """A file-name-safe, short form of ``path``'s stem (letters, digits, ``-`` and ``_``)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-_")[:STEM_CHARS]
    return stem or "source"


def _rel(path: Path, cwd: Path) -> str:
    try:
        return path.absolute().relative_to(cwd.absolute()).as_posix()
    except ValueError:
        return str(path)


def _line_text(lines: list[str], line: int | None) -> str | None:
    if line is None or not 0 <= line < len(lines):
        return None
    text = lines[line].rstrip("\r\n")
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def _line(d: Discrepancy) -> int | None:
    return d.range.start.line if d.range is not None else None


def _unchecked(i: int, item: Unchecked, cwd: Path) -> dict[str, Any]:
    """A source the check could not judge: its message, no verdict."""
    from verm.source import SUFFIX_KINDS

    return {
        "id": i + 1, "source": _rel(item.path, cwd), "reference": None,
        "kind": SUFFIX_KINDS.get(item.path.suffix.lower(), "unknown"), "rendered": False,
        "equivalent": False, "error": True, "reward": None,
        "counts": {word: 0 for word in SEVERITY_WORDS.values()}, "findings": [],
        "problem": item.message, "detail": None, "view": None,
    }


def _entry(i: int, result: CheckResult, checker: Checker, cwd: Path,
           writer: _Writer) -> dict[str, Any]:
    """One source's part of the report: its verdict, findings (with their lines' text) and,
    when it rendered, its view data with the pictures written beside the page."""
    source = _rel(result.source.path, cwd)
    lines = result.source.text.splitlines()
    counts = {word: sum(1 for d in result.discrepancies if d.severity == sev)
              for sev, word in SEVERITY_WORDS.items()}
    findings = [{
        "number": n + 1, "category": d.category, "severity": d.severity,
        "severityWord": SEVERITY_WORDS.get(d.severity, str(d.severity)),
        "location": d.location, "message": d.description, "line": _line(d),
        "sourceLine": _line_text(lines, _line(d)),
    } for n, d in enumerate(result.discrepancies)]
    entry: dict[str, Any] = {
        "id": i + 1, "source": source, "reference": _rel(result.pin.path, cwd),
        "kind": result.kind, "rendered": result.rendered, "equivalent": result.equivalent,
        "reward": round(result.reward, 4), "counts": counts, "findings": findings,
        "problem": None, "detail": None, "view": None,
    }
    failure = result.render.failure
    if failure is not None:
        entry["problem"] = f"render failed: {failure.message}"
        entry["detail"] = failure.detail[-DETAIL_CHARS:] or None
    if not result.rendered or not result.render.ok:
        if entry["problem"] is None:
            entry["problem"] = (findings[0]["message"] if findings
                                else "not rendered (blank or failed)")
        return entry
    from verm.viewer.data import view_data
    from verm.viewer.pictures import aligned  # numpy and the critic's registration: only here

    pictures = aligned(checker.reference(result.pin), result.render, result.discrepancies)
    stem = f"{i + 1:03d}-{safe_stem(result.source.path)}"
    names: dict[str, str] = {}
    written: dict[bytes, str] = {}  # a render identical to its reference is one file
    for name, image in zip(PICTURES, (pictures.reference, pictures.render, pictures.diff),
                           strict=True):
        data = png_bytes(image)
        if data not in written:
            written[data] = f"pictures/{stem}-{name}.png"
            writer.write(written[data], data)
        names[name] = written[data]
    view = view_data(result, pictures, names, read_only=True)
    view["title"] = source
    view["path"] = source
    view["reference"] = entry["reference"]
    for d, f in zip(view["discrepancies"], findings, strict=True):
        if f["sourceLine"] is not None:
            d["sourceLine"] = f["sourceLine"]
    entry["view"] = view
    return entry


# ---- merging the report folders of sharded runs ------------------------------------------------

_DATA = re.compile(r'<script type="application/json" id="verm-report-data">(.*?)</script>', re.S)


def _read_regular(path: Path, limit: int) -> bytes:
    """A regular file's bytes (never through a link, never more than ``limit``)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise ReportError(f"{path}: not a file of a verm report (a link, a device, or "
                              f"larger than {limit >> 20} MB)")
        return fh.read(limit + 1)[:limit]


def is_report_folder(path: Path) -> bool:
    return path.is_dir() and (path / "index.html").is_file()


def read_site(folder: Path) -> list[dict[str, Any]]:
    """The entries of the report in ``folder`` (its ``index.html``), as ``write_report`` wrote
    them; raises ``ReportError`` for a folder that holds none."""
    page = _read_regular(folder / "index.html", INDEX_BYTES).decode("utf-8", "replace")
    found = _DATA.search(page)
    try:
        data = json.loads(found.group(1)) if found else None
        entries = data["sources"]
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("source"), str) for e in entries):
            raise ValueError("no list of sources")
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{folder}: not a `verm check --report` folder ({exc})") from None
    return entries


def merge_sites(target: Path, folders: Sequence[Path],
                order: Any, records: Sequence[str] = ()) -> Path:
    """One report in ``target`` of the report folders ``folders`` (sharded runs of one check):
    every entry once (the first folder's when in several), sorted by ``order(entry)``, the
    pictures copied and numbered anew; ``records``: the merged JSON report's lines."""
    sites = [(folder, read_site(folder)) for folder in folders]
    real = os.path.realpath(target)
    if any(os.path.realpath(folder) == real for folder in folders):
        raise ReportError(f"{target}: is one of the reports to merge; write elsewhere")
    writer = _open(target)
    chosen: dict[str, tuple[Path, dict[str, Any]]] = {}
    for folder, entries in sites:
        for entry in entries:
            chosen.setdefault(entry["source"], (folder, entry))
    merged = sorted(chosen.values(), key=lambda fe: order(fe[1]))
    out = []
    for i, (folder, entry) in enumerate(merged):
        entry = {**entry, "id": i + 1}
        view = entry.get("view")
        if isinstance(view, dict) and isinstance(view.get("images"), dict):
            images = dict(view["images"])
            copied: dict[str, str] = {}
            for name in PICTURES:
                old = images.get(name)
                if not isinstance(old, str) or not old.startswith("pictures/") \
                        or not _PICTURE_NAME.fullmatch(old.removeprefix("pictures/")):
                    raise ReportError(f"{folder}: {entry['source']}: {old!r} is not a picture "
                                      f"of a verm report")
                if old not in copied:
                    stem = old.removeprefix("pictures/").split("-", 1)[1]
                    copied[old] = f"pictures/{i + 1:03d}-{stem}"
                    data = _read_regular(folder.joinpath(*old.split("/")), PICTURE_BYTES)
                    writer.write(copied[old], data)
                images[name] = copied[old]
            entry["view"] = {**view, "images": images}
        out.append(entry)
    writer.write(RESULTS, "".join(f"{line}\n" for line in records).encode("utf-8"))
    return _finish(writer, out)
