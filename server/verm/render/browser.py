"""One warm, locked-down Chromium shared by the HTML and Markdown renderers.

The browser is driven by Playwright's async API from an event loop on one dedicated thread:
any thread (the CLI's jobs, a language server's workers) submits a job and waits on a future.
Several jobs may be in flight on one Chromium, each on a warm page in a browser context of its
own (its own renderer process: reusing a page costs ~30 ms, a new one ~200 ms) with its own
deadline and memory cap. A page still busy at its deadline (a script in an endless loop) is
crashed and replaced while the others go on; a watchdog thread stops a page process over its
cap, and kills the whole browser should a job outlive its deadline anyway (the event loop
itself stuck), so one bad page never wedges the queue.

Pages load from a fake origin (``http://verm.invalid``) whose paths mirror the file system:
requests for files under the source's folder are fulfilled from disk, every other request is
aborted (navigations get a 204, so the page stays put), and Chromium's proxy flags stop what
request interception cannot see (WebSocket, ``sendBeacon``), loopback included. WebRTC may
only use proxied UDP, i.e. none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import io
import json
import logging
import mimetypes
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote, urlsplit

from PIL import Image

from verm.render.processes import descendants, owner_tag, remove_stale
from verm.safeio import DEFAULT_LIMITS, read_bounded

log = logging.getLogger(__name__)

T = TypeVar("T")

ORIGIN = "http://verm.invalid"
ENV_VAR = "VERM_CHROMIUM"
ASSET_BYTES = DEFAULT_LIMITS.reference_bytes  # default most of one file a page loads (64 MB)
# The headless shell first: the same Blink and Skia (the same pixels), without the desktop
# browser around them — its browser process spends about half the CPU per page (a folder of
# pages checked with --jobs 2 scales on two cores only with it). Debian: chromium-headless-shell.
_NAMES = ("chromium-headless-shell", "chrome-headless-shell", "chromium", "chromium-browser",
          "google-chrome", "google-chrome-stable", "chrome")
_KNOWN_PATHS = ("/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium",
                "/usr/bin/chromium-browser", "/snap/bin/chromium", "/usr/bin/google-chrome")

# Chromium flags (see NOTES.md): quiet, no GPU, and no way off the machine. The proxy points at
# the discard port and `<-loopback>` removes the implicit loopback bypass, so WebSocket and
# sendBeacon (which request interception misses) fail for every host, 127.0.0.1 included. WebRTC's
# UDP (STUN) is refused by the IP handling policy: Chromium reads --webrtc-ip-handling-policy, the
# headless shell only the content layer's --force-webrtc-ip-handling-policy, so both are given.
# Chromium keeps only the last --disable-features, and Playwright passes its own list first: ours
# repeats Playwright's (1.65's chromiumSwitches: no calls home, no paint holding, ...) and adds
# RenderDocument, a new frame host for every navigation — a quarter of each page's CPU here.
_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch", "RenderDocument",
)
_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=" + ",".join(_DISABLED_FEATURES),
)

# Runs before any page script in every document: a fresh origin state for every render.
# Cookies are expired at every path prefix of the document (a visible cookie's path is one).
# No SharedWorker: its requests bypass request routing (only the proxy would stop them); service
# workers are blocked by the context.
_INIT_SCRIPT = """
try {
  Object.defineProperty(self, 'SharedWorker',
                        {value: undefined, writable: false, configurable: false});
} catch (e) {}
if (window === window.top) {
  try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}
  try {
    const names = document.cookie.split(';').map(c => c.split('=')[0].trim()).filter(Boolean);
    if (names.length) {
      const parts = location.pathname.split('/');
      const paths = parts.map((_, i) => parts.slice(0, i + 1).join('/') || '/');
      const gone = '=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=';
      for (const n of names) for (const p of paths) {
        document.cookie = n + gone + p;
        document.cookie = n + gone + p + '; domain=' + location.hostname;
      }
    }
  } catch (e) {}
}
"""

_EXTRA_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".svg": "image/svg+xml",
                ".webp": "image/webp", ".mjs": "text/javascript", ".json": "application/json"}


# Resolves after the load event's task (so the page's onload code has run). When the page starts
# a navigation we refuse, Chromium sets readyState 'complete' but never fires 'load'.
_AWAIT_LOAD = ("if (document.readyState !== 'complete') await new Promise(r => {"
               " const done = () => { if (document.readyState === 'complete') setTimeout(r, 0); };"
               " document.addEventListener('readystatechange', done);"
               " addEventListener('load', done); });")
_NAVIGATED = re.compile(r"context was destroyed|Cannot find (default )?execution context|"
                        r"navigated|Inspected target", re.I)


IDLE_ENV_VAR = "VERM_BROWSER_IDLE_S"
DEFAULT_IDLE_CLOSE_S = 120.0


SCALED_SLOTS = 2  # warm pages kept for references captured at another device scale


class BrowserError(Exception):
    """A render the browser could not finish; ``reason`` is a RenderFailure reason."""

    reason = "crash"


class BrowserTimeout(BrowserError):
    reason = "timeout"


class BrowserCrashed(BrowserError):
    reason = "crash"


class BrowserOutOfMemory(BrowserError):
    """The page's processes used more memory than the render's ``memory_mb``."""

    reason = "memory"


class ChromiumNotFound(BrowserError):
    """No Chromium where we looked: configuration the user has to fix."""

    reason = "config"


class ChromiumLaunchError(BrowserError):
    """The executable we found would not start as a Playwright-driven Chromium."""

    reason = "config"


def find_chromium(explicit: str | None = None) -> str:
    """Path of a Chromium executable: ``explicit``, else $VERM_CHROMIUM, else PATH and known spots.

    An explicit path or the environment variable that does not exist is an error, not a reason
    to fall back silently: the user asked for that browser.
    """
    for label, wanted in (("chromium_path", explicit), (ENV_VAR, os.environ.get(ENV_VAR))):
        if wanted:
            found = shutil.which(wanted) or (wanted if Path(wanted).is_file() else None)
            if found is None:
                raise ChromiumNotFound(
                    f"Chromium not found at '{wanted}' (from {label}); point {ENV_VAR} at a "
                    "Chromium executable, or install one with `apt-get install chromium`"
                )
            return found
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    for path in _KNOWN_PATHS:
        if Path(path).is_file():
            return path
    raise ChromiumNotFound(
        f"no Chromium found (looked at ${ENV_VAR}, PATH: {', '.join(_NAMES)}, and "
        f"{', '.join(_KNOWN_PATHS)}); install one with `apt-get install chromium` or set "
        f"{ENV_VAR} to its path"
    )


def launch_args() -> list[str]:
    """Chromium's command-line flags; ``--no-sandbox`` only when running as root."""
    args = list(_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")
    return args


def url_for(path: Path) -> str:
    """The fake-origin URL of a local file: the URL path is the absolute file path."""
    posix = Path(path).absolute().as_posix()
    if not posix.startswith("/"):
        posix = "/" + posix  # C:/x -> /C:/x
    return ORIGIN + quote(posix)


def path_of_url(url: str) -> Path | None:
    """The local file a fake-origin URL names; None for any other URL."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
        return None
    raw = unquote(parts.path)
    if len(raw) > 2 and raw[2] == ":":  # /C:/x on Windows
        raw = raw[1:]
    return Path(raw)


@dataclass(frozen=True)
class Site:
    """What one render may load: files under ``root``, plus in-memory ``documents`` by path."""

    root: Path
    documents: Mapping[Path, bytes] = field(default_factory=dict)
    max_asset_bytes: int = ASSET_BYTES  # the most of one file a page may load (user's cap)

    def resolve(self, url: str) -> tuple[int, bytes, str] | None:
        """(status, body, content type) for ``url``; None when the request must be blocked."""
        path = path_of_url(url)
        if path is None:
            return None
        doc = self.documents.get(path)
        if doc is not None:
            return 200, doc, "text/html; charset=utf-8"
        try:
            real = path.resolve()
            real.relative_to(Path(self.root).resolve())
        except (OSError, ValueError):
            return None
        if not real.is_file():
            return 404, b"", "text/plain"
        try:  # a regular file within the cap (never a FIFO, nor a sparse 3 GB "image")
            body = read_bounded(real, limit=self.max_asset_bytes, what="page asset")
        except OSError:
            return 404, b"", "text/plain"
        ctype = _EXTRA_TYPES.get(real.suffix.lower()) or mimetypes.guess_type(real.name)[0]
        return 200, body, ctype or "application/octet-stream"


class _Slot:
    """A warm page in its own browser context, with the state its route handler consults.

    Its own context means its own renderer process: pages in flight together share no
    memory, storage or crash."""

    def __init__(self, page: Any, viewport: tuple[int, int], scale: float = 1.0) -> None:
        # A device scale factor is fixed per page: switching one back leaves the page drawing
        # differently from a fresh one. Pages of another scale are slots of their own.
        self.scale = scale
        self.page = page
        self.viewport = viewport
        self.site: Site | None = None
        self.navigations = 0
        self.drawn = False  # a job has drawn on this page
        self.console: list[str] = []
        self.crashed = False
        self.crash = asyncio.Event()  # set when the page's process dies
        self.cdp: Any = None

    @classmethod
    async def open(cls, browser: Any, viewport: tuple[int, int], scale: float = 1.0) -> _Slot:
        page = await browser.new_page(
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=scale,
            service_workers="block",
            accept_downloads=False,
            locale="en-US",
            timezone_id="UTC",
            color_scheme="light",
            reduced_motion="reduce",
        )
        slot = cls(page, viewport, scale)
        context = page.context
        await context.add_init_script(_INIT_SCRIPT)
        await context.route("**/*", slot._on_route)
        context.on("page", slot._on_popup)
        page.on("crash", slot._on_crash)
        page.on("pageerror", lambda err: slot._note(f"uncaught {err}"))
        page.on("console", slot._on_console)
        slot.cdp = await context.new_cdp_session(page)
        return slot

    async def _on_route(self, route: Any) -> None:
        request = route.request
        try:
            answer = self._answer(request)
            if answer is None and request.is_navigation_request():
                # 204 No Content: the browser stays on the page instead of showing an error page
                log.debug("blocked navigation to %s", request.url)
                await route.fulfill(status=204, body=b"")
            elif answer is None:
                log.debug("blocked %s", request.url)
                await route.abort("blockedbyclient")
            else:
                status, body, ctype = answer
                await route.fulfill(status=status, body=body,
                                    headers={"content-type": ctype, "cache-control": "no-store"})
        except Exception as exc:  # the page went away mid-request
            log.debug("route for %s failed: %s", request.url, exc)

    def _answer(self, request: Any) -> tuple[int, bytes, str] | None:
        """What to serve, or None to block: local files only, and no leaving the page.

        The render is the source itself: after the job's own navigation the page may not
        navigate its main frame anywhere, not even to another local page (which would also
        race the measuring and the screenshot).
        """
        if request.is_navigation_request() and self._main_frame(request):
            if self.navigations <= 0:
                return None
            self.navigations -= 1
        if self.site is None or request.method not in ("GET", "HEAD"):
            return None
        return self.site.resolve(request.url)

    def _main_frame(self, request: Any) -> bool:
        try:
            return bool(request.frame == self.page.main_frame)
        except Exception:
            return False

    async def _on_popup(self, page: Any) -> None:
        if page is not self.page:
            with contextlib.suppress(Exception):
                await page.close()

    def _on_crash(self, _page: Any) -> None:
        """A DevTools call pending on a crashed page may never return: its job ends now."""
        self.crashed = True
        self.crash.set()

    async def guarded(self, work: Awaitable[T]) -> T:
        """``work``'s result, unless the page crashes first (then ``_PageCrashed``)."""
        job = asyncio.ensure_future(work)
        crash = asyncio.ensure_future(self.crash.wait())
        try:
            await asyncio.wait((job, crash), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (job, crash):
                if not pending.done():
                    pending.cancel()
        if not job.done() or job.cancelled():
            raise _PageCrashed()
        return job.result()

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error":
            self._note(msg.text)

    def _note(self, text: str) -> None:
        if len(self.console) < 20:
            self.console.append(str(text)[:300])

    async def prepare(self, site: Site, viewport: tuple[int, int]) -> None:
        self.site = site
        self.navigations = 1  # the job's own goto
        self.console = []
        if viewport != self.viewport:
            await self.page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
            self.viewport = viewport

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.page.context.close(), CLOSE_S)


class Lease:
    """What a job gets on the browser's event loop: one warm page, its deadline, and helpers
    (coroutines: several jobs may be in flight on one Chromium)."""

    def __init__(self, slot: _Slot, deadline: float, timeout_s: float) -> None:
        self.slot = slot
        self.page = slot.page
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.stage = "starting"

    @property
    def console(self) -> list[str]:
        return self.slot.console

    def remaining_ms(self) -> float:
        left = (self.deadline - time.monotonic()) * 1000.0
        if left <= 0:
            raise BrowserTimeout(self.timeout_message())
        return left

    def timeout_message(self) -> str:
        return (f"timed out after {self.timeout_s:g} s while {self.stage} (an endless loop in a "
                "script, or a resource that never finished loading?)")

    async def goto(self, url: str) -> None:
        """Start loading ``url``; returns once the new document exists (not yet loaded).

        Waiting for Playwright's "load" would hang until the deadline whenever the page starts
        a navigation the route handler refuses (``location.href = 'http://…'``): its lifecycle
        tracking waits for a document that never comes. ``evaluate`` waits for the load event
        itself instead, and the job's deadline bounds that wait.
        """
        self.stage = "loading the page"
        await self.page.goto(url, wait_until="commit", timeout=self.remaining_ms())

    async def evaluate(self, function: str, arg: Any = None, *, retries: int = 2) -> Any:
        """Once the page has loaded, call the JS ``function`` with ``arg``; its JSON-able result.

        Straight DevTools ``Runtime.evaluate``: ~7 ms faster than ``page.evaluate``, which first
        installs Playwright's helper script in every new document. Should the document be
        replaced under the call (navigations are refused, but a reload is not one we see), the
        call is retried in the new document.
        """
        self.stage = "waiting for the page to load and measuring its elements"
        expression = (f"(async () => {{ {_AWAIT_LOAD} return await ({function})"
                      f"({json.dumps(arg)}); }})()")
        while True:
            self.remaining_ms()
            try:
                reply = await self.slot.cdp.send("Runtime.evaluate", {
                    "expression": expression, "awaitPromise": True, "returnByValue": True})
                break
            except Exception as exc:
                if retries <= 0 or not _NAVIGATED.search(str(exc)):
                    raise
                retries -= 1
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text")
            raise RuntimeError(f"page script failed: {_first_line(RuntimeError(text))}")
        return reply.get("result", {}).get("value")

    async def screenshot(self, clip: tuple[int, int, int, int] | None = None) -> bytes:
        """PNG bytes of the viewport, or of ``clip`` (x, y, width, height) in page pixels.

        Chrome DevTools' own capture with ``optimizeForSpeed`` (faster zlib, same pixels) is
        ~10 ms faster than Playwright's screenshot for an 800×600 page.
        """
        self.stage = "taking the screenshot"
        self.remaining_ms()
        params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True, "fromSurface": True}
        scale = self.slot.scale
        if clip is None and scale != 1.0:  # the capture's own scale gives device pixels
            clip = (0, 0, *self.slot.viewport)
        if clip is not None:
            x, y, w, h = clip
            vw, vh = self.slot.viewport
            params["clip"] = {"x": x, "y": y, "width": w, "height": h, "scale": scale}
            params["captureBeyondViewport"] = x + w > vw or y + h > vh
        for attempt in range(3):
            try:
                reply = await self.slot.cdp.send("Page.captureScreenshot", params)
                return base64.b64decode(reply["data"])
            except Exception as exc:  # a transient state (a refused navigation settling)
                if attempt == 2 or "Unable to capture" not in str(exc):
                    raise
                await asyncio.sleep(min(50.0, self.remaining_ms()) / 1000.0)
        raise AssertionError("unreachable")


