"""The VS Code extension's own tests: ``npm test`` in editor-clients/vscode, and its package.

``npm test`` compiles the TypeScript, bundles it with esbuild (with the shared viewer from
server/verm/viewer) and runs node's test runner: the extension's pure logic (settings,
interpreter discovery, activation, the status item, the view's page and data, the viewer's own
logic) and an integration test that drives the real ``verm serve`` (this interpreter, via
``VERM_PYTHON``) over stdio as the extension's client would, ``verm/visualDiff`` included.
``vsce package`` then builds the ``.vsix`` and its size is printed. VS Code itself cannot run
here. The node dependencies come from ``scripts/setup.sh`` (``npm ci`` once, from the lock
file): these tests never install anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parent.parent / "editor-clients" / "vscode"
TEST_TIMEOUT_S = 120
PACKAGE_TIMEOUT_S = 120
MAX_VSIX_BYTES = 1_000_000


def npx(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("npm")
    if exe is None or shutil.which("node") is None:
        pytest.fail("node and npm are required for the VS Code extension's tests (node 20+)")
    if not (EXTENSION / "node_modules" / ".package-lock.json").is_file():
        pytest.fail("the extension's node modules are missing: run scripts/setup.sh "
                    "(it runs `npm ci` in editor-clients/vscode once)")
    env = {**os.environ, "VERM_PYTHON": sys.executable, "NO_UPDATE_NOTIFIER": "1"}
    try:
        return subprocess.run([exe, *args], cwd=EXTENSION, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"npm {' '.join(args)} timed out after {timeout} s\n{out}")


def test_npm_test() -> None:
    result = npx(["test"], TEST_TIMEOUT_S)
    assert result.returncode == 0, f"npm test failed:\n{result.stdout}\n{result.stderr}"


def test_vsce_packages_a_small_bundled_vsix(tmp_path: Path) -> None:
    vsix = tmp_path / "verm.vsix"
    result = npx(["run", "package", "--", "--out", str(vsix)], PACKAGE_TIMEOUT_S)
    assert result.returncode == 0, f"vsce package failed:\n{result.stdout}\n{result.stderr}"
    size = vsix.stat().st_size
    print(f"\nverm .vsix: {size / 1024:.0f} KB ({vsix.name})")
    names = set(zipfile.ZipFile(vsix).namelist())
    for needed in ("extension/dist/extension.js", "extension/dist/viewer/viewer.js",
                   "extension/dist/viewer/viewer.css", "extension/dist/viewer/viewer.html",
                   "extension/images/icon.png", "extension/LICENSE.txt", "extension/package.json"):
        assert needed in names, sorted(names)
    assert not any(n.startswith(("extension/node_modules/", "extension/src/", "extension/out/"))
                   for n in names), "bundled: no sources, no node_modules"
    assert size < MAX_VSIX_BYTES, f"{size} bytes"
