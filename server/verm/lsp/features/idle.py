"""Idle: give memory back to the system once the editor has been quiet for a while.

After a burst of saves the server holds freed image buffers in its allocator's arenas (one per
judging thread); Chromium closes and the spare render workers retire on their own timers. When
no judgement has finished for ``idle_s`` (a little after those timers), this collects garbage
and asks glibc to return free pages (``malloc_trim``): ~15 MB of a 130 MB server. The next save
costs nothing extra; the allocator simply maps pages again.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import os
from typing import Any

from verm.lsp.jobs import Request
from verm.lsp.server import Outcome, VermServer

log = logging.getLogger("verm.lsp")

DEFAULT_IDLE_S = 120.0


def idle_seconds() -> float:
    """A little after the browser closes and the spares retire (their settings, or 120 s)."""
    timers = []
    for name in ("VERM_BROWSER_IDLE_S", "VERM_SPARE_IDLE_S"):
        try:
            timers.append(float(os.environ.get(name, DEFAULT_IDLE_S)))
        except ValueError:
            timers.append(DEFAULT_IDLE_S)
    return max(timers) * 1.05 + 1.0


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


class IdleTrimmer:
    """Re-armed after every judgement; fires once per quiet period."""

    def __init__(self, server: VermServer, idle_s: float) -> None:
        self.server = server
        self.idle_s = idle_s
        self.trims = 0
        self._timer: asyncio.TimerHandle | None = None
        self._trim = _malloc_trim()

    def judged(self, request: Request, outcome: Outcome) -> None:
        """In a judging thread: re-arm the timer on the loop."""
        self.server.call_soon(self._arm)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            self._timer = loop.call_later(self.idle_s, self.trim)

    def trim(self) -> None:
        self._timer = None
        gc.collect()
        if self._trim is not None:
            self._trim(0)
        self.trims += 1
        log.info("idle for %.0f s: memory given back (server RSS now %.0f MB)", self.idle_s,
                 _rss_mb())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def setup(server: VermServer) -> None:
    trimmer = IdleTrimmer(server, idle_seconds())
    server.idle_trimmer = trimmer  # type: ignore[attr-defined]
    server.on_judged.append(trimmer.judged)
    server.on_shutdown.append(trimmer.stop)
