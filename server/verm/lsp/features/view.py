"""``verm/visualDiff``: what an editor's visual-diff view shows for a document.

A custom request, so the client never guesses: the reference, the render and their difference
as PNG files aligned in one frame (written to verm's cache, never the user's tree), each
discrepancy's box in both pictures, its line and quick fix, and the reward. The data is the
viewer's contract (``verm.viewer``), with images as absolute paths the client turns into URLs.

Request params: ``{"textDocument": {"uri": ...}}``. Result: ``{"uri", "version",
"generation", "state", "message", "view"}`` where ``state`` is ``"judged"`` (``view`` set),
``"pending"`` (not judged yet), ``"problem"`` (not judged: ``message`` says why) or
``"unpinned"`` (no reference).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from verm.cache import cache_dir
from verm.lsp.server import Outcome, VermServer, uri_to_path
from verm.pins import OutsideWorkspaceError, atomic_write, confine, png_bytes, sidecar_path
from verm.revise.literals import LineIndex, scan
from verm.revise.proposals import hinted
from verm.viewer.data import view_data
from verm.viewer.pictures import aligned

log = logging.getLogger("verm.lsp")

VISUAL_DIFF = "verm/visualDiff"
PICTURES = ("reference", "render", "diff")
TITLE_CHARS = 40


def _short(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def view_folder() -> Path:
    return cache_dir() / "view"


class ViewCache:
    """The pictures of each document's latest outcome, drawn once per outcome (~20 ms) and
    replaced by the next (older generations' files are deleted). A model critic's streamed
    partial outcomes share their judgement's generation: each is an outcome of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drawn: dict[str, tuple[Outcome, dict[str, Any]]] = {}  # uri -> (outcome, data)

    def get(self, ls: VermServer, uri: str, outcome: Outcome) -> dict[str, Any]:
        with self._lock:
            hit = self._drawn.get(uri)
            if hit is not None and hit[0] is outcome:
                return hit[1]
        data = self._draw(ls, uri, outcome)
        with self._lock:
            self._drawn[uri] = (outcome, data)
        return data

    def _draw(self, ls: VermServer, uri: str, outcome: Outcome) -> dict[str, Any]:
        result = outcome.result
        assert result is not None
        reference = ls.checker.reference(result.pin)
        pictures = aligned(reference, result.render, result.discrepancies)
        key = hashlib.sha1(str(result.source.path).encode()).hexdigest()[:12]
        stem = f"{result.source.path.stem}-{key}"
        folder = view_folder()
        # The pictures depend on the render and the reference only: one name per judgement.
        paths = {name: folder / f"{stem}-{outcome.request.generation}-{name}.png"
                 for name in PICTURES}
        for name, image in zip(PICTURES, (pictures.reference, pictures.render, pictures.diff),
                               strict=True):
            atomic_write(paths[name], png_bytes(image))
        for old in folder.glob(f"{stem}-*.png"):  # the previous judgement's pictures
            if old not in paths.values():
                old.unlink(missing_ok=True)
        titles = fix_titles(outcome)
        return view_data(result, pictures, {k: str(v) for k, v in paths.items()},
                         fix_title=lambda i: titles.get(i), read_only=not can_pin(ls, outcome))


def fix_titles(outcome: Outcome) -> dict[int, str]:
    """The quick fix of each discrepancy that has one, by index (as the code actions name it)."""
    result = outcome.result
    if result is None:
        return {}
    text = result.source.text
    lits, index = scan(text, result.kind), LineIndex(text)
    titles = {}
    for i, d in enumerate(result.discrepancies):
        proposal = next(hinted(d, lits, index, text, result.kind), None)
        if proposal is not None:
            titles[i] = f"Change {_short(proposal.old)} to {_short(proposal.new)}"
    return titles


def can_pin(ls: VermServer, outcome: Outcome) -> bool:
    """Whether "Accept (pin this render)" may be offered: a trusted client, a reference the
    workspace may write, a chart the workspace may run."""
    if outcome.pin is None or outcome.result is None or ls.settings.trusted is False:
        return False
    path = outcome.result.source.path
    if outcome.result.kind == "chart" and not ls.trusted(path):
        return False
    roots = ls.write_roots(path)
    try:
        confine(outcome.pin.path, roots)
        confine(sidecar_path(outcome.pin.path), roots)
    except OutsideWorkspaceError:
        return False
    return True


def setup(server: VermServer) -> None:
    cache = ViewCache()

    @server.feature(VISUAL_DIFF)
    async def visual_diff(ls: VermServer, params: Any) -> dict[str, Any]:
        uri = _uri_of(params)
        outcome = ls.outcome(uri)
        doc = ls.workspace.text_documents.get(uri)
        answer: dict[str, Any] = {"uri": uri, "version": doc.version if doc else None,
                                  "generation": None, "state": "pending", "message": None,
                                  "view": None}
        if outcome is None:
            answer["message"] = "verm has not judged this document yet"
            return answer
        answer["generation"] = outcome.request.generation
        if outcome.pin is None:
            return {**answer, "state": "unpinned",
                    "message": "this document has no pinned reference (pin its render first)"}
        if outcome.problem is not None or outcome.result is None:
            return {**answer, "state": "problem", "message": outcome.problem}
        try:
            view = await ls.loop_run(cache.get, ls, uri, outcome)
        except Exception as exc:
            log.exception("verm: could not draw the visual diff of %s", uri)
            return {**answer, "state": "problem", "message": f"could not draw the diff: {exc}"}
        return {**answer, "state": "judged", "view": view}


def _uri_of(params: Any) -> str:
    """``params.textDocument.uri``, whether pygls hands over an object or a dict."""
    doc = getattr(params, "text_document", None) or getattr(params, "textDocument", None)
    if doc is None and isinstance(params, dict):
        doc = params.get("textDocument")
    uri = getattr(doc, "uri", None) if not isinstance(doc, dict) else doc.get("uri")
    if not isinstance(uri, str):
        raise ValueError("verm/visualDiff needs {textDocument: {uri}}")
    _ = uri_to_path(uri)
    return uri
