"""The matplotlib render job: runs a user's chart script inside a forked sandbox worker.

The fork server imports this module and calls ``warm()`` once, so every forked worker starts with
matplotlib (Agg), pyplot and numpy loaded and their font caches hot. ``run(payload)`` then runs
the user's script as ``__main__``, captures the figure it made (no ``savefig`` needed), draws it
once and returns the raw RGB pixels plus the anchors: every visible artist with its pixel box and
the line of the user's script that created or last modified it.

Line mapping hooks ``Artist.__init__`` (creation) and the ``Artist.stale`` setter (modification):
titles and labels are created by ``subplots`` and *modified* by ``set_title``; the modifying line
is the one to blame. Both hooks walk frames up to the first frame of the user's file. Everything
here runs in a disposable worker process, so patching classes in place is safe.

Never raises for bad user input: a failure is a header ``{"ok": false, "failure": ...}``.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import dis
import errno
import gc
import hashlib
import importlib
import itertools
import linecache
import math
import os
import re
import signal
import sys
import sysconfig
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axes._base import _AxesBase
from matplotlib.axis import Axis
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.category import StrCategoryFormatter
from matplotlib.collections import Collection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.container import BarContainer, Container
from matplotlib.figure import Figure, SubFigure
from matplotlib.image import AxesImage, FigureImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle, Wedge
from matplotlib.table import Table
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter
from matplotlib.transforms import Bbox

from verm.types import LINE_BREAK, Anchor, Range, RenderFailure

# A line with its end, as LINE_BREAK ends it (for linecache: the script's unsaved text).
_LINE_WITH_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

Header = dict[str, Any]

# Library calls that touch artists without being *about* them: what changes inside one of these
# is layout, drawing or a getter's refresh (`get_xticklabels`), not the user's intent. Checked on
# every frame between the change and the user's line: pyplot and Axes wrap methods in others.
# `get_*` frames count too.
_IGNORED_CALLEES = frozenset({
    "tight_layout", "savefig", "draw", "draw_idle", "draw_without_rendering", "show", "pause",
    "print_figure", "set_layout_engine",
})
_NAME_CHARS = 40
_MARK_ROLES = frozenset({"bar", "line", "wedge", "collection", "patch"})
MARKS = 60  # marker centres a line anchor records at most (evenly spread over its points)
# Keywords that style a mark, by what a fix changes (verm.locate picks by the finding).
_STYLE_KEYWORDS = frozenset({
    "color", "c", "colors", "facecolor", "fc", "edgecolor", "ec", "marker", "markersize", "ms",
    "linestyle", "ls", "dashes", "linewidth", "lw", "hatch", "alpha"})
Box = tuple[float, float, float, float]
_EMPTY: Box = (0.0, 0.0, 0.0, 0.0)  # "measured, nothing to show", unlike None: "measure it"


# What chart scripts commonly import beyond pyplot and numpy: imported once in the fork server
# instead of in every render (numpy.random alone is ~15 extension modules, ~6 ms).
_COMMON_IMPORTS = (
    "numpy.random", "matplotlib.dates", "matplotlib.ticker", "matplotlib.patches",
    "matplotlib.gridspec", "matplotlib.colors", "matplotlib.cm", "matplotlib.lines",
    "matplotlib.markers", "csv", "json", "datetime", "decimal", "fractions", "random",
    "statistics", "pathlib", "collections", "itertools", "functools",
)


class _Timeout(BaseException):
    """Raised by SIGALRM just before the monitor's hard kill; BaseException so `except
    Exception` in user code cannot swallow it."""


def warm() -> None:
    """Load matplotlib, numpy and every lazily built cache a typical chart touches, before any fork.

    Each forked worker inherits what is warm here; what is not (font lookups per size and weight,
    text layouts, marker paths, layout-engine code paths) it would rebuild, and pay copy-on-write
    faults for, on every render. Drawing a small gallery here saves ~10-15 ms per chart.
    """
    for name in _COMMON_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    np.random.default_rng(0).integers(0, 9, 3)  # builds the generator's lazily set-up parts
    np.random.seed(0)
    for dpi in (100, 72):
        _gallery(dpi)
    gc.collect()
    gc.freeze()  # forked workers neither copy nor rescan the warm heap


def prewarm() -> None:
    """Run in a spare worker while it waits for a job: fault in its own copy of the warm state."""
    _gallery(100)


def _gallery(dpi: int) -> None:
    """A figure touching what typical charts touch: bars, lines, markers, legend, grid, pie."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8, 6), dpi=dpi)
    ax.bar(["Q1", "Q2", "Q3", "Q4"], [1, 2, 3, 4], color="#4C72B0", label="bars")
    ax.plot(["Q1", "Q2", "Q3", "Q4"], [2, 1, 3, 2], marker="o", linewidth=2, label="line")
    ax.scatter([0, 1, 2], [1, 2, 3], s=20)
    ax.set_title("Warm-up 0123456789")
    ax.set_xlabel("x label")
    ax.set_ylabel("y label (k€)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    ax.text(0.5, 0.5, "note", fontsize=14, fontweight="bold")
    ax2.pie([1, 2, 3], labels=["a", "b", "c"], autopct="%1.0f%%")
    ax2.set_title("pie", fontsize="large")
    fig.suptitle("suptitle")
    fig.tight_layout()
    fig.canvas.draw()
    np.asarray(fig.canvas.buffer_rgba())
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Tracking: which user line created / modified each artist, which figures exist, savefig kwargs.


@dataclass
class _Tracker:
    path: str
    figures: list[Figure] = field(default_factory=list)
    saved: dict[int, dict[str, Any]] = field(default_factory=dict)  # id(figure) -> savefig kwargs
    stop: Callable[[], None] = lambda: None  # set by _install: removes the line hooks

    def user_line(self, frame: types.FrameType | None) -> int | None:
        """0-based line of the nearest frame in the user's script, unless the library frames
        between are a draw, a layout or a getter (`_ignored`)."""
        path = self.path
        while frame is not None:
            code = frame.f_code
            if code.co_filename == path:
                return frame.f_lineno - 1
            name = code.co_name
            if name in _IGNORED_CALLEES or name.startswith("get_"):
                return None
            frame = frame.f_back
        return None


def _install(tracker: _Tracker, scale: float = 1.0,
             inches: list[float] | None = None) -> None:
    """Patch matplotlib for this worker: line hooks, no-op show, savefig that writes nothing.

    ``scale`` ≠ 1 multiplies every figure's dpi from its creation on (and every later dpi
    the script sets), so layout engines run at the final resolution, as they would in a
    script written for it. ``inches`` gives every figure that size from its creation on
    (every later size the script sets too), for the same reason.
    """
    getframe = sys._getframe
    set_dpi = Figure._set_dpi

    def scaled_dpi(self: Figure, dpi: float, forward: bool = True) -> None:
        set_dpi(self, dpi * scale, forward)

    figure_init = Figure.__init__

    def init_scaled_figure(self: Figure, *args: Any, **kwargs: Any) -> None:
        figure_init(self, *args, **kwargs)
        if scale != 1.0:
            set_dpi(self, self.dpi * scale, False)
            # Closing a figure (`plt.show()` does) restores the dpi it was made at: its scaled one.
            self._original_dpi = self.dpi
        if inches is not None:
            set_size(self, *inches, forward=False)

    set_size = Figure.set_size_inches

    def sized(self: Figure, w: Any = None, h: Any = None, forward: bool = True) -> None:
        set_size(self, *inches, forward=forward)  # type: ignore[misc]

    artist_init = Artist.__init__

    # Inside a layout or a draw the user's script is two dozen frames up and every change is
    # the library's (``_IGNORED_CALLEES``): while ``quiet`` the hooks skip the frame walks.
    quiet = [0]

    def init(self: Artist, *args: Any, **kwargs: Any) -> None:
        artist_init(self, *args, **kwargs)
        if isinstance(self, Figure):
            tracker.figures.append(self)
        if quiet[0]:
            return
        line = user_line(getframe(1))
        if line is not None:
            self._verm_created = line  # type: ignore[attr-defined]

    stale = Artist.stale
    stale_get, stale_set = stale.fget, stale.fset
    assert stale_get is not None and stale_set is not None

    path, ignored, user_line = tracker.path, _IGNORED_CALLEES, tracker.user_line

    def set_stale(self: Artist, val: bool) -> None:
        stale_set(self, val)
        if not val or quiet[0] or getattr(self, "_parent_figure", self) is None:
            return  # unattached artists are being built; attaching them counts as a change
        frame: types.FrameType | None = getframe(1)
        if frame.f_code.co_name[:6] == "_stale":  # type: ignore[union-attr]
            return  # a child told its parent: not a change of the parent
        # The hot path (~1000 calls per chart): _Tracker.user_line, inlined.
        while frame is not None:
            code = frame.f_code
            if code.co_filename == path:
                self._verm_modified = frame.f_lineno - 1  # type: ignore[attr-defined]
                return
            name = code.co_name
            if name in ignored or name.startswith("get_"):
                return
            frame = frame.f_back

    legend_init = Legend.__init__

    def init_legend(self: Legend, parent: Any, handles: Any, labels: Any, *a: Any,
                    **k: Any) -> None:
        handles = list(handles)
        self._verm_handles = handles  # type: ignore[attr-defined]
        legend_init(self, parent, handles, labels, *a, **k)

    set_label = Artist.set_label

    def labelled(self: Artist, s: Any) -> None:
        """Remember the user line that named the artist (its call's `label=`, or a later
        `set_label`): a legend entry's words are written there, whatever restyled it since."""
        set_label(self, s)
        if not quiet[0] and (line := user_line(getframe(1))) is not None:
            self._verm_labelled = line  # type: ignore[attr-defined]

    update_ticks = Axis._update_ticks

    def record_ticks(self: Axis) -> list[Any]:
        ticks = update_ticks(self)
        self._verm_drawn = ticks  # type: ignore[attr-defined]
        return ticks

    def quietly(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            quiet[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                quiet[0] -= 1
        return wrapper

    figure_savefig = Figure.savefig

    def savefig(self: Figure, fname: Any = None, *args: Any, **kwargs: Any) -> None:
        tracker.saved[id(self)] = kwargs  # honoured at capture; no file is written
        if hasattr(fname, "write"):  # an in-memory buffer the script reads back (an SVG it
            quietly(figure_savefig)(self, fname, *args, **kwargs)  # edits): fill it

    def no_op(*args: Any, **kwargs: Any) -> None:
        return None

    pyplot_savefig = plt.savefig
    shown: list[Figure] = []

    def show(*args: Any, **kwargs: Any) -> None:
        """As a window would, without blocking: the figures shown are closed when it returns,
        so what the script plots next starts a figure of its own (a gallery script's blocks,
        each ending in `plt.show()`), not more lines on the one shown. They are still the
        tracker's to draw."""
        shown.extend(plt.figure(n) for n in plt.get_fignums())
        plt.close("all")

    def savefig_shown(*args: Any, **kwargs: Any) -> Any:
        """`plt.savefig` right after `plt.show()` saves, run headless, the figure just shown
        (not a new blank one): its settings are that figure's."""
        if not plt.get_fignums() and shown:
            return shown[-1].savefig(*args, **kwargs)
        return pyplot_savefig(*args, **kwargs)

    get_layout = Text._get_layout

    def remember_layout(self: Text, renderer: Any) -> Any:
        """The capture draw lays every text out; keep the last layout for the anchors."""
        out = get_layout(self, renderer)
        self._verm_layout = (renderer, self.get_text(), out[0])  # type: ignore[attr-defined]
        return out

    def stop() -> None:
        """Leave the line hooks before drawing: the draw then runs at plain matplotlib speed."""
        Artist.__init__ = artist_init  # type: ignore[method-assign]
        Artist.stale = stale  # type: ignore[method-assign]
        Text._get_layout = remember_layout  # type: ignore[method-assign]

    def direct_line(frame: types.FrameType | None) -> int | None:
        """The user's line that called the setter itself (or through pyplot: `plt.ylim`), not
        one whose plotting call set limits on its own (`ax.bar` of categories sets the x
        limits and ticks inside: the script said nothing about them there). `ax.set(ylim=…)`
        and `ax.axis(…)` go through the generic setters: their user line counts."""
        while frame is not None and frame.f_code.co_filename.endswith(
                ("pyplot.py", "_api/deprecation.py", "artist.py", "axes/_base.py")):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename == tracker.path:
            return frame.f_lineno - 1
        return None

    def limits(method: Callable[..., Any], xy: str) -> Callable[..., Any]:
        """Remember the user line that set an axis's limits, scale or ticks: a tick label
        that changed because of it is blamed there, not on the `subplots` line."""
        def wrapper(self: Axes, *args: Any, **kwargs: Any) -> Any:
            if not quiet[0]:
                frame = getframe(1)
                line = direct_line(frame)
                if line is not None:
                    self.__dict__.setdefault("_verm_limit_lines", {})[xy] = line
                elif (line := user_line(frame)) is not None:
                    # set by a plotting call on its own (`ax.barh` turns the axes around):
                    # the limits are that call's, but not the category names
                    self.__dict__.setdefault("_verm_auto_limit_lines", {})[xy] = line
            return method(self, *args, **kwargs)
        return wrapper

    for xy in ("x", "y"):
        for verb in ("set_{}lim", "set_{}scale", "set_{}ticks", "set_{}ticklabels"):
            name = verb.format(xy)
            setattr(Axes, name, limits(getattr(Axes, name), xy))
    # The grid is drawn from ticks made at draw time: remember the call that switched it.
    Axes.grid = limits(Axes.grid, "grid")  # type: ignore[method-assign]

    tracker.stop = stop
    Artist.__init__ = init  # type: ignore[method-assign]
    Artist.stale = property(stale_get, set_stale, doc=stale.__doc__)  # type: ignore[method-assign]
    Legend.__init__ = init_legend  # type: ignore[method-assign]
    Artist.set_label = labelled  # type: ignore[method-assign]
    Axis._update_ticks = record_ticks  # type: ignore[method-assign]
    Figure.savefig = savefig  # type: ignore[method-assign]
    if scale != 1.0 or inches is not None:
        Figure.__init__ = init_scaled_figure  # type: ignore[method-assign]
    if scale != 1.0:
        Figure._set_dpi = scaled_dpi  # type: ignore[method-assign]
    if inches is not None:
        Figure.set_size_inches = sized  # type: ignore[method-assign]
    Figure.tight_layout = quietly(Figure.tight_layout)  # type: ignore[method-assign]
    FigureCanvasAgg.draw = quietly(FigureCanvasAgg.draw)  # type: ignore[method-assign]
    Figure.show = no_op  # type: ignore[method-assign]
    plt.show = show
    plt.savefig = savefig_shown
    plt.pause = no_op
    # pyplot.savefig, plt.draw and interactive mode ask for draw_idle, a full draw on Agg: the
    # one draw that counts is the capture's. An explicit `fig.canvas.draw()` still works.
    FigureCanvasBase.draw_idle = no_op  # type: ignore[method-assign]
    matplotlib.use = no_op  # a script's use("TkAgg") must not leave Agg
    plt.switch_backend = no_op


# --------------------------------------------------------------------------------------------
# Failures


def _failure(reason: str, message: str, line: int | None = None, text: str = "",
             detail: str = "") -> Header:
    rng = Range.of_line(line, text) if line is not None and line >= 0 else Range.span(0, 0, 0)
    failure = RenderFailure(reason, message, rng, detail)  # type: ignore[arg-type]
    return {"ok": False, "failure": failure.to_json()}


def _user_frames(exc: BaseException, path: str) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]


def _exc_text(exc: BaseException) -> str:
    msg = str(exc)
    if len(msg) > 500:
        msg = msg[:500] + "…"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _user_traceback(exc: BaseException, frames: list[traceback.FrameSummary]) -> str:
    head = "Traceback (most recent call last, your script only):\n" if frames else ""
    body = "".join(traceback.format_list(frames))
    return head + body + "".join(traceback.format_exception_only(type(exc), exc))


def _blamed_artist_line(exc: BaseException) -> int | None:
    """For errors raised while drawing (no user frame): the line of the artist being drawn."""
    tb = exc.__traceback__
    lines: list[int] = []
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, Artist):
            line = _line_of(owner)
            if line is not None:
                lines.append(line)
        tb = tb.tb_next
    return lines[-1] if lines else None


def _exception_failure(exc: BaseException, payload: dict[str, Any], stage: str) -> Header:
    path, text = payload["path"], payload["text"]
    frames = _user_frames(exc, path)
    line = frames[-1].lineno - 1 if frames and frames[-1].lineno else None
    if line is None and stage == "draw":
        line = _blamed_artist_line(exc)
    where = f" at line {line + 1}" if line is not None else ""
    detail = _user_traceback(exc, frames)
    if isinstance(exc, _Timeout):
        return _failure("timeout", f"timed out after {payload.get('timeout', 10):g} s{where} — "
                        "does the script loop forever or wait for input?", line, text, detail)
    if isinstance(exc, MemoryError):
        limit = payload.get("memory_mb")
        over = f" (limit {limit} MB)" if limit else ""
        return _failure("memory", f"the script ran out of memory{over}{where}: {_exc_text(exc)} "
                        "— is an array far bigger than intended?", line, text, detail)
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return _failure("exception", f"the script wrote too much output{where} (over the "
                        f"{payload.get('memory_mb', 2048)} MB limit for its output and files) — "
                        "is a print or write stuck in a loop?", line, text, detail)
    if isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN and any(
            f.name in ("fork", "_fork_exec", "_execute_child") or "fork(" in (f.line or "")
            for f in traceback.extract_tb(exc.__traceback__)):
        cap = os.environ.get("VERM_SANDBOX_NPROC", "the")
        return _failure("exception", f"{_exc_text(exc)}{where} — the script started too many "
                        f"processes (a render may have {cap} processes and threads at once; "
                        "a fork bomb?)", line, text, detail)
    prefix = "drawing the figure failed: " if stage == "draw" else ""
    return _failure("exception", prefix + _exc_text(exc), line, text, detail)


# --------------------------------------------------------------------------------------------
# The job


def run(payload: dict[str, Any]) -> tuple[Header, bytes]:
    """Run the user's script, capture its figure: ``(header, raw RGB bytes)``. Never raises."""
    t0 = time.perf_counter()
    path = str(payload["path"])
    text = str(payload.get("text") or "")
    try:
        code = compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.lineno or 1) - 1
        msg = f"{type(exc).__name__}: {exc.msg}"
        detail = "".join(traceback.format_exception_only(type(exc), exc))
        return _failure("syntax", msg, line, text, detail), b""
    except ValueError as exc:  # e.g. null bytes in the source
        return _failure("syntax", f"SyntaxError: {exc}", 0, text), b""
    except MemoryError:  # a huge literal: the parser's trees count against the limit
        limit = payload.get("memory_mb", 2048)
        return _failure("memory", f"the script ran out of memory (limit {limit} MB) while "
                        "Python compiled it — is a literal or an expression far bigger than "
                        "intended?", 0, text), b""
    except RecursionError:
        return _failure("syntax", "the script is nested too deeply for Python to compile it",
                        0, text), b""

    imported_before = set(sys.modules)
    tracker = _Tracker(path)
    scale = float(payload.get("scale") or 1.0)
    payload["scale"] = scale = scale if 0 < scale <= 64 and math.isfinite(scale) else 1.0
    inches = payload.get("inches")
    if not (isinstance(inches, list) and len(inches) == 2
            and all(isinstance(v, (int, float)) and 0 < v <= 1000 and math.isfinite(v)
                    for v in inches)):
        inches = None
    _install(tracker, scale, inches)
    lines = [m.group(0) for m in _LINE_WITH_END.finditer(text)]
    linecache.cache[path] = (len(text), None, lines, path)  # unsaved text
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(path) or ".")

    # Just before the monitor's hard kill, interrupt the script to report *where* it was stuck.
    armed = [True]

    def on_alarm(signum: int, frame: Any) -> None:
        if armed[0]:
            raise _Timeout

    def on_flood(signum: int, frame: Any) -> None:
        # The monitor's output cap (stdout/stderr go to a pipe, not to a size-limited file)
        # and RLIMIT_FSIZE both end here: an error at the line that writes.
        raise OSError(errno.EFBIG, "output limit reached")

    timeout = float(payload.get("timeout", 10.0))
    signal.signal(signal.SIGXFSZ, on_flood)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(timeout * 0.5, timeout - 0.3))
    exit_note, stage = "", "script"
    try:
        try:
            exec(code, module.__dict__)
        except SystemExit as exc:
            exit_note = f" (it called sys.exit({exc.code!r}) first)"
        stage = "draw"
        t_exec = time.perf_counter()
        tracker.stop()
        header, blob = _capture(tracker, payload, exit_note)
        armed[0] = False
    except BaseException as exc:
        armed[0] = False
        return _exception_failure(exc, payload, stage), b""
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
    if header.get("ok"):
        header["exec_ms"] = round((t_exec - t0) * 1000, 2)
    new = set(sys.modules) - imported_before
    header["imported"] = _installed_modules(new, _import_names(code) & new, imported_before)
    return header, blob


def _import_names(code: types.CodeType) -> set[str]:
    """Modules the script names in its import statements (``import a.b``, ``from a.b import
    c``: a.b, and a.b.c when that is a module), from its bytecode: no second parse."""
    names: set[str] = set()
    stack = [code]
    while stack:
        co = stack.pop()
        stack.extend(c for c in co.co_consts if isinstance(c, types.CodeType))
        last = None
        for ins in dis.get_instructions(co):
            if ins.opname == "IMPORT_NAME" and isinstance(ins.argval, str):
                last = ins.argval
                names.add(last)
            elif ins.opname == "IMPORT_FROM" and last:
                names.add(f"{last}.{ins.argval}")
    return names


_DASHES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dashdot"}
_MARKERS = {"o": "circle", "s": "square", "^": "triangle up", "v": "triangle down",
            "D": "diamond", "d": "thin diamond", "x": "x", "+": "plus", ".": "point",
            "*": "star", "p": "pentagon", "h": "hexagon", "<": "triangle left",
            ">": "triangle right"}


def _line_style(ln: Any) -> dict[str, Any]:
    """A line's dash pattern and markers, in words: a changed `linestyle=` or `marker=` is a
    style change of that line (the sidecar compares them), not new data."""
    dash = str(ln.get_linestyle())
    marker = ln.get_marker()
    marker = "none" if marker in (None, "", " ", "None", "none") else str(marker)
    out: dict[str, Any] = {"linestyle": _DASHES.get(dash, "none" if dash in ("None", " ", "")
                                                     else dash),
                           "marker": _MARKERS.get(marker, marker)}
    if marker != "none":
        out["markersize"] = float(ln.get_markersize())
    return out


def _limit_lines(ax: Any) -> dict[str, int]:
    """Where the script set each axis's limits, scale or ticks: its own setter calls, else
    the plotting call that set them on its own."""
    return {**getattr(ax, "_verm_auto_limit_lines", {}), **getattr(ax, "_verm_limit_lines", {})}


def _installed_modules(new: set[str], named: set[str], loaded: set[str] = frozenset(),
                       limit: int = 16) -> list[str]:
    """What the fork server may preload for the next renders: the top-level packages of the
    modules this render imported, and the submodules the script itself named (``import
    pandas.plotting``) — only those found in site-packages, never the script's own modules
    nor the stdlib. A package the fork server had ``loaded`` already is not worth a new fork
    server for one of its submodules (``tight_layout`` pulls in a private matplotlib module:
    preloading "matplotlib" would start a second fork server for nothing, on the first save)."""
    roots = tuple(os.path.realpath(p) + os.sep for p in {
        sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})

    def installed(name: str) -> bool:
        file = getattr(sys.modules.get(name), "__file__", None)
        return (all(part.isidentifier() and not part.startswith("_")
                    for part in name.split("."))
                and bool(file) and os.path.realpath(file).startswith(roots))

    tops = sorted(n for n in {n.partition(".")[0] for n in new}
                  if n not in loaded and installed(n))
    subs = sorted(n for n in named if "." in n and installed(n))
    return (tops + subs)[:limit]


def _select(figures: list[Figure], want: str | None) -> Figure | None:
    """The last figure, or the one named by number or label (later ones win ties)."""
    if not figures:
        return None
    if want is None or str(want).strip() == "":
        return figures[-1]
    want = str(want).strip()
    for fig in reversed(figures):
        if fig.get_label() == want:
            return fig
    if want.isdigit():
        n = int(want)
        for fig in reversed(figures):
            if _figure_number(fig) == n:
                return fig
        if 1 <= n <= len(figures) and all(_figure_number(f) is None for f in figures):
            return figures[n - 1]
    return None


def _figure_number(fig: Figure) -> int | None:
    try:
        return int(fig.number)
    except (AttributeError, TypeError, ValueError):
        return None


def _figure_names(figures: list[Figure]) -> str:
    names = []
    for i, fig in enumerate(figures):
        num = _figure_number(fig)
        label = fig.get_label()
        names.append(f"'{label}'" if label else str(num if num is not None else i + 1))
    return ", ".join(names)


def _capture(tracker: _Tracker, payload: dict[str, Any], exit_note: str) -> tuple[Header, bytes]:
    text = payload["text"]
    if not tracker.figures:
        return _failure(
            "no-figure",
            "the script made no matplotlib figure" + exit_note + " — create one (e.g. "
            "`fig, ax = plt.subplots()`) and draw on it; verm captures it, no savefig needed",
            None, text), b""
    want = payload.get("figure")
    fig = _select(tracker.figures, None if want is None else str(want))
    if fig is None:
        return _failure(
            "no-figure",
            f"no figure {want!s} — the script made {len(tracker.figures)} figure(s): "
            f"{_figure_names(tracker.figures)}; name one with `# verm: figure=N` (number or label)",
            payload.get("figure_line"), text), b""

    t0 = time.perf_counter()
    saved = tracker.saved.get(id(fig))
    dpi = float(fig.dpi)
    if saved is not None:
        want_dpi = saved.get("dpi", matplotlib.rcParams["savefig.dpi"])
        if isinstance(want_dpi, (int, float)) and want_dpi > 0:
            dpi = float(want_dpi) * float(payload.get("scale") or 1.0)  # figures' dpi is scaled
        face = saved.get("facecolor", matplotlib.rcParams["savefig.facecolor"])
        if face is not None and not (isinstance(face, str) and face == "auto"):
            fig.patch.set_facecolor(face)
    lowered_from = None
    max_pixels = int(payload.get("max_pixels") or 0)
    w_in, h_in = fig.get_size_inches()
    longest = max(float(w_in), float(h_in)) * dpi
    if max_pixels and longest > max_pixels:
        lowered_from = dpi
        dpi = math.floor(max_pixels / max(float(w_in), float(h_in)) * 1000) / 1000
    if dpi != fig.dpi:
        fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    height, width = rgba.shape[:2]
    patch = fig.patch
    opaque = patch.get_visible() and patch.get_facecolor()[3] >= 1.0  # then every pixel is
    if not opaque and rgba[..., 3].min() < 255:  # composite on white, like an image viewer
        a = rgba[..., 3:].astype(np.uint16)
        rgb = ((rgba[..., :3] * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
        blob, layout = rgb.tobytes(), {"pixel_format": "RGB"}
    else:  # Agg's own buffer, shipped as is: no copy here (the figure outlives the write)
        blob = memoryview(canvas.buffer_rgba()).cast("B")
        layout = {"pixel_format": "RGBX", "stride": int(width) * 4}
    t_draw = time.perf_counter()
    walker = _Anchors(fig, canvas.get_renderer(), width, height, text)
    anchors = walker.collect()
    t_anchor = time.perf_counter()
    header: Header = {
        "ok": True,
        "width": int(width),
        "height": int(height),
        **layout,
        "dpi": dpi,
        "inches": [float(w_in), float(h_in)],
        "figures": len(tracker.figures),
        "figure": _figure_number(fig) if not fig.get_label() else fig.get_label(),
        "anchors": [_anchor_json(a) for a in anchors],
        "draw_ms": round((t_draw - t0) * 1000, 2),
        "anchors_ms": round((t_anchor - t_draw) * 1000, 2),
    }
    if walker.skipped:
        header["anchors_skipped"] = walker.skipped
    if lowered_from is not None:
        header["dpi_lowered_from"] = lowered_from
    return header, blob


# --------------------------------------------------------------------------------------------
# Anchors


_ANCHOR_FIELDS = tuple(f.name for f in dataclasses.fields(Anchor))
_TEXT_EXTENT = Text.get_window_extent


def _anchor_json(anchor: Anchor) -> dict[str, Any]:
    """``Anchor.to_json`` without ``asdict``'s deep copy (5× faster; props are plain values)."""
    d = {name: getattr(anchor, name) for name in _ANCHOR_FIELDS}
    d["box"] = [round(v, 2) for v in anchor.box]
    d["range"] = anchor.range.to_json() if anchor.range else None
    return d


def _line_of(artist: Any) -> int | None:
    line = getattr(artist, "_verm_modified", None)
    return line if line is not None else getattr(artist, "_verm_created", None)


def _label_line(artist: Artist) -> int | None:
    """Where the artist's label was written, else where it was last changed or made."""
    line = getattr(artist, "_verm_labelled", None)
    return line if line is not None else _line_of(artist)


def _drawn(color: Any, artist: Any) -> str | None:
    """The colour an artist's ink shows on its ground: a translucent one (``alpha=0.3``)
    blended over its plot's face, else the figure's — a faint grey guide line is light grey in
    the picture. Kept beside the anchor's colour (the one the code names, which matches the
    ink's blends with what lies under it)."""
    try:
        rgba = np.asarray(color, dtype=float)
        rgba = to_rgba(rgba[0] if rgba.ndim == 2 else rgba)
    except (ValueError, TypeError, IndexError):
        try:
            rgba = to_rgba(color)
        except (ValueError, TypeError):
            return _hex(color)
    alpha = artist.get_alpha() if artist is not None else None
    # Faces and collections carry their artist's alpha already; a line's colour does not.
    a = rgba[3] if rgba[3] < 1 or alpha is None else float(alpha)
    if not 0 < a < 1:
        return _hex(color)
    ground = (1.0, 1.0, 1.0)
    for owner in (getattr(artist, "axes", None), getattr(artist, "figure", None)):
        if owner is not None and to_rgba(owner.get_facecolor())[3] > 0:
            ground = to_rgba(owner.get_facecolor())[:3]
            break
    return to_hex([c * a + g * (1 - a) for c, g in zip(rgba[:3], ground, strict=True)])


def _hex(color: Any) -> str | None:
    try:
        arr = np.asarray(color, dtype=float)
        if arr.ndim == 2:
            if not len(arr):
                return None
            arr = arr[0]
        return to_hex(arr, keep_alpha=False)
    except (ValueError, TypeError):
        try:
            return to_hex(color, keep_alpha=False)
        except (ValueError, TypeError):
            return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def _at_data(t: Any, ax: Any) -> bool:
    """Is the text placed at a data point (a value label, an annotation, ``ax.text(x, y)``)?
    It moves with the axis when the axis's limits or scale change."""
    coords = getattr(t, "xycoords", None)  # an annotation: where the point it annotates is
    if coords is not None:
        if isinstance(coords, str):
            return coords == "data"
        if isinstance(coords, tuple):  # blended: data along one axis
            return "data" in coords
        # a transform: the data's; a function or an artist: placed by a drawn element (a bar
        # label at the bar's centre), which moves with the data
        return coords is ax.transData or callable(coords) or isinstance(coords, Artist)
    try:
        return bool(t.get_transform().contains_branch(ax.transData))
    except Exception:  # a transform of the script's own
        return False


def _public_label(artist: Any) -> str | None:
    label = artist.get_label() if hasattr(artist, "get_label") else None
    if label is None:
        return None
    label = str(label)
    return label if label and not label.startswith("_") else None


class _Anchors:
    """Walks one drawn figure and turns its visible artists into anchors."""

    def __init__(self, fig: Figure, renderer: Any, width: int, height: int, text: str) -> None:
        self.fig, self.renderer = fig, renderer
        self.width, self.height = width, height
        self.px_per_pt = fig.dpi / 72.0
        self.lines = LINE_BREAK.split(text)  # LSP's and Python's line ends, not splitlines'
        self.source_text = text
        self._arg_lines: dict[int, list[int | None]] | None = None
        self._keyword_lines: dict[int, dict[str, int]] | None = None
        self.out: list[Anchor] = []
        self.owners: list[int] = []  # id() of the artist behind each anchor in ``out``
        self.seen: set[int] = set()  # artists anchored so far: the coarse sweep skips them
        self.skipped = 0
        self.fig_line = _line_of_container(fig)

    # -- helpers

    def _range(self, line: int | None) -> Range | None:
        if line is None or line < 0:
            return None
        width = len(self.lines[line]) if line < len(self.lines) else 0
        return Range.span(line, 0, width)

    def _box(self, artist: Any, pad: float = 0.0) -> Box | None:
        if type(artist).get_window_extent is _TEXT_EXTENT:
            memo = getattr(artist, "_verm_layout", None)
            if memo is not None and memo[0] is self.renderer and memo[1] == artist.get_text():
                # Text.get_window_extent without redoing the layout the draw just did (~60 µs)
                x, y = artist.get_transform().transform(artist.get_unitless_position())
                return self._display_box(memo[2].translated(x, y), pad)
        return self._display_box(artist.get_window_extent(self.renderer), pad)

    def _display_box(self, bbox: Any, pad: float = 0.0) -> Box | None:
        return self._image_box(bbox.x0, bbox.y0, bbox.x1, bbox.y1, pad)

    def _image_box(self, x0: float, y0: float, x1: float, y1: float,
                   pad: float = 0.0) -> Box | None:
        """A display-space box (y up) as a clamped image box (y down); None when empty."""
        if not all(map(math.isfinite, (x0, y0, x1, y1))):
            return None
        if pad:
            if x1 - x0 < 2 * pad:
                x0, x1 = x0 - pad, x1 + pad
            if y1 - y0 < 2 * pad:
                y0, y1 = y0 - pad, y1 + pad
        h = self.height
        bx0, bx1 = max(0.0, min(x0, x1)), min(float(self.width), max(x0, x1))
        by0, by1 = max(0.0, h - max(y0, y1)), min(float(h), h - min(y0, y1))
        if bx1 - bx0 <= 0 or by1 - by0 <= 0:
            return None
        return (bx0, by0, bx1, by1)

    def _marks(self, ln: Any) -> dict[str, Any]:
        """Where a line's markers are drawn (image px, y down; at most MARKS of them, evenly
        spread) and how wide: a marker of another shape at the same size changes a few pixels
        round each data point, which the critic compares marker by marker."""
        marker = ln.get_marker()
        if marker in (None, "", " ", "None", "none") or ln.get_markevery() is not None:
            return {}
        try:
            xy = np.asarray(ln.get_transform().transform(ln.get_xydata()), dtype=float)
        except Exception:  # a transform that cannot map its data: no markers to place
            return {}
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if ln.axes is not None and ln.get_clip_on():
            b = ln.axes.bbox
            xy = xy[(xy[:, 0] >= b.x0) & (xy[:, 0] <= b.x1) & (xy[:, 1] >= b.y0)
                    & (xy[:, 1] <= b.y1)]
        if not len(xy):
            return {}
        if len(xy) > MARKS:
            xy = xy[np.linspace(0, len(xy) - 1, MARKS).round().astype(int)]
        h = float(self.height)
        return {"marks": [[round(float(x), 1), round(h - float(y), 1)] for x, y in xy],
                "marker_px": round(float(ln.get_markersize()) * self.px_per_pt, 1)}

    def _clipped(self, box: Box, clip: Any) -> Box | None:
        """``box`` cut to what the artist's clip box lets show (log-scale bars reach -inf)."""
        if clip is None:
            return box
        cut = self._display_box(clip)
        if cut is None:
            return None
        x0, y0 = max(box[0], cut[0]), max(box[1], cut[1])
        x1, y1 = min(box[2], cut[2]), min(box[3], cut[3])
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def add(self, artist: Any, role: str, key: str, name: str, *, fallback: int | None,
            text: str | None = None, color: Any = None, container: bool = False,
            line: int | None = None, pad: float = 0.0, box: Any = None,
            props: dict[str, Any] | None = None) -> Anchor | None:
        """One anchor, or nothing when the artist is invisible, empty or off the canvas."""
        if artist is not None:
            self.seen.add(id(artist))  # considered: the coarse sweep leaves it alone
        try:
            if artist is not None and not artist.get_visible():
                return None
            if box is None:
                box = self._box(artist, pad)
            if box is None or box is _EMPTY:
                return None
            if artist is not None and not container and artist.get_clip_on():
                box = self._clipped(box, artist.get_clip_box())
                if box is None:
                    return None
            created = getattr(artist, "_verm_created", None)
            modified = getattr(artist, "_verm_modified", None)
            if line is None:
                line = created if container else _line_of(artist)
            if line is None:
                line = fallback
            p: dict[str, Any] = {"created_line": created, "modified_line": modified}
            if isinstance(artist, Text):
                p["fontsize"] = float(artist.get_fontsize())
                p["fontweight"] = str(artist.get_fontweight())
            elif hasattr(artist, "get_linewidth") and not container:
                lw = artist.get_linewidth()
                lw = np.asarray(lw, dtype=float).ravel()
                if lw.size:
                    p["linewidth"] = float(lw[0])
            if role in _MARK_ROLES and line is not None:
                styled = {k: v for k, v in self.keyword_lines(line).items()
                          if k in _STYLE_KEYWORDS and v != line}
                if styled:  # a style keyword on a later line of its call: a fix edits there
                    p["style_lines"] = styled
            if role in _MARK_ROLES and color is not None:
                faint = _drawn(color, artist)
                if faint != _hex(color):  # translucent: what the picture shows on its ground
                    p["faint"] = faint
            if props:
                p.update(props)
            anchor = Anchor(box=box, role=role, key=key, name=name, range=self._range(line),
                            text=text, color=_hex(color) if color is not None else None,
                            container=container, props=p)
        except Exception:
            self.skipped += 1  # one odd artist must not cost the whole render
            return None
        self.out.append(anchor)
        self.owners.append(id(artist))
        return anchor

    def guarded(self, walk: Callable[[], None], owner: Any, key: str, sfx: str,
                fb: int | None) -> None:
        """Run one step of the walk; when it fails on an artist type it does not know (a 3D
        patch, a third-party artist), drop what it added and anchor ``owner``'s children
        coarsely instead: every figure matplotlib can draw must render, even if verm can only
        say roughly where each part is."""
        mark = len(self.out)
        try:
            walk()
        except Exception:
            self.skipped += 1
            del self.out[mark:], self.owners[mark:]
            self.seen = set(self.owners)
            self.coarse(owner, key, sfx, fb)

    def coarse(self, owner: Any, key: str, sfx: str, fb: int | None) -> None:
        """Anchor by its extent each visible child of ``owner`` the walk did not anchor:
        tables, ``add_artist`` artists, annotation boxes, figure-level artists, 3D extras."""
        try:
            children = list(owner.get_children())
        except Exception:
            self.skipped += 1
            return
        skip = {id(owner), id(getattr(owner, "patch", None)), *self.seen}
        skip.update(id(s) for s in getattr(owner, "spines", {}).values())
        skip.update(id(a) for a in getattr(owner, "_axis_map", {}).values())
        kinds: dict[str, int] = {}
        for child in children:
            if id(child) in skip or isinstance(child, (Axis, Legend, Figure, _AxesBase,
                                                       SubFigure)):
                continue  # axes (insets, twins, secondary axes) are walked on their own
            try:
                self._coarse_one(child, key, sfx, fb, kinds)
            except Exception:
                self.skipped += 1

    def _coarse_one(self, child: Any, key: str, sfx: str, fb: int | None,
                    kinds: dict[str, int]) -> None:
        role, what = _coarse_role(child)
        text = child.get_text() if isinstance(child, Text) else None
        if text is not None and not text.strip():
            return
        j = kinds.get(role, 0)
        kinds[role] = j + 1
        label = _public_label(child)
        name = f"{what} '{_short(label)}'" if label else f"{what} {j + 1}"
        color = child.get_color() if isinstance(child, Text) else _mark_color(child)
        lw = child.get_linewidth() if hasattr(child, "get_linewidth") else None
        pad = self.px_per_pt * 0.5 * max(1.0, float(lw)) if isinstance(lw, (int, float)) else 0
        box = None
        if isinstance(child, FigureImage):  # its window extent is empty: pixels from its extent
            x0, x1, y0, y1 = child.get_extent()
            box = self._image_box(x0, y0, x1, y1) or _EMPTY
        elif type(child).get_window_extent is Artist.get_window_extent:  # e.g. axisartist
            tight = child.get_tightbbox(self.renderer)
            box = (self._display_box(tight, pad) if tight is not None else None) or _EMPTY
        self.add(child, role, f"{key}/{role}{j}", name + sfx, fallback=fb, text=text,
                 color=color, container=role == "table", pad=pad, box=box)
        if role == "table":
            self.table_cells(child, f"{key}/table{j}", sfx, fb)

    def table_cells(self, table: Any, key: str, sfx: str, fb: int | None) -> None:
        """The texts of a ``Table``'s cells, each blamed on the line that made the table."""
        line = _line_of(table)
        for (row, col), cell in sorted(table.get_celld().items()):
            t = cell.get_text()
            self.text(t, "text", f"{key}/r{row}c{col}", f"table cell '{_short(t.get_text())}'"
                      + sfx, fb, line=line if line is not None else _line_of(cell),
                      props={"row": int(row), "column": int(col)})

    def text(self, artist: Text | None, role: str, key: str, name: str,
             fallback: int | None, line: int | None = None,
             props: dict[str, Any] | None = None) -> None:
        if artist is None:
            return
        content = artist.get_text()
        if not content or not content.strip():
            return
        self.add(artist, role, key, name, fallback=fallback, text=content,
                 color=artist.get_color(), line=line, props=props)

    def arg_lines(self, line: int | None) -> list[int | None]:
        """Where each positional argument of the call on ``line`` got its value: the line of
        the last assignment to a name passed (a data list defined above `ax.bar`), None for
        a literal written in the call itself."""
        if line is None:
            return []
        if self._arg_lines is None:
            self._arg_lines = _call_arg_lines(self.source_text)
        return self._arg_lines.get(line, [])

    def keyword_line(self, line: int | None, names: tuple[str, ...]) -> int | None:
        """The line of the first of ``names`` passed by keyword to the call on ``line``, when
        the call runs over several lines (`loc=` on the legend call's second line)."""
        if line is None:
            return None
        found = self.keyword_lines(line)
        return next((found[n] for n in names if n in found), None)

    def keyword_lines(self, line: int) -> dict[str, int]:
        """The line of each keyword the call on ``line`` passes, when it runs over several."""
        if self._keyword_lines is None:
            self._keyword_lines = _call_keyword_lines(self.source_text)
        return self._keyword_lines.get(line, {})

    # -- the walk

    def collect(self) -> list[Anchor]:
        fig = self.fig
        size_line = self.keyword_line(self.fig_line, ("figsize",))
        self.add(fig, "figure", "figure", "figure", fallback=None, color=fig.get_facecolor(),
                 container=True, line=self.fig_line, box=(0.0, 0.0, float(self.width),
                                                          float(self.height)),
                 props={"size_line": size_line} if size_line is not None else None)
        for attr, role, key, name in (("_suptitle", "suptitle", "suptitle", "figure title"),
                                      ("_supxlabel", "xlabel", "supxlabel", "figure x label"),
                                      ("_supylabel", "ylabel", "supylabel", "figure y label")):
            self.text(getattr(fig, attr, None), role, key, name, self.fig_line)
        sup = {id(getattr(fig, a, None)) for a in ("_suptitle", "_supxlabel", "_supylabel")}
        for j, t in enumerate(fig.texts):
            if id(t) not in sup:  # suptitle & co. live in fig.texts too
                self.text(t, "text", f"fig/text{j}", f"text '{_short(t.get_text())}'",
                          self.fig_line)
        for k, leg in enumerate(fig.legends):
            self.legend(leg, f"legend{k}", "figure legend", "", self.fig_line)

        plots = [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]
        bars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
        many = len(plots) > 1
        for i, ax in enumerate(plots):
            title = ax.title.get_text().strip()
            if not many:
                ax_name, suffix = "plot area", ""
            else:
                ax_name = f"subplot '{_short(title)}'" if title else f"subplot {i + 1}"
                suffix = f" ({ax_name})"
            self.axes(ax, f"ax{i}", ax_name, suffix)
        for k, cax in enumerate(bars):
            name = "colorbar" if len(bars) == 1 else f"colorbar {k + 1}"
            self.guarded(lambda c=cax, k=k, n=name: self.colorbar(c, f"cb{k}", n),
                         cax, f"cb{k}", f" ({name})", self.fig_line)
        self.coarse(fig, "fig", "", self.fig_line)
        return self.out

    def axes(self, ax: Any, key: str, ax_name: str, sfx: str) -> None:
        ax_line = _line_of_container(ax)
        fb = ax_line if ax_line is not None else self.fig_line
        limit_lines = _limit_lines(ax)
        props = _axes_props(ax, limit_lines)
        if isinstance(last := props.get("last_line"), int):
            props["next_line"] = self._next_code_line(last)
        self.add(ax, "axes", key, ax_name, fallback=self.fig_line, color=ax.get_facecolor(),
                 container=True, line=ax_line, props=props)
        self.guarded(lambda: self.axes_parts(ax, key, sfx, fb), ax, key, sfx, fb)
        self.coarse(ax, key, sfx, fb)
        for j, inset in enumerate(getattr(ax, "child_axes", ())):
            what = "secondary axis" if type(inset).__name__ == "SecondaryAxis" else "inset"
            name = f"{what} {j + 1}{sfx}"
            self.axes(inset, f"{key}/inset{j}", name, f" ({name})")

    def _next_code_line(self, last: int) -> int:
        """The line after ``last`` where the script goes on (a blank or comment line between
        skipped, one at most): where a guide's deleted call went, the plot's last call and
        everything up to it are what a diagnostic of the missing guide covers."""
        for line in (last + 1, last + 2):
            text = self.lines[line].strip() if line < len(self.lines) else ""
            if text and not text.startswith("#"):
                return line
        return last + 1

    def axes_parts(self, ax: Any, key: str, sfx: str, fb: int | None) -> None:
        """Titles, axes' labels, ticks, grid, spines, marks and legend of one axes."""
        for attr, k in (("title", "title"), ("_left_title", "title-left"),
                        ("_right_title", "title-right")):
            self.text(getattr(ax, attr, None), "title", f"{key}/{k}", "title" + sfx, fb)
        # `ax.axis("off")` hides labels, ticks, grid and spines; 3D axes draw their own axes
        axis_on = getattr(ax, "_axis3don", ax.axison)
        if axis_on:
            for axis, xy in ((ax.xaxis, "x"), (ax.yaxis, "y")):
                if axis.get_visible():
                    self.text(axis.label, f"{xy}label", f"{key}/{xy}label",
                              f"{xy}-axis label{sfx}", fb)
                    self.ticks(axis, xy, key, sfx, fb)
                    self.grid(axis, xy, key, sfx, fb)
            zaxis = getattr(ax, "zaxis", None)  # 3D: texts, as the critics know no z roles
            if zaxis is not None and zaxis.get_visible():
                self.text(zaxis.label, "text", f"{key}/zlabel", f"z-axis label{sfx}", fb)
                self.ticks(zaxis, "z", key, sfx, fb, role="text")
        pad = max(0.5, self.px_per_pt * 0.5)
        frame_on = ax.get_frame_on() if callable(ax.get_frame_on) else True  # 3D: None
        for side, spine in ax.spines.items():
            if not (axis_on and frame_on and spine.get_visible()):
                continue
            # Spine.get_window_extent recomputes the ticks (~0.5 ms each): use the path's box.
            lw = spine.get_linewidth()
            bbox = spine.get_path().get_extents(spine.get_transform())
            self.add(spine, "spine", f"{key}/spine-{side}", f"{side} spine{sfx}", fallback=fb,
                     color=spine.get_edgecolor(), box=self._display_box(bbox, pad * max(1.0, lw)))
        self.marks(ax, key, sfx, fb)
        leg = ax.get_legend()
        if leg is not None:
            self.legend(leg, f"{key}/legend", "legend", sfx, fb)

    def ticks(self, axis: Axis, xy: str, key: str, sfx: str, fb: int | None,
              who: str = "", role: str | None = None) -> None:
        drawn = _drawn_ticks(axis)
        # A tick text follows the limits, scale or ticks the script set, where it set them.
        categorical = isinstance(axis.get_major_formatter(), StrCategoryFormatter)
        lines = (getattr(axis.axes, "_verm_limit_lines", {}) if categorical
                 else _limit_lines(axis.axes))
        set_line = lines.get(xy) if not who else None
        mark_line = None
        if set_line is None and categorical:
            set_line = mark_line = _first_mark_line(axis.axes)  # categories come with the data …
            args = self.arg_lines(set_line)
            if args and args[0] is not None:
                set_line = args[0]  # … from the list of names passed first
        limit_fb = set_line if set_line is not None else fb
        # Ticks made while drawing copy their looks from the first major tick: a line that
        # styled that one (`plt.xticks(rotation=45)`) styled them all. A first tick made by
        # the plotting call or with the axes says nothing: its names come from the list.
        template = axis.majorTicks[0] if axis.majorTicks else None
        tfb = {lab: _line_of(getattr(template, lab, None)) for lab in ("label1", "label2")}
        if mark_line is not None:
            tfb = {lab: (None if line in (mark_line, fb) else line) for lab, line in tfb.items()}
        j = 0
        for tick in sorted(drawn, key=lambda t: t.get_loc()):
            for attr, extra in (("label1", ""), ("label2", "/2")):
                label = getattr(tick, attr)
                if not label.get_visible() or not label.get_text().strip():
                    continue
                t = label.get_text()
                name = f"{who or xy} tick '{_short(t)}'" + sfx
                own = tfb[attr] if tfb[attr] is not None else limit_fb
                forced = None
                if mark_line is not None and _line_of(label) in (None, mark_line, fb):
                    forced = own  # a category's name: made with the axes, named by the list
                self.text(label, role or f"{xy}ticklabel", f"{key}/{xy}tick{j}{extra}", name, own,
                          line=forced, props={"loc": float(tick.get_loc())})
            j += 1

    def grid(self, axis: Axis, xy: str, key: str, sfx: str, fb: int | None) -> None:
        pad = self.px_per_pt * 0.5
        boxes, line, color, lw = [], None, None, 0.0
        for tick in _drawn_ticks(axis):
            gl = tick.gridline
            if not gl.get_visible():
                continue
            box = self._box(gl, pad=pad * max(1.0, gl.get_linewidth()))
            if box is None:
                continue
            boxes.append(box)
            if line is None:
                line = _line_of(gl)
            color, lw = color or gl.get_color(), gl.get_linewidth()
        if not boxes:
            return
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                 max(b[2] for b in boxes), max(b[3] for b in boxes))
        if line is None:
            line = _limit_lines(axis.axes).get("grid")
        self.add(None, "grid", f"{key}/{xy}grid", f"{xy} grid{sfx}", fallback=fb, color=color,
                 line=line, box=union,
                 props={"linewidth": float(lw), "count": len(boxes)})

    def marks(self, ax: Any, key: str, sfx: str, fb: int | None) -> None:
        containers = [c for c in ax.containers if isinstance(c, BarContainer)]
        series: dict[int, tuple[BarContainer, str | None]] = {}
        for c in containers:
            label = _public_label(c)
            for patch in c.patches:
                series[id(patch)] = (c, label)
        named = len(containers) > 1
        tick_names = {"x": _tick_names(ax.xaxis), "y": _tick_names(ax.yaxis)}
        boxes = self._bar_boxes(ax, [p for p in ax.patches if id(p) in series])
        nb = np_ = nw = 0
        for patch in ax.patches:
            hit = series.get(id(patch))
            if hit is not None and not isinstance(patch, Rectangle):  # 3D: a Patch3D
                cont, label = hit
                name = f"bar {nb + 1}" + (f" ({_short(label)})" if named and label else "")
                self.add(patch, "bar", f"{key}/bar{nb}", name + sfx, fallback=fb,
                         color=patch.get_facecolor(), line=_line_of(patch),
                         props={"series": label})
                nb += 1
            elif hit is not None:
                cont, label = hit
                vertical = cont.orientation != "horizontal"
                if vertical:
                    centre = patch.get_x() + patch.get_width() / 2
                    value = patch.get_height()
                else:
                    centre = patch.get_y() + patch.get_height() / 2
                    value = patch.get_width()
                cat = _nearest(tick_names["x" if vertical else "y"], centre)
                name = f"bar '{_short(cat)}'" if cat else f"bar {nb + 1}"
                if named and label:
                    name += f" ({_short(label)})"
                line = _line_of(patch)
                self.add(patch, "bar", f"{key}/bar{nb}", name + sfx, fallback=fb,
                         color=patch.get_facecolor(), box=boxes.get(id(patch)),
                         line=line if line is not None else _line_of(cont.patches[0]),
                         props={"value": float(value), "category": cat, "series": label,
                                **({} if vertical else {"horizontal": True}),
                                "arg_lines": self.arg_lines(
                                    line if line is not None else _line_of(cont.patches[0]))})
                nb += 1
            elif isinstance(patch, Wedge):
                label = _public_label(patch)
                name = f"wedge '{_short(label)}'" if label else f"wedge {nw + 1}"
                self.add(patch, "wedge", f"{key}/wedge{nw}", name + sfx, fallback=fb,
                         color=patch.get_facecolor(),
                         props={"label": label, "value": round(
                             float(patch.theta2 - patch.theta1), 4),
                             "arg_lines": self.arg_lines(_line_of(patch))})
                nw += 1
            else:
                label = _public_label(patch)
                name = f"shape '{_short(label)}'" if label else f"shape {np_ + 1}"
                self.add(patch, "patch", f"{key}/patch{np_}", name + sfx, fallback=fb,
                         color=patch.get_facecolor())
                np_ += 1
        line_pad = self.px_per_pt * 0.5
        for j, ln in enumerate(ax.lines):
            if not len(ln.get_xydata()):
                self.seen.add(id(ln))
                continue  # e.g. a boxplot's empty fliers
            label = _public_label(ln)
            name = f"line '{_short(label)}'" if label else f"line {j + 1}"
            self.add(ln, "line", f"{key}/line{j}", name + sfx, fallback=fb, color=_line_color(ln),
                     pad=line_pad * max(1.0, ln.get_linewidth()),
                     props={"label": label, **_data_props(ln.get_xydata()),
                            **_line_style(ln), **self._marks(ln),
                            "arg_lines": self.arg_lines(_line_of(ln))})
        for j, coll in enumerate(ax.collections):
            label = _public_label(coll)
            kind = "scatter" if type(coll).__name__ == "PathCollection" else "collection"
            name = f"{kind} '{_short(label)}'" if label else f"{kind} {j + 1}"
            face = coll.get_facecolor()
            color = face if len(face) else coll.get_edgecolor()
            self.add(coll, "collection", f"{key}/collection{j}", name + sfx, fallback=fb,
                     color=color, box=self._measured_collection(coll, ax),
                     props={"label": label, **_collection_data(coll),
                            "arg_lines": self.arg_lines(_line_of(coll))})
        for j, t in enumerate(ax.texts):
            self.text(t, "text", f"{key}/text{j}", f"text '{_short(t.get_text())}'" + sfx, fb,
                      props={"at_data": True} if _at_data(t, ax) else None)
        for j, im in enumerate(ax.images):
            self.add(im, "image", f"{key}/image{j}", f"image {j + 1}" + sfx, fallback=fb)

    def _bar_boxes(self, ax: Any, bars: list[Any]) -> dict[int, Any]:
        """All unrotated data-space bars in one transform (a histogram has hundreds)."""
        simple = [p for p in bars if isinstance(p, Rectangle)
                  and p.get_data_transform() is ax.transData and not getattr(p, "angle", 0)]
        if not simple:
            return {}
        corners = np.array([(p.get_x(), p.get_y(), p.get_x() + p.get_width(),
                             p.get_y() + p.get_height()) for p in simple], dtype=float)
        lo = ax.transData.transform(corners[:, :2])
        hi = ax.transData.transform(corners[:, 2:])
        out: dict[int, Any] = {}
        for p, (x0, y0), (x1, y1) in zip(simple, lo.tolist(), hi.tolist(), strict=True):
            out[id(p)] = self._image_box(x0, y0, x1, y1) or _EMPTY
        return out

    def _measured_collection(self, coll: Any, ax: Any) -> Any:
        """``_collection_box``, else the window extent, else where the paths were drawn
        (hexbin, quiver: their data limits say nothing or the wrong thing), else — coarsely —
        the clip box the collection is drawn in. None: measure it the usual way."""
        try:
            box = self._collection_box(coll, ax)
            if box is None:
                box = self._box(coll)
        except Exception:
            box = None
        if box is not None and box is not _EMPTY:
            return box
        try:
            drawn = self._drawn_box(coll)
        except Exception:
            drawn = None
        if drawn is not None or box is _EMPTY:
            return drawn or _EMPTY
        clip = coll.get_clip_box() if coll.get_clip_on() else None
        return (self._display_box(clip) or _EMPTY) if clip is not None else None

    def _drawn_box(self, coll: Any, limit: int = 2000) -> Any:
        """A collection's box as Agg draws it: each path through its own and the collection's
        transform, shifted by its offset in display space; clipped like the collection. None
        when it has nothing to measure. At most ``limit`` paths are measured."""
        paths = coll.get_paths()
        if not len(paths):
            return None
        master = coll.get_transform()
        per = coll.get_transforms()
        lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
        for i in range(min(max(len(paths), len(per)), limit)):
            verts = np.asarray(paths[i % len(paths)].vertices, dtype=float)
            if not len(verts):
                continue
            if len(per):
                verts = verts @ per[i % len(per)][:2, :2].T + per[i % len(per)][:2, 2]
            verts = master.transform(verts)
            lo, hi = np.fmin(lo, np.nanmin(verts, axis=0)), np.fmax(hi, np.nanmax(verts, axis=0))
        offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        if len(offsets):
            shifted = coll.get_offset_transform().transform(offsets)
            lo, hi = lo + np.nanmin(shifted, axis=0), hi + np.nanmax(shifted, axis=0)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            return None
        bbox = Bbox([lo, hi])
        clip = coll.get_clip_box() if coll.get_clip_on() else None
        if clip is not None:
            bbox = Bbox.intersection(bbox, clip)
            if bbox is None:
                return _EMPTY
        return self._display_box(bbox, pad=0.5) or _EMPTY

    def _collection_box(self, coll: Any, ax: Any) -> Any:
        """Collections' own window extent is their clip box: use the data limits in display
        space, padded by the marker radius, clipped to the axes when the collection is. None
        (measure the usual way) when the data limits say nothing (axes-space collections)."""
        limits = coll.get_datalim(ax.transData)
        if not np.all(np.isfinite(limits.get_points())):
            return None
        bbox = Bbox(ax.transData.transform(limits.get_points()))
        sizes = coll.get_sizes() if hasattr(coll, "get_sizes") else None
        if sizes is not None and len(sizes) and coll.get_offsets() is not None:
            radius = math.sqrt(float(np.max(sizes))) / 2 * self.px_per_pt
            bbox = bbox.padded(radius)
        clip = coll.get_clip_box() if coll.get_clip_on() else None
        if clip is not None:
            bbox = Bbox.intersection(bbox, clip)
            if bbox is None:
                return _EMPTY  # entirely outside the axes
        return self._display_box(bbox, pad=0.5) or _EMPTY

    def legend(self, leg: Legend, key: str, name: str, sfx: str, fb: int | None) -> None:
        leg_line = getattr(leg, "_verm_created", None)
        if leg_line is None:
            leg_line = fb
        place = self.keyword_line(leg_line, ("loc", "bbox_to_anchor"))
        self.add(leg, "legend", key, name + sfx, fallback=fb, container=True, line=leg_line,
                 color=leg.get_frame().get_facecolor(),
                 props={"place_line": place} if place is not None else None)
        handles = getattr(leg, "_verm_handles", [])
        texts = leg.get_texts()
        drawn_handles = getattr(leg, "legend_handles", None) or []
        for j, t in enumerate(texts):
            content = t.get_text()
            line = leg_line
            props = {}
            if j < len(drawn_handles) and drawn_handles[j] is not None:
                props["handle_color"] = _mark_color(drawn_handles[j])
            if len(handles) == len(texts):
                h = handles[j]
                owner = h[0] if isinstance(h, Container) and len(h) else h
                label = h.get_label() if hasattr(h, "get_label") else None
                hl = _label_line(owner) if isinstance(owner, Artist) else None
                if label == content and hl is not None:
                    line = hl  # the label came from the series' own `label=`
            self.text(t, "legend-text", f"{key}/text{j}",
                      f"legend entry '{_short(content)}'" + sfx, fb, line=line, props=props)

    def colorbar(self, cax: Any, key: str, name: str) -> None:
        line = _line_of_container(cax)
        fb = line if line is not None else self.fig_line
        self.add(cax, "colorbar", key, name, fallback=self.fig_line, container=True, line=line)
        self.text(cax.xaxis.label, "xlabel", f"{key}/xlabel", f"{name} label", fb)
        self.text(cax.yaxis.label, "ylabel", f"{key}/ylabel", f"{name} label", fb)
        self.ticks(cax.xaxis, "x", key, "", fb, who=name)
        self.ticks(cax.yaxis, "y", key, "", fb, who=name)


def _coarse_role(artist: Any) -> tuple[str, str]:
    """Role and word for an artist the walk anchors only by its extent."""
    for kind, role, what in ((Table, "table", "table"), (Text, "text", "text"),
                             (Line2D, "line", "line"), (Collection, "collection", "collection"),
                             (Patch, "patch", "shape"), (AxesImage, "image", "image"),
                             (FigureImage, "image", "image")):
        if isinstance(artist, kind):
            return role, what
    return "artist", type(artist).__name__


def _call_arg_lines(text: str) -> dict[int, list[int | None]]:
    """For each line with a call, where its positional arguments got their values (0-based
    lines): a name's last assignment at or above the call, None for anything else."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    assigned: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and _literal_data(
                node.value):
            targets = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            for name in ast.walk(t):
                if isinstance(name, ast.Name):
                    assigned.setdefault(name.id, []).append(node.lineno - 1)
    out: dict[int, list[int | None]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        line = node.lineno - 1
        lines: list[int | None] = []
        for arg in node.args:
            if isinstance(arg, ast.Name) and arg.id in assigned:
                before = [n for n in assigned[arg.id] if n <= line]
                lines.append(max(before) if before else None)
            else:
                lines.append(None)
        if line not in out or len(lines) > len(out[line]):
            out[line] = lines
    return out


def _call_keyword_lines(text: str) -> dict[int, dict[str, int]]:
    """For each call written over several lines, the line of each keyword argument it
    passes (0-based lines, keyed by the call's first line)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    out: dict[int, dict[str, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.end_lineno not in (None, node.lineno):
            found = {kw.arg: kw.lineno - 1 for kw in node.keywords if kw.arg is not None}
            if found:
                out.setdefault(node.lineno - 1, {}).update(found)
    return out


def _literal_data(value: ast.expr | None) -> bool:
    """Data written out in the script (a list or tuple of literals, perhaps inside
    `np.array(...)`): a change to it is an edit of that line. Data computed or read from a
    file is not, and stays blamed on the plotting call."""
    if value is None:
        return False
    for node in ast.walk(value):
        if isinstance(node, (ast.List, ast.Tuple)) and sum(
                isinstance(e, ast.Constant) or (isinstance(e, ast.UnaryOp)
                                                and isinstance(e.operand, ast.Constant))
                for e in node.elts) >= 2:
            return True
    return False


def _first_mark_line(ax: Any) -> int | None:
    """The line of the plot's first data call (a categorical axis's names come from it)."""
    for group in (ax.patches, ax.lines, ax.collections):
        for artist in group:
            line = _line_of(artist)
            if line is not None:
                return line
    return None


def _last_line(ax: Any) -> int | None:
    """The last line of the script that drew on or configured this plot (any of its artists,
    its limits): a guide the reference has and the script no longer draws (a grid, a legend
    whose call was deleted) is reported there, where its call would go back."""
    lines = [v for v in getattr(ax, "_verm_limit_lines", {}).values() if isinstance(v, int)]
    todo, seen = [ax], 0
    while todo and seen < 5000:
        artist = todo.pop()
        seen += 1
        for name in ("_verm_created", "_verm_modified"):
            if isinstance(line := getattr(artist, name, None), int):
                lines.append(line)
        try:
            todo.extend(c for c in artist.get_children() if getattr(c, "axes", ax) is ax)
        except Exception:  # an artist that cannot list its children still counts itself
            continue
    return max(lines) if lines else None


def _unshown_handles(ax: Any) -> list[list[str | None]]:
    """``[label, colour]`` of each entry a legend would show, when neither the plot nor its
    figure draws one: a reference legend the render lacks is then one the script no longer
    calls for, told from a framed note by its handles' colours."""
    if ax.get_legend() is not None or ax.figure.legends:
        return []
    try:
        handles, labels = ax.get_legend_handles_labels()
    except Exception:  # an exotic axes whose handles cannot be listed
        return []
    return [[_short(str(label)), _handle_color(h)]
            for h, label in list(zip(handles, labels, strict=True))[:20]]


def _handle_color(handle: Any) -> str | None:
    """The colour a legend draws a handle in; a container's (bars, error bars) is its first
    part's."""
    while isinstance(handle, (list, tuple)):
        handle = next((p for p in handle
                       if p is not None and not (isinstance(p, (list, tuple)) and not p)), None)
    return _mark_color(handle) if handle is not None else None


def _axes_props(ax: Any, limit_lines: dict[str, int]) -> dict[str, Any]:
    """What the plot's axes show (limits, scales) and where the script set them: a sidecar
    comparison tells a rescaled axis from changed data with these."""
    try:
        return {"xlim": [round(float(v), 6) for v in ax.get_xlim()],
                "ylim": [round(float(v), 6) for v in ax.get_ylim()],
                "xscale": str(ax.get_xscale()), "yscale": str(ax.get_yscale()),
                "limit_lines": dict(limit_lines),
                "set_lines": dict(getattr(ax, "_verm_limit_lines", {})),
                "last_line": _last_line(ax), "unshown_handles": _unshown_handles(ax)}
    except Exception:  # an exotic axes (polar, 3D) still anchors
        return {"limit_lines": dict(limit_lines)}


def _data_props(data: Any) -> dict[str, Any]:
    """A digest of a series' data and its x / y span: equal digests mean equal data, so a
    series that only moved with its axis is not reported as changed."""
    try:
        arr = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        return {}
    if arr.size == 0:
        return {}
    digest = hashlib.blake2b(np.round(arr, 9).tobytes(), digest_size=8).hexdigest()
    out: dict[str, Any] = {"data": f"{arr.shape}:{digest}"}
    if arr.ndim == 2 and arr.shape[1] == 2:
        finite = arr[np.isfinite(arr).all(axis=1)]
        if len(finite):
            out["xrange"] = [round(float(finite[:, 0].min()), 6),
                             round(float(finite[:, 0].max()), 6)]
            out["yrange"] = [round(float(finite[:, 1].min()), 6),
                             round(float(finite[:, 1].max()), 6)]
    return out


def _collection_data(coll: Any) -> dict[str, Any]:
    try:
        offsets = coll.get_offsets()
        if offsets is not None and len(offsets) > 1:
            return _data_props(offsets)
        paths = coll.get_paths()
        if paths:
            return _data_props(np.concatenate([p.vertices for p in paths[:2000]]))
    except Exception:
        return {}
    return {}


_UNSET = frozenset({"None", "none", " ", ""})  # matplotlib's spellings of no marker, no line style


def _line_color(ln: Any) -> Any:
    """The colour a line's ink has: its own, or — drawn with markers only (no line width, no
    line style) — its markers' face, else their edge (purple outlines on a line whose colour,
    never drawn, is the cycle's blue)."""
    marker = ln.get_marker()
    if ((ln.get_linewidth() > 0 and ln.get_linestyle() not in _UNSET)
            or marker is None or marker in _UNSET):
        return ln.get_color()
    face = ln.get_markerfacecolor()
    if not (isinstance(face, str) and face.lower() == "none") and to_rgba(face)[3] > 0:
        return face
    return ln.get_markeredgecolor()


def _mark_color(artist: Any) -> str | None:
    """The colour a legend handle shows: line colour, else face, else edge."""
    try:
        if hasattr(artist, "get_color") and not hasattr(artist, "get_facecolor"):
            return _hex(_line_color(artist) if isinstance(artist, Line2D) else artist.get_color())
        face = artist.get_facecolor()
        if len(np.atleast_2d(face)) and np.atleast_2d(face)[0][3] > 0:
            return _hex(face)
        return _hex(artist.get_edgecolor())
    except Exception:
        return None


def _line_of_container(artist: Any) -> int | None:
    """Containers (figure, axes, legend) blame where they were made, not their last change."""
    line = getattr(artist, "_verm_created", None)
    return line if line is not None else getattr(artist, "_verm_modified", None)


def _drawn_ticks(axis: Axis) -> list[Any]:
    drawn = getattr(axis, "_verm_drawn", None)
    if drawn is not None:
        return list(drawn)
    lo, hi = sorted(axis.get_view_interval())
    return [t for t in axis.get_major_ticks() if lo <= t.get_loc() <= hi]


def _tick_names(axis: Axis) -> list[tuple[float, str]] | None:
    """Tick positions and labels of a categorical (or hand-labelled) axis, else None."""
    if not isinstance(axis.get_major_formatter(), (StrCategoryFormatter, FixedFormatter)):
        return None
    names = [(float(t.get_loc()), t.label1.get_text()) for t in _drawn_ticks(axis)
             if t.label1.get_text().strip()]
    return sorted(names) or None


def _nearest(names: list[tuple[float, str]] | None, centre: float) -> str | None:
    if not names:
        return None
    locs = [loc for loc, _ in names]
    gaps = [b - a for a, b in itertools.pairwise(locs) if b > a]
    tol = min(gaps) / 2 if gaps else 0.5
    loc, label = min(names, key=lambda n: abs(n[0] - centre))
    return label if abs(loc - centre) <= tol + 1e-9 else None


__all__ = ["run", "warm"]
