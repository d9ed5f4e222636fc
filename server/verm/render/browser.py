"""One warm, locked-down Chromium shared by the HTML and Markdown renderers.

Playwright's sync API only works on the thread that started it, so the browser lives on one
dedicated worker thread fed by a job queue: any thread (the CLI, a language server's workers)
submits a job and waits on a future. The worker keeps a small pool of warm pages (reusing a
page costs ~30 ms, a new one ~200 ms), replaces a page that crashed or hung, and relaunches the
browser when it died. A watchdog thread kills the browser process when a job overruns its
deadline inside a call that has no timeout of its own (``evaluate`` on a page stuck in an
endless loop), so one bad page never wedges the queue.

Pages load from a fake origin (``http://verm.invalid``) whose paths mirror the file system:
requests for files under the source's folder are fulfilled from disk, every other request is
aborted (navigations get a 204, so the page stays put), and Chromium's proxy flags stop what
request interception cannot see (WebSocket, ``sendBeacon``), loopback included. WebRTC may
only use proxied UDP, i.e. none.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import mimetypes
import os
import queue
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
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
    """A warm page in its own browser context, with the state its route handler consults."""

    def __init__(self, browser: Any, viewport: tuple[int, int],
                 on_crash: Callable[[], None], scale: float = 1.0) -> None:
        self.on_crash = on_crash
        # A device scale factor is fixed per page: switching one back leaves the page drawing
        # differently from a fresh one. Pages of another scale are slots of their own.
        self.scale = scale
        self.page = browser.new_page(
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=scale,
            service_workers="block",
            accept_downloads=False,
            locale="en-US",
            timezone_id="UTC",
            color_scheme="light",
            reduced_motion="reduce",
        )
        self.viewport = viewport
        self.site: Site | None = None
        self.navigations = 0
        self.drawn = False  # a job has drawn on this page
        self.console: list[str] = []
        self.crashed = False
        context = self.page.context
        context.add_init_script(_INIT_SCRIPT)
        context.route("**/*", self._on_route)
        context.on("page", self._on_popup)
        self.page.on("crash", self._on_crash)
        self.page.on("pageerror", lambda err: self._note(f"uncaught {err}"))
        self.page.on("console", self._on_console)
        self.cdp = context.new_cdp_session(self.page)

    def _on_route(self, route: Any) -> None:
        request = route.request
        try:
            answer = self._answer(request)
            if answer is None and request.is_navigation_request():
                # 204 No Content: the browser stays on the page instead of showing an error page
                log.debug("blocked navigation to %s", request.url)
                route.fulfill(status=204, body=b"")
            elif answer is None:
                log.debug("blocked %s", request.url)
                route.abort("blockedbyclient")
            else:
                status, body, ctype = answer
                route.fulfill(status=status, body=body,
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

    def _on_popup(self, page: Any) -> None:
        if page is not self.page:
            with contextlib.suppress(Exception):
                page.close()

    def _on_crash(self, _page: Any) -> None:
        """A DevTools call pending on a crashed page never returns: have the watchdog cut it."""
        self.crashed = True
        self.on_crash()

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error":
            self._note(msg.text)

    def _note(self, text: str) -> None:
        if len(self.console) < 20:
            self.console.append(str(text)[:300])

    def prepare(self, site: Site, viewport: tuple[int, int]) -> None:
        self.site = site
        self.navigations = 1  # the job's own goto
        self.console = []
        if viewport != self.viewport:
            self.page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
            self.viewport = viewport

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.page.context.close()


class Lease:
    """What a job gets on the worker thread: one warm page, its deadline, and helpers."""

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

    def goto(self, url: str) -> None:
        """Start loading ``url``; returns once the new document exists (not yet loaded).

        Waiting for Playwright's "load" would hang until the deadline whenever the page starts
        a navigation the route handler refuses (``location.href = 'http://…'``): its lifecycle
        tracking waits for a document that never comes. ``evaluate`` waits for the load event
        itself instead, and the watchdog bounds that wait.
        """
        self.stage = "loading the page"
        self.page.goto(url, wait_until="commit", timeout=self.remaining_ms())

    def evaluate(self, function: str, arg: Any = None, *, retries: int = 2) -> Any:
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
                reply = self.slot.cdp.send("Runtime.evaluate", {
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

    def screenshot(self, clip: tuple[int, int, int, int] | None = None) -> bytes:
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
                reply = self.slot.cdp.send("Page.captureScreenshot", params)
                return base64.b64decode(reply["data"])
            except Exception as exc:  # a transient state (a refused navigation settling)
                if attempt == 2 or "Unable to capture" not in str(exc):
                    raise
                self.page.wait_for_timeout(min(50.0, self.remaining_ms()))
        raise AssertionError("unreachable")


def decode_png(data: bytes) -> Image.Image:
    """PNG bytes → an RGB image (decoded off the browser thread)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


