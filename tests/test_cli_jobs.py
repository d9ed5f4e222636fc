"""`verm check --jobs N`: several sources judged at once give exactly the verdicts, in exactly
the order, of judging them one after another — on a folder of all four kinds, failures
included."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import FIXTURES
from support import run_verm as verm


def test_two_jobs_give_the_same_results_in_the_same_order_as_one(tmp_path: Path):
    for name in ("bars.py", "icon.svg", "page.html", "stock.md"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "broken.py").write_text("import matplotlib.pyplot as plt\n"
                                        "fig, ax = plt.subplots()\nax.plot([1, 2], [3])\n")
    for name in ("bars.py", "icon.svg", "page.html", "stock.md"):
        assert verm("pin", name, cwd=tmp_path).returncode == 0
    shutil.copy(tmp_path / "bars.ref.png", tmp_path / "broken.ref.png")
    for name, old, new in (("bars.py", '"Sales per quarter"', '"Sales per year"'),
                           ("stock.md", "|   7 |", "|   9 |"),
                           ("icon.svg", "#5E81AC", "#D08770")):
        path = tmp_path / name
        path.write_text(path.read_text().replace(old, new))
    one = verm("check", ".", "--format", "json", "--jobs", "1", cwd=tmp_path)
    two = verm("check", ".", "--format", "json", "--jobs", "2", cwd=tmp_path)
    assert one.returncode == two.returncode == 1, (one.stderr, two.stderr)
    assert two.stdout == one.stdout
    sources = [line.split('"source": "', 1)[1].split('"', 1)[0]
               for line in one.stdout.splitlines()]
    assert sources == sorted(sources) and len(sources) == 5  # broken.py included, in order
    assert '"rendered": false' in one.stdout  # the broken script's failure is a result


def test_jobs_must_be_positive(tmp_path: Path):
    out = verm("check", ".", "--jobs", "0", cwd=tmp_path)
    assert out.returncode == 2 and "positive" in out.stderr


def test_no_more_renders_at_once_than_jobs(tmp_path: Path):
    """--jobs N starts at most N chart render workers at once (each with the render's limits),
    and 2N pages in flight (pages mostly wait on Chromium), also when more threads judge (a
    remote critic's concurrency): the others wait their turn. Real renders that take a while,
    counted as they run."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from verm.render import Renderers
    from verm.render.base import RenderOptions
    from verm.source import Source

    running, most = {"chart": 0, "html": 0}, {"chart": 0, "html": 0}
    lock = threading.Lock()
    slow = tmp_path / "slow.py"
    slow.write_text("import time\nimport matplotlib.pyplot as plt\ntime.sleep(0.3)\n"
                    "plt.plot([1, 2, 3])\n")
    page = tmp_path / "slow.html"
    page.write_text("<p>slow</p><script>const t = Date.now(); while (Date.now() - t < 300) {}"
                    "</script>")
    renderers = Renderers(jobs=2)

    def counting(kind: str) -> None:
        renderer = renderers.get(kind)
        real = renderer.render

        def counted(*args: object, **kwargs: object):  # the real render, its overlap counted
            with lock:
                running[kind] += 1
                most[kind] = max(most[kind], running[kind])
            try:
                return real(*args, **kwargs)
            finally:
                with lock:
                    running[kind] -= 1

        renderer.render = counted  # type: ignore[method-assign]

    counting("chart")
    counting("html")
    options = RenderOptions(viewport=(200, 100))
    with renderers, ThreadPoolExecutor(max_workers=8) as threads:
        for path in (slow, page):
            sources = [Source.load(path)] * 8
            done = list(threads.map(lambda s: renderers.render(s, options), sources))
            assert all(r.ok for r in done), [r.failure for r in done]
        pool = renderers.browser()
        assert (pool.size, pool.concurrency, pool.launches) == (1, 4, 1)  # one Chromium
    assert most == {"chart": 2, "html": 4}


def _chromiums_below(pid: int) -> set[int]:
    """Chromiums (browser processes, each counted once: a wrapper script that started one is
    the same browser; not their page, GPU or utility children) below ``pid``."""
    from verm.render.processes import descendants, live_children

    tree = live_children()
    parent = {child: ppid for ppid, children in tree.items() for child in children}
    found = set()
    for child in descendants(pid, tree):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"--remote-debugging-pipe" in argv
                and not any(a.startswith(b"--type=") for a in argv)):
            found.add(child)
    return {child for child in found if parent.get(child) not in found}


def test_sixteen_pages_on_four_jobs_render_in_two_chromiums(tmp_path: Path):
    """`--jobs 4` has 8 pages in flight, 4 a Chromium: from 16 pages and tables on it renders in
    two Chromiums (below that one, as `--jobs 2` always does) and still gives exactly `--jobs
    1`'s output."""
    import subprocess
    import sys
    import time

    text = (FIXTURES / "stock.md").read_text()
    for i in range(16):
        (tmp_path / f"t{i:02d}.md").write_text(text.replace("|   7 |", f"| {i:3d} |"))
    assert verm("pin", *[f"t{i:02d}.md" for i in range(16)], cwd=tmp_path).returncode == 0
    (tmp_path / "t03.md").write_text(text.replace("|   7 |", "| 999 |"))  # one fails
    one = verm("check", ".", "--format", "json", "--jobs", "1", cwd=tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "verm.cli", "check", ".", "--format", "json",
                             "--jobs", "4"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    while proc.poll() is None:
        seen |= _chromiums_below(proc.pid)
        time.sleep(0.02)
    out, err = proc.communicate()
    assert one.returncode == proc.returncode == 1, (one.stderr, err)
    assert out == one.stdout and len(out.splitlines()) == 16
    assert len(seen) == 2, f"Chromiums seen: {seen}"


def test_a_long_folder_is_judged_a_bounded_way_ahead_of_its_output(tmp_path: Path):
    """However many sources, --jobs N judges at most N × AHEAD of them ahead of the one being
    printed, and lets go of each judged render once it is printed: a slow consumer (a slow
    terminal, a report) never makes the whole folder's pictures pile up in memory."""
    import argparse
    import gc
    import time
    import weakref

    from verm.check import Checker
    from verm.cli import AHEAD, _judged
    from verm.render import Renderers

    for i in range(24):
        icon = (FIXTURES / "icon.svg").read_text().replace('r="36"', f'r="{20 + i}"')
        (tmp_path / f"icon{i:02d}.svg").write_text(icon)
    sources = sorted(tmp_path.glob("*.svg"))
    assert verm("pin", *[p.name for p in sources], cwd=tmp_path).returncode == 0
    judged: list[int] = []
    alive: list[weakref.ref[object]] = []

    def after(position: int, _path: Path, judgement: object) -> None:
        judged.append(position)
        alive.append(weakref.ref(judgement))

    args = argparse.Namespace(jobs=2, critic="analytic", reference=None)
    ahead, held = [], []
    with Checker(renderers=Renderers(2, batch=True)) as checker:
        for printed, (path, judgement) in enumerate(_judged(checker, sources, args, after)):
            assert path == sources[printed]
            del judgement
            time.sleep(0.05)  # a slow consumer: the jobs would run far ahead if let
            ahead.append(max(judged) - printed)
            gc.collect()
            held.append(sum(ref() is not None for ref in alive))
    assert sorted(judged) == list(range(24))
    assert all(type(ref()).__name__ in ("CheckResult", "NoneType") for ref in alive)
    assert max(ahead) <= 2 * AHEAD
    assert max(ahead) >= AHEAD  # the jobs did run ahead (the bound is what stopped them)
    assert max(held) <= 2 * AHEAD + 2


BLAS_THREADS = ("import os, sys, verm.cli, numpy as np\n"
                "a = np.ones((600, 600), np.float32); a @ a\n"  # a product big enough to thread
                "print(os.environ.get('OPENBLAS_NUM_THREADS'), len(os.listdir('/proc/self/task')))")


def test_numpy_products_run_on_one_thread_unless_the_user_says_otherwise():
    """--jobs already keeps every core busy: OpenBLAS's own threads would only spin against the
    other jobs. A user who sets OPENBLAS_NUM_THREADS keeps their value."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    ours = subprocess.run([sys.executable, "-c", BLAS_THREADS], env=env, capture_output=True,
                          text=True, check=True).stdout.split()
    assert ours == ["1", "1"]  # the variable, and the process's only thread
    theirs = subprocess.run([sys.executable, "-c", BLAS_THREADS],
                            env={**env, "OPENBLAS_NUM_THREADS": "2"}, capture_output=True,
                            text=True, check=True).stdout.split()
    assert theirs[0] == "2"
