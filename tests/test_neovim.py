"""A real Neovim as verm's client: headless ``nvim`` with editor-clients/neovim on its runtimepath.

``tests/fixtures/neovim/diagnostics.lua`` sets the plugin up with the server command, opens a
pinned chart whose title was edited, waits for verm's diagnostics and exits with a code (below)
that says what it saw; the diagnostics and messages it saw are in a JSON file, shown on failure.
Neovim is required, not optional: Debian's 0.7.2 (``apt-get install neovim``) or newer;
``VERM_TEST_NVIM`` picks another binary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "editor-clients" / "neovim"
SCRIPT = ROOT / "tests" / "fixtures" / "neovim" / "diagnostics.lua"
CHART = ROOT / "tests" / "fixtures" / "e2e" / "bars.py"
SERVER = [sys.executable, "-m", "verm.lsp"]

# diagnostics.lua's exit codes
OK, NO_CLIENT = 0, 5
EXITS = {OK: "ok", 3: "timed out", 4: "not on the expected line", NO_CLIENT: "no client",
         6: "not cleared by the save", 7: "error in diagnostics.lua"}

TITLE_LINE = 7  # 0-based: ax.set_title("Sales per quarter")
FIXED = 'ax.set_title("Sales per quarter")'


@dataclass
class Session:
    code: int
    seen: dict[str, Any]
    seconds: float

    def explain(self) -> str:
        return f"nvim exit {self.code} ({EXITS.get(self.code, '?')}):\n" + json.dumps(
            self.seen, indent=1)


def nvim() -> str:
    found = os.environ.get("VERM_TEST_NVIM") or shutil.which("nvim")
    assert found, "Neovim is required for this test: apt-get install neovim"
    return found


@pytest.fixture(scope="module")
def pinner() -> Iterator[Checker]:
    with Checker() as checker:
        yield checker


@pytest.fixture
def workspace(tmp_path: Path, pinner: Checker) -> Path:
    """A project (root marker pyproject.toml) with bars.py pinned in a subfolder, title edited."""
    project = tmp_path / "project"
    charts = project / "charts"
    charts.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    src = charts / CHART.name
    shutil.copy(CHART, src)
    render = pinner.render(Source.load(src))
    assert render.ok, render.failure
    pin_render(render, src.with_name("bars.ref.png"))
    text = src.read_text()
    assert text.splitlines()[TITLE_LINE] == FIXED
    src.write_text(text.replace('"Sales per quarter"', '"Sales per year"'))
    return project


def run_nvim(project: Path, cmd: list[str], *, line: int = TITLE_LINE, code: str = "text_error",
             setup: dict[str, Any] | None = None, fixed_line: str | None = None,
             timeout_ms: int = 60_000) -> Session:
    """Run diagnostics.lua: expect ``code`` on ``line``; then save ``fixed_line`` there."""
    result = project.parent / "nvim-result.json"
    state = project.parent / "nvim-state"
    env = {
        **os.environ,
        "VERM_CMD": json.dumps(cmd),
        "VERM_FILE": str(project / "charts" / CHART.name),
        "VERM_RESULT": str(result),
        "VERM_SETUP": json.dumps(setup or {}),
        "VERM_LINE": str(line),
        "VERM_CODE": code,
        "VERM_TIMEOUT_MS": str(timeout_ms),
        # Neovim's log, shada and swap files, and verm's diff cache, stay in the temp folder
        **{f"XDG_{kind}_HOME": str(state / kind.lower())
           for kind in ("CACHE", "CONFIG", "DATA", "STATE")},
    }
    if fixed_line is not None:
        env["VERM_FIXED_LINE"] = fixed_line
    start = time.monotonic()
    proc = subprocess.run(
        [nvim(), "--headless", "--clean", "-u", "NONE", "-n",
         "--cmd", "let g:loaded_python3_provider = 0",  # its probe costs ~1.5 s per start
         "--cmd", f"set rtp+={PLUGIN}", "-c", f"luafile {SCRIPT}"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout_ms / 1000 + 30)
    seconds = time.monotonic() - start
    assert result.exists(), (f"nvim exited {proc.returncode} without a result\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return Session(proc.returncode, json.loads(result.read_text()), seconds)


def test_neovim_shows_the_title_discrepancy_on_its_line(workspace: Path):
    session = run_nvim(workspace, SERVER)
    assert session.code == OK, session.explain()
    (opened,) = session.seen["stages"]
    hit = next(d for d in opened["diagnostics"] if d["code"] == "text_error")
    assert hit["line"] == TITLE_LINE and "Sales per" in hit["message"], session.explain()
    assert session.seen["root"] == str(workspace), session.explain()


def test_saving_the_fix_in_neovim_clears_the_diagnostics(workspace: Path):
    session = run_nvim(workspace, SERVER, fixed_line=FIXED)
    assert session.code == OK, session.explain()
    assert [s["name"] for s in session.seen["stages"]] == ["open", "save"]
    assert session.seen["stages"][1]["diagnostics"] == []
    assert (workspace / "charts" / CHART.name).read_text() == CHART.read_text()


@pytest.mark.parametrize("cmd", [
    ["/nonexistent/verm", "serve"],
    [sys.executable, "-c", "import sys; sys.exit('verm: broken install')"],
], ids=["missing-executable", "server-exits-at-once"])
def test_a_server_that_cannot_start_is_reported_not_waited_for(workspace: Path, cmd: list[str]):
    session = run_nvim(workspace, cmd)
    assert session.code == NO_CLIENT, session.explain()
    assert session.seconds < 15, f"took {session.seconds:.1f} s to give up"
    why = session.seen["why"]
    assert why.startswith("verm:") and " ".join(cmd) in why, session.explain()


def test_a_chart_outside_any_project_is_not_run(workspace: Path):
    """No root marker: no workspace root, so the server does not execute the script."""
    (workspace / "pyproject.toml").unlink()
    session = run_nvim(workspace, SERVER, line=0, code="reference")
    assert session.code == OK, session.explain()
    assert session.seen["root"] is None, session.explain()
    assert "not trusted" in session.seen["stages"][0]["diagnostics"][0]["message"]


def test_init_options_and_settings_reach_the_server(workspace: Path):
    """``trusted = false`` stops the chart from running; a bad setting is reported, not fatal."""
    setup = {"init_options": {"trusted": False}, "settings": {"verm": {"critic": "bogus"}}}
    session = run_nvim(workspace, SERVER, line=0, code="reference", setup=setup)
    assert session.code == OK, session.explain()
    (opened,) = session.seen["stages"]
    assert "not trusted" in opened["diagnostics"][0]["message"], session.explain()
    shown = [m["message"] for m in session.seen["messages"] if m["from"] == "showMessage"]
    assert any("critic='bogus'" in m for m in shown), session.explain()
