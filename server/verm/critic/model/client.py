"""The parent's side of the model worker: start it on first use, share it, unload it when idle,
restart it when it dies. No torch here: this module is imported by the language server.

One worker per model spec and process, shared by every document: a GPU runs one generation at a
time, so requests take turns (the newest save of a document cancels its older one through the
caller's ``cancelled``). After ``idle_s`` without a request the process exits and the GPU memory
is free again; the next judgement starts and loads it again. A worker that dies mid-judgement
fails that judgement with ``WorkerError`` (the caller keeps the analytic result) and is started
afresh by the next one.
"""

from __future__ import annotations

import base64
import collections
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from verm.critic.model.runtime import ModelSpec

log = logging.getLogger("verm.model")

OnStatus = Callable[[str, float | None], None]
"""(message, fraction done or None): loading progress, for ``$/progress`` or a CLI line."""


class WorkerError(Exception):
    """The model worker failed (could not start, could not load, died); the message says why."""


class Cancelled(WorkerError):
    pass


@dataclass
class _Pending:
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)


class ModelWorker:
    """A model in a worker process of its own, loaded on first use."""

    def __init__(self, spec: ModelSpec, idle_s: float = 600.0,
                 python: str | None = None, env: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.idle_s = idle_s
        self.python = python or sys.executable
        self.env = env
        self.facts: dict[str, Any] = {}
        self.listeners: list[OnStatus] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._loaded = False
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._turn = threading.Lock()  # one request in the worker at a time
        self._state = threading.Lock()  # guards _proc, _pending, _timer
        self._timer: threading.Timer | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=60)
        self.starts = 0  # how many times a process was started (restarts included)

    # -- public ------------------------------------------------------------------------
    def ensure_loaded(self, on_status: OnStatus | None = None) -> dict[str, Any]:
        """Start the worker and load the model unless it is; the facts of what is loaded."""
        with self._turn:
            self._cancel_idle()
            try:
                return self._ensure_loaded(on_status)
            finally:
                self._arm_idle()

    def generate(self, messages: list[dict[str, Any]], images: list[bytes],
                 sampling: dict[str, Any], on_text: Callable[[str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 on_status: OnStatus | None = None) -> dict[str, Any]:
        """The model's answer to ``messages`` with PNG ``images``; ``on_text`` gets each piece
        as it is generated. Raises ``WorkerError`` (``Cancelled`` when ``cancelled()``)."""
        with self._turn:
            self._cancel_idle()
            try:
                if cancelled is not None and cancelled():
                    raise Cancelled("cancelled before the model started")
                self._ensure_loaded(on_status)
                return self._request(
                    {"op": "generate", "messages": messages,
                     "images": [base64.b64encode(b).decode("ascii") for b in images],
                     "sampling": sampling}, on_text=on_text, cancelled=cancelled)
            finally:
                self._arm_idle()

    @property
    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def unload(self) -> None:
        """End the worker process (frees its memory); the next request starts a new one."""
        with self._state:
            proc, self._proc = self._proc, None
            self._loaded = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if proc is not None and proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=5)
            except Exception:
                proc.kill()
                proc.wait()

    close = unload

    # -- process -----------------------------------------------------------------------
    def _status(self, on_status: OnStatus | None, message: str, fraction: float | None) -> None:
        for listener in [*self.listeners, *([on_status] if on_status else [])]:
            try:
                listener(message, fraction)
            except Exception:
                log.exception("verm: a model status listener failed")

    def _ensure_loaded(self, on_status: OnStatus | None) -> dict[str, Any]:
        if self._loaded and self.alive:
            return self.facts
        self._start()
        self._status(on_status, f"loading model {os.path.basename(self.spec.path.rstrip('/'))}",
                     0.0)
        try:
            done = self._request({"op": "load", "spec": asdict(self.spec)},
                                 on_status=lambda m, f: self._status(on_status, m, f))
        except WorkerError as exc:
            self._status(on_status, f"model failed to load: {exc}", None)
            raise
        self.facts = dict(done.get("facts") or {})
        self._loaded = True
        if self.facts.get("device") == "cpu":
            log.warning("verm: the model runs on the CPU (no CUDA GPU found): judgements are "
                        "slow; use a GPU machine or --critic remote")
        return self.facts

    def _start(self) -> None:
        self.unload()
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env["PYTHONUNBUFFERED"] = "1"
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "verm.critic.model.worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True,
                start_new_session=True)
        except OSError as exc:
            raise WorkerError(f"could not start the model worker ({self.python}): {exc}") from exc
        self.starts += 1
        with self._state:
            self._proc = proc
            self._pending = {}
        threading.Thread(target=self._read, args=(proc,), name="verm-model-out",
                         daemon=True).start()
        threading.Thread(target=self._drain, args=(proc,), name="verm-model-err",
                         daemon=True).start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            with self._state:
                pending = self._pending.get(event.get("id"))  # type: ignore[arg-type]
            if pending is not None:
                pending.events.put(event)
        code = proc.wait()
        with self._state:
            pendings = list(self._pending.values()) if self._proc is proc else []
        for pending in pendings:
            pending.events.put({"event": "exit", "code": code})

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr.append(line)
                log.debug("model worker: %s", line)

    def _why_dead(self, code: int | None) -> str:
        tail = [line for line in self._stderr if line.strip()][-3:]
        how = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
        return f"the model worker died ({how})" + (f": {' | '.join(tail)}" if tail else "")

    def _request(self, message: dict[str, Any], *, on_text: Callable[[str], None] | None = None,
                 on_status: OnStatus | None = None,
                 cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise WorkerError(self._why_dead(proc.poll() if proc else None))
        rid = next(self._ids)
        pending = _Pending()
        with self._state:
            self._pending[rid] = pending
        try:
            self._send(proc, {"id": rid, **message})
            sent_cancel = False
            while True:
                try:
                    event = pending.events.get(timeout=0.05)
                except queue.Empty:
                    if cancelled is not None and not sent_cancel and cancelled():
                        self._send(proc, {"id": rid, "op": "cancel"})
                        sent_cancel = True
                    if proc.poll() is not None and pending.events.empty():
                        time.sleep(0.05)  # let the reader deliver what the worker said last
                        if pending.events.empty():
                            self._loaded = False
                            raise WorkerError(self._why_dead(proc.poll())) from None
                    continue
                kind = event.get("event")
                if kind == "text" and on_text is not None:
                    on_text(str(event.get("text", "")))
                elif kind == "status" and on_status is not None:
                    on_status(str(event.get("message", "")), event.get("fraction"))
                elif kind == "done":
                    if sent_cancel or (cancelled is not None and cancelled()):
                        raise Cancelled("cancelled: a newer judgement replaced this one")
                    return event
                elif kind == "error":
                    raise WorkerError(str(event.get("message") or "the model worker failed"))
                elif kind == "exit":
                    self._loaded = False
                    raise WorkerError(self._why_dead(event.get("code")))
        finally:
            with self._state:
                self._pending.pop(rid, None)

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise WorkerError(f"the model worker is gone ({exc})") from exc

    # -- idle unload -----------------------------------------------------------------------
    def _cancel_idle(self) -> None:
        with self._state:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm_idle(self) -> None:
        if self.idle_s <= 0:
            return
        with self._state:
            if self._proc is None:
                return
            timer = threading.Timer(self.idle_s, self._idle)
            timer.daemon = True
            self._timer = timer
        timer.start()

    def _idle(self) -> None:
        if self._turn.acquire(blocking=False):
            try:
                log.info("verm: unloading the model after %.0f s idle (frees its memory)",
                         self.idle_s)
                self.unload()
            finally:
                self._turn.release()
