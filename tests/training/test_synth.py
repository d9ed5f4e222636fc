"""synth: exact labels on the mutated line, no-ops dropped, split by source, deterministic,
completions in the model's schema, --from-git on a real repository, the CLI entry end to end.

Real renderers throughout (matplotlib in verm's sandbox, Chromium, cairosvg); one Checker is
shared so its warm renderers start once.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import shutil
import subprocess
from pathlib import Path

import datasets
import pytest

from verm.check import Checker
from verm.critic.model.parse import parse_judgement
from verm.types import TAXONOMY
from verm_training.data import labels_of
from verm_training.synth import add_arguments, core, run, synthesize, synthesize_from_git
from verm_training.synth.core import Unit, candidates, synth_source
from verm_training.synth.mutation import Mutation, label

FIXTURES = Path(__file__).parent.parent / "fixtures"
SOURCES = {
    "chart": [FIXTURES / "charts" / "bar.py", FIXTURES / "charts" / "line.py",
              FIXTURES / "charts" / "mixed.py"],
    "svg": [FIXTURES / "e2e" / "icon.svg", FIXTURES / "svg" / "badge.svg",
            FIXTURES / "svg" / "transforms.svg"],
    "html": [FIXTURES / "e2e" / "page.html", FIXTURES / "html" / "report.html"],
    "table": [FIXTURES / "e2e" / "stock.md", FIXTURES / "table" / "stock.md"],
}


def changed_lines(original: str, mutated: str) -> set[int]:
    """0-based lines of ``mutated`` that differ from ``original`` (a deletion: where it was)."""
    out: set[int] = set()
    a, b = original.split("\n"), mutated.split("\n")
    for op, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if op != "equal":
            out.update(range(j1, max(j2, j1 + 1)))
    return out


@pytest.fixture(scope="module")
def checker():
    with Checker(critic="analytic", user_settings={}) as c:
        yield c


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    for name, path in (("bar.py", SOURCES["chart"][0]), ("icon.svg", SOURCES["svg"][0]),
                       ("page.html", SOURCES["html"][0]), ("stock.md", SOURCES["table"][0])):
        shutil.copy(path, folder / name)
    return folder


@pytest.fixture(scope="module")
def made(sources: Path, checker: Checker, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("made") / "rm"
    report = synthesize([sources], out, pairs_per_source=3, seed=0, test_share=0.5,
                        checker=checker, progress=False)
    return out, report


@pytest.mark.parametrize("domain", sorted(SOURCES))
def test_every_label_is_on_a_changed_line_and_in_the_taxonomy(domain: str) -> None:
    families: set[str] = set()
    for path in SOURCES[domain]:
        text = path.read_text()
        mutations = candidates(text, domain, random.Random(0))
        assert mutations, path
        for m in mutations:
            families.add(m.family)
            changed = changed_lines(text, m.text)
            for lab in m.labels:
                assert lab.category in TAXONOMY[domain], (m.name, lab)
                assert 1 <= lab.severity <= 3
                assert lab.location and lab.description
                assert lab.line in changed, (path.name, m.name, lab.line, sorted(changed))
    assert len(families) >= 5, families  # many kinds of error, not one


def test_chart_mutations_cover_the_issue_list() -> None:
    families = {m.family for path in SOURCES["chart"]
                for m in candidates(path.read_text(), "chart", random.Random(1))}
    assert {"recolor", "data", "text", "tick-text", "legend", "legend-position", "chart-type",
            "line-style", "marker", "grid", "scale", "figure-size",
            "layout"} <= families


def test_dataset_rows_parse_back_to_their_labels_and_split_by_source(made) -> None:
    out, report = made
    ds = datasets.load_from_disk(str(out))
    assert set(ds) == {"train", "test"}
    train = {r["source"] for r in ds["train"]}
    test = {r["source"] for r in ds["test"]}
    assert train and test and not train & test
    assert train | test == {"bar.py", "icon.svg", "page.html", "stock.md"}
    assert report.pairs == len(ds["train"]) + len(ds["test"]) >= 10
    assert {r["domain"] for s in ds.values() for r in s} == {"chart", "svg", "html", "table"}
    for row in (*ds["train"], *ds["test"]):
        labels = labels_of(row)
        assert labels and row["severity"] == sum(lab.severity for lab in labels)
        judged = parse_judgement(row["completion"][0]["content"][0]["text"], row["domain"])
        assert judged.readable and judged.complete and not judged.problems
        got = [(e.category, e.severity, e.description) for e in judged.errors]
        assert got == [(lab.category, lab.severity, lab.description) for lab in labels]
        if row["domain"] != "table":
            assert [e.location for e in judged.errors] == [lab.location for lab in labels]
        reference, render = row["images"]
        assert reference.tobytes() != render.tobytes()
    written = json.loads((out / "synth.json").read_text())
    assert written["pairs"] == report.pairs and written["failures"] == []
    assert sum(d["pairs"] for d in written["domains"].values()) == report.pairs
    assert "verm reward-model dataset" in (out / "README.md").read_text()


def test_same_seed_same_dataset_other_seed_other(made, sources: Path, checker: Checker,
                                                 tmp_path: Path) -> None:
    out, _ = made
    again = synthesize([sources], tmp_path / "again", pairs_per_source=3, seed=0,
                       test_share=0.5, checker=checker, progress=False)
    other = synthesize([sources / "bar.py", sources / "stock.md"], tmp_path / "other",
                       pairs_per_source=3, seed=1, test_share=0.5, checker=checker,
                       progress=False)
    assert again.pairs == made[1].pairs
    first, second = datasets.load_from_disk(str(out)), datasets.load_from_disk(
        str(tmp_path / "again"))
    for split in ("train", "test"):
        a, b = first[split], second[split]
        assert [(r["source"], r["mutation"], r["labels"]) for r in a] == \
            [(r["source"], r["mutation"], r["labels"]) for r in b]
        assert [r["images"][1].tobytes() for r in a] == [r["images"][1].tobytes() for r in b]
    rows = datasets.load_from_disk(str(tmp_path / "other"))
    seed1 = {(r["source"], r["mutation"]) for s in rows.values() for r in s}
    seed0 = {(r["source"], r["mutation"]) for s in first.values() for r in s
             if r["source"] in ("bar.py", "stock.md")}
    assert other.pairs and seed1 != seed0


def test_a_mutation_that_changes_no_pixel_is_dropped(checker: Checker, monkeypatch) -> None:
    path = FIXTURES / "charts" / "bar.py"
    text = path.read_text()
    line = text.split("\n").index('ax.bar(quarters, revenue, color="#1f77b4", label="Revenue")')
    same = text.replace('color="#1f77b4"', 'color="#1F77B4"')  # an equal spelling
    real = text.replace('color="#1f77b4"', 'color="#d62728"')
    noop = Mutation("recolor", "same colour", same, (
        label("style_error", 1, "bars 'Revenue'", "no change at all", line),))
    red = Mutation("recolor", "red bars", real, (
        label("style_error", 1, "bars 'Revenue'", "the bars are red", line),))
    monkeypatch.setattr(core, "candidates", lambda *_a: [noop, red])
    outcome = synth_source(checker, Unit(path, "bar.py", "chart"), seed=0, pairs=2,
                           image_size=1024)
    assert outcome.noop == 1 and outcome.tried == 2
    assert [r["mutation"] for r in outcome.rows] == ["red bars"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=verm", "-c",
                    "user.email=verm@example.invalid", *args], check=True, capture_output=True)


def test_from_git_pairs_an_older_version_labelled_on_its_edited_line(
        checker: Checker, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    chart = repo / "chart.py"
    old = (FIXTURES / "e2e" / "bars.py").read_text()
    title_line = old.split("\n").index('ax.set_title("Sales per quarter")')
    chart.write_text(old)
    git(repo, "add", "chart.py")
    git(repo, "commit", "-qm", "first")
    chart.write_text(old.replace("Sales per quarter", "Units sold by quarter"))
    git(repo, "commit", "-qam", "retitle")
    render = checker.render(checker.load(chart))
    render.image.save(repo / "chart.ref.png")  # today's pinned reference (sibling pin)
    git(repo, "add", "chart.ref.png")
    git(repo, "commit", "-qm", "pin")

    report = synthesize_from_git(repo, tmp_path / "git", checker=checker, test_share=0,
                                 progress=False)
    assert report.pairs == 1 and report.sources == 1
    row = datasets.load_from_disk(str(tmp_path / "git"))["train"][0]
    assert row["source"] == "chart.py" and row["mutation"].startswith("git ")
    labels = labels_of(row)
    assert any(lab.line == title_line and lab.category == "text_error" for lab in labels), labels


def test_run_end_to_end_threads_and_processes_give_the_same_rows(sources: Path,
                                                                 tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    picked = [str(sources / "bar.py"), str(sources / "icon.svg")]
    args = parser.parse_args(["--sources", *picked, "--out", str(tmp_path / "cli"),
                              "--pairs-per-source", "2", "--workers", "2", "--seed", "3"])
    assert run(args) == 0
    ds = datasets.load_from_disk(str(tmp_path / "cli"))
    assert len(ds["train"]) + len(ds["test"]) == 4
    one = synthesize(picked, tmp_path / "one", pairs_per_source=2, seed=3, workers=2,
                     pool="process", progress=False)
    assert one.pairs == 4
    single = datasets.load_from_disk(str(tmp_path / "one"))
    for split in ("train", "test"):
        assert [(r["source"], r["labels"]) for r in ds[split]] == \
            [(r["source"], r["labels"]) for r in single[split]]
    with pytest.raises(SystemExit):
        parser.parse_args(["--sources", "x", "--out", "y", "--test-share", "1.5"])
