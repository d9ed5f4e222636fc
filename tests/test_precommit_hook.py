"""The `verm-check` pre-commit hook (.pre-commit-hooks.yaml): on a temporary git repository, the
staged sources of the kinds verm handles are checked against their references — a changed icon
fails the commit, unpinned Python files and a README pass through untouched — first by running
the hook's entry exactly as pre-commit would, then by pre-commit itself."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import FIXTURES
from support import run_verm as verm

ROOT = Path(__file__).resolve().parents[1]
VERM = Path(sys.executable).parent / "verm"  # the venv's console script, as installed


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    shutil.copy(FIXTURES / "icon.svg", repo / "icon.svg")
    assert verm("pin", "icon.svg", cwd=repo).returncode == 0
    (repo / "helper.py").write_text("def add(a, b):\n    return a + b\n")  # not a chart
    (repo / "README.md").write_text("# notes\n\nnothing pinned here\n")
    (repo / "notes.txt").write_text("not a kind verm handles\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "pinned icon")
    icon = repo / "icon.svg"
    icon.write_text(icon.read_text().replace("#5E81AC", "#D08770"))
    (repo / "helper.py").write_text("def add(a, b):\n    return b + a\n")
    for name in ("README.md", "notes.txt"):
        (repo / name).write_text((repo / name).read_text() + "more\n")
    _git(repo, "add", "-A")
    return repo


def _hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "verm-check"]
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    return hook


def _staged(repo: Path, pattern: str) -> list[str]:
    names = _git(repo, "diff", "--cached", "--name-only", "--diff-filter=ACMRTUXB").split()
    return [n for n in names if re.search(pattern, n)]


def test_the_hook_entry_checks_the_staged_pinned_sources(repo: Path):
    hook = _hook()
    staged = _staged(repo, hook["files"])
    assert staged == ["README.md", "helper.py", "icon.svg"]  # notes.txt is not a source
    command = shlex.split(hook["entry"])
    assert command[0] == "verm"
    run = [str(VERM), *command[1:], *staged]
    failed = subprocess.run(run, cwd=repo, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("icon.svg:3:40: info style_error: reference colour")
    assert "helper.py" not in failed.stdout + failed.stderr
    assert "README.md" not in failed.stdout + failed.stderr

    _git(repo, "checkout", "HEAD", "--", "icon.svg")  # the icon as pinned: the commit may go
    staged = _staged(repo, hook["files"])
    assert staged == ["README.md", "helper.py"]
    passed = subprocess.run([str(VERM), *command[1:], *staged], cwd=repo, capture_output=True,
                            text=True, timeout=120)
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, "", "")


def test_pre_commit_runs_the_hook(repo: Path):
    hook = _hook()
    local = {"repos": [{"repo": "local", "hooks": [{
        **{k: hook[k] for k in ("id", "name", "files", "pass_filenames", "require_serial")},
        "language": "system",  # the venv's verm: no environment for pre-commit to install
        "entry": hook["entry"].replace("verm", shlex.quote(str(VERM)), 1),
    }]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(local))
    _git(repo, "add", ".pre-commit-config.yaml")
    out = subprocess.run([sys.executable, "-m", "pre_commit", "run"], cwd=repo,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Failed" in out.stdout and "icon.svg:3:40: info style_error" in out.stdout
    _git(repo, "checkout", "HEAD", "--", "icon.svg")
    out = subprocess.run([sys.executable, "-m", "pre_commit", "run"], cwd=repo,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Passed" in out.stdout
