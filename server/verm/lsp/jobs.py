"""Judging off the server loop: per-document debounce, stale jobs cancelled, a bounded pool.

Each document has a generation number. Scheduling a new judgement bumps it, cancels the
pending timer, and kills the render that is running for an older generation (its sandbox job),
so rapid saves cost one render, not one per save. Results of a stale generation are dropped.
Different documents run concurrently, up to ``workers`` at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from verm.render.sandbox import Job

log = logging.getLogger(__name__)


@dataclass
class Request:
    """One judgement to make: a document's text at a version."""

    uri: str
    path: str
    text: str | None  # None: read the file
    version: int | None
    generation: int = 0
    reason: str = "save"


@dataclass
class Token:
    """Cancellation for one running judgement: kills its sandbox jobs."""

    cancelled: bool = False
    jobs: list[Job] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, job: Job) -> None:
        with self.lock:
            self.jobs.append(job)
            if self.cancelled:
                job.cancel()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            for job in self.jobs:
                job.cancel()


@dataclass
class _Doc:
    generation: int = 0
    timer: threading.Timer | None = None
    token: Token | None = None


class Scheduler:
    """Runs ``work(request, token)`` for the newest request of each document, then ``done``."""

    def __init__(self, work: Callable[[Request, Token], Any],
                 done: Callable[[Request, Any], None], workers: int = 2) -> None:
        self._work = work
        self._done = done
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verm-judge")
        self._docs: dict[str, _Doc] = {}
        self._lock = threading.Lock()
        self._closed = False

    def schedule(self, request: Request, delay_s: float = 0.0) -> int:
        """Judge ``request`` after ``delay_s`` unless a newer request for its document comes."""
        with self._lock:
            doc = self._docs.setdefault(request.uri, _Doc())
            doc.generation += 1
            request.generation = doc.generation
            if doc.timer is not None:
                doc.timer.cancel()
                doc.timer = None
            if doc.token is not None:
                doc.token.cancel()  # the render of an older version is killed
                doc.token = None
            if self._closed:
                return request.generation
            if delay_s > 0:
                doc.timer = threading.Timer(delay_s, self._submit, args=(request,))
                doc.timer.daemon = True
                doc.timer.start()
            else:
                self._submit_locked(request, doc)
        return request.generation

    def forget(self, uri: str) -> None:
        """The document closed: cancel whatever is pending or running for it."""
        with self._lock:
            doc = self._docs.pop(uri, None)
            if doc is not None:
                if doc.timer is not None:
                    doc.timer.cancel()
                if doc.token is not None:
                    doc.token.cancel()

    def current(self, uri: str, generation: int) -> bool:
        with self._lock:
            doc = self._docs.get(uri)
            return doc is not None and doc.generation == generation

    def _submit(self, request: Request) -> None:
        with self._lock:
            doc = self._docs.get(request.uri)
            if doc is None or doc.generation != request.generation or self._closed:
                return
            doc.timer = None
            self._submit_locked(request, doc)

    def _submit_locked(self, request: Request, doc: _Doc) -> None:
        token = Token()
        doc.token = token
        self._pool.submit(self._run, request, token)

    def _run(self, request: Request, token: Token) -> None:
        if token.cancelled or not self.current(request.uri, request.generation):
            return
        try:
            result = self._work(request, token)
        except Exception:
            log.exception("verm: judging %s failed", request.uri)
            return
        with self._lock:
            doc = self._docs.get(request.uri)
            if doc is not None and doc.token is token:
                doc.token = None
        if token.cancelled or not self.current(request.uri, request.generation):
            return
        self._done(request, result)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for doc in self._docs.values():
                if doc.timer is not None:
                    doc.timer.cancel()
                if doc.token is not None:
                    doc.token.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
