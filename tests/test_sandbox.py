"""The warm fork server: isolation, limits, cancellation and recovery, with real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from verm.render.sandbox import Job, Sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "sandbox"


def gone(pid: int, within_s: float = 30.0) -> bool:
    """Wait until process ``pid`` has ended (exited or a zombie); False if it still runs."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def wait_for(path: Path, within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.exists()


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)])
    yield box
    box.close()


def test_job_runs_in_a_warm_forked_worker_with_its_cwd(sandbox: Sandbox, tmp_path: Path):
    result = sandbox.run("sandbox_jobs:double", {"x": 21}, cwd=str(tmp_path))
    assert result.status == "ok"
    assert result.data["x"] == 42
    assert result.data["warmed_in"], "warm() ran in the fork server before the fork"
    assert result.data["warmed_in"][0] != os.getpid()
    assert result.data["cwd"] == str(tmp_path)
    assert result.blob == b"\x00\x01" * 3


def test_timeout_kills_the_worker(sandbox: Sandbox):
    start = time.monotonic()
    result = sandbox.run("sandbox_jobs:loop_forever", {}, timeout_s=1.0)
    assert result.status == "timeout"
    assert time.monotonic() - start < 30  # a hang guard, not a speed test


def test_timeout_also_kills_what_the_worker_spawned(sandbox: Sandbox, tmp_path: Path):
    marker = tmp_path / "orphan.txt"
    result = sandbox.run("sandbox_jobs:spawn_sleeper", {"sleep": 60.0, "path": str(marker)})
    assert result.status == "ok"
    assert gone(result.data["spawned"]), "the grandchild was killed with the job"
    assert not marker.exists()


def test_crashes_are_results_not_exceptions(sandbox: Sandbox):
    assert sandbox.run("sandbox_jobs:hard_exit", {}).exit_code == 3
    seg = sandbox.run("sandbox_jobs:segfault", {})
    assert (seg.status, seg.signal_name) == ("crash", "SIGSEGV")
    err = sandbox.run("sandbox_jobs:raise_error", {})
    assert err.status == "crash" and "ValueError: bad input" in err.output


def test_memory_limit(sandbox: Sandbox):
    result = sandbox.run("sandbox_jobs:allocate", {"bytes": 4 << 30}, memory_mb=256)
    assert result.status == "crash" and "MemoryError" in result.output
    small = sandbox.run("sandbox_jobs:allocate", {"bytes": 16 << 20}, memory_mb=256)
    assert small.status == "ok" and small.data["n"] == 16 << 20


def test_no_stdin_and_large_results(sandbox: Sandbox):
    assert sandbox.run("sandbox_jobs:read_stdin", {}).data == {"read": ""}
    big = sandbox.run("sandbox_jobs:big_result", {"n": 5 << 20})
    assert big.status == "ok" and len(big.blob) == 5 << 20
    assert sandbox.run("sandbox_jobs:threads", {}).data == {"out": [1]}


def test_cancel_from_another_thread_kills_the_job(sandbox: Sandbox, tmp_path: Path):
    marker, started = tmp_path / "done.txt", tmp_path / "started"
    jobs: list[Job] = []

    def cancel_once_running() -> None:  # the job says it runs: cancel it then, not on a clock
        if wait_for(started):
            jobs[0].cancel()

    canceller = threading.Thread(target=cancel_once_running)
    canceller.start()
    result = sandbox.run("sandbox_jobs:sleep_then_touch",
                         {"sleep": 60.0, "path": str(marker), "started": str(started)},
                         on_start=jobs.append)
    canceller.join()
    assert result.status == "cancelled"
    assert gone(int(started.read_text())), "the cancelled worker is dead"
    assert not marker.exists()


def test_concurrent_jobs_from_threads(sandbox: Sandbox):
    results = []

    def work(i: int) -> None:
        results.append(sandbox.run("sandbox_jobs:double", {"x": i}).data["x"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [i * 2 for i in range(8)]


def test_a_dead_fork_server_is_restarted():
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)])
    try:
        assert box.run("sandbox_jobs:double", {"x": 1}).status == "ok"
        box._proc.kill()  # the worker process dies under us
        box._proc.wait()
        assert box.run("sandbox_jobs:double", {"x": 2}).data["x"] == 4
    finally:
        box.close()


