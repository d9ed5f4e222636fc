"""The SVG renderer, caller side: ships the source to the sandboxed ``svg_job`` and reads back.

Everything that parses or draws the SVG runs in a forked, rlimited worker (``svg_job``): XML
parsers and rasterisers are where hostile files strike, and resvg can abort its whole process.
This side only builds the payload and turns the worker's answer, or the reason there is none
(timeout, crash, cancellation), into a ``Render``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from verm.render.base import RenderOptions, image_from_raw, is_blank_raw
from verm.render.forkserver import OUT_OF_MEMORY
from verm.render.sandbox import Job, Sandbox, SandboxResult
from verm.source import Source
from verm.types import Anchor, Range, Render, RenderFailure

JOB = "verm.render.svg_job:run"
MODULES = ["verm.render.svg_job"]


class SvgRenderer:
    """Renders ``.svg`` sources with cairosvg (default) or resvg, in a warm fork server.

    Pass a shared ``Sandbox`` preloaded with ``verm.render.svg_job`` (it stays open when this
    renderer closes), or none to have one of its own.
    """

    kind = "svg"

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self._owns_sandbox = sandbox is None
        self._sandbox = sandbox if sandbox is not None else Sandbox(list(MODULES))

    def render(self, source: Source, options: RenderOptions,
               on_start: Callable[[Job], Any] | None = None) -> Render:
        """Draw ``source``; never raises for bad input. ``on_start(job)`` allows cancelling."""
        started = time.perf_counter()
        backend = options.svg_backend or "cairosvg"
        payload = {"path": str(source.path), "text": source.text,
                   "max_pixels": int(options.max_pixels), "backend": backend,
                   "scale": float(options.scale)}
        result = self._sandbox.run(JOB, payload, timeout_s=options.timeout_s,
                                   memory_mb=options.memory_mb, on_start=on_start)
        render = _to_render(source, result, options, backend)
        render.elapsed_ms = (time.perf_counter() - started) * 1000
        return render

    def close(self) -> None:
        if self._owns_sandbox:
            self._sandbox.close()


def _to_render(source: Source, result: SandboxResult, options: RenderOptions,
               backend: str) -> Render:
    meta: dict[str, Any] = {"backend": backend, "worker_ms": round(result.elapsed_ms, 2)}
    if result.status != "ok":
        return Render("svg", source.path, None, failure=_sandbox_failure(result, options,
                                                                          backend), meta=meta)
    header = result.data
    if not header.get("ok"):
        failure = header.get("failure") or {}
        return Render("svg", source.path, None, meta=meta, failure=RenderFailure(
            reason=failure.get("reason", "exception"),
            message=str(failure.get("message") or "the SVG could not be drawn"),
            range=Range.from_json(failure["range"]) if failure.get("range") else Range.of_line(0),
            detail=str(failure.get("detail") or ""),
        ))
    image = image_from_raw(header, result.blob)
    if isinstance(image, str):
        return Render("svg", source.path, None, meta=meta, failure=RenderFailure(
            "crash", f"the SVG renderer returned {image}", detail=result.output))
    meta.update(
        scale=header.get("scale", 1.0),
        clamped=bool(header.get("clamped", False)),
        natural_size=header.get("natural_size"),
        max_pixels=options.max_pixels,
        draw_ms=header.get("draw_ms"),
        anchors_ms=header.get("anchors_ms"),
        blank=is_blank_raw(result.blob),
    )
    anchors = [Anchor.from_json(a) for a in header.get("anchors") or []]
    return Render("svg", source.path, image, anchors=anchors, meta=meta)


def _sandbox_failure(result: SandboxResult, options: RenderOptions,
                     backend: str) -> RenderFailure:
    """A worker that gave no answer: say what happened and what to try."""
    if result.status == "timeout":
        return RenderFailure("timeout", f"the SVG render timed out after {options.timeout_s:g} s;"
                                        " a huge canvas, heavy filters or many thousands of "
                                        "elements can cause this: simplify the drawing or "
                                        "raise the timeout", detail=result.output)
    if result.status == "cancelled":
        return RenderFailure("timeout", "the SVG render was cancelled before it finished")
    if result.status == "unavailable":
        return RenderFailure("crash", "verm's SVG render worker could not be started",
                             detail=result.output)
    if result.exit_code == OUT_OF_MEMORY or "MemoryError" in result.output:
        return RenderFailure("memory", f"the SVG render ran out of memory (limit "
                                       f"{options.memory_mb} MB); reduce the canvas or the "
                                       "number of elements", detail=result.output)
    if result.limit in ("processes", "output"):
        what = "started too many processes" if result.limit == "processes" else \
            "wrote too much output"
        return RenderFailure("crash", f"the SVG render {what} and was stopped",
                             detail=result.output)
    how = result.signal_name or (f"exit {result.exit_code}" if result.exit_code is not None
                                 else "no result")
    hint = "; resvg aborts on some inputs: try svg_backend=cairosvg" if backend == "resvg" else ""
    return RenderFailure("crash", f"the SVG renderer crashed ({how}){hint}", detail=result.output)
