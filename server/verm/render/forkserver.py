"""A warm fork server: untrusted renders run in forked, rlimited children of a pre-imported process.

Started once (``python -m verm.render.forkserver SOCKET MODULE...``), it imports the heavy
modules (matplotlib, numpy, cairosvg) and calls their ``warm()``; then for every connection it
forks a *monitor* that reads the request and forks the *worker* that runs the job. The monitor
enforces the wall timeout, kills the worker's whole process group when the client hangs up
(cancellation), and answers with the result or the reason there is none. Forking a warm process
is ~6× faster than a fresh interpreter (NOTES.md) and keeps the caller single-process-safe: the
caller never forks itself, so it may have threads.

Containment (issue 7): the worker keeps no descriptor of ours but its done pipe; its output goes
to a pipe of which the monitor keeps the tail; rlimits never exceed fixed ceilings; the job runs
in a pids cgroup of its own where one can be made (else the monitor counts its processes); the
monitor and the fork server are subreapers, so a double-forked, setsid child is still found and
killed when the job ends, and SIGTERM makes the fork server kill its whole tree before it exits.

Wire format, both ways: a 4-byte big-endian length, a JSON header, then ``blob_len`` raw bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import gc
import importlib
import importlib.util
import json
import math
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys
import sysconfig
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any

from verm.render.processes import (
    PidsCgroup,
    become_subreaper,
    descendants,
    live_children,
    owner_tag,
    remove_stale,
    rmtree,
    sweep,
)

HEADER = struct.Struct(">I")
# Spare monitor → fork server, one byte each: a request arrived (start the next spare); the
# spare retired after SPARE_IDLE_S without a request (its memory goes back to the system).
# Each message is the byte plus the sender's pid (4 bytes, big-endian): only a spare this server
# forked and has not heard from yet is believed, and never more than ``spares`` wait at once.
TAKEN, RETIRED = b".", b"r"
CONTROL = struct.Struct(">cI")
OUTPUT_TAIL = 4000
# Hard ceilings, whatever a request asks for (defence in depth behind the config's clamps).
MEMORY_MB_MAX = 64 << 10
CPU_S_MAX = 600
TIMEOUT_S_MAX = 600.0
NPROC_DEFAULT = 256  # tasks (threads included) one render may have at once
OUT_OF_MEMORY = 71  # a worker's exit status when MemoryError escaped the job itself
WORKER_FAILED = 70  # ... and when another exception did (the traceback is in its output)
BURST_S = 0.2  # jobs taken less than this apart are a burst (a folder, a dataset; not typing)
PREWARM_AFTER_S = 1.0  # in a burst, a spare re-warms only after this long without a job
POLL_S = 0.1  # without a pids cgroup, how often a running job's process count is checked
ORPHANS_S = 10.0  # how often an idle fork server looks for orphans of a monitor that died


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


def _clamp(value: Any, low: float, high: float, default: float) -> float:
    """``value`` as a number within [low, high]; ``default`` when it is not a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high) if math.isfinite(number) else default


def _output_limit(memory_mb: Any) -> int:
    """Bytes a job may write to files (RLIMIT_FSIZE) and to its output pipe."""
    return int(_clamp(memory_mb, 64, MEMORY_MB_MAX, 2048)) << 20


def _limit(memory_mb: Any, cpu_s: Any) -> None:
    """rlimits for the worker and all it starts, never above the ceilings whatever was asked."""
    extra = _output_limit(memory_mb)
    limit = _vm_size() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(_clamp(cpu_s, 1, CPU_S_MAX, 10)) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The result file lives in /dev/shm (RAM): without this a write loop fills it at ~1 GB/s,
    # past the memory limit. Python ignores SIGXFSZ, so the write raises EFBIG instead. Output
    # to stdout/stderr goes to a pipe of which the monitor keeps only the tail.
    resource.setrlimit(resource.RLIMIT_FSIZE, (extra, extra))


def _resolve(job: str) -> Any:
    module, _, func = job.partition(":")
    return getattr(importlib.import_module(module), func)


