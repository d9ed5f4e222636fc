"""``verm/status``: what the server is busy with, for an editor's status item.

A notification ``{"judging": n, "model": null | {"state": "loading"|"ready"|"failed",
"message": str, "percentage": int | null}}`` sent whenever either changes: how many documents
are being judged now, and the model critic's loading (which ``$/progress`` shows too, but a
status item must know it without owning the progress UI).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from verm.lsp.server import VermServer

STATUS = "verm/status"


class Status:
    """Counts judgements in flight and remembers the model's last state; sends each change."""

    def __init__(self, server: VermServer) -> None:
        self.server = server
        self._lock = threading.Lock()
        self.judging = 0
        self.model: dict[str, Any] | None = None

    def judging_changed(self, delta: int) -> None:
        """From a judging thread: one judgement began (+1) or ended (-1)."""
        with self._lock:
            self.judging = max(0, self.judging + delta)
        self._send()

    def model_status(self, message: str, fraction: float | None) -> None:
        """From any thread: the model critic's loading (``fraction`` None: it failed)."""
        state = "failed" if fraction is None else "ready" if fraction >= 1.0 else "loading"
        percentage = None if fraction is None else max(0, min(100, int(fraction * 100)))
        with self._lock:
            self.model = {"state": state, "message": message, "percentage": percentage}
        self._send()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"judging": self.judging, "model": self.model}

    def _send(self) -> None:
        self.server.call_soon(self._notify, self.snapshot())

    def _notify(self, params: dict[str, Any]) -> None:
        # no client yet, or it went away: a status is never worth a crash
        with contextlib.suppress(Exception):
            self.server.protocol.notify(STATUS, params)


def setup(server: VermServer) -> None:
    status = Status(server)
    server.on_judging.append(status.judging_changed)
    server.checker.on_model_status.append(status.model_status)
