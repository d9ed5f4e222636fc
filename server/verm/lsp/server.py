"""The language server core: settings, the shared Checker, the scheduler and what it last found.

Features live in ``verm.lsp.features`` (one module each, with a ``setup(server)``), wired by
``create_server``. Rendering never runs on the server loop: judgements run in the scheduler's
threads, and results are published back on the loop thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.workspace.position_codec import PositionCodec

from verm import __version__
from verm.cache import cache_dir
from verm.check import Checker, CheckResult, CriticError, NotPinnedError
from verm.config import ConfigError, Notice
from verm.lsp.jobs import Request, Scheduler, Token
from verm.lsp.positions import Columns
from verm.lsp.protocol import VermProtocol
from verm.lsp.settings import Settings, merge
from verm.pins import BadReferenceError, Pin, atomic_write, png_bytes, project_root
from verm.safeio import DEFAULT_LIMITS, MB, USER_CONFIG
from verm.source import SourceError, kind_of
from verm.types import TOP_OF_FILE, Range

log = logging.getLogger("verm.lsp")


@dataclass
class Outcome:
    """What one judgement of a document produced, kept for hover and code actions."""

    request: Request
    result: CheckResult | None = None
    pin: Pin | None = None  # set even when the reference is missing
    problem: str | None = None  # not pinned / reference unusable / untrusted / config
    problem_range: Range = TOP_OF_FILE
    diff_path: Path | None = None
    notices: list[Notice] = field(default_factory=list)  # workspace settings ignored/lowered


def uri_to_path(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path))


def path_to_uri(path: Path) -> str:
    return path.absolute().as_uri()


def judged_text(outcome: Outcome) -> str | None:
    """The text the outcome's positions refer to (None: the file on disk, not read here)."""
    if outcome.result is not None:
        return outcome.result.source.text
    return outcome.request.text


