"""The matplotlib renderer: runs a chart script in the warm fork-server sandbox, returns a Render.

The script itself runs in ``verm.render.chart_job`` inside a forked, rlimited worker (untrusted
code, ~6× faster than a fresh interpreter). This side only builds the request and turns what
came back — pixels and anchors, a mapped failure, or no answer at all (timeout, signal, exit) —
into a ``Render`` whose failure message tells the user what happened and what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from verm.render.base import RenderOptions, image_from_raw
from verm.render.forkserver import OUT_OF_MEMORY, WORKER_FAILED
from verm.render.sandbox import Job, Sandbox, SandboxResult
from verm.source import Source
from verm.types import Anchor, Kind, Range, Render, RenderFailure

JOB = "verm.render.chart_job:run"
MODULES = ["verm.render.chart_job"]


class ChartRenderer:
    """Renders matplotlib scripts; share one ``Sandbox(MODULES)`` between renders (it is warm)."""

    kind: Kind = "chart"

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self._owned = sandbox is None
        self.sandbox = sandbox if sandbox is not None else Sandbox(MODULES)

    def render(self, source: Source, options: RenderOptions | None = None, *,
               on_start: Callable[[Job], Any] | None = None) -> Render:
        """Draw the figure ``source`` makes. ``on_start(job)`` lets another thread cancel it."""
        options = options or RenderOptions()
        start = time.perf_counter()
        figure, figure_line = options.figure, None
        if figure is None and "figure" in source.pragmas:
            figure, figure_line = source.pragmas["figure"]
        payload = {
            "path": str(source.path),
            "text": source.text,
            "figure": figure,
            "figure_line": figure_line,
            "timeout": options.timeout_s,
            "memory_mb": options.memory_mb,
            "max_pixels": options.max_pixels,
            "scale": options.scale,
            "inches": list(options.figure_inches) if options.figure_inches else None,
        }
        if options.preload:  # declared in the config: loaded before the first render too
            self.sandbox.preload(list(options.preload))
        folder = source.path.parent
        result = self.sandbox.run(JOB, payload, timeout_s=options.timeout_s,
                                  memory_mb=options.memory_mb,
                                  cwd=str(folder) if folder.is_dir() else None,
                                  on_start=on_start)
        render = self._to_render(source, options, result)
        render.elapsed_ms = (time.perf_counter() - start) * 1000
        render.meta["worker_ms"] = round(result.elapsed_ms, 2)
        return render

    def _to_render(self, source: Source, options: RenderOptions,
                   result: SandboxResult) -> Render:
        if result.status == "ok":
            data = result.data
            if data.get("ok"):
                return self._picture(source, data, result.blob, options.learn_imports)
            failure = data.get("failure") or {}
            return _failed(source, RenderFailure(
                reason=failure.get("reason", "exception"),
                message=failure.get("message", "the chart script failed"),
                range=Range.from_json(failure["range"]) if failure.get("range")
                else Range.of_line(0),
                detail=_join(failure.get("detail", ""), result.output),
            ))
        return _failed(source, _no_answer(result, options))

    def _picture(self, source: Source, data: dict[str, Any], blob: bytes,
                 learn: bool = True) -> Render:
        image = image_from_raw(data, blob)
        if isinstance(image, str):
            return _failed(source, RenderFailure(
                "crash", f"the render worker returned {image}; please report this as a verm "
                "bug"))
        meta: dict[str, Any] = {
            "dpi": data.get("dpi"),
            "inches": data.get("inches"),
            "figures": data.get("figures"),
            "figure": data.get("figure"),
            "exec_ms": data.get("exec_ms"),
            "draw_ms": data.get("draw_ms"),
            "anchors_ms": data.get("anchors_ms"),
        }
        if data.get("anchors_skipped"):
            meta["anchors_skipped"] = data["anchors_skipped"]
        if data.get("dpi_lowered_from") is not None:
            meta["dpi_lowered_from"] = data["dpi_lowered_from"]
            meta["note"] = (f"the figure was drawn at {data['dpi']:g} dpi instead of "
                            f"{data['dpi_lowered_from']:g} to fit {image.width}×{image.height} "
                            "px; raise max_pixels or shrink figsize to render it full size")
        anchors = [Anchor.from_json(a) for a in data.get("anchors") or []]
        imported = data.get("imported")
        if learn and isinstance(imported, list) and imported:  # preloaded from now on
            self.sandbox.preload([str(n) for n in imported])
        return Render(kind="chart", source=source.path, image=image, anchors=anchors, meta=meta)

    def close(self) -> None:
        """Stop the fork server, if this renderer started it."""
        if self._owned:
            self.sandbox.close()


def _no_answer(result: SandboxResult, options: RenderOptions) -> RenderFailure:
    """Why the worker gave no result: timeout, a signal, an exit, a cancel, or no worker."""
    output = result.output
    if result.status == "timeout":
        return RenderFailure("timeout", f"timed out after {options.timeout_s:g} s — does the "
                             "script loop forever or wait for input?", detail=output)
    if result.status == "cancelled":
        return RenderFailure("timeout", "the render was cancelled before it finished",
                             detail=output)
    if result.status == "crash" and result.limit == "processes":
        return RenderFailure("crash", "the script started too many processes (a fork bomb?); "
                             "it was stopped with everything it started", detail=output)
    if result.status == "crash" and result.limit == "output":
        return RenderFailure("exception", f"the script wrote too much output (over the "
                             f"{options.memory_mb} MB limit for its output and files) and was "
                             "stopped — is a print or write stuck in a loop?", detail=output)
    if result.status == "crash" and result.exit_code == OUT_OF_MEMORY:
        return RenderFailure("memory", f"the script ran out of memory (limit "
                             f"{options.memory_mb} MB) — is a literal, an array or a string "
                             "far bigger than intended?", detail=output)
    if result.status == "crash" and result.signal_name:
        hint = {
            "SIGXCPU": " (it used more CPU time than the limit)",
            "SIGKILL": " (killed — out of memory?)",
        }.get(result.signal_name, "")
        return RenderFailure("crash", f"the script crashed ({result.signal_name}){hint} before "
                             "a figure was drawn", detail=output)
    if result.status == "crash" and result.exit_code is not None:
        last = output.strip().splitlines()[-1:] if result.exit_code == WORKER_FAILED else []
        why = f": {last[0]}" if last else " (os._exit?)"
        return RenderFailure("crash", f"the script exited with status {result.exit_code}"
                             f"{why} before a figure was drawn", detail=output)
    return RenderFailure("crash", "verm's render worker is unavailable or lost the connection; "
                         "the next render starts a fresh one", detail=output)


def _failed(source: Source, failure: RenderFailure) -> Render:
    return Render(kind="chart", source=source.path, image=None, failure=failure)


def _join(detail: str, output: str) -> str:
    output = output.strip()
    if not output:
        return detail
    return f"{detail.rstrip()}\n\n--- script output (tail) ---\n{output}".lstrip()
