"""The VS Code extension's own tests: ``npm test`` in editor-clients/vscode.

That compiles the TypeScript and runs node's test runner: unit tests of the extension's pure
logic (``src/logic.ts``) and an integration test that drives the real ``verm serve`` (with this
interpreter, via ``VERM_PYTHON``) over stdio as the extension's client would. VS Code itself
cannot run here, so this is as close as CI gets. node and npm are required, not optional.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parent.parent / "editor-clients" / "vscode"
INSTALL_TIMEOUT_S = 180
TEST_TIMEOUT_S = 90


def npm(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("npm")
    if exe is None or shutil.which("node") is None:
        pytest.fail("node and npm are required for the VS Code extension's tests (node 20+)")
    env = {**os.environ, "VERM_PYTHON": sys.executable, "NO_UPDATE_NOTIFIER": "1"}
    try:
        return subprocess.run([exe, *args], cwd=EXTENSION, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"npm {' '.join(args)} timed out after {timeout} s\n{out}")


def test_npm_test() -> None:
    if not (EXTENSION / "node_modules").is_dir():
        installed = npm(["ci", "--no-audit", "--no-fund"], INSTALL_TIMEOUT_S)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    result = npm(["test"], TEST_TIMEOUT_S)
    assert result.returncode == 0, f"npm test failed:\n{result.stdout}\n{result.stderr}"
