"""Processes of the render sandbox: who descends from whom, killing a whole tree, folders
named after their owner (removed once it died), and a pids cgroup per job where one can be made.

Only the standard library and /proc and /sys/fs/cgroup: imported by the fork server, the
sandbox client and the browser, never anything heavy.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import time

# ---- processes: who is alive, who descends from whom ----------------------------------------


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value)


def become_subreaper() -> None:
    """Orphans below us (a double fork + setsid) are re-parented to us, not to init: we can
    still find and kill them when the job ends."""
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def _stat(pid: int | str) -> list[bytes] | None:
    """/proc/PID/stat fields after the command name: state, ppid, ... (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2:].split()


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): tells a live owner from a reused pid."""
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def owner_tag(pid: int | None = None) -> str:
    """``PID-START-NS`` of a process: put in a folder's name, it lets a later run tell whether
    the folder's owner still lives (its start time tells a reused pid; NS, its pid namespace:
    a pid of another container's means nothing here)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{start_time(pid) or 0}-{_pid_namespace()}"


def owner_alive(name: str, prefix: str) -> bool:
    """Whether the owner named in ``PREFIX-PID-START-NS…`` lives; True when the name has no
    owner of our pid namespace in it (never remove what we cannot attribute)."""
    parts = name[len(prefix):].split("-")
    if len(parts) < 3 or not all(p.isdigit() for p in parts[:3]):
        return True
    if int(parts[1]) == 0 or int(parts[2]) != _pid_namespace():
        return True  # no start time (no /proc) or another namespace's pid: cannot tell
    return start_time(int(parts[0])) == int(parts[1])


def live_children() -> dict[int, list[int]]:
    """ppid → live (non-zombie) children, for every process we can see."""
    tree: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc (not Linux): nothing we can see
        return tree
    for name in names:
        if name.isdigit():
            fields = _stat(name)
            if fields and fields[0] not in (b"Z", b"X"):
                tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def descendants(root: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    """Live processes below ``root`` (not ``root`` itself)."""
    tree = live_children() if tree is None else tree
    found, todo = [], list(tree.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def reap() -> None:
    """Collect our exited children (zombies), without waiting."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def sweep(root: int, rounds: int = 200) -> int:
    """SIGKILL every process below ``root`` until none is left (a fork bomb forks while we kill;
    orphans come back to ``root`` when it is a subreaper). Returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        pids = descendants(root)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        killed += len(pids)
        if root == os.getpid():
            reap()
        time.sleep(0.002)
    if root == os.getpid():
        reap()
    return killed


def remove_stale(folder: str, prefix: str) -> None:
    """Remove ``folder/PREFIX-PID-START-…`` entries whose owner died (a crash, a SIGKILL)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.startswith(prefix) and not owner_alive(name, prefix):
                rmtree(os.path.join(folder, name))


def rmtree(path: str) -> None:
    """Remove a folder (or file) if it is there; never follows a link."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


# ---- a pids cgroup per job, where the system lets us make one ---------------------------------


def _cgroup_dirs() -> list[str]:
    """Folders of our own cgroups that carry the pids controller (v1 ``pids`` or v2)."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "pids" in controllers.split(","):
                found.append("/sys/fs/cgroup/pids" + path)
            elif controllers == "":
                found.append("/sys/fs/cgroup" + path)
                found.append("/sys/fs/cgroup/unified" + path)
    found = [d.rstrip("/") for d in found]
    return [d for d in found if os.path.exists(os.path.join(d, "cgroup.procs"))]


def _write(path: str, text: str) -> None:
    """Write to an existing cgroup file (never create one: a plain folder is no cgroup)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class PidsCgroup:
    """This fork server's cgroup folder: one child cgroup per job with ``pids.max`` set, which
    the kernel enforces for root too (RLIMIT_NPROC does not bind root)."""

    PREFIX = "verm-"

    def __init__(self, base: str, path: str) -> None:
        self.base, self.path = base, path

    @classmethod
    def create(cls) -> PidsCgroup | None:
        """Ours, or None where no writable pids cgroup exists (then the monitor counts)."""
        if os.environ.get("VERM_SANDBOX_CGROUP", "1") == "0":
            return None
        for base in _cgroup_dirs():
            with contextlib.suppress(OSError):  # v2 only; v1 has no such file
                _write(os.path.join(base, "cgroup.subtree_control"), "+pids")
            cls.clean_stale(base)
            path = os.path.join(base, f"{cls.PREFIX}{owner_tag()}")
            try:
                os.mkdir(path)
            except OSError:
                continue
            group = cls(base, path)
            if os.path.exists(os.path.join(path, "pids.max")) and group._enable_children():
                return group
            group.remove()
        return None

    def _enable_children(self) -> bool:
        control = os.path.join(self.path, "cgroup.subtree_control")
        if not os.path.exists(control):
            return True  # v1: every child has pids.max
        try:
            _write(control, "+pids")
            return True
        except OSError:
            return False

    def job(self, pid: int, nproc: int) -> str | None:
        """A new cgroup holding ``pid`` with at most ``nproc`` tasks; None if that failed."""
        path = os.path.join(self.path, f"job-{pid}")
        try:
            os.mkdir(path)
            _write(os.path.join(path, "pids.max"), str(nproc))
            _write(os.path.join(path, "cgroup.procs"), str(pid))
            return path
        except OSError:
            self.end_job(path)
            return None

    @staticmethod
    def end_job(path: str) -> None:
        """Kill what is left in a job's cgroup and remove it."""
        for _ in range(200):
            try:
                with open(os.path.join(path, "cgroup.procs")) as fh:
                    pids = [int(p) for p in fh.read().split()]
            except OSError:
                return
            if not pids:
                with contextlib.suppress(OSError):
                    os.rmdir(path)
                    return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            reap()
            time.sleep(0.002)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            for name in os.listdir(self.path):
                if name.startswith("job-"):
                    self.end_job(os.path.join(self.path, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.path)

    @classmethod
    def clean_stale(cls, base: str) -> None:
        """Kill and remove the job cgroups of fork servers that died (e.g. SIGKILLed)."""
        with contextlib.suppress(OSError):
            for name in os.listdir(base):
                if name.startswith(cls.PREFIX) and not owner_alive(name, cls.PREFIX):
                    cls(base, os.path.join(base, name)).remove()
