"""Renderers, one module per kind, sharing one warm fork server and one browser.

``Renderers`` owns the shared workers and hands out the renderer for a source's kind; a new file
kind is one renderer module plus one line in ``_make``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from verm.render.base import Renderer, RenderOptions
from verm.source import Source
from verm.types import Kind, Render, RenderFailure

if TYPE_CHECKING:
    from verm.render.browser import BrowserPool
    from verm.render.sandbox import Job, Sandbox

# One fork server per kind: a worker forked from a process that imported less forks faster.
SANDBOX_MODULES: dict[str, list[str]] = {
    "chart": ["verm.render.chart_job"],
    "svg": ["verm.render.svg_job"],
}

# Fork servers started before any ``Renderers`` existed (``verm serve`` starts them first thing,
# while it is still importing); the first ``Renderers`` that needs the kind adopts it.
_early: dict[str, Sandbox] = {}
_early_lock = threading.Lock()


def _start_in_background(box: Sandbox, kind: str) -> None:
    def run() -> None:
        try:
            box.start()
        except Exception as exc:  # the first render starts it again and reports why
            logging.getLogger("verm.render").warning("could not start the %s worker: %s",
                                                     kind, exc)

    threading.Thread(target=run, name=f"verm-start-{kind}", daemon=True).start()


def prestart(kinds: Iterable[str]) -> None:
    """Start the fork servers of ``kinds`` now, in the background, for the next ``Renderers``."""
    from verm.render.sandbox import Sandbox

    for kind in kinds:
        with _early_lock:
            if kind not in SANDBOX_MODULES or kind in _early:
                continue
            box = _early[kind] = Sandbox(SANDBOX_MODULES[kind])
        _start_in_background(box, kind)


# Pages in flight per job when jobs run in parallel: a page's render mostly waits (on
# Chromium's frame, on its processes' messages), so two per core keep the cores busy where one
# left a third of them idle. Pages per Chromium: each Chromium (its driver, launch, first page)
# costs ~0.5 s of CPU to start; four pages in flight on one keep it busy.
PAGES_PER_JOB = 2
PAGES_PER_CHROMIUM = 4


class Renderers:
    """Lazily created renderers for every kind; ``close()`` stops their workers."""

    def __init__(self, jobs: int | None = None, *, batch: bool = False) -> None:
        """``jobs``: the most chart and icon renders at once (``verm check --jobs``), each in a
        forked sandbox child with the render's time and memory limits, and, past one job,
        ``PAGES_PER_JOB`` pages a job, each on a page of its own (its own renderer process, time
        and memory limits) in ``PAGES_PER_CHROMIUM`` a Chromium; more callers wait. None: no
        cap, one page at a time in one Chromium (the server). ``batch``: renders come back to
        back (a folder checked, a dataset made), not one per save: the fork servers skip
        re-warming between them."""
        self._lock = threading.Lock()
        self._sandboxes: dict[str, Sandbox] = {}
        self._browser: BrowserPool | None = None
        self._renderers: dict[Kind, Renderer] = {}
        self.jobs = jobs
        self.batch = batch
        self._slots = threading.BoundedSemaphore(jobs) if jobs else None
        self._page_slots = threading.BoundedSemaphore(self.pages_at_once) if jobs else None
        # Chromiums at most, below the ones ``pages_at_once`` needs. Each costs about as much
        # CPU to start as ten pages take to render: a caller that knows how few pages it has
        # keeps this lower.
        self.browsers: int | None = None

    @property
    def pages_at_once(self) -> int:
        """How many page and table renders may be in flight together."""
        return self.jobs * PAGES_PER_JOB if self.jobs and self.jobs > 1 else 1

    def sandbox(self, kind: str) -> Sandbox:
        from verm.render.sandbox import Sandbox

        with self._lock:
            box = self._sandboxes.get(kind)
            if box is None:
                with _early_lock:
                    box = _early.pop(kind, None)
                if box is None:
                    box = Sandbox(SANDBOX_MODULES[kind], batch=self.batch)
                self._sandboxes[kind] = box
            return box

    def prestart(self, kinds: Iterable[str], chromium_path: str | None = None) -> None:
        """Start the workers ``kinds`` render with, in the background: the fork servers of
        charts and icons, Chromium (and one warm page) for pages and tables — as many as
        ``browsers`` when a caller set how many it needs."""
        kinds = set(kinds)
        for kind in kinds:
            if kind in SANDBOX_MODULES:
                _start_in_background(self.sandbox(kind), kind)  # start() is idempotent
        if {"html", "table"} & set(kinds):
            pool = self.browser()
            pool.warm(chromium_path, count=pool.size if self.browsers else 1)

    def browser(self) -> BrowserPool:
        """The Chromiums of pages and tables: room for ``pages_at_once`` pages in flight."""
        from verm.render.browser import BrowserPool

        with self._lock:
            if self._browser is None:
                pages = self.pages_at_once
                size = -(-pages // PAGES_PER_CHROMIUM)
                if self.browsers:
                    size = min(size, self.browsers)
                self._browser = BrowserPool(size=size, concurrency=-(-pages // size))
            return self._browser

    def _make(self, kind: Kind) -> Renderer:
        if kind == "chart":
            from verm.render.chart import ChartRenderer

            return ChartRenderer(self.sandbox("chart"))
        if kind == "svg":
            from verm.render.svg import SvgRenderer

            return SvgRenderer(self.sandbox("svg"))
        if kind == "html":
            from verm.render.html import HtmlRenderer

            return HtmlRenderer(self.browser())
        if kind == "table":
            from verm.render.markdown import MarkdownRenderer

            return MarkdownRenderer(self.browser())
        raise ValueError(f"no renderer for kind {kind!r}")

    def get(self, kind: Kind) -> Renderer:
        renderer = self._renderers.get(kind)
        if renderer is None:
            renderer = self._make(kind)
            with self._lock:
                renderer = self._renderers.setdefault(kind, renderer)
        return renderer

    def render(self, source: Source, options: RenderOptions,
               on_start: Callable[[Job], None] | None = None) -> Render:
        """Render ``source``; a renderer that raises is turned into a failed ``Render``.

        ``on_start`` receives the running sandbox job (charts, SVG) so a caller may cancel it.
        """
        slots = self._slots if source.kind in SANDBOX_MODULES else self._page_slots
        with slots or contextlib.nullcontext():
            return self._render(source, options, on_start)

    def _render(self, source: Source, options: RenderOptions,
                on_start: Callable[[Job], None] | None) -> Render:
        start = time.perf_counter()
        try:
            renderer = self.get(source.kind)
            if on_start is not None and source.kind in SANDBOX_MODULES:
                render = renderer.render(source, options, on_start=on_start)  # type: ignore[call-arg]
            else:
                render = renderer.render(source, options)
        except Exception as exc:
            render = Render(
                kind=source.kind, source=source.path, image=None,
                failure=RenderFailure("crash", f"the {source.kind} renderer failed: {exc}"),
            )
        if not render.elapsed_ms:
            render.elapsed_ms = (time.perf_counter() - start) * 1000
        return render

    def close(self) -> None:
        for renderer in list(self._renderers.values()):
            renderer.close()
        self._renderers.clear()
        for box in self._sandboxes.values():
            box.close()
        self._sandboxes.clear()
        if self._browser is not None:
            self._browser.close()
            self._browser = None

    def __enter__(self) -> Renderers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