def _close_fds(keep: int) -> None:
    """Close every descriptor but 0-2, ``keep`` and read-only regular files: user code must not
    reach the fork server's control pipe, its listening socket or any pipe, socket or device
    it inherited. (FreeType keeps the warm fonts' files open; reading them is harmless.)"""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd == keep:
            continue
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
            read_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        except OSError:
            continue  # the listing's own descriptor, already closed
        if not (regular and read_only):
            with contextlib.suppress(OSError):
                os.close(fd)


def _isolate(request: dict[str, Any], out_fd: int, done_fd: int) -> None:
    """Own process group, stdin from /dev/null, output to the monitor's pipe, no other fds,
    the job's cwd and limits."""
    os.setsid()  # own process group: the monitor kills everything the user code spawns
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    _close_fds(done_fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as this process
    cwd = request.get("cwd")
    if cwd:
        os.chdir(cwd)
    _limit(request.get("memory_mb", 2048), request.get("timeout", 10.0))


def _run_worker(request: dict[str, Any], out_path: str, out_fd: int, done_fd: int) -> None:
    """Worker: isolate, run the job, write ``header + blob`` to ``out_path``; no return.

    One byte written to ``done_fd`` says the result is complete: the monitor answers at once
    instead of waiting for this process to exit (tearing down a forked copy of the warm
    server's address space takes milliseconds).
    """
    code = 0
    try:
        _isolate(request, out_fd, done_fd)
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
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os.write(done_fd, b"!")
    except BaseException as exc:
        code = OUT_OF_MEMORY if isinstance(exc, MemoryError) else WORKER_FAILED
        with contextlib.suppress(BaseException):
            sys.__stderr__.write(traceback.format_exc())
            sys.__stderr__.flush()
    finally:
        os._exit(code)


class _Tail:
    """The last ``OUTPUT_TAIL`` bytes of the worker's stdout+stderr, read from its pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""
        self.total = 0
        os.set_blocking(fd, False)

    def read(self, limit: int = 4 << 20) -> bool:
        """Read what is there (at most ``limit`` bytes); False at end of file."""
        got = 0
        while got < limit:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            got += len(chunk)
            self.total += len(chunk)
            self.data = (self.data + chunk)[-OUTPUT_TAIL:]
        return True

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


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


def _spare_worker(read_fd: int, done_fd: int, out_fd: int, modules: list[str], parent: int,
                  prewarm: float | None) -> None:
    """A worker forked ahead of its job: it re-warms (faulting in its own copy of the warm
    pages and caches, off the critical path), then waits for the job. Never returns."""
    _die_with_parent(signal.SIGKILL, parent)
    # Re-warming costs a small chart's worth of CPU. Spent while the editor is idle it makes the
    # next save fast; spent while jobs queue up (a folder checked, a dataset synthesised) it
    # halves throughput. ``prewarm``: re-warm after that many seconds without a job (0: at once;
    # None: never); the fork server asks for a delay while jobs come in a burst.
    if prewarm is not None and (prewarm <= 0
                                or not select.select([read_fd], [], [], prewarm)[0]):
        with contextlib.suppress(BaseException):
            _warm(modules, "prewarm")
    request = _recv_request(read_fd)
    os.close(read_fd)
    _run_worker(request, request["_out"], out_fd, done_fd)


def _send_control(fd: int, kind: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, CONTROL.pack(kind, os.getpid()))


@dataclass
class _Limits:
    """What the fork server hands each spare: its pids cgroup (if any) and the task cap."""

    group: PidsCgroup | None
    nproc: int


@dataclass
class _Worker:
    """The monitor's view of its worker: pid, pipes, and the job cgroup it runs in."""

    pid: int
    request_fd: int
    done_fd: int
    out: _Tail
    cgroup: str | None
    nproc: int


def _fork_worker(server: socket.socket, taken_fd: int, modules: list[str],
                 prewarm: float | None,
                 limits: _Limits) -> _Worker:
    read_fd, write_fd = os.pipe()
    done_r, done_w = os.pipe()
    out_r, out_w = os.pipe()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        server.close()
        for fd in (write_fd, done_r, out_r, taken_fd):
            os.close(fd)
        _spare_worker(read_fd, done_w, out_w, modules, me, prewarm)
    for fd in (read_fd, done_w, out_w):
        os.close(fd)
    cgroup = limits.group.job(pid, limits.nproc) if limits.group else None
    return _Worker(pid, write_fd, done_r, _Tail(out_r), cgroup, limits.nproc)


def _spare(server: socket.socket, taken_fd: int, modules: list[str], parent: int,
           prewarm: float | None, idle_s: float, limits: _Limits) -> None:
    """A monitor waiting for a connection with a pre-warmed worker; serves one request, exits.

    After ``idle_s`` without a request it retires (its worker dies with it): an idle editor
    keeps only the fork server. It decides alone, so no request can be lost to a retirement:
    a connection arriving after it gave up waits in the backlog for the fork server.
    """
    _die_with_parent(signal.SIGKILL, parent)
    become_subreaper()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    worker = _fork_worker(server, taken_fd, modules, prewarm, limits)
    deadline = time.monotonic() + idle_s
    while True:
        left = deadline - time.monotonic()
        ready = select.select([server], [], [], left)[0] if left > 0 else []
        if not ready:
            _send_control(taken_fd, RETIRED)
            _end(worker)
            return
        try:  # several spares may wake for one connection: the others go back to waiting
            conn, _ = server.accept()
        except BlockingIOError:
            continue
        break
    conn.setblocking(True)
    _send_control(taken_fd, TAKEN)  # the fork server starts the next spare
    server.close()
    os.close(taken_fd)
    _monitor(conn, worker)


def _end(worker: _Worker) -> None:
    """Kill the worker and everything it started: what is left in the job's cgroup, and
    everything below this monitor (setsid escapees come back to us, a subreaper) — the scan
    also finds a root job that moved itself out of its cgroup. After the answer: off the
    critical path."""
    _kill_group(worker.pid)
    if worker.cgroup:
        PidsCgroup.end_job(worker.cgroup)
    sweep(os.getpid())


@dataclass
class _Wait:
    """How a job's wait ended."""

    done: bool = False
    exited: bool = False
    timed_out: bool = False
    cancelled: bool = False
    too_many: bool = False
    too_much_output: bool = False


def _output_cap(worker: _Worker, cap: int, warned: list[bool]) -> bool:
    """Past ``cap`` bytes of output the worker gets SIGXFSZ (a job may turn it into an error
    at the writing line); past twice that it is stopped. True: stop it."""
    if worker.out.total > 2 * cap:
        return True
    if worker.out.total > cap and not warned:
        warned.append(True)
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGXFSZ)
    return False


