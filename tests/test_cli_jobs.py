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