def decode_png(data: bytes) -> Image.Image:
    """PNG bytes → an RGB image (decoded off the browser thread)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


# A job: a coroutine function of the lease (a plain function works too, for trivial jobs: it
# runs on the browser's event loop, so it must not block).
JobFn = Callable[[Lease], "Awaitable[T] | T"]


@dataclass
class _Job(Generic[T]):
    fn: JobFn[T]
    site: Site
    viewport: tuple[int, int]
    timeout_s: float
    chromium_path: str | None
    scale: float = 1.0
    memory_mb: int | None = None
    reported_s: float | None = None  # the render's whole timeout, for messages
    future: Future[T] = field(default_factory=Future)


@dataclass
class _Watch:
    """A running job as the watchdog thread sees it."""

    serial: int
    kill_at: float  # the browser is killed past this (its event loop did not end the job)
    memory_mb: int | None
    over_memory: bool = False  # a page process was stopped for memory while it ran
    killed: bool = False  # the watchdog killed the browser under it


_ENVIRON_LOCK = threading.Lock()  # os.environ is shared by every thread


@dataclass
class _Warm:
    """A request to launch Chromium and open a warm page before any job needs them."""

    chromium_path: str | None


class _Wake:
    """Wakes the event loop's inbox (the last running job ended: the idle clock starts)."""