def _wait(conn: socket.socket, worker: _Worker, timeout: float, output_cap: int) -> _Wait:
    """Wait for the done byte, the worker's exit, the deadline or a hang-up; keep the output
    tail (and cap the output); without a pids cgroup, count the job's processes every
    ``POLL_S``."""
    pidfd = os.pidfd_open(worker.pid)
    start, end, warned = time.monotonic(), _Wait(), []
    count_at = start + POLL_S
    watched: list[Any] = [worker.done_fd, pidfd, conn, worker.out.fd]
    try:
        while True:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                end.timed_out = True
                return end
            wait = left if worker.cgroup else min(left, POLL_S)
            ready = select.select(watched, [], [], wait)[0]
            if worker.out.fd in ready:
                if not worker.out.read(1 << 20):
                    watched.remove(worker.out.fd)
                if _output_cap(worker, output_cap, warned):
                    end.too_much_output = True
                    return end
            if worker.done_fd in ready:
                end.done = os.read(worker.done_fd, 1) == b"!"
                if end.done:
                    return end
                watched.remove(worker.done_fd)  # closed without the byte: the exit says why
            if pidfd in ready:
                end.exited = True
                return end
            if conn in ready:  # the client hung up or sent something: cancel
                end.cancelled = True
                return end
            if not worker.cgroup and time.monotonic() >= count_at:  # output may never pause
                count_at = time.monotonic() + POLL_S
                if len(descendants(os.getpid())) > worker.nproc:
                    end.too_many = True
                    return end
    finally:
        os.close(pidfd)


