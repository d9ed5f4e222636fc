"""`verm check --format github`: GitHub Actions workflow commands, so a failing check shows its
findings on the pull request's diff, each on the source lines that caused it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from support import FIXTURES
from support import run_verm as verm

ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")



def test_each_finding_is_an_annotation_on_its_line_with_its_consequences(tmp_path: Path):
    shutil.copy(FIXTURES / "stock.md", tmp_path / "stock.md")
    assert verm("pin", "stock.md", cwd=tmp_path).returncode == 0
    src = tmp_path / "stock.md"
    src.write_text(src.read_text().replace("| Pears  |", "| Pears, from the valley |"))
    out = verm("check", "stock.md", "--format", "github", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    annotations = [ANNOTATION.match(line) for line in lines if line.startswith("::")]
    assert len(annotations) == 1 and annotations[0] is not None
    a = annotations[0]
    props = dict(p.split("=", 1) for p in a["props"].split(","))
    assert a.group(1) == "warning"  # a text error: severity 2
    assert props["file"] == "stock.md" and props["line"] == "6" and props["endLine"] == "6"
    # The title names the cell ("row 2, column 'Item'"): its comma is escaped in a property,
    # or the command would not parse; the message keeps its own commas.
    assert props["title"] == "verm text_error (row 2%2C column 'Item')"
    assert "render 'Pears, from the valley'" in a["message"]
    assert "%0Aalso: " in a["message"]  # the reflowed cells ride along, one per line
    assert lines[-1].startswith("stock.md: 1 discrepancy") and "reward" in lines[-1]


def test_an_equivalent_source_prints_no_annotation(tmp_path: Path):
    shutil.copy(FIXTURES / "stock.md", tmp_path / "stock.md")
    assert verm("pin", "stock.md", cwd=tmp_path).returncode == 0
    out = verm("check", "stock.md", "--format", "github", cwd=tmp_path)
    assert out.returncode == 0
    assert [line for line in out.stdout.splitlines() if line.startswith("::")] == []
    assert "visually equivalent" in out.stdout