class VermServer(LanguageServer):
    """pygls server plus verm's state. Keep it small: features do the work."""

    def __init__(self) -> None:
        super().__init__("verm", __version__, protocol_cls=VermProtocol)
        self.settings = Settings()
        self.init_settings: dict[str, Any] = {}
        self.workspace_settings: dict[str, Any] = {}
        self.checker = Checker()
        self.scheduler = Scheduler(self.judge, self.finished, workers=self.settings.workers)
        self.outcomes: dict[str, Outcome] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.roots: list[Path] = []
        self._lock = threading.Lock()
        # Hooks features register instead of wrapping each other's handlers (pygls allows one
        # handler per method): after each judgement (worker thread), after `initialized` and
        # at shutdown (on the loop).
        self.on_judged: list[Callable[[Request, Outcome], None]] = []
        self.on_judging: list[Callable[[int], None]] = []  # +1 a judgement began, -1 ended
        self.on_initialized: list[Callable[[], Awaitable[None]]] = []
        self.on_shutdown: list[Callable[[], Awaitable[None]]] = []

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self) -> None:
        """Recompute settings: defaults < workspace/configuration < initializationOptions."""
        # Trust is the client's statement at start (VS Code's workspace trust), never a
        # setting: a workspace's own settings file reaches workspace/configuration.
        shared = self.workspace_settings
        if isinstance(shared, dict):
            shared = {k: v for k, v in shared.items() if k != "trusted"}
        settings, problems = merge(Settings(), shared, "workspace/configuration")
        settings, more = merge(settings, self.init_settings, "initializationOptions")
        for message in problems + more:
            self.notify_user(message, lsp.MessageType.Warning)
        if settings.workers != self.settings.workers:
            old = self.scheduler
            self.scheduler = Scheduler(self.judge, self.finished, workers=settings.workers)
            old.close()
        self.settings = settings
        self.checker._critic_name = settings.critic
        self.checker.set_overrides({**settings.render_overrides(), **settings.model_overrides()})

    def notify_user(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info) -> None:
        self.call_soon(self.window_show_message, lsp.ShowMessageParams(type=kind, message=message))

    # -- trust ---------------------------------------------------------------------------
    def write_roots(self, path: Path) -> list[Path]:
        """Where verm may write for ``path``: the workspace folders, or (no folder open) the
        source's project root. A pragma or config never widens this."""
        return list(self.roots) or [project_root(path)]

    def trusted(self, path: Path) -> bool:
        """May verm execute this source (chart scripts are code)?"""
        if self.settings.trusted is not None:
            return self.settings.trusted
        resolved = path.resolve()
        return any(resolved.is_relative_to(root.resolve()) for root in self.roots)

    # -- judging -------------------------------------------------------------------------
    def schedule(self, uri: str, reason: str, delay_s: float = 0.0) -> None:
        path = uri_to_path(uri)
        if kind_of(path) is None or not uri.startswith("file:"):
            return
        doc = self.workspace.text_documents.get(uri)
        text = doc.source if doc is not None else None
        version = doc.version if doc is not None else None
        if text is not None and self.too_big(uri, text, version):
            return
        self.scheduler.schedule(Request(uri, str(path), text, version, reason=reason), delay_s)

    def user_config(self) -> dict[str, Any]:
        """The user's own config file (``~/.config/verm/config.toml``), as the Checker read it;
        {} when it is unreadable (each judgement reports why)."""
        try:
            return self.checker.user_settings
        except ConfigError:
            return {}

    def max_file_bytes(self) -> int:
        """The size cap of a judged document: the editor's ``maxFileMB``, else the user
        config's ``max-source-mb`` (the cap on a source read from disk), else 8 MB. Never a
        workspace file's. Above it nothing is parsed, rendered or watched."""
        value = self.settings.extra.get("maxFileMB", self.settings.extra.get("max_file_mb"))
        try:
            mb = float(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            mb = None
        if mb is not None and 0 < mb <= 100_000:
            return int(mb * MB)
        try:
            return self.checker.limits.source_bytes
        except ConfigError:
            return DEFAULT_LIMITS.source_bytes

    def too_big(self, uri: str, text: str, version: int | None) -> bool:
        """On the loop: over the cap, say so instead of judging (O(1) below a quarter of the
        cap; above, one UTF-8 encoding, ~1 ms a MB, to name the size the user sees on disk)."""
        cap = self.max_file_bytes()
        if len(text) * 4 <= cap:  # UTF-8 takes at most 4 bytes a character
            return False
        size = len(text.encode("utf-8", "surrogatepass"))
        if size <= cap:
            return False
        self.scheduler.forget(uri)  # whatever was pending for a smaller version
        with self._lock:
            self.outcomes.pop(uri, None)
        message = (f"verm: this file is {size / MB:.1f} MB; verm judges files up to "
                   f"{cap / MB:g} MB (raise verm.maxFileMB in your editor settings, or "
                   f"max-source-mb in {USER_CONFIG})")
        diagnostic = lsp.Diagnostic(
            range=lsp.Range(start=lsp.Position(line=0, character=0),
                            end=lsp.Position(line=0, character=0)),
            message=message, severity=lsp.DiagnosticSeverity.Warning, source="verm",
            code="file-too-large", data={"verm": "too-large", "bytes": size, "cap": cap})
        self.call_soon(self.text_document_publish_diagnostics, lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=[diagnostic], version=version))
        return True

    def judge(self, request: Request, token: Token) -> Outcome:
        """In a worker thread: one judgement of one document, counted while it runs."""
        self._judging(+1)
        try:
            return self._judge(request, token)
        finally:
            self._judging(-1)

    def _judging(self, delta: int) -> None:
        for hook in self.on_judging:
            try:
                hook(delta)
            except Exception:
                log.exception("verm: a judging hook failed")

    def _judge(self, request: Request, token: Token) -> Outcome:
        path = Path(request.path)
        outcome = Outcome(request)
        try:
            source = self.checker.load(path, request.text)
            pin = self.checker.pin_of(source)
            outcome.pin = pin
            if pin is None:
                return outcome  # unpinned: nothing to say
            outcome.notices = self.checker.notices(source)  # said even if no render follows
            if source.kind == "chart" and not self.trusted(path):
                outcome.problem = ("verm did not run this chart script: the workspace is not "
                                   "trusted (open its folder as the workspace, or set the "
                                   "`trusted` initialization option)")
                return outcome
            outcome.result = self.checker.check(
                source, on_start=token.attach,
                on_partial=lambda partial: self.publish_partial(request, outcome, partial),
                cancelled=lambda: token.cancelled)
        except NotPinnedError:
            return outcome
        except BadReferenceError as exc:
            outcome.problem = str(exc)
            if exc.pin is not None and exc.pin.range is not None:
                outcome.problem_range = exc.pin.range
        except (ConfigError, SourceError, CriticError) as exc:
            outcome.problem = str(exc)
        result = outcome.result
        if result is not None and result.discrepancies and result.render.ok:
            # Named now for the diagnostics' link; drawn after they are published.
            key = hashlib.sha1(str(result.source.path).encode()).hexdigest()[:12]
            outcome.diff_path = cache_dir() / "diffs" / f"{result.source.path.stem}-{key}.png"
        return outcome

    def publish_partial(self, request: Request, outcome: Outcome, partial: CheckResult) -> None:
        """In a worker thread: what is known so far while a model judges (the analytic
        findings, then each model finding as it is written)."""
        if not self.scheduler.current(request.uri, request.generation):
            return
        shown = Outcome(request, result=partial, pin=partial.pin, notices=outcome.notices)
        with self._lock:
            self.outcomes[request.uri] = shown  # quick fixes work while the model writes
        from verm.lsp.features.diagnostics import diagnostics_for

        try:
            diagnostics = diagnostics_for(shown, self.settings, self.columns(partial.source.text))
        except Exception:
            log.exception("verm: could not build the diagnostics of %s", request.uri)
            return
        self.call_soon(self.text_document_publish_diagnostics, lsp.PublishDiagnosticsParams(
            uri=request.uri, diagnostics=diagnostics, version=request.version))

    def write_diff(self, outcome: Outcome) -> None:
        """reference | render | difference, in verm's cache (never in the user's tree)."""
        result, path = outcome.result, outcome.diff_path
        if result is None or path is None or result.critique is None:
            return
        try:
            from verm.critic.diffimage import diff_image

            image = diff_image(self.checker.reference(result.pin), result.render,
                               result.critique)
            atomic_write(path, png_bytes(image))
        except Exception:
            log.exception("verm: could not write the diff image")

    def finished(self, request: Request, outcome: Outcome) -> None:
        """In a worker thread: keep the outcome and publish it from the loop thread."""
        with self._lock:
            self.outcomes[request.uri] = outcome
        from verm.lsp.features.diagnostics import diagnostics_for

        try:
            columns = self.columns(judged_text(outcome))
            diagnostics = diagnostics_for(outcome, self.settings, columns)
        except Exception:
            log.exception("verm: could not build the diagnostics of %s", request.uri)
            return
        params = lsp.PublishDiagnosticsParams(uri=request.uri, diagnostics=diagnostics,
                                              version=request.version)
        # The hooks first (~1 ms: what the document depends on, the idle timer), so by the time
        # the editor sees the diagnostics, a change to a file they depend on is noticed.
        for hook in self.on_judged:
            try:
                hook(request, outcome)
            except Exception:
                log.exception("verm: a judgement hook failed")
        self.call_soon(self.text_document_publish_diagnostics, params)
        self.write_diff(outcome)  # ~10-20 ms: after publishing, not before

    async def run_hooks(self, hooks: list[Callable[[], Awaitable[None]]], when: str) -> None:
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("verm: %s hook failed", when)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message pygls's read loop could not use (not JSON, not an object) is answered as
        JSON-RPC asks, and logged, not shown as an error pop-up; the rest as pygls does."""
        if source is JsonRpcException and isinstance(self.protocol, VermProtocol):
            self.protocol.unreadable(error)
            return
        super().report_server_error(error, source)

    def columns(self, text: str | None) -> Columns:
        """Positions in ``text`` converted to and from the encoding negotiated at initialize."""
        try:
            codec = self.workspace.position_codec
        except RuntimeError:  # not initialized yet: the spec's default
            codec = PositionCodec()
        return Columns(codec, text)

    def outcome(self, uri: str) -> Outcome | None:
        with self._lock:
            return self.outcomes.get(uri)

    def call_soon(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the server loop (the transport is not thread-safe)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            fn(*args)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    async def loop_run(self, fn: Any, *args: Any) -> Any:
        """Run blocking ``fn(*args)`` in a thread and await it: the loop stays responsive."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def close(self) -> None:
        self.scheduler.close()
        self.checker.close()


class ClientLogHandler(logging.Handler):
    """verm's log records → ``window/logMessage`` (never stdout, which is the protocol)."""

    LEVELS: ClassVar[dict[int, lsp.MessageType]] = {
        logging.ERROR: lsp.MessageType.Error,
        logging.WARNING: lsp.MessageType.Warning,
        logging.INFO: lsp.MessageType.Info,
    }

    def __init__(self, server: VermServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        try:
            kind = self.LEVELS.get(record.levelno, lsp.MessageType.Log)
            params = lsp.LogMessageParams(type=kind, message=self.format(record))
            self.server.call_soon(self.server.window_log_message, params)
        except Exception:
            pass


def create_server() -> VermServer:
    from verm.lsp.features import (
        actions,
        diagnostics,
        hover,
        idle,
        lifecycle,
        model,
        status,
        view,
        watch,
    )

    server = VermServer()
    handler = ClientLogHandler(server)
    logging.getLogger("verm").addHandler(handler)
    logging.getLogger("verm").setLevel(logging.INFO)
    for feature in (lifecycle, diagnostics, hover, actions, watch, idle, model, status, view):
        feature.setup(server)
    return server