def _status(end: _Wait, wstatus: int, out_path: str) -> dict[str, Any]:
    """The answer's status fields for how the job ended."""
    if end.cancelled:
        return {"status": "cancelled"}
    if end.too_many:
        return {"status": "crash", "limit": "processes"}
    if end.too_much_output:
        return {"status": "crash", "limit": "output"}
    if end.timed_out:
        return {"status": "timeout"}
    if not end.done and os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        return {"status": "crash", "signal": sig, "signal_name": signal.Signals(sig).name}
    if not end.done:  # exited without saying its result was complete: whatever it wrote is not
        return {"status": "crash", "exit_code": os.WEXITSTATUS(wstatus)}
    try:
        with open(out_path, "rb") as fh:
            (n,) = HEADER.unpack(fh.read(HEADER.size))
            if os.fstat(fh.fileno()).st_size < HEADER.size + n:
                raise ValueError("truncated result")
    except (OSError, struct.error, ValueError):
        return {"status": "crash", "exit_code": 0}
    # The client reads the result straight from this file (no parse and no copy here), then
    # removes it and hangs up.
    return {"status": "ok", "result_path": out_path}


def _monitor(conn: socket.socket, worker: _Worker) -> None:
    """Hand one request to the waiting worker, enforce its limits, answer, clean up, exit.

    The worker writes a byte to its done pipe once its result file is complete: the answer
    goes out then, and the worker's exit is reaped after it. A worker that exits without that
    byte is judged by its exit status.
    """
    request, _ = recv_message(conn)
    timeout = _clamp(request.get("timeout"), 0.0, TIMEOUT_S_MAX, 10.0)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix=f"verm-job-{owner_tag()}-", dir=shm)
    out_path = os.path.join(tmp, "out")
    start = time.monotonic()
    raw = json.dumps({**request, "_out": out_path}).encode()
    with contextlib.suppress(OSError):
        os.write(worker.request_fd, HEADER.pack(len(raw)) + raw)
    os.close(worker.request_fd)
    end = _wait(conn, worker, timeout, _output_limit(request.get("memory_mb")))
    wstatus = 0
    if not end.done:
        if end.timed_out or end.cancelled or end.too_many or end.too_much_output:
            _kill_group(worker.pid)
        _, wstatus = os.waitpid(worker.pid, 0)
        _end(worker)  # what the user code left behind, before the output tail is read
    worker.out.read()
    status: dict[str, Any] = {"elapsed_ms": (time.monotonic() - start) * 1000,
                              "output": worker.out.text(), **_status(end, wstatus, out_path)}
    if "result_path" not in status:
        rmtree(tmp)
    with contextlib.suppress(OSError):
        send_message(conn, status)
        if "result_path" in status:
            conn.settimeout(60.0)
            conn.recv(1)  # returns when the client closes the connection
    if end.done:  # the worker is exiting (or lingering): reap it, and end what it left behind
        _end(worker)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)
    rmtree(tmp)


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


def _fork_spare(server: socket.socket, taken_w: int, modules: list[str], limits: _Limits, *,
                prewarm: float | None = 0.0, idle_s: float = 120.0) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the fork server's shutdown is not ours
        code = 0
        try:
            _spare(server, taken_w, modules, parent, prewarm, idle_s, limits)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def _read_control(buffer: bytes) -> tuple[list[tuple[bytes, int]], bytes]:
    """Complete ``(kind, pid)`` messages in ``buffer`` and what is left; bytes that cannot
    start a message are skipped (garbage never counts)."""
    messages = []
    while len(buffer) >= CONTROL.size:
        kind, pid = CONTROL.unpack_from(buffer)
        if kind not in (TAKEN, RETIRED):
            buffer = buffer[1:]
            continue
        messages.append((kind, pid))
        buffer = buffer[CONTROL.size:]
    return messages, buffer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shutdown(group: PidsCgroup | None) -> None:
    """Kill every process below the fork server (monitors, workers, escapees) and leave."""
    sweep(os.getpid())
    if group is not None:
        group.remove()
    os._exit(0)