class Browser:
    """A lazily started Chromium driven from an event loop on its own thread; ``submit`` jobs
    from any thread. Up to ``concurrency`` jobs are in flight at once, each on a warm page of
    its own (its own browser context and renderer process) with its own deadline and memory
    cap: a hung page is crashed at its deadline and the others go on. A watchdog thread stops
    page processes over their cap, and kills Chromium when a job outlives its deadline by more
    than the grace (the event loop itself wedged), so one bad page never wedges the queue."""

    def __init__(self, chromium_path: str | None = None, *, pool_size: int = 1,
                 grace_s: float = 0.5, launch_timeout_s: float = 30.0,
                 idle_close_s: float | None = None, concurrency: int = 1) -> None:
        self.chromium_path = chromium_path
        # Chromium holds ~0.5 GB (PSS) while it waits: give it back after this long without a
        # job (the next render relaunches it, ~0.5 s). None or 0: keep it for good.
        if idle_close_s is None:
            idle_close_s = float(os.environ.get(IDLE_ENV_VAR, DEFAULT_IDLE_CLOSE_S))
        self.idle_close_s = idle_close_s if idle_close_s and idle_close_s > 0 else None
        self.concurrency = max(1, concurrency)
        self.pool_size = max(1, pool_size, self.concurrency)
        self.grace_s = grace_s
        self.launch_timeout_s = launch_timeout_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[_Job[Any] | _Warm | _Wake | None] | None = None
        # event-loop state
        self._pw: Any = None
        self._browser: Any = None
        self._executable: str | None = None
        self._pool: list[_Slot] = []
        self._running: set[asyncio.Task[Any]] = set()
        self._launching: asyncio.Lock | None = None
        self._warming: asyncio.Task[None] | None = None  # warm pages being opened
        self._closing = False  # close() was asked: no more warm pages
        self.launches = 0  # how many times Chromium was started (tests, logs)
        # watchdog state, guarded by _cond
        self._cond = threading.Condition()
        self._watches: dict[int, _Watch] = {}
        self._serial = 0
        self._pid: int | None = None
        self._generation = 0  # bumped by close(): a watchdog of an older generation exits
        self._memory = _MemoryWatch()
        self._tmp: str | None = None  # TMPDIR of Playwright's driver and Chromium (profiles)

    # ---- caller side -------------------------------------------------------------------------

    def submit(self, fn: JobFn[T], *, site: Site, viewport: tuple[int, int],
               timeout_s: float, chromium_path: str | None = None,
               scale: float = 1.0, memory_mb: int | None = None,
               reported_s: float | None = None) -> Future[T]:
        """Queue ``fn`` to run on a warm page; the future holds its result or a BrowserError.
        ``scale``: the page's device scale factor (a HiDPI screen: 2). ``memory_mb``: the most
        the job's page process may hold (None: no cap). ``reported_s``: the timeout messages
        name (the render's whole one, of which ``timeout_s`` is what is left)."""
        job: _Job[T] = _Job(fn, site, viewport, timeout_s, chromium_path or self.chromium_path,
                            scale, memory_mb, reported_s)
        self._post(job, "submit")
        return job.future

    def warm(self, chromium_path: str | None = None) -> None:
        """Launch Chromium and open a warm page now, on the browser's thread, without waiting:
        a cold start overlaps the launch with the rest of its work. A launch that fails here is
        only logged; the first real job tries again and reports why."""
        self._post(_Warm(chromium_path or self.chromium_path), "warm")

    def _post(self, item: _Job[Any] | _Warm, what: str) -> None:
        with self._lock:
            if threading.current_thread() is self._thread:
                raise RuntimeError(f"Browser.{what} called from the browser's own thread")
            self._ensure_thread()
            assert self._loop is not None and self._inbox is not None
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)

    def run(self, fn: JobFn[T], **kwargs: Any) -> T:
        """``submit`` and wait."""
        return self.submit(fn, **kwargs).result()

    def close(self) -> None:
        """Stop the worker, close the pages and the browser; a later ``run`` starts afresh."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            assert self._loop is not None and self._inbox is not None
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, None)
        thread.join(timeout=30)
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self._thread is not None:  # its loop ended on an error it could not survive
            log.warning("the browser's worker thread had stopped: starting it again")
            with self._cond:
                self._generation += 1  # its watchdog goes with it
                self._cond.notify_all()
        self._loop = asyncio.new_event_loop()
        self._inbox = asyncio.Queue()
        self._thread = threading.Thread(target=self._work, args=(self._loop, self._inbox),
                                        name="verm-browser", daemon=True)
        self._thread.start()
        with self._cond:
            generation = self._generation
        threading.Thread(target=self._watch, args=(generation,), name="verm-browser-watchdog",
                         daemon=True).start()

    # ---- event loop --------------------------------------------------------------------------

    def _work(self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Any]) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(inbox))
        except Exception:
            log.exception("the browser's worker stopped on an error")
        finally:
            while not inbox.empty():  # no caller waits for ever on a job it never started
                item = inbox.get_nowait()
                if isinstance(item, _Job) and item.future.set_running_or_notify_cancel():
                    item.future.set_exception(BrowserCrashed("the browser's worker stopped"))
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, inbox: asyncio.Queue[Any]) -> None:
        self._launching = asyncio.Lock()
        self._closing = False
        room = asyncio.Semaphore(self.concurrency)
        try:
            while True:
                idle = self.idle_close_s if not self._running else None
                try:
                    item = await asyncio.wait_for(inbox.get(), idle)
                except TimeoutError:
                    if not self._running and (self._browser is not None or self._pw is not None):
                        log.info("closing Chromium after %.0f s idle", self.idle_close_s)
                        await self._shutdown()
                    continue
                if item is None:
                    self._closing = True
                    break
                if isinstance(item, _Wake):
                    continue
                if isinstance(item, _Warm):
                    try:
                        await self._ensure_browser(item.chromium_path)
                    except Exception as exc:
                        log.info("could not start Chromium ahead of the first page: %s", exc)
                    await self._replenish(inbox)
                    continue
                await room.acquire()  # jobs start in the order they came
                if not item.future.set_running_or_notify_cancel():
                    room.release()
                    continue
                task = asyncio.create_task(self._execute(item))
                self._running.add(task)
                task.add_done_callback(lambda t: self._ended(t, room, inbox))
        finally:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            await self._shutdown()

    def _ended(self, task: asyncio.Task[Any], room: asyncio.Semaphore,
               inbox: asyncio.Queue[Any]) -> None:
        self._running.discard(task)
        room.release()
        if not self._running and not self._closing:
            inbox.put_nowait(_Wake())
            if self._warming is None or self._warming.done():
                self._warming = asyncio.get_running_loop().create_task(self._replenish(inbox))

    async def _execute(self, job: _Job[Any]) -> None:
        try:
            await self._ensure_browser(job.chromium_path)
            slot = await self._take_slot(job.viewport, job.scale)
        except BrowserError as exc:
            job.future.set_exception(exc)
            return
        except Exception as exc:  # a browser that died between jobs and cannot open a page
            await self._drop_browser()
            job.future.set_exception(BrowserCrashed(f"could not open a page: {_first_line(exc)}"))
            return
        watch = self._arm(job.timeout_s, job.memory_mb)
        lease = Lease(slot, time.monotonic() + job.timeout_s, job.reported_s or job.timeout_s)
        try:
            async with asyncio.timeout(job.timeout_s):
                if slot.scale != 1.0 and (not slot.drawn or slot.viewport != job.viewport):
                    # A page at another device scale draws its first capture after it opens, or
                    # after its viewport is resized for another site, with text a device pixel
                    # off from every later one (a HiDPI reference would then differ by when it
                    # was taken, and after what): it is drawn once, unseen, first.
                    await slot.prepare(job.site, job.viewport)
                    await slot.guarded(_call(job.fn, lease))
                await slot.prepare(job.site, job.viewport)
                result = await slot.guarded(_call(job.fn, lease))
            if watch.killed:  # the job blocked the event loop past its deadline
                raise BrowserTimeout(lease.timeout_message())
            slot.drawn = True
        except Exception as exc:
            error = self._classify(exc, lease, watch)
            self._extend(watch)  # the clean-up below has time of its own
            await self._discard(slot, hung=isinstance(error, BrowserTimeout))
            job.future.set_exception(error)
        else:
            self._pool.append(slot)
            await self._trim_scaled()
            job.future.set_result(result)
        finally:
            self._disarm(watch)

    def _classify(self, exc: BaseException, lease: Lease, watch: _Watch) -> BrowserError:
        if isinstance(exc, BrowserError):
            return exc
        with self._cond:
            over, killed = watch.over_memory, watch.killed
        if over and (lease.slot.crashed or killed):
            mb = watch.memory_mb
            return BrowserOutOfMemory(f"the page used more than {mb} MB of memory (the render's "
                                      f"limit is {mb} MB) while {lease.stage} and was stopped")
        if lease.slot.crashed:
            return BrowserCrashed(f"the page crashed while {lease.stage} (out of memory?)")
        overdue = time.monotonic() >= lease.deadline
        if killed or overdue or isinstance(exc, TimeoutError) or (
                type(exc).__name__ == "TimeoutError"):
            return BrowserTimeout(lease.timeout_message())
        if not self._connected():
            return BrowserCrashed(f"the browser page crashed while {lease.stage}")
        log.warning("browser job failed while %s: %s", lease.stage, exc)
        return BrowserCrashed(f"the browser failed while {lease.stage}: {_first_line(exc)}")

    async def _ensure_browser(self, chromium_path: str | None) -> None:
        assert self._launching is not None
        async with self._launching:  # jobs started together launch one Chromium
            executable = find_chromium(chromium_path)
            if (self._browser is not None and self._connected()
                    and executable == self._executable):
                return
            await self._drop_browser()
            if self._pw is None:
                self._pw = await self._start_playwright()
            t0 = time.perf_counter()
            try:
                self._browser = await self._pw.chromium.launch(
                    executable_path=executable, args=launch_args(),
                    timeout=self.launch_timeout_s * 1000)
            except Exception as exc:
                raise ChromiumLaunchError(
                    f"could not start Chromium at '{executable}': {_first_line(exc)}; point "
                    f"{ENV_VAR} at a working Chromium (`apt-get install chromium`)") from None
            self._executable = executable
            self.launches += 1
            pid = await self._browser_pid()
            with self._cond:
                self._pid = pid
            log.info("started %s (pid %s) in %.0f ms", executable, pid,
                     (time.perf_counter() - t0) * 1000)

    async def _start_playwright(self) -> Any:
        """Playwright's driver, with a TMPDIR of our own: Chromium profiles and artifacts go
        there, and a later verm removes it should this one be killed before it could."""
        from playwright.async_api import async_playwright

        base = tempfile.gettempdir()  # computed (and cached) before TMPDIR changes below
        remove_stale(base, TMP_PREFIX)
        self._tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{owner_tag()}-", dir=base)
        # The driver inherits the environment when it starts; browsers of a pool start from
        # several threads, and two interleaved save/restore pairs would leave one's TMPDIR
        # set for good (every later temporary file of the process in a folder that goes).
        with _ENVIRON_LOCK:
            old = os.environ.get("TMPDIR")
            os.environ["TMPDIR"] = self._tmp
            try:
                return await async_playwright().start()
            finally:
                if old is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = old

    async def _browser_pid(self) -> int | None:
        """The browser process id, so the watchdog can kill a wedged browser."""
        try:
            session = await self._browser.new_browser_cdp_session()
            info = await session.send("SystemInfo.getProcessInfo")
            await session.detach()
        except Exception as exc:
            log.warning("cannot learn Chromium's pid (%s): hung pages cannot be killed", exc)
            return None
        for proc in info.get("processInfo", []):
            if proc.get("type") == "browser":
                return int(proc["id"])
        return None

    def _connected(self) -> bool:
        try:
            return bool(self._browser is not None and self._browser.is_connected())
        except Exception:
            return False

    async def _take_slot(self, viewport: tuple[int, int], scale: float = 1.0) -> _Slot:
        for slot in [s for s in reversed(self._pool) if s.scale == scale]:
            self._pool.remove(slot)
            if not slot.crashed and not slot.page.is_closed():
                return slot
            await slot.close()
        return await _Slot.open(self._browser, viewport, scale)

    async def _trim_scaled(self) -> None:
        """Keep at most ``SCALED_SLOTS`` warm pages of other scales (oldest go first)."""
        scaled = [s for s in self._pool if s.scale != 1.0]
        for slot in scaled[:max(0, len(scaled) - SCALED_SLOTS)]:
            self._pool.remove(slot)
            await slot.close()

    async def _replenish(self, inbox: asyncio.Queue[Any]) -> None:
        """While nothing runs or waits, top the pool up to ``pool_size`` warm pages."""
        try:
            while (self._connected() and not self._running and inbox.empty() and not self._closing
                   and sum(s.scale == 1.0 for s in self._pool) < self.pool_size):
                viewport = self._pool[-1].viewport if self._pool else (1280, 800)
                self._pool.append(await _Slot.open(self._browser, viewport))
        except Exception as exc:
            log.warning("could not warm a page: %s", exc)

    async def _discard(self, slot: _Slot, hung: bool = False) -> None:
        """Throw away a page that failed; drop the whole browser if it is dead. A page that
        ran out of time may still be spinning in a script: its renderer is crashed first
        (``Page.crash`` is served off the page's main thread), so no process is left busy."""
        if hung and not slot.crashed and self._connected():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(slot.cdp.send("Page.crash"), CLOSE_S)
        if self._connected():
            await slot.close()
        if not self._connected():
            await self._drop_browser()

    async def _drop_browser(self) -> None:
        for slot in self._pool:
            await slot.close()
        self._pool = []
        closed = True
        if self._browser is not None:
            try:
                await asyncio.wait_for(self._browser.close(), CLOSE_S)
            except Exception:
                closed = False
        self._browser = None
        with self._cond:
            pid, self._pid = self._pid, None
        if not closed:  # a browser that would not close (or was gone already)
            _kill(pid)

    async def _shutdown(self) -> None:
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
            with contextlib.suppress(BaseException):
                await self._warming
        await self._drop_browser()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pw.stop(), CLOSE_S)
        self._pw = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # ---- watchdog ----------------------------------------------------------------------------

    def _arm(self, timeout_s: float, memory_mb: int | None = None) -> _Watch:
        with self._cond:
            self._serial += 1
            watch = _Watch(self._serial, time.monotonic() + timeout_s + self.grace_s,
                           memory_mb)
            self._watches[watch.serial] = watch
            self._cond.notify_all()
            return watch

    def _extend(self, watch: _Watch) -> None:
        """The job ended on the event loop: what is left (crashing and closing its page) has
        ``CLOSE_S`` twice over before the watchdog steps in."""
        with self._cond:
            watch.kill_at = time.monotonic() + 2 * CLOSE_S + self.grace_s
            self._cond.notify_all()

    def _disarm(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.pop(watch.serial, None)
            self._cond.notify_all()

    def _watch(self, generation: int) -> None:
        """Kill the browser when a job outlives its deadline plus grace (its event loop did not
        end it), and stop page processes over the running jobs' memory caps."""
        while True:
            with self._cond:
                if self._generation != generation:
                    return
                if not self._watches:
                    self._cond.wait(1.0)
                    continue
                now = time.monotonic()
                live = [w for w in self._watches.values() if not w.killed]
                due = [w for w in live if w.kill_at <= now]
                if not due:
                    capped = [w for w in self._watches.values() if w.memory_mb]
                    left = min((w.kill_at for w in live), default=now + 1.0) - now
                    self._cond.wait(min(left, MEMORY_POLL_S) if capped else left)
                    if capped and self._pid is not None:
                        try:
                            self._check_memory(self._pid)
                        except Exception as exc:  # the watchdog must outlive any surprise
                            log.warning("cannot check the pages' memory: %s", exc)
                    continue
                for w in due:
                    w.killed = True
                pid = self._pid
            log.warning("ending a render that overran its time limit: killing Chromium (pid %s)",
                        pid)
            _kill(pid)

    def _check_memory(self, pid: int) -> None:
        """Called with ``_cond`` held: stop the page processes over the running jobs' caps; the
        page's crash then ends its job (and only that one)."""
        caps = [w.memory_mb for w in self._watches.values() if w.memory_mb]
        if caps and self._memory.over(pid, max(caps), sum(caps)):
            for w in self._watches.values():
                if w.memory_mb:
                    w.over_memory = True
            log.warning("a page used more than %d MB: stopping it", max(caps))


async def _call(fn: JobFn[T], lease: Lease) -> T:
    result = fn(lease)
    if inspect.isawaitable(result):
        return await result  # type: ignore[no-any-return]
    return result  # type: ignore[return-value]


class BrowserPool:
    """Up to ``size`` ``Browser``s, each its own Chromium with up to ``concurrency`` pages in
    flight, behind ``Browser``'s caller-side methods: a job goes to a browser with room, and
    another Chromium is launched only when every one is full and fewer than ``size`` run.

    Every job runs on a page of its own (its own context and renderer process): its memory
    cap, deadline and crash are its own, whichever Chromium it shares."""

    def __init__(self, chromium_path: str | None = None, *, size: int = 1,
                 **browser_kwargs: Any) -> None:
        self.chromium_path = chromium_path
        self.size = max(1, size)
        self.concurrency = max(1, int(browser_kwargs.get("concurrency", 1)))
        self._kwargs = browser_kwargs
        self._lock = threading.Lock()
        self._browsers: list[Browser] = []
        self._busy: dict[Browser, int] = {}  # each browser's jobs queued or running

    @property
    def launches(self) -> int:
        """How many times a Chromium was started, all browsers together (tests, logs)."""
        with self._lock:
            return sum(b.launches for b in self._browsers)

    @property
    def browsers(self) -> int:
        """How many browsers were opened (each launches its Chromium on its first job)."""
        with self._lock:
            return len(self._browsers)

    def _pick(self) -> Browser:
        """Called with ``_lock`` held: the least busy browser with room, a new one while all
        are full and there is room for one, else the least busy."""
        roomy = [b for b in self._browsers if self._busy[b] < self.concurrency]
        if roomy:
            return min(roomy, key=lambda b: self._busy[b])
        if len(self._browsers) < self.size:
            browser = Browser(self.chromium_path, **self._kwargs)
            self._browsers.append(browser)
            self._busy[browser] = 0
            return browser
        return min(self._browsers, key=lambda b: self._busy[b])

    def submit(self, fn: JobFn[T], **kwargs: Any) -> Future[T]:
        """``Browser.submit`` on the least busy browser."""
        with self._lock:
            browser = self._pick()
            self._busy[browser] += 1
        try:
            future = browser.submit(fn, **kwargs)
        except BaseException:
            self._done(browser)
            raise
        future.add_done_callback(lambda _: self._done(browser))
        return future

    def _done(self, browser: Browser) -> None:
        with self._lock:
            if browser in self._busy:
                self._busy[browser] -= 1

    def run(self, fn: JobFn[T], **kwargs: Any) -> T:
        """``submit`` and wait."""
        return self.submit(fn, **kwargs).result()

    def warm(self, chromium_path: str | None = None, count: int = 1) -> None:
        """Launch ``count`` Chromiums (at most ``size``) ahead of the first pages, each on its
        own thread (``Browser.warm``); the others start when jobs overlap."""
        with self._lock:
            while len(self._browsers) < min(max(1, count), self.size):
                browser = Browser(self.chromium_path, **self._kwargs)
                self._browsers.append(browser)
                self._busy[browser] = 0
            browsers = self._browsers[:max(1, count)]
        for browser in browsers:
            browser.warm(chromium_path)

    def close(self) -> None:
        """Close every browser; a later job starts afresh."""
        with self._lock:
            browsers, self._browsers, self._busy = self._browsers, [], {}
        for browser in browsers:
            browser.close()

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


TMP_PREFIX = "verm-browser-"
MEMORY_POLL_S = 0.05
RESCAN_S = 0.5  # how often the page processes are looked up again (a worker's new process)
CLOSE_S = 5.0  # the most a page's or the browser's close may take before it is killed


class _MemoryWatch:
    """Sizes Chromium's page processes (renderers: a page, its workers) by the memory they hold
    of their own: ArrayBuffers and canvases too, which no V8 heap flag bounds. Every page in
    flight has a renderer of its own (its own browser context)."""

    def __init__(self) -> None:
        self._browser_pid: int | None = None
        self._renderers: list[int] = []
        self._scanned = 0.0

    def _scan(self, browser_pid: int) -> None:
        found = []
        for pid in descendants(browser_pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"--type=renderer" in fh.read():
                        found.append(pid)
            except OSError:
                continue
        self._browser_pid, self._renderers, self._scanned = browser_pid, found, time.monotonic()

    def over(self, browser_pid: int, each_mb: int, total_mb: int) -> bool:
        """True when a page process held more than ``each_mb`` or all of them more than
        ``total_mb`` (the biggest are then killed, until the rest fit). A look for new
        processes lists every process on the machine: it is repeated every ``RESCAN_S``."""
        if browser_pid != self._browser_pid or time.monotonic() - self._scanned > RESCAN_S:
            self._scan(browser_pid)
        sizes = sorted(((_rss(pid), pid) for pid in self._renderers), reverse=True)
        each, total = each_mb << 20, total_mb << 20
        held = sum(size for size, _ in sizes)
        stopped = False
        for size, pid in sizes:
            if size <= each and held <= total:
                break
            _kill(pid)
            held -= size
            stopped = True
        return stopped


class _PageCrashed(Exception):
    """The job's page crashed under it (its process died, or was stopped for memory)."""
def _rss(pid: int) -> int:
    """Bytes the process holds of its own: anonymous and shared-memory pages (ArrayBuffers,
    canvases), not the library files every Chromium process maps."""
    total = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith((b"RssAnon:", b"RssShmem:")):
                    total += int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        return 0
    return total


def _kill(pid: int | None) -> None:
    if pid is None:
        return
    sig = getattr(signal, "SIGKILL", signal.SIGTERM)
    try:
        if hasattr(os, "killpg") and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (OSError, ProcessLookupError) as exc:
        log.debug("kill %s: %s", pid, exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
