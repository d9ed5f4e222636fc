"""Model loading shown as ``$/progress``: a local model takes seconds to minutes to load, and
the user sees why the model's findings are not there yet (the analytic ones already are)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from lsprotocol import types as lsp

from verm.lsp.server import VermServer

log = logging.getLogger("verm.lsp")


class ModelProgress:
    """One work-done progress per model load: begun at the first status, ended when the model
    is ready or failed. Status arrives from judging threads; all LSP traffic is on the loop."""

    def __init__(self, server: VermServer) -> None:
        self.server = server
        self.token: str | None = None
        self.ready: asyncio.Future[object] | None = None
        self.tasks: set[asyncio.Future[None]] = set()  # kept until done (asyncio holds weakly)

    def status(self, message: str, fraction: float | None) -> None:
        """From any thread: a model's loading progress (``fraction`` None: it failed)."""
        log.info("verm: %s", message)
        self.server.call_soon(self._on_loop, message, fraction)

    def _on_loop(self, message: str, fraction: float | None) -> None:
        task = asyncio.ensure_future(self._show(message, fraction))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _supported(self) -> bool:
        try:
            caps = self.server.client_capabilities.window
        except Exception:
            return False
        return bool(caps and caps.work_done_progress)

    async def _show(self, message: str, fraction: float | None) -> None:
        if not self._supported():
            return
        progress = self.server.work_done_progress
        finished = fraction is None or fraction >= 1.0
        if self.token is None:
            if finished:
                return  # loaded before anyone saw it start
            token = self.token = f"verm-model-{uuid.uuid4()}"
            self.ready = asyncio.ensure_future(progress.create_async(token))
            try:
                await self.ready
            except Exception as exc:
                log.info("verm: the client refused a progress token: %s", exc)
            progress.begin(token, lsp.WorkDoneProgressBegin(
                title="verm: loading the model", message=message, cancellable=False,
                percentage=int(100 * (fraction or 0))))
            return
        token = self.token
        if self.ready is not None and not self.ready.done():
            await asyncio.shield(self.ready)
        if finished:
            self.token = None
            progress.end(token, lsp.WorkDoneProgressEnd(message=message))
        else:
            progress.report(token, lsp.WorkDoneProgressReport(
                message=message, percentage=int(100 * fraction)))


def setup(server: VermServer) -> None:
    server.checker.on_model_status.append(ModelProgress(server).status)
