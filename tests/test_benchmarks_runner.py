"""``python -m benchmarks``: runs benchmark scripts, collects their JSON, renders RESULTS.md, and
reports a failure, a timeout or a benchmark it cannot run instead of leaving it out.

The benchmarks themselves are minutes long; these use fake scripts in a temp folder that
behave like them (write ``--json FILE``, print, exit) or misbehave (crash, hang, write nothing).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import results  # noqa: E402

FIGURES = {"examples": 7, "select": None, "returncode": 0, "seconds": 1.5, "passed": 5,
           "failed": 0}


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text("import argparse, json, sys, time\n"
                    "p = argparse.ArgumentParser()\n"
                    "p.add_argument('--json')\n"
                    "p.add_argument('--examples', default='9')\n"
                    "args = p.parse_args()\n" + body)
    return path


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, runner.Benchmark]:
    good = script(tmp_path, "fuzz", f"figures = {FIGURES!r}\n"
                  "figures['examples'] = int(args.examples)\n"
                  "open(args.json, 'w').write(json.dumps(figures))\nprint('fine')\n")
    crash = script(tmp_path, "crash", "print('about to fail')\n"
                   "raise RuntimeError('the renderer is gone')\n")
    hang = script(tmp_path, "hang", "print('waiting', flush=True)\ntime.sleep(60)\n")
    silent = script(tmp_path, "silent", "print('forgot the json')\n")
    missed = script(tmp_path, "missed", f"open(args.json, 'w').write(json.dumps({FIGURES!r}))\n"
                    "print('MISS: a target')\nsys.exit(1)\n")
    B = runner.Benchmark
    return {
        "fuzz": B("fuzz", "Fuzz", good, full=("--examples", "5000"), quick=("--examples", "7")),
        "crash": B("crash", "Crash", crash),
        "hang": B("hang", "Hang", hang, quick_timeout_s=1.5),
        "silent": B("silent", "Silent", silent),
        "missed": B("missed", "Missed", missed),
        "gpu": B("gpu", "On a GPU", good, needs_gpu=True),
    }


def test_collects_json_and_renders_the_figures_with_targets(fakes, tmp_path):
    o = runner.run_one(fakes["fuzz"], quick=True, logs=tmp_path)
    assert (o.status, o.returncode, o.reason, o.tail) == (results.OK, 0, "", "")
    assert o.data == {**FIGURES, "examples": 7}  # --quick passed the quick arguments
    assert o.command.endswith("fuzz.py --examples 7")
    md = results.render({"date": "today", "quick": True}, [o])
    assert "| 7 | 5 | 0 ✓ | 2 |" in md  # the renderer of the real fuzz benchmark
    assert "## Fuzz" in md and "- fuzzing: 5 properties × 7 examples, 0 failed" in md


def test_a_crash_a_hang_and_no_json_are_failures_with_their_output(fakes, tmp_path):
    crash = runner.run_one(fakes["crash"], quick=True, logs=tmp_path)
    assert crash.status == results.FAILED and crash.returncode == 1
    assert crash.reason == "exit status 1, no results written"
    assert "about to fail" in crash.tail and "the renderer is gone" in crash.tail

    hang = runner.run_one(fakes["hang"], quick=True, logs=tmp_path)
    assert hang.status == results.TIMED_OUT and hang.reason == "timed out after 2 s"
    assert hang.seconds < 20 and "waiting" in hang.tail

    silent = runner.run_one(fakes["silent"], quick=True, logs=tmp_path)
    assert (silent.status, silent.reason) == (results.FAILED, "exited 0 but wrote no results")

    md = results.render({}, [crash, hang, silent])
    assert "**Failed:** exit status 1, no results written" in md
    assert "RuntimeError: the renderer is gone" in md
    assert "**Timed out:** timed out after 2 s" in md
    assert "**Failed:** exited 0 but wrote no results" in md
    assert "| [Hang](#hang) | timed out |" in md


def test_figures_with_a_failing_exit_are_kept_and_the_exit_shown(fakes, tmp_path):
    o = runner.run_one(fakes["missed"], quick=False, logs=tmp_path)
    assert (o.status, o.returncode) == (results.OK, 1) and o.data == FIGURES
    md = results.render({}, [o])
    assert "exited with status 1" in md and "MISS: a target" in md
    assert "| [Missed](#missed) | ok (exit 1) |" in md


def test_a_gpu_benchmark_without_a_gpu_is_not_run(fakes, tmp_path):
    o = runner.run_one(fakes["gpu"], quick=True, logs=tmp_path, gpu=False)
    assert (o.status, o.reason) == (results.NOT_RUN, "no GPU on this machine")
    assert "**Not run:** no GPU on this machine" in results.render({}, [o])


def test_main_writes_the_report_and_keeps_earlier_outcomes_with_only(fakes, tmp_path):
    out = tmp_path / "RESULTS.md"
    chosen = [fakes["fuzz"], fakes["crash"]]
    rc = runner.main(["--quick", "--out", str(out), "--logs", str(tmp_path / "logs")], chosen)
    assert rc == 1  # a benchmark failed
    md = out.read_text()
    assert "| [Fuzz](#fuzz) | ok |" in md and "| [Crash](#crash) | failed |" in md
    assert "load average" in md and "python -m benchmarks --quick" in md
    stored = json.loads((tmp_path / "results.json").read_text())
    assert [o["name"] for o in stored["outcomes"]] == ["fuzz", "crash"]

    rc = runner.main(["--only", "fuzz", "--out", str(out), "--logs", str(tmp_path / "logs")],
                     chosen)
    assert rc == 0
    md = out.read_text()
    assert "| 5000 | 5 | 0 ✓ |" in md  # the full run's arguments this time
    assert "| [Crash](#crash) | failed |" in md  # kept from the run before

    out.unlink()
    assert runner.main(["--render-only", "--out", str(out)], chosen) == 0
    assert out.read_text() == md  # rewritten from results.json, nothing run

    with pytest.raises(SystemExit):
        runner.main(["--only", "nonesuch", "--out", str(out)], chosen)


def test_every_benchmark_script_exists_and_takes_json():
    for b in runner.BENCHMARKS:
        text = b.script.read_text()
        assert ("--json" in text) == b.json_flag, b.name
        assert b.name in results.RENDERERS
