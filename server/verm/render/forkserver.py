"""A warm fork server: untrusted renders run in forked, rlimited children of a pre-imported process.

Started once (``python -m verm.render.forkserver SOCKET MODULE...``), it imports the heavy
modules (matplotlib, numpy, cairosvg) and calls their ``warm()``; then for every connection it
forks a *monitor* that reads the request and forks the *worker* that runs the job. The monitor
enforces the wall timeout, kills the worker's whole process group when the client hangs up
(cancellation), and answers with the result or the reason there is none. Forking a warm process
is ~6× faster than a fresh interpreter (NOTES.md) and keeps the caller single-process-safe: the
caller never forks itself, so it may have threads.

Wire format, both ways: a 4-byte big-endian length, a JSON header, then ``blob_len`` raw bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import importlib
import importlib.util
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import sysconfig
import tempfile
import time
import traceback
from typing import Any

HEADER = struct.Struct(">I")
# Spare monitor → fork server, one byte each: a request arrived (start the next spare); the
# spare retired after SPARE_IDLE_S without a request (its memory goes back to the system).
TAKEN, RETIRED = b".", b"r"
OUTPUT_TAIL = 4000


def send_message(sock: socket.socket, header: dict[str, Any], blob: bytes = b"") -> None:
    header = {**header, "blob_len": len(blob)}
    raw = json.dumps(header).encode()
    sock.sendall(HEADER.pack(len(raw)) + raw + blob)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    (n,) = HEADER.unpack(_recv_exact(sock, HEADER.size))
    header = json.loads(_recv_exact(sock, n))
    blob = _recv_exact(sock, int(header.get("blob_len", 0)))
    return header, blob


def _die_with_parent(sig: int, parent: int | None = None) -> None:
    """Ask Linux to signal us when our parent dies: no orphaned servers, spares or workers.

    A parent that died between our fork and this call would never trigger the signal: when
    ``parent`` (the pid we were forked from) is gone already, leave at once.
    """
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:
        os._exit(0)


def _vm_size() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit(memory_mb: int, cpu_s: float) -> None:
    extra = max(64, int(memory_mb)) << 20
    limit = _vm_size() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(cpu_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The log and result files live in /dev/shm (RAM): without this a print loop fills it at
    # ~1 GB/s, past the memory limit. Python ignores SIGXFSZ, so the write raises EFBIG instead.
    resource.setrlimit(resource.RLIMIT_FSIZE, (extra, extra))


def _resolve(job: str) -> Any:
    module, _, func = job.partition(":")
    return getattr(importlib.import_module(module), func)


def _run_worker(request: dict[str, Any], out_path: str, log_path: str,
                done_fd: int | None = None) -> None:
    """Worker: isolate, run the job, write ``header + blob`` to ``out_path``; no return.

    With ``done_fd``, one byte written there says the result is complete: the monitor answers
    at once instead of waiting for this process to exit (tearing down a forked copy of the
    warm server's address space takes milliseconds).
    """
    code = 0
    try:
        os.setsid()  # own process group: the monitor kills everything the user code spawns
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as this process
        cwd = request.get("cwd")
        if cwd:
            os.chdir(cwd)
        _limit(int(request.get("memory_mb", 2048)), float(request.get("timeout", 10.0)))
        header, blob = _resolve(request["job"])(request.get("payload") or {})
        raw = json.dumps(header).encode()
        try:
            with open(out_path, "wb") as fh:
                fh.write(HEADER.pack(len(raw)) + raw)
                fh.write(blob)  # any buffer: the rasteriser's own, never copied
        except OSError as exc:
            if exc.errno == errno.EFBIG:  # the result file (RAM) counts against the limit
                raise MemoryError("the result is larger than the memory limit allows") from exc
            raise
        if done_fd is not None:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.write(done_fd, b"!")
    except BaseException:
        code = 70
        with contextlib.suppress(Exception):
            sys.__stderr__.write(traceback.format_exc())
            sys.__stderr__.flush()
    finally:
        os._exit(code)


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - OUTPUT_TAIL))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _recv_request(fd: int) -> dict[str, Any]:
    """Worker side of the monitor → worker pipe: one length-prefixed JSON request."""
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                os._exit(0)  # the monitor went away before a job came: nothing to do
            buf += chunk
        return buf

    (n,) = HEADER.unpack(exact(HEADER.size))
    return json.loads(exact(n))


def _spare_worker(read_fd: int, done_fd: int, modules: list[str], parent: int,
                  prewarm: bool) -> None:
    """A worker forked ahead of its job: it re-warms (faulting in its own copy of the warm
    pages and caches, off the critical path), then waits for the job. Never returns."""
    _die_with_parent(signal.SIGKILL, parent)
    if prewarm:
        with contextlib.suppress(BaseException):
            _warm(modules, "prewarm")
    request = _recv_request(read_fd)
    os.close(read_fd)
    _run_worker(request, request["_out"], request["_log"], done_fd)


def _spare(server: socket.socket, taken_fd: int, modules: list[str], parent: int,
           prewarm: bool, idle_s: float) -> None:
    """A monitor waiting for a connection with a pre-warmed worker; serves one request, exits.

    After ``idle_s`` without a request it retires (its worker dies with it): an idle editor
    keeps only the fork server. It decides alone, so no request can be lost to a retirement:
    a connection arriving after it gave up waits in the backlog for the fork server.
    """
    _die_with_parent(signal.SIGKILL, parent)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    read_fd, write_fd = os.pipe()
    done_r, done_w = os.pipe()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        server.close()
        os.close(write_fd)
        os.close(done_r)
        _spare_worker(read_fd, done_w, modules, me, prewarm)
    os.close(read_fd)
    os.close(done_w)
    deadline = time.monotonic() + idle_s
    while True:
        left = deadline - time.monotonic()
        ready = select.select([server], [], [], left)[0] if left > 0 else []
        if not ready:
            os.write(taken_fd, RETIRED)
            return
        try:  # several spares may wake for one connection: the others go back to waiting
            conn, _ = server.accept()
        except BlockingIOError:
            continue
        break
    conn.setblocking(True)
    os.write(taken_fd, TAKEN)  # the fork server starts the next spare
    server.close()
    os.close(taken_fd)
    _monitor(conn, pid, write_fd, done_r)


def _monitor(conn: socket.socket, pid: int, write_fd: int, done_fd: int) -> None:
    """Hand one request to the waiting worker ``pid``, enforce its limits, answer, exit.

    The worker writes a byte to ``done_fd`` once its result file is complete: the answer goes
    out then, and the worker's exit is reaped after it. A worker that exits without that byte
    is judged by its exit status.
    """
    request, _ = recv_message(conn)
    timeout = float(request.get("timeout", 10.0))
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="verm-job-", dir=shm)
    out_path, log_path = os.path.join(tmp, "out"), os.path.join(tmp, "log")
    start = time.monotonic()
    raw = json.dumps({**request, "_out": out_path, "_log": log_path}).encode()
    with contextlib.suppress(OSError):
        os.write(write_fd, HEADER.pack(len(raw)) + raw)
    os.close(write_fd)
    pidfd = os.pidfd_open(pid)
    cancelled = timed_out = done = False
    waiting = [done_fd, pidfd, conn]
    while True:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(waiting, [], [], left)
        if done_fd in ready:
            done = os.read(done_fd, 1) == b"!"
            if done:
                break
            waiting.remove(done_fd)  # closed without the byte: the exit status will say why
            continue
        if pidfd in ready:
            break
        if conn in ready:  # the client hung up or sent something: cancel
            cancelled = True
            break
    if timed_out or cancelled:
        _kill_group(pid)
    wstatus = 0
    if not done:
        _, wstatus = os.waitpid(pid, 0)
        _kill_group(pid)  # stray grandchildren the user code left behind
    elapsed_ms = (time.monotonic() - start) * 1000
    status: dict[str, Any] = {"elapsed_ms": elapsed_ms, "output": _tail(log_path)}
    if cancelled:
        status["status"] = "cancelled"
    elif timed_out:
        status["status"] = "timeout"
    elif not done and os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        status.update(status="crash", signal=sig, signal_name=signal.Signals(sig).name)
    elif not done:  # exited without saying its result was complete: whatever it wrote is not
        status.update(status="crash", exit_code=os.WEXITSTATUS(wstatus))
    else:
        code = 0
        try:
            with open(out_path, "rb") as fh:
                (n,) = HEADER.unpack(fh.read(HEADER.size))
                complete = os.fstat(fh.fileno()).st_size >= HEADER.size + n
            if not complete:
                raise ValueError("truncated result")
            # The client reads the result straight from this file (no parse and no copy here)
            # and then hangs up; only then is the file removed, below.
            status.update(status="ok", result_path=out_path)
        except (OSError, struct.error, ValueError):
            status.update(status="crash", exit_code=code)
    with contextlib.suppress(OSError):
        send_message(conn, status)
        if "result_path" in status:
            conn.settimeout(60.0)
            conn.recv(1)  # returns when the client closes the connection
    if done:  # the worker is exiting (or lingering): reap it, and end what it left behind
        _kill_group(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


def _warm(modules: list[str], hook: str = "warm") -> None:
    """Call each module's ``warm()`` (fork server) or ``prewarm()`` (spare worker), if any."""
    for name in modules:
        module = importlib.import_module(name)
        warm = getattr(module, hook, None)
        if callable(warm):
            warm()


def _preload(names: str) -> None:
    """Import installed packages the jobs use (learned from earlier jobs), before any fork.

    Only packages found in site-packages: never the stdlib (cheap anyway, and some modules
    act on import) and never a folder of the user's (this process imports nothing from its
    working directory, see ``Sandbox``). A package that fails to import is skipped.
    """
    roots = tuple(os.path.realpath(p) + os.sep for p in {
        sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    for name in filter(None, names.split(",")):
        if not all(p.isidentifier() and not p.startswith("_") for p in name.split(".")):
            continue
        try:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            if origin and os.path.realpath(origin).startswith(roots):
                importlib.import_module(name)
        except Exception:  # a package that fails here fails in the job, with a message
            continue


def _fork_spare(server: socket.socket, taken_w: int, modules: list[str], *,
                prewarm: bool = True, idle_s: float = 120.0) -> None:
    parent = os.getpid()
    if os.fork() == 0:
        code = 0
        try:
            _spare(server, taken_w, modules, parent, prewarm, idle_s)
        except BaseException:
            code = 1
        finally:
            os._exit(code)


def serve(sock_path: str, modules: list[str], spares: int = 1,
          idle_s: float = 120.0) -> None:
    """Import and warm ``modules``, then keep ``spares`` monitors waiting on ``sock_path``.

    Spares idle for ``idle_s`` retire; with none left, the fork server watches the socket
    itself and forks a spare for the next connection (without the re-warm: the request is
    already waiting).
    """
    _die_with_parent(signal.SIGTERM, int(os.environ.get("VERM_PARENT_PID", "0")) or None)
    _warm(modules)
    _preload(os.environ.get("VERM_PRELOAD", ""))
    # Move everything imported so far out of the GC's reach: a collection in a forked worker
    # would otherwise touch (and so copy) every inherited object page.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(64)
    server.setblocking(False)  # spares race for each connection; the losers wait again
    taken_r, taken_w = os.pipe()
    spares = max(1, spares)
    for _ in range(spares):
        _fork_spare(server, taken_w, modules, idle_s=idle_s)
    alive = spares
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    parent = os.getppid()
    while True:
        watched = [taken_r] if alive else [taken_r, server]
        ready, _, _ = select.select(watched, [], [], 1.0)
        if os.getppid() != parent:
            return
        if taken_r in ready:
            for byte in os.read(taken_r, 64):
                if byte == TAKEN[0]:
                    _fork_spare(server, taken_w, modules, idle_s=idle_s)
                elif byte == RETIRED[0]:
                    alive -= 1
        elif server in ready:  # a request and no spare: one for it, and then as usual
            _fork_spare(server, taken_w, modules, prewarm=False, idle_s=idle_s)
            alive += 1


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:], int(os.environ.get("VERM_FORK_SPARES", "1")),
          float(os.environ.get("VERM_SPARE_IDLE_S", "120")))