@dataclass
class _Job(Generic[T]):
    fn: Callable[[Lease], T]
    site: Site
    viewport: tuple[int, int]
    timeout_s: float
    chromium_path: str | None
    scale: float = 1.0
    memory_mb: int | None = None
    reported_s: float | None = None  # the render's whole timeout, for messages
    future: Future[T] = field(default_factory=Future)


_ENVIRON_LOCK = threading.Lock()  # os.environ is shared by every thread

@dataclass
class _Warm:
    """A request to launch Chromium and open a warm page before any job needs them."""

    chromium_path: str | None


class Browser:
    """A lazily started Chromium on its own thread; ``run`` jobs on warm pages from any thread."""

    def __init__(self, chromium_path: str | None = None, *, pool_size: int = 1,
                 grace_s: float = 0.5, launch_timeout_s: float = 30.0,
                 idle_close_s: float | None = None) -> None:
        self.chromium_path = chromium_path
        # Chromium holds ~0.5 GB (PSS) while it waits: give it back after this long without a
        # job (the next render relaunches it, ~0.5 s). None or 0: keep it for good.
        if idle_close_s is None:
            idle_close_s = float(os.environ.get(IDLE_ENV_VAR, DEFAULT_IDLE_CLOSE_S))
        self.idle_close_s = idle_close_s if idle_close_s and idle_close_s > 0 else None
        self.pool_size = max(1, pool_size)
        self.grace_s = grace_s
        self.launch_timeout_s = launch_timeout_s
        self._jobs: queue.SimpleQueue[_Job[Any] | _Warm | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # worker-thread state
        self._pw: Any = None
        self._browser: Any = None
        self._executable: str | None = None
        self._pool: list[_Slot] = []
        self.launches = 0  # how many times Chromium was started (tests, logs)
        # watchdog state, guarded by _cond
        self._cond = threading.Condition()
        self._armed: tuple[int, float] | None = None  # (job serial, kill at)
        self._serial = 0
        self._killed_serial = -1
        self._pid: int | None = None
        self._generation = 0  # bumped by close(): a watchdog of an older generation exits
        self._memory: _MemoryWatch | None = None  # the running job's cap, if it has one
        self._last_watch: _MemoryWatch | None = None  # its page processes, for the next job
        self._over_memory_serial = -1
        self._tmp: str | None = None  # TMPDIR of Playwright's driver and Chromium (profiles)

    # ---- caller side -------------------------------------------------------------------------

    def submit(self, fn: Callable[[Lease], T], *, site: Site, viewport: tuple[int, int],
               timeout_s: float, chromium_path: str | None = None,
               scale: float = 1.0, memory_mb: int | None = None,
               reported_s: float | None = None) -> Future[T]:
        """Queue ``fn`` to run on a warm page; the future holds its result or a BrowserError.
        ``scale``: the page's device scale factor (a HiDPI screen: 2). ``memory_mb``: the most
        the browser's page processes may hold together while it runs (None: no cap).
        ``reported_s``: the timeout messages name (the render's whole one, of which
        ``timeout_s`` is what is left)."""
        job: _Job[T] = _Job(fn, site, viewport, timeout_s, chromium_path or self.chromium_path,
                            scale, memory_mb, reported_s)
        with self._lock:
            if threading.current_thread() is self._thread:
                raise RuntimeError("Browser.submit called from the browser's own thread")
            self._ensure_thread()
            self._jobs.put(job)
        return job.future

    def warm(self, chromium_path: str | None = None) -> None:
        """Launch Chromium and open a warm page now, on the browser's thread, without waiting:
        a cold start overlaps the launch with the rest of its work. A launch that fails here is
        only logged; the first real job tries again and reports why."""
        with self._lock:
            if threading.current_thread() is self._thread:
                raise RuntimeError("Browser.warm called from the browser's own thread")
            self._ensure_thread()
            self._jobs.put(_Warm(chromium_path or self.chromium_path))

    def run(self, fn: Callable[[Lease], T], **kwargs: Any) -> T:
        """``submit`` and wait."""
        return self.submit(fn, **kwargs).result()

    def close(self) -> None:
        """Stop the worker, close the pages and the browser; a later ``run`` starts afresh."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._jobs.put(None)
        thread.join(timeout=30)
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._work, name="verm-browser", daemon=True)
        self._thread.start()
        with self._cond:
            generation = self._generation
        threading.Thread(target=self._watch, args=(generation,), name="verm-browser-watchdog",
                         daemon=True).start()

    # ---- worker thread -----------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self.idle_close_s)
                except queue.Empty:
                    if self._browser is not None or self._pw is not None:
                        log.info("closing Chromium after %.0f s idle", self.idle_close_s)
                        self._shutdown()
                    continue
                if job is None:
                    break
                if isinstance(job, _Warm):
                    try:
                        self._ensure_browser(job.chromium_path)
                    except Exception as exc:
                        log.info("could not start Chromium ahead of the first page: %s", exc)
                elif job.future.set_running_or_notify_cancel():
                    self._execute(job)
                if self._jobs.empty():
                    self._replenish()
        finally:
            self._shutdown()

    def _execute(self, job: _Job[Any]) -> None:
        try:
            self._ensure_browser(job.chromium_path)
            slot = self._take_slot(job.viewport, job.scale)
        except BrowserError as exc:
            job.future.set_exception(exc)
            return
        except Exception as exc:  # a browser that died between jobs and cannot open a page
            self._drop_browser()
            job.future.set_exception(BrowserCrashed(f"could not open a page: {_first_line(exc)}"))
            return
        serial = self._arm(job.timeout_s, job.memory_mb)
        lease = Lease(slot, time.monotonic() + job.timeout_s, job.reported_s or job.timeout_s)
        try:
            if slot.scale != 1.0 and (not slot.drawn or slot.viewport != job.viewport):
                # A page at another device scale draws its first capture after it opens, or
                # after its viewport is resized for another site, with text a device pixel off
                # from every later one (a HiDPI reference would then differ by when it was
                # taken, and after what): it is drawn once, unseen, first.
                slot.prepare(job.site, job.viewport)
                job.fn(lease)
            slot.prepare(job.site, job.viewport)
            result = job.fn(lease)
            slot.drawn = True
        except Exception as exc:
            error = self._classify(exc, lease, serial)
            self._discard(slot)
            job.future.set_exception(error)
        else:
            self._pool.append(slot)
            self._trim_scaled()
            job.future.set_result(result)
        finally:
            self._disarm()

    def _classify(self, exc: Exception, lease: Lease, serial: int) -> BrowserError:
        if isinstance(exc, BrowserError):
            return exc
        with self._cond:
            over = self._over_memory_serial == serial
        if over:
            mb = self._memory_mb_of(serial)
            return BrowserOutOfMemory(f"the page used more than {mb} MB of memory (the render's "
                                      f"limit is {mb} MB) while {lease.stage} and was stopped")
        if lease.slot.crashed:
            return BrowserCrashed(f"the page crashed while {lease.stage} (out of memory?)")
        with self._cond:
            killed = self._killed_serial == serial
        overdue = time.monotonic() >= lease.deadline
        if killed or overdue or type(exc).__name__ == "TimeoutError":
            return BrowserTimeout(lease.timeout_message())
        if lease.slot.crashed or not self._connected():
            return BrowserCrashed(f"the browser page crashed while {lease.stage}")
        log.warning("browser job failed while %s: %s", lease.stage, exc)
        return BrowserCrashed(f"the browser failed while {lease.stage}: {_first_line(exc)}")

    def _ensure_browser(self, chromium_path: str | None) -> None:
        executable = find_chromium(chromium_path)
        if self._browser is not None and self._connected() and executable == self._executable:
            return
        self._drop_browser()
        if self._pw is None:
            self._pw = self._start_playwright()
        t0 = time.perf_counter()
        try:
            self._browser = self._pw.chromium.launch(
                executable_path=executable, args=launch_args(),
                timeout=self.launch_timeout_s * 1000)
        except Exception as exc:
            raise ChromiumLaunchError(
                f"could not start Chromium at '{executable}': {_first_line(exc)}; point "
                f"{ENV_VAR} at a working Chromium (`apt-get install chromium`)") from None
        self._executable = executable
        self.launches += 1
        pid = self._browser_pid()
        with self._cond:
            self._pid = pid
        log.info("started %s (pid %s) in %.0f ms", executable, pid,
                 (time.perf_counter() - t0) * 1000)

    def _start_playwright(self) -> Any:
        """Playwright's driver, with a TMPDIR of our own: Chromium profiles and artifacts go
        there, and a later verm removes it should this one be killed before it could."""
        from playwright.sync_api import sync_playwright

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
                return sync_playwright().start()
            finally:
                if old is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = old

    def _browser_pid(self) -> int | None:
        """The browser process id, so the watchdog can kill a wedged browser."""
        try:
            session = self._browser.new_browser_cdp_session()
            info = session.send("SystemInfo.getProcessInfo")
            session.detach()
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

    def _take_slot(self, viewport: tuple[int, int], scale: float = 1.0) -> _Slot:
        for slot in [s for s in reversed(self._pool) if s.scale == scale]:
            self._pool.remove(slot)
            if not slot.crashed and not slot.page.is_closed():
                return slot
            slot.close()
        return _Slot(self._browser, viewport, self._cut_short, scale)

    def _trim_scaled(self) -> None:
        """Keep at most ``SCALED_SLOTS`` warm pages of other scales (oldest go first)."""
        scaled = [s for s in self._pool if s.scale != 1.0]
        for slot in scaled[:max(0, len(scaled) - SCALED_SLOTS)]:
            self._pool.remove(slot)
            slot.close()

    def _replenish(self) -> None:
        """Between jobs, top the pool up to ``pool_size`` warm pages."""
        if self._browser is None or not self._connected():
            return
        try:
            while (sum(s.scale == 1.0 for s in self._pool) < self.pool_size
                   and self._jobs.empty()):
                viewport = self._pool[-1].viewport if self._pool else (1280, 800)
                self._pool.append(_Slot(self._browser, viewport, self._cut_short))
        except Exception as exc:
            log.warning("could not warm a page: %s", exc)

    def _discard(self, slot: _Slot) -> None:
        """Throw away a page that failed; drop the whole browser if it is dead or was killed."""
        if self._connected():
            slot.close()
        if not self._connected():
            self._drop_browser()

    def _drop_browser(self) -> None:
        for slot in self._pool:
            slot.close()
        self._pool = []
        if self._browser is not None:
            with contextlib.suppress(Exception):
                self._browser.close()
        self._browser = None
        with self._cond:
            self._pid = None

    def _shutdown(self) -> None:
        self._drop_browser()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                self._pw.stop()
        self._pw = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # ---- watchdog ----------------------------------------------------------------------------

    def _arm(self, timeout_s: float, memory_mb: int | None = None) -> int:
        with self._cond:
            self._serial += 1
            self._armed = (self._serial, time.monotonic() + timeout_s + self.grace_s)
            last = self._memory or self._last_watch
            self._memory = (_MemoryWatch(self._serial, memory_mb, self._pid, last)
                            if memory_mb and self._pid else None)
            self._last_watch = self._memory or last
            self._cond.notify_all()
            return self._serial

    def _memory_mb_of(self, serial: int) -> int:
        with self._cond:
            watch = self._memory
        return watch.memory_mb if watch is not None and watch.serial == serial else 0

    def _cut_short(self) -> None:
        """End the running job now (its page crashed): the watchdog kills the browser."""
        with self._cond:
            if self._armed is not None:
                self._armed = (self._armed[0], time.monotonic())
                self._cond.notify_all()

    def _disarm(self) -> None:
        with self._cond:
            self._armed = None
            self._memory = None
            self._cond.notify_all()

    def _watch(self, generation: int) -> None:
        """Kill the browser when a job outlives its deadline plus grace (a call with no timeout)."""
        while True:
            with self._cond:
                if self._generation != generation:
                    return
                if self._armed is None:
                    self._cond.wait(1.0)
                    continue
                serial, kill_at = self._armed
                left = kill_at - time.monotonic()
                watch = self._memory
                if left > 0 and watch is not None:
                    self._cond.wait(min(left, MEMORY_POLL_S))
                    if self._armed is not None and self._armed[0] == watch.serial:
                        try:
                            self._check_memory(watch)
                        except Exception as exc:  # the watchdog must outlive any surprise
                            log.warning("cannot check the page's memory: %s", exc)
                            self._memory = None
                    continue
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._armed = None
                self._killed_serial = serial
                pid = self._pid
            log.warning("ending a render that overran its time limit or crashed its page: "
                        "killing Chromium (pid %s)", pid)
            _kill(pid)


    def _check_memory(self, watch: _MemoryWatch) -> None:
        """Called with ``_cond`` held: stop the page processes of a job over its cap; the
        page's crash then ends the job (and the browser, which the next job relaunches)."""
        if watch.over():
            self._over_memory_serial = watch.serial
            log.warning("a page used more than %d MB: stopping it", watch.memory_mb)


class BrowserPool:
    """Up to ``size`` ``Browser``s, each its own Chromium on its own thread, behind
    ``Browser``'s caller-side methods: a job goes to an idle browser, and another Chromium is
    launched only when every one is busy and fewer than ``size`` run.

    One Chromium renders one page at a time (Playwright's sync API drives it from one thread),
    so ``verm check --jobs N`` renders N pages at once on N browsers. Each job still runs
    alone in its browser: its memory cap (the page processes of that browser), deadline and
    watchdog are its own, and a crash or a kill takes no other job's page with it."""

    def __init__(self, chromium_path: str | None = None, *, size: int = 1,
                 **browser_kwargs: Any) -> None:
        self.chromium_path = chromium_path
        self.size = max(1, size)
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
        """Called with ``_lock`` held: the least busy browser, a new one while all are busy
        and there is room."""
        idle = [b for b in self._browsers if not self._busy[b]]
        if idle:
            return idle[0]
        if len(self._browsers) < self.size:
            browser = Browser(self.chromium_path, **self._kwargs)
            self._browsers.append(browser)
            self._busy[browser] = 0
            return browser
        return min(self._browsers, key=lambda b: self._busy[b])

    def submit(self, fn: Callable[[Lease], T], **kwargs: Any) -> Future[T]:
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

    def run(self, fn: Callable[[Lease], T], **kwargs: Any) -> T:
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


class _MemoryWatch:
    """Sums the memory Chromium's page processes (renderers: the page, its workers) hold of
    their own while one job runs: ArrayBuffers and canvases too, which no V8 heap flag
    bounds."""

    def __init__(self, serial: int, memory_mb: int, browser_pid: int,
                 last: _MemoryWatch | None = None) -> None:
        """``last``: the previous job's watch of this browser, whose page processes it found
        are this job's too until the next look (every ``RESCAN_S``, as within one job): a
        look lists every process on the machine, too dear to repeat for every page."""
        self.serial, self.memory_mb, self.browser_pid = serial, memory_mb, browser_pid
        self._renderers: list[int] = []
        self._scanned = 0.0
        if last is not None and last.browser_pid == browser_pid:
            self._renderers, self._scanned = last._renderers, last._scanned

    def _scan(self) -> None:
        found = []
        for pid in descendants(self.browser_pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"--type=renderer" in fh.read():
                        found.append(pid)
            except OSError:
                continue
        self._renderers, self._scanned = found, time.monotonic()

    def over(self) -> bool:
        """True when the page processes held more than the cap (the biggest are then killed,
        until the rest fit)."""
        if time.monotonic() - self._scanned > RESCAN_S:
            self._scan()
        sizes = sorted(((_rss(pid), pid) for pid in self._renderers), reverse=True)
        total, cap = sum(size for size, _ in sizes), self.memory_mb << 20
        if total <= cap:
            return False
        for size, pid in sizes:
            if total <= cap:
                break
            _kill(pid)
            total -= size
        return True


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
