"""`verm check|render|pin` as a user runs them: real processes, exit codes, output contracts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
# The SARIF 2.1.0 JSON schema (its final release candidate, rtm.5, as GitHub code scanning and
# the SARIF validator use it), vendored unchanged so the tests run offline: taken from
# lib/schemas/sarif-2.1.0-rtm.5.json of the npm package @microsoft/jest-sarif@1.0.0-beta.0
# (MIT; https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz).
SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"


def valid_sarif(log: dict) -> dict:
    """``log``, after checking it against the SARIF 2.1.0 schema (every error listed)."""
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []
    return log
VERM = [sys.executable, "-m", "verm.cli"]


def verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([*VERM, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=180)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with a pinned chart and a pinned SVG, and an unpinned HTML page."""
    for name in ("bars.py", "icon.svg", "page.html"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    pinned = verm("pin", "bars.py", "icon.svg", cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stderr
    assert (tmp_path / "bars.ref.png").is_file()
    assert (tmp_path / "bars.ref.png.anchors.json").is_file()
    return tmp_path


def test_clean_project_exits_0(project: Path):
    out = verm("check", ".", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "bars.py: visually equivalent" in out.stdout
    assert "page.html" not in out.stdout  # not pinned: not checked


def test_discrepancy_text_format_and_exit_1(project: Path):
    text = (project / "bars.py").read_text().replace('"Sales per quarter"', '"Sales per year"')
    (project / "bars.py").write_text(text)
    out = verm("check", "bars.py", cwd=project)
    assert out.returncode == 1
    # path:line:col: severity category: description (location) — on the set_title line (8),
    # then the source's summary: nothing else.
    assert out.stdout.splitlines() == [
        "bars.py:8:1: warning text_error: reference text 'Sales per quarter', render "
        "'Sales per year' (title)",
        "bars.py: 1 discrepancy (1 warning) against bars.ref.png — reward 1.96",
    ]


def test_json_lines_contract(project: Path):
    text = (project / "icon.svg").read_text().replace('fill="#5E81AC"', 'fill="#D08770"')
    (project / "icon.svg").write_text(text)
    out = verm("check", "bars.py", "icon.svg", "--format", "json", cwd=project)
    assert out.returncode == 1
    objs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [o["source"] for o in objs] == ["bars.py", "icon.svg"]
    for o in objs:
        assert set(o) == {"source", "reference", "kind", "rendered", "reward", "errors"}
    assert objs[0]["errors"] == [] and objs[0]["reward"] == 2.0
    assert [(e["category"], e["severity"], e["location"], e["range"]["start"]["line"])
            for e in objs[1]["errors"]] == [("style_error", 1, "<circle> #1", 2)]
    [err] = objs[1]["errors"]
    assert set(err) == {"category", "severity", "location", "description", "range", "bbox"}
    x0, y0, x1, y1 = err["bbox"]
    assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 160
    assert 1.0 <= objs[1]["reward"] < 2.0


def test_sarif_output(project: Path):
    text = (project / "icon.svg").read_text().replace('fill="#5E81AC"', 'fill="#D08770"')
    (project / "icon.svg").write_text(text)
    out = verm("check", "icon.svg", "--format", "sarif", cwd=project)
    assert out.returncode == 1
    log = valid_sarif(json.loads(out.stdout))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert [(r["ruleId"], rules[r["ruleIndex"]], r["level"],
             [loc["physicalLocation"]["region"]["startLine"] for loc in r["locations"]])
            for r in run["results"]] == [("style_error", "style_error", "note", [3])]
    assert "relatedLocations" not in run["results"][0]  # a fill changes nothing else


def test_sarif_consequences_are_related_locations(tmp_path: Path):
    """A longer word widens its column: one result on the edited row; the cells the column
    moved ride along as relatedLocations, each on its own line, and the log is valid SARIF."""
    shutil.copy(FIXTURES / "stock.md", tmp_path / "stock.md")
    assert verm("pin", "stock.md", cwd=tmp_path).returncode == 0
    src = tmp_path / "stock.md"
    src.write_text(src.read_text().replace("| Pears  |", "| Grapes |"))
    out = verm("check", "stock.md", "--format", "sarif", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    [run] = valid_sarif(json.loads(out.stdout))["runs"]
    [result] = run["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (result["ruleId"], result["level"], region["startLine"]) == ("text_error", "warning", 6)
    related = result["relatedLocations"]
    assert [r["id"] for r in related] == list(range(len(related)))
    assert sorted(r["physicalLocation"]["region"]["startLine"] for r in related) == [1, 3, 5, 7]
    assert all(r["physicalLocation"]["artifactLocation"]["uri"] == "stock.md" for r in related)
    assert all(r["message"]["text"].startswith("also: ") for r in related)


def test_render_writes_what_check_judges(project: Path):
    out = verm("render", "bars.py", "-o", "out.png", "--anchors", "out.json", cwd=project)
    assert out.returncode == 0, out.stderr
    assert Image.open(project / "out.png").tobytes() == \
        Image.open(project / "bars.ref.png").tobytes()
    anchors = json.loads((project / "out.json").read_text())
    assert any(a["role"] == "title" and a["range"]["start"]["line"] == 7 for a in anchors)


def test_pin_never_overwrites_without_force(project: Path):
    before = (project / "bars.ref.png").read_bytes()
    text = (project / "bars.py").read_text().replace("#4C72B0", "#55A868")
    (project / "bars.py").write_text(text)
    out = verm("pin", "bars.py", cwd=project)
    assert out.returncode == 2 and "--force" in out.stderr
    assert (project / "bars.ref.png").read_bytes() == before
    assert verm("pin", "bars.py", "--force", cwd=project).returncode == 0
    assert (project / "bars.ref.png").read_bytes() != before
    assert verm("check", "bars.py", cwd=project).returncode == 0


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unpinned", "no reference pinned"),
        ("missing", "does not exist"),
        ("corrupt", "not an image"),
        ("empty-dir", "no pinned sources"),
        ("no-such-file", "no such file"),
    ],
)
def test_usage_and_reference_errors_exit_2(project: Path, setup: str, message: str):
    args = {"unpinned": ["page.html"], "missing": ["bars.py", "--reference", "nope.png"],
            "corrupt": ["bars.py"], "empty-dir": ["empty"], "no-such-file": ["ghost.py"]}[setup]
    if setup == "corrupt":
        (project / "bars.ref.png").write_text("not a png")
    (project / "empty").mkdir()
    out = verm("check", *args, cwd=project)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_broken_script_is_exit_1_with_the_users_line(project: Path):
    (project / "bars.py").write_text(
        (project / "bars.py").read_text().replace("ax.set_ylim(0, 20)", "ax.set_ylim(0, 1/0)"))
    out = verm("check", "bars.py", "--format", "json", cwd=project)
    assert out.returncode == 1
    obj = json.loads(out.stdout)
    assert obj["rendered"] is False and obj["reward"] == 0.0
    [err] = obj["errors"]
    assert (err["category"], err["severity"], err["range"]["start"]["line"]) == (
        "structure_error", 3, 10)
    assert "ZeroDivisionError" in err["description"]


def test_python_m_verm_imports_nothing_from_the_workspace(tmp_path: Path):
    """`python -m verm.cli` in a workspace with its own numpy.py and lxml.py: verm's imports
    (server and render workers) come from the environment, never from the folder."""
    marker = tmp_path / "imported"
    for name in ("numpy.py", "lxml.py", "PIL.py"):
        (tmp_path / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    shutil.copy(FIXTURES / "icon.svg", tmp_path / "icon.svg")
    out = verm("render", "icon.svg", "-o", "out.png", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out.png").exists()
    assert not marker.exists(), marker.read_text()
