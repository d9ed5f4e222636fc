"""`verm check --shard I/N` and `verm merge-reports`: a CI matrix of N machines checks a
repository together — every source on exactly one machine, whatever the checkout path — and
the merged shard reports are the unsharded run's result, with its exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_workspace import EQUIVALENT, FAILING, NOT_RENDERED, mixed_workspace
from support import run_verm as verm
from verm.shard import Shard, ShardError, read_durations, select


@pytest.fixture(scope="module")
def workspace(pinner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mixed_workspace(pinner, tmp_path_factory.mktemp("ci") / "repo")


def _sources(stdout: str) -> list[str]:
    return [json.loads(line)["source"] for line in stdout.splitlines()]


def test_three_shards_partition_the_sources_and_merge_into_the_unsharded_run(workspace: Path):
    whole = verm("check", ".", "--format", "json", cwd=workspace)
    assert whole.returncode == 1, whole.stderr
    everything = _sources(whole.stdout)
    assert set(everything) == FAILING | NOT_RENDERED | EQUIVALENT
    shards = []
    for i in (1, 2, 3):
        out = verm("check", ".", "--format", "json", "--shard", f"{i}/3",
                   "--json-report", f"shard-{i}.jsonl", cwd=workspace)
        assert out.returncode in (0, 1), out.stderr
        (workspace / f"shard-{i}.json").write_text(out.stdout)
        shards.append(_sources(out.stdout))
    # every source on exactly one machine, 5 sources dealt 2/2/1, each shard in walk order
    assert sorted(s for shard in shards for s in shard) == sorted(everything)
    assert all(set(a).isdisjoint(b) for a in shards for b in shards if a is not b)
    assert sorted(len(s) for s in shards) == [1, 2, 2]
    assert all(s == [x for x in everything if x in s] for s in shards)

    merged = verm("merge-reports", "shard-1.json", "shard-2.json", "shard-3.json",
                  "--format", "json", cwd=workspace)
    assert merged.returncode == whole.returncode, merged.stderr
    assert merged.stdout == whole.stdout  # byte for byte, in the same order

    # --json-report files carry each source's time and place: the same result, in any order
    recorded = verm("merge-reports", "shard-3.jsonl", "shard-1.jsonl", "shard-2.jsonl",
                    "--format", "json", cwd=workspace)
    assert recorded.returncode == 1, recorded.stderr
    lines = [json.loads(line) for line in recorded.stdout.splitlines()]
    assert all(line.pop("seconds") > 0 for line in lines)
    assert lines == [json.loads(line) for line in whole.stdout.splitlines()]
    assert set(read_durations(workspace / "shard-1.jsonl")) == set(shards[0])

    text = verm("merge-reports", "shard-2.json", "shard-1.json", "shard-3.json",
                cwd=workspace)
    assert text.returncode == 1
    assert text.stdout.splitlines()[-1] == (
        "5 sources checked: 2 equivalent, 3 with discrepancies (1 not rendered); "
        "worst: broken.py, reward 0.00")
    assert "bars.py:8:1: warning text_error: reference text 'Sales per quarter'" in text.stdout


def test_merge_reports_exit_status_follows_check(tmp_path: Path):
    good = {"source": "a.svg", "reference": "a.ref.png", "kind": "svg", "rendered": True,
            "reward": 2.0, "errors": []}
    (tmp_path / "pass.json").write_text(json.dumps(good) + "\n")
    (tmp_path / "empty.json").write_text("")  # a shard with nothing to check
    out = verm("merge-reports", "pass.json", "empty.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "a.svg: visually equivalent to a.ref.png — reward 2.00\n"
    (tmp_path / "error.jsonl").write_text(json.dumps(
        {"source": "b.py", "error": "reference b.ref.png does not exist", "index": 1}) + "\n")
    out = verm("merge-reports", "pass.json", "error.jsonl", cwd=tmp_path)
    assert out.returncode == 2 and "b.ref.png does not exist" in out.stderr
    (tmp_path / "junk.json").write_text("not json\n")
    out = verm("merge-reports", "junk.json", cwd=tmp_path)
    assert out.returncode == 2 and "junk.json:1: not a line of a verm JSON report" in out.stderr
    out = verm("merge-reports", "absent.json", cwd=tmp_path)
    assert out.returncode == 2 and "absent.json: cannot read" in out.stderr


@pytest.mark.parametrize("value", ["0/3", "4/3", "x", "1/0", "2", "-1/3", "1/3/4"])
def test_a_bad_shard_is_a_usage_error(tmp_path: Path, value: str):
    out = verm("check", ".", f"--shard={value}", cwd=tmp_path)
    assert out.returncode == 2
    assert "--shard" in out.stderr and ("I/N" in out.stderr or "between 1 and N" in out.stderr)
    with pytest.raises(ShardError):
        Shard.parse(value)


def test_the_split_is_the_same_in_every_checkout_and_balanced(tmp_path: Path):
    names = [f"charts/c{i:02}.py" for i in range(20)] + [f"pages/p{i}.html" for i in range(7)]
    splits = []
    for checkout in (tmp_path / "a", tmp_path / "b" / "deeper"):
        paths = [checkout / n for n in names]
        parts = [select(paths, Shard(i, 4), checkout) for i in (1, 2, 3, 4)]
        assert sorted(p for part in parts for p in part) == sorted(paths)
        assert sorted(len(part) for part in parts) == [6, 7, 7, 7]
        assert all(part == [p for p in paths if p in part] for part in parts)  # order kept
        splits.append([[p.relative_to(checkout).as_posix() for p in part] for part in parts])
    assert splits[0] == splits[1]
    assert splits[0][0] != names[:7]  # dealt by hash, not cut in runs of one folder


def test_recorded_durations_balance_the_shards(tmp_path: Path):
    paths = [tmp_path / f"s{i}.py" for i in range(6)]
    durations = {"s0.py": 9.0, "s1.py": 1.0, "s2.py": 1.0, "s3.py": 1.0, "s4.py": 4.0}
    report = tmp_path / "last.jsonl"  # s5.py is new: it counts as the median, 1 s
    report.write_text("".join(json.dumps({"source": k, "seconds": v}) + "\n"
                              for k, v in durations.items()))
    assert read_durations(report) == durations
    parts = [select(paths, Shard(i, 2), tmp_path, read_durations(report)) for i in (1, 2)]
    assert sorted(p for part in parts for p in part) == sorted(paths)
    cost = {p: durations.get(p.name, 1.0) for p in paths}
    loads = sorted(sum(cost[p] for p in part) for part in parts)
    assert loads == [8.0, 9.0]  # the slow chart alone on one machine, the rest on the other
