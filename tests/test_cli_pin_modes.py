"""`verm pin --changed` re-pins only the sources whose check fails (after listing them, and
asking, or `--yes`); `verm pin --missing` pins only the sources with no reference yet. Both take
folders and keep plain `verm pin`'s write rules: inside the workspace, atomic, mode kept."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ci_workspace import FAILING, fingerprints, mixed_workspace
from support import run_verm as verm


@pytest.fixture
def workspace(pinner, tmp_path: Path) -> Path:
    return mixed_workspace(pinner, tmp_path / "repo")


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def test_changed_replaces_only_the_failing_references_after_saying_which(workspace: Path):
    (workspace / "bars.ref.png").chmod(0o640)
    before = fingerprints(workspace)

    refused = verm("pin", "--changed", *sorted(FAILING), cwd=workspace)  # stdin: no terminal
    assert refused.returncode == 2
    assert "will replace bars.ref.png (bars.py: 1 discrepancy (1 warning)" in refused.stdout
    assert "will replace icon.ref.png (icon.svg: 1 discrepancy" in refused.stdout
    assert "pass --yes" in refused.stderr
    assert fingerprints(workspace) == before  # nothing written without a confirmation

    done = verm("pin", "--changed", "--yes", ".", cwd=workspace)
    assert done.returncode == 1, done.stderr  # broken.py cannot be re-pinned: it does not render
    assert "broken.py: cannot re-pin, the render failed" in done.stderr
    after = fingerprints(workspace)
    pinned = {f"{Path(n).stem}.ref.png" for n in FAILING}
    assert _changed(before, after) == pinned | {f"{p}.anchors.json" for p in pinned}
    assert (workspace / "bars.ref.png").stat().st_mode & 0o777 == 0o640  # mode kept
    assert not list(workspace.rglob("*.tmp"))
    again = verm("check", *sorted(FAILING), cwd=workspace)
    assert again.returncode == 0, again.stdout


def test_missing_pins_only_sources_without_a_reference(workspace: Path):
    (workspace / "new.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        '<circle cx="20" cy="20" r="10" fill="#A3BE8C"/></svg>\n')
    designed = workspace / "designed.svg"  # a pragma names a reference not drawn yet
    designed.write_text('<!-- verm: reference=design/designed.png -->\n'
                        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
                        '<rect width="30" height="10" fill="#BF616A"/></svg>\n')
    before = fingerprints(workspace)
    out = verm("pin", "--missing", ".", "new.svg", cwd=workspace)
    assert out.returncode == 0, out.stderr
    assert "will create design/designed.png" in out.stdout
    assert "will create new.ref.png" in out.stdout
    after = fingerprints(workspace)
    assert _changed(before, after) == {"design/designed.png", "design/designed.png.anchors.json",
                                       "new.ref.png", "new.ref.png.anchors.json"}
    assert all(after[name] == before[name] for name in before)  # failing ones untouched too

    nothing = verm("pin", "--missing", ".", cwd=workspace)
    assert nothing.returncode == 0 and "nothing to pin" in nothing.stdout
    assert fingerprints(workspace) == after


def test_missing_keeps_the_workspace_write_rules(workspace: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere"
    hostile = workspace / "hostile.svg"
    hostile.write_text(f'<!-- verm: reference={os.path.relpath(outside / "x.png", workspace)}'
                       f' -->\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>\n')
    out = verm("pin", "--missing", "hostile.svg", cwd=workspace)
    assert out.returncode == 2
    assert "outside the workspace" in out.stderr and "--allow-outside" in out.stderr
    assert not outside.exists()
    both = verm("pin", "--missing", "--reference", "x.png", "hostile.svg", cwd=workspace)
    assert both.returncode == 2 and "--reference" in both.stderr


def test_changed_asks_on_a_terminal(workspace: Path):
    before = fingerprints(workspace)
    for answer, status in ((b"n\n", 1), (b"y\n", 0)):
        lead, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "verm.cli", "pin", "--changed",
                                 *sorted(FAILING)], cwd=workspace, stdin=follower,
                                stdout=subprocess.PIPE, stderr=follower,
                                env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        os.close(follower)
        shown = b""
        deadline = time.monotonic() + 120
        while b"[y/N]" not in shown and time.monotonic() < deadline:
            ready, _, _ = select.select([lead], [], [], 1)
            if ready:
                shown += os.read(lead, 4096)
        assert b"replace 2 reference(s)? [y/N]" in shown
        os.write(lead, answer)
        stdout, _ = proc.communicate(timeout=120)
        os.close(lead)
        assert proc.returncode == status, stdout
        assert b"will replace bars.ref.png" in stdout
        changed = _changed(before, fingerprints(workspace))
        if answer == b"n\n":
            assert changed == set()
        else:
            assert changed == {"bars.ref.png", "bars.ref.png.anchors.json", "icon.ref.png",
                               "icon.ref.png.anchors.json"}