def _orphans(known: set[int]) -> None:
    """Kill processes re-parented to us that are no spare of ours (a monitor died)."""
    known &= {pid for pid in known if _alive(pid)}
    for pid in live_children().get(os.getpid(), []):
        if pid not in known:
            _kill_group(pid)
            sweep(pid)


def serve(sock_path: str, modules: list[str], spares: int = 1,
          idle_s: float = 120.0, nproc: int = NPROC_DEFAULT, batch: bool = False) -> None:
    """Import and warm ``modules``, then keep ``spares`` monitors waiting on ``sock_path``.

    ``batch``: jobs come back to back (``verm check`` of a folder), so a spare re-warms only
    after ``PREWARM_AFTER_S`` without a job, as in a burst. A sequential batch's jobs are as far
    apart as a job takes (a chart: ~200 ms, more than ``BURST_S``), and re-warming at once after
    each would spend a second core on work the next job does not need.

    Spares idle for ``idle_s`` retire; with none left, the fork server watches the socket
    itself and forks a spare for the next connection (without the re-warm: the request is
    already waiting). Only the spares it forked are believed on the control pipe, and never
    more than ``spares`` wait at once.
    """
    _die_with_parent(signal.SIGTERM, int(os.environ.get("VERM_PARENT_PID", "0")) or None)
    become_subreaper()  # orphans of a monitor that died come back here
    group: PidsCgroup | None = None
    signal.signal(signal.SIGTERM, lambda *_: _shutdown(group))
    if os.path.isdir("/dev/shm"):
        remove_stale("/dev/shm", "verm-job-")
    remove_stale(tempfile.gettempdir(), "verm-job-")
    group = PidsCgroup.create()
    limits = _Limits(group, max(8, nproc))
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
    waiting: set[int] = set()  # spares forked and not yet heard from
    forked: set[int] = set()  # every spare (later a monitor) we started

    first = PREWARM_AFTER_S if batch else 0.0

    def fork_one(prewarm: float | None = 0.0) -> None:
        pid = _fork_spare(server, taken_w, modules, limits, prewarm=prewarm, idle_s=idle_s)
        waiting.add(pid)
        forked.add(pid)

    for _ in range(spares):
        fork_one(first)
    last_taken = float("-inf")  # when a spare last took a job
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    parent = os.getppid()
    buffer = b""
    orphans_at = time.monotonic() + ORPHANS_S
    while True:
        waiting &= {pid for pid in waiting if _alive(pid)}  # a spare that died unheard
        watched = [taken_r] if waiting else [taken_r, server]
        ready, _, _ = select.select(watched, [], [], 1.0)
        if os.getppid() != parent:
            _shutdown(group)
        if taken_r in ready:
            messages, buffer = _read_control(buffer + os.read(taken_r, 4096))
            for kind, pid in messages:
                if pid in waiting:
                    waiting.discard(pid)
                    if kind == TAKEN and len(waiting) < spares:
                        now = time.monotonic()
                        burst = batch or now - last_taken < BURST_S
                        last_taken = now
                        fork_one(PREWARM_AFTER_S if burst else 0.0)
        elif server in ready:  # a request and no spare: one for it, and then as usual
            fork_one(prewarm=None)
        elif not ready and time.monotonic() > orphans_at:
            _orphans(forked)
            orphans_at = time.monotonic() + ORPHANS_S


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:], int(os.environ.get("VERM_FORK_SPARES", "1")),
          float(os.environ.get("VERM_SPARE_IDLE_S", "120")),
          int(os.environ.get("VERM_SANDBOX_NPROC", str(NPROC_DEFAULT))),
          os.environ.get("VERM_SANDBOX_BATCH") == "1")