def test_a_fork_server_started_from_a_thread_outlives_that_thread():
    """Linux's parent-death signal follows the thread that forked: a fork server started from
    a short-lived thread (a background start, a preload take-over) must not die with it."""
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)])
    try:
        starter = threading.Thread(target=box.start)
        starter.start()
        starter.join()
        pid = box._proc.pid
        assert not gone(pid, within_s=1.0), "the fork server died with its starting thread"
        assert box.run("sandbox_jobs:double", {"x": 3}).data["x"] == 6
        assert box._proc.pid == pid  # served by that one, not a restarted one
    finally:
        box.close()


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def children_within(pid: int, within_s: float = 30.0) -> list[int]:
    """The children of ``pid`` as soon as it has any (a spare is forked after a job)."""
    deadline = time.monotonic() + within_s
    while not (found := _children(pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def childless_within(pid: int, within_s: float = 30.0) -> bool:
    """True once ``pid`` has no children left (each exited and was reaped)."""
    deadline = time.monotonic() + within_s
    while _children(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _children(pid)


def test_idle_spares_retire_and_the_next_job_still_runs():
    """An idle editor keeps only the fork server; the first job after that gets a worker."""
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)], spare_idle_s=2.0)
    try:
        assert box.run("sandbox_jobs:double", {"x": 1}).data["x"] == 2
        server = box._proc.pid
        assert children_within(server), "a spare waits for the next job"
        # The job's monitor may still be a child when the spare after it is forked; both end.
        assert childless_within(server), "idle spares retired"
        for x in range(3):  # served again, spares come back, and the server is the same one
            assert box.run("sandbox_jobs:double", {"x": x}).data["x"] == 2 * x
        assert box._proc.pid == server and box._proc.poll() is None
        assert children_within(server), "after a job, a spare waits again"
    finally:
        box.close()


def _rewarms(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.parametrize("batch", [False, True])
def test_spares_rewarm_after_each_job_only_outside_a_batch(
        batch: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """For an editor (saves seconds apart) a spare re-warms as soon as it is forked, so the
    next save finds it warm. In a batch (``verm check`` of a folder: jobs back to back, each
    as long as a render) re-warming after every job would spend a second core on work no
    job needs: spares re-warm only once jobs pause (``PREWARM_AFTER_S``)."""
    from verm.render.forkserver import BURST_S, PREWARM_AFTER_S

    log = tmp_path / "prewarm.log"
    monkeypatch.setenv("SANDBOX_JOBS_PREWARM_LOG", str(log))
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)], batch=batch)
    try:
        gap = (BURST_S + PREWARM_AFTER_S) / 2  # more than a burst's, less than a pause
        for x in range(4):
            assert box.run("sandbox_jobs:double", {"x": x}).data["x"] == 2 * x
            time.sleep(gap)
        during = _rewarms(log)
        time.sleep(PREWARM_AFTER_S + 1.0)  # a pause: the waiting spare re-warms now
        after = _rewarms(log)
    finally:
        box.close()
    if batch:
        assert during == 0, "no spare re-warmed while the batch's jobs kept coming"
        assert after == 1, "the spare waiting through the pause re-warmed, once"
    else:
        assert during >= 4, "each spare re-warmed at once (the first, and one after each job)"
        assert after == during


def test_nothing_is_imported_from_the_working_directory(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path):
    """A workspace's own lxml.py must not run in the fork server, outside the sandbox."""
    marker = tmp_path / "imported"
    (tmp_path / "lxml.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    box = Sandbox(["verm.render.svg_job"])
    try:
        svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'
        result = box.run("verm.render.svg_job:run", {"path": "a.svg", "text": svg})
        assert result.status == "ok" and result.data["ok"]
    finally:
        box.close()
    assert not marker.exists()


@pytest.fixture
def site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway venv's site-packages, standing in for the real one: fork servers started
    in this test run its python (preloads come only from its site-packages) and import verm
    and the real venv's packages through a path entry; the real venv is never written to."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    verm_root = Path(__import__("verm").__file__).parent.parent
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(verm_root), sysconfig.get_paths()["purelib"],
         *filter(None, [os.environ.get("PYTHONPATH")])]))
    return Path(purelib)


def test_a_preload_that_breaks_the_fork_server_is_dropped_for_good(site_packages: Path):
    """A package that kills the process importing it must not take the renders with it, now
    or at the next restart."""
    name = "verm_test_exits_on_import"
    (site_packages / f"{name}.py").write_text("import os\nos._exit(3)\n")
    box = Sandbox(["sandbox_jobs"], pythonpath=[str(FIXTURES)])
    try:
        assert box.run("sandbox_jobs:double", {"x": 1}).data["x"] == 2
        box.preload([name])
        assert name in box.preloaded
        deadline = time.monotonic() + 30
        while name in box.preloaded and time.monotonic() < deadline:
            time.sleep(0.1)
        assert name not in box.preloaded, "refused once the new fork server died"
        assert box.run("sandbox_jobs:double", {"x": 2}).data["x"] == 4
        box._restart()  # a restart does not try it again
        assert box.run("sandbox_jobs:double", {"x": 3}).data["x"] == 6
        box.preload([name])
        assert name not in box.preloaded
    finally:
        box.close()
