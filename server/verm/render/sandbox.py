"""Client of the fork server: run a job isolated, with time and memory limits, from any thread.

``Sandbox.run`` blocks its calling thread only; many threads may run jobs at once (each job is
its own connection and its own forked worker). Cancel a job by calling ``Job.cancel()`` from
another thread: the connection closes and the monitor kills the worker's process group. A fork
server that died is started again on the next job.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from verm.render.forkserver import HEADER, NPROC_DEFAULT, recv_message, send_message
from verm.render.processes import owner_tag, remove_stale

Status = Literal["ok", "timeout", "crash", "cancelled", "unavailable"]


@dataclass
class SandboxResult:
    status: Status
    data: dict[str, Any] = field(default_factory=dict)
    blob: bytes = b""
    output: str = ""  # tail of the worker's stdout+stderr
    elapsed_ms: float = 0.0
    signal_name: str | None = None
    exit_code: int | None = None
    limit: str | None = None  # "processes" or "output": the job went past that limit


def _read_result(path: str) -> tuple[dict[str, Any], bytes]:
    """The worker's result, read from the monitor's file, which we then remove with its
    folder: the monitor may be killed before it cleans up (``verm check`` exits at once)."""
    try:
        with open(path, "rb") as fh:
            (n,) = HEADER.unpack(fh.read(HEADER.size))
            return json.loads(fh.read(n)), fh.read()
    finally:
        folder = os.path.dirname(path)
        if os.path.basename(folder).startswith("verm-job-"):
            with contextlib.suppress(OSError):
                os.unlink(path)
                os.rmdir(folder)


class Job:
    """One running request; ``cancel()`` from any thread kills its worker."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


