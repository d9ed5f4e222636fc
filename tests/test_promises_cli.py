"""What the README promises of ``verm check`` and ``verm revise``, each shown once for real:
``--diff-dir`` images that are reference | render | difference, exit status 2 for bad settings,
and an atomic ``revise --write`` (a rename: no reader ever sees half a file; the mode kept).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
VERM = [sys.executable, "-m", "verm.cli"]


def verm(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERM, *args], cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with the SVG fixture pinned to its own render."""
    (tmp_path / ".git").mkdir()
    shutil.copy(FIXTURES / "icon.svg", tmp_path / "icon.svg")
    pinned = verm("pin", "icon.svg", cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stderr
    return tmp_path


def test_diff_dir_writes_reference_render_and_difference_side_by_side(project: Path) -> None:
    src = project / "icon.svg"
    src.write_text(src.read_text().replace('fill="#5E81AC"', 'fill="#D08770"'))
    out = verm("check", "icon.svg", "--diff-dir", "diffs", cwd=project)
    assert out.returncode == 1, out.stdout + out.stderr
    [diff] = list((project / "diffs").rglob("*.png"))
    reference = Image.open(project / "icon.ref.png")
    picture = Image.open(diff).convert("RGB")
    # Three panels of the reference's size, side by side, under a caption row.
    assert picture.width >= 3 * reference.width and picture.height > reference.height
    colours = {c for _, c in picture.getcolors(1 << 20) or []}
    assert (240, 140, 0) in colours, "the changed fill is marked orange in the difference"
    clean = verm("check", "icon.svg", "--diff-dir", "clean", cwd=project)
    assert clean.returncode == 1  # still the recoloured icon: a new folder, the same finding
    assert [p.name for p in (project / "clean").rglob("*.png")] == [diff.name]


@pytest.mark.parametrize(("where", "text", "fragment"), [
    ("verm.toml", 'timeout = "soon"\n', "timeout: expected a number"),
    ("verm.toml", 'viewport = "huge"\n', "viewport must look like 1280x800"),
    ("verm.toml", "memory = 1\n", "memory: 1 is outside"),
    ("verm.toml", 'svg-backend = "inkscape"\n', "expected one of cairosvg, resvg"),
    ("verm.toml", 'critic = "oracle"\n', "critic must be one of"),
    ("verm.toml", "timeout = \n", "not valid TOML"),
    ("user", 'timeout = "soon"\n', "timeout: expected a number"),
    ("user", "chromium = 3\n", "expected the path of a Chromium"),
])
def test_bad_settings_exit_2_with_the_file_and_the_key(project: Path, tmp_path_factory:
                                                       pytest.TempPathFactory, where: str,
                                                       text: str, fragment: str) -> None:
    if where == "user":
        user = tmp_path_factory.mktemp("home") / "config.toml"
        user.write_text(text)
        out = verm("check", "icon.svg", cwd=project, env={"VERM_CONFIG": str(user)})
        named = str(user)
    else:
        (project / where).write_text(text)
        out = verm("check", "icon.svg", cwd=project)
        named = where
    assert out.returncode == 2, out.stdout + out.stderr
    assert fragment in out.stderr and named in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_revise_write_replaces_the_file_by_a_rename_and_keeps_its_mode(project: Path) -> None:
    src = project / "icon.svg"
    broken = src.read_text().replace('fill="#5E81AC"', 'fill="#D08770"')
    src.write_text(broken)
    src.chmod(0o640)
    before = os.stat(src)
    old_name = project / "icon.before.svg"
    os.link(src, old_name)  # a reader holding the old file: it must never change under it
    out = verm("revise", "icon.svg", "--write", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    after = os.stat(src)
    assert 'fill="#5E81AC"' in src.read_text()
    assert after.st_ino != before.st_ino, "a new file renamed into place, not written in place"
    assert old_name.read_text() == broken
    assert after.st_mode & 0o777 == 0o640
    left = sorted(p.name for p in project.iterdir())
    assert left == [".git", "icon.before.svg", "icon.ref.png", "icon.ref.png.anchors.json",
                    "icon.svg"], "no temporary file left behind"
    assert verm("check", "icon.svg", cwd=project).returncode == 0