class _Spawner:
    """Starts every fork server from one thread that lives as long as verm does.

    The fork server asks Linux to signal it when its parent dies (``PR_SET_PDEATHSIG``), and
    Linux means the parent *thread*: a fork server started from a short-lived thread (a
    background start at server launch, a preload take-over, a ``--jobs`` worker) was killed as
    soon as that thread ended, and the next render paid for a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[tuple[tuple[Any, ...], dict[str, Any], Future[Any]]]
        self._requests = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        done: Future[subprocess.Popen[bytes]] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="verm-spawner",
                                                daemon=True)
                self._thread.start()
            self._requests.put((args, kwargs, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            args, kwargs, done = self._requests.get()
            try:
                done.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as exc:  # the caller raises it
                done.set_exception(exc)


_spawner = _Spawner()

MAX_PRELOADS = 16
FORK_PREFIX = "verm-fork-"
STOP_GRACE_S = 3.0  # a fork server asked to stop kills its process tree, then exits
OLD_SERVER_GRACE_S = 60.0  # a replaced fork server lives on this long for its running jobs
PRELOAD_READY_S = 60.0  # a fork server with new preloads that is not ready by then is dropped


class Sandbox:
    """A lazily started fork server preloaded with ``modules``."""

    def __init__(self, modules: list[str], pythonpath: list[str] | None = None, *,
                 spare_idle_s: float | None = None, nproc: int | None = None,
                 batch: bool = False) -> None:
        """``spare_idle_s``: how long a pre-warmed spare worker waits for a job before it
        retires (default ``VERM_SPARE_IDLE_S`` or 120 s); the fork server itself stays.
        ``nproc``: how many processes and threads one job may have at once (default 256).
        ``batch``: jobs come back to back (a folder checked): spares re-warm only when jobs
        pause, not after every job (see ``forkserver.serve``)."""
        self._modules = list(modules)
        self._nproc = nproc
        self._spare_idle_s = spare_idle_s
        self.batch = batch
        self._pythonpath = list(pythonpath or [])
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._preloaded: set[str] = set()
        self._running_preload: list[str] = []
        self._replacing = threading.Lock()
        self._refused: set[str] = set()  # preloads that kept a fork server from starting
        self._retired: list[tuple[subprocess.Popen[bytes] | None, str | None]] = []

    @property
    def socket_path(self) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, "fork.sock")

    def start(self) -> None:
        """Start the fork server (idempotent); the first call pays the import cost."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._stop_locked()
            want = sorted(self._preloaded)
            self._proc, self._dir = self._spawn(want)
            self._running_preload = want

    def _spawn(self, preload: list[str], ready_s: float | None = None
               ) -> tuple[subprocess.Popen[bytes], str]:
        """A new fork server, ready: its process and its folder (socket, private cwd).
        ``ready_s``: give up (and kill it) if it is not ready by then."""
        remove_stale(tempfile.gettempdir(), FORK_PREFIX)  # left by a verm that was killed
        folder = tempfile.mkdtemp(prefix=f"{FORK_PREFIX}{owner_tag()}-")
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
               "VERM_PARENT_PID": str(os.getpid()), "VERM_PRELOAD": ",".join(preload)}
        if self._spare_idle_s is not None:
            env["VERM_SPARE_IDLE_S"] = str(self._spare_idle_s)
        env["VERM_SANDBOX_BATCH"] = "1" if self.batch else "0"
        env["VERM_SANDBOX_NPROC"] = str(self._nproc or env.get("VERM_SANDBOX_NPROC")
                                        or NPROC_DEFAULT)
        if self._pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                [*self._pythonpath, *filter(None, [env.get("PYTHONPATH")])])
        proc = _spawner.popen(
            # -P and a private cwd: nothing is imported from the directory verm was started
            # in (a workspace's own numpy.py must not run outside the sandbox)
            [sys.executable, "-P", "-m", "verm.render.forkserver",
             os.path.join(folder, "fork.sock"), *self._modules],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # warnings from warm() reach our stderr, never our stdout
            env=env,
            close_fds=True,
        )
        assert proc.stdout is not None
        if ready_s is not None and not select.select([proc.stdout], [], [], ready_s)[0]:
            proc.kill()  # e.g. a preloaded package that waits for the network on import
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            proc.kill()
            code = proc.wait()
            proc.stdout.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"verm's render worker failed to start (exit {code})")
        return proc, folder

    @property
    def preloaded(self) -> frozenset[str]:
        """Installed packages the fork server imports for its jobs, beyond its modules."""
        return frozenset(self._preloaded)

    def preload(self, names: list[str]) -> None:
        """Have the fork server import ``names`` before it forks, from now on.

        Chart scripts import more than matplotlib and numpy (pandas alone takes ~0.4 s per
        render). A new fork server with them preloaded is started in the background and
        takes over; jobs running on the old one finish there first.
        """
        new = {n for n in names
               if all(p.isidentifier() and not p.startswith("_") for p in n.split("."))}
        new -= self._preloaded | self._refused
        room = MAX_PRELOADS - len(self._preloaded)
        if not new or room <= 0:
            return
        self._preloaded |= set(sorted(new)[:room])
        threading.Thread(target=self._take_over, name="verm-preload", daemon=True).start()

    def _take_over(self) -> None:
        with self._replacing:
            want = sorted(self._preloaded)
            with self._lock:
                if self._proc is None or self._running_preload == want:
                    return  # not started (start() will preload) or already done
            try:
                proc, folder = self._spawn(want, PRELOAD_READY_S)
            except (RuntimeError, OSError):
                # Keep the server we have, and never try these packages again: a restart
                # must not depend on them.
                with self._lock:
                    failed = self._preloaded - set(self._running_preload)
                    self._refused |= failed
                    self._preloaded -= failed
                return
            with self._lock:
                old = (self._proc, self._dir)
                self._proc, self._dir = proc, folder
                self._running_preload = want
                self._retired.append(old)
            # Jobs already connected to the old server finish there; then it goes.
            timer = threading.Timer(OLD_SERVER_GRACE_S, self._stop_old, old)
            timer.daemon = True
            timer.start()

    @staticmethod
    def _stop_old(proc: subprocess.Popen[bytes] | None, folder: str | None) -> None:
        """Stop a fork server and remove its folder. SIGTERM first: it kills its whole tree
        (monitors, workers, whatever they started) before it exits; SIGKILL if it lingers."""
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if proc.stdout:
                proc.stdout.close()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def run(self, job: str, payload: dict[str, Any], *, timeout_s: float = 10.0,
            memory_mb: int = 2048, cwd: str | None = None,
            on_start: Any = None) -> SandboxResult:
        """Run ``module:function`` on ``payload`` in a fresh forked worker and wait for it.

        ``on_start(job)`` is called with the running ``Job`` so another thread may cancel it.
        """
        request = {"job": job, "payload": payload, "timeout": timeout_s,
                   "memory_mb": memory_mb, "cwd": cwd}
        for attempt in range(2):
            self.start()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                self._restart()
                if attempt:
                    return SandboxResult("unavailable", output="render worker unavailable")
                continue
            handle = Job(sock)
            if on_start is not None:
                on_start(handle)
            try:
                send_message(sock, request)
                sock.settimeout(timeout_s + 30.0)
                header, blob = recv_message(sock)
                if header.get("result_path"):
                    header["data"], blob = _read_result(header["result_path"])
            except (OSError, ConnectionError, ValueError):
                if handle.cancelled:
                    return SandboxResult("cancelled")
                # The monitor died: the worker process tree is gone with it or was killed.
                if attempt:
                    return SandboxResult("crash", output="render worker connection lost")
                self._restart()
                continue
            finally:
                sock.close()
            return SandboxResult(
                status=header.get("status", "crash"),
                data=header.get("data") or {},
                blob=blob,
                output=header.get("output", ""),
                elapsed_ms=float(header.get("elapsed_ms", 0.0)),
                signal_name=header.get("signal_name"),
                exit_code=header.get("exit_code"),
                limit=header.get("limit"),
            )
        return SandboxResult("unavailable")

    def _restart(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        self._stop_old(self._proc, self._dir)
        self._proc, self._dir = None, None

    def close(self) -> None:
        with self._lock:
            self._stop_locked()
            retired, self._retired = self._retired, []
        for proc, folder in retired:
            self._stop_old(proc, folder)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
