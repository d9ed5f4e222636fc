"""Issue 7, findings 1, 3 (templates) and 4 (limits): a workspace file may not choose a program,
raise its own limits, or make verm allocate gigabytes through a template. Only the user may.

Every attack is a real file in a real workspace run through the real CLI (or Checker/sandbox).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from PIL import Image
from pytest_lsp import ClientServerConfig, LanguageClient

from support import accept_registrations, open_document, published, start_session
from verm.check import Checker
from verm.config import ConfigError, load_config
from verm.source import Source

VERM = [sys.executable, "-m", "verm.cli"]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "e2e"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def verm(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERM, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
                          timeout=timeout)


def evil_program(folder: Path) -> tuple[Path, Path]:
    """An executable that leaves a marker when anything starts it (as Playwright would)."""
    marker = folder / "PWNED"
    script = folder / "evil.sh"
    script.write_text(f"#!/bin/sh\necho pwned > '{marker}'\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script, marker


def page(folder: Path, pragma: str = "") -> Path:
    src = folder / "page.html"
    src.write_text(f"<!doctype html>\n{pragma}\n<html><body><h1 style='color:#123456'>Hi</h1>"
                   f"</body></html>\n")
    return src


@pytest.mark.parametrize("where", ["pragma", "verm.toml", "pyproject"])
def test_workspace_cannot_choose_the_chromium_program(tmp_path: Path, where: str) -> None:
    _script, marker = evil_program(tmp_path)
    if where == "pragma":
        src = page(tmp_path, "<!-- verm: chromium=./evil.sh -->")
    else:
        src = page(tmp_path)
        if where == "verm.toml":
            (tmp_path / "verm.toml").write_text('chromium = "./evil.sh"\n')
        else:
            (tmp_path / "pyproject.toml").write_text(
                '[project]\nname = "x"\n[tool.verm]\nchromium = "./evil.sh"\n')
    out = verm("render", src.name, "-o", "out.png", cwd=tmp_path)
    assert not marker.exists(), "a workspace file started a program of its choosing"
    assert out.returncode == 0, out.stderr  # rendered with the user's Chromium instead
    assert "ignored `chromium`" in out.stderr and "only your own settings" in out.stderr
    # ... and `check` (the CI path) neither runs it nor stays silent about it.
    verm("pin", src.name, cwd=tmp_path)
    out = verm("check", src.name, cwd=tmp_path)
    assert not marker.exists()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr.count("ignored `chromium`") == 1


def test_users_own_config_still_chooses_chromium(tmp_path: Path) -> None:
    """The user config file is the user's: its program is started (here a fake that fails)."""
    script, marker = evil_program(tmp_path)
    user = tmp_path / "user-config.toml"
    user.write_text(f'chromium = "{script}"\n')
    ws = tmp_path / "ws"
    ws.mkdir()
    src = page(ws)
    out = verm("render", src.name, "-o", "out.png", cwd=ws, env={"VERM_CONFIG": str(user)})
    assert marker.exists()  # the user's choice is honoured
    assert out.returncode == 1 and "ignored" not in out.stderr
    marker.unlink()
    out = verm("render", src.name, "-o", "out.png", "--chromium", CHROMIUM or "chromium",
               cwd=ws, env={"VERM_CONFIG": str(user)})
    assert out.returncode == 0 and not marker.exists()  # and a flag outranks the file


@pytest.mark.parametrize("key", ["model", "endpoint", "api-key", "max-source-mb", "trusted"])
def test_every_user_only_key_is_ignored_from_a_workspace(tmp_path: Path, key: str) -> None:
    (tmp_path / "verm.toml").write_text(f'{key} = "http://127.0.0.1:9/v1"\n')
    src = tmp_path / "icon.svg"
    shutil.copy(FIXTURES / "icon.svg", src)
    with Checker() as checker:
        notices = checker.notices(Source.load(src))
    assert len(notices) == 1 and f"ignored `{key}`" in notices[0].message


def test_pragmas_may_only_lower_limits(tmp_path: Path) -> None:
    src = tmp_path / "chart.py"
    src.write_text("# verm: memory=1048576 timeout=600 max-pixels=16384\n"
                   "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    with Checker() as checker:
        options, notices = checker.resolve_options(Source.load(src))
    assert (options.memory_mb, options.timeout_s, options.max_pixels) == (2048, 10.0, 4096)
    assert len(notices) == 3 and all(n.range is not None and n.range.start.line == 0
                                     for n in notices)
    assert any("asks for 1.04858e+06 MB, above your limit of 2048 MB" in n.message
               for n in notices)
    # Lowering is the workspace's right, and says nothing.
    src.write_text("# verm: memory=512 timeout=3\nimport matplotlib\n")
    with Checker() as checker:
        options, notices = checker.resolve_options(Source.load(src))
    assert (options.memory_mb, options.timeout_s, notices) == (512, 3.0, [])


def test_user_config_raises_the_limit_a_workspace_may_use(tmp_path: Path) -> None:
    (tmp_path / "verm.toml").write_text("timeout = 45\nmemory = 4096\n")
    src = tmp_path / "chart.py"
    src.write_text("import matplotlib\n")
    with Checker(user_settings={"timeout": 60, "memory": 8192}) as checker:
        options, notices = checker.resolve_options(Source.load(src))
    assert (options.timeout_s, options.memory_mb, notices) == (45.0, 4096, [])
    with Checker() as checker:  # the default user: 10 s, 2048 MB
        options, notices = checker.resolve_options(Source.load(src))
    assert (options.timeout_s, options.memory_mb, len(notices)) == (10.0, 2048, 2)


def test_a_pragma_timeout_above_the_users_is_enforced_in_the_sandbox(tmp_path: Path) -> None:
    """The real sandbox kills a script at the user's limit, whatever the pragma asks."""
    src = tmp_path / "slow.py"
    src.write_text("# verm: timeout=600\nimport time\ntime.sleep(60)\n")
    start = time.monotonic()
    out = verm("render", src.name, "-o", "out.png", "--timeout", "2", cwd=tmp_path)
    took = time.monotonic() - start
    assert out.returncode == 1 and "timed out" in out.stderr.lower() + out.stdout.lower()
    assert "above your limit of 2 s" in out.stderr
    assert took < 30  # 600 s was asked for


@pytest.mark.parametrize("template, fragment", [
    ("{stem:>1500000000}.png", "without index or format spec (got {stem:>1500000000})"),
    ("{0}.png", "(got {0})"),
    ("{stem.__class__}.png", "(got {stem.__class__})"),
    ("{stem!r}.png", "(got {stem!r})"),
    ("{stem.png", "reference template"),
])
def test_reference_templates_are_validated(tmp_path: Path, template: str, fragment: str) -> None:
    (tmp_path / "verm.toml").write_text(f'[references]\n"*.svg" = "{template}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert fragment in str(err.value) and "verm.toml" in str(err.value)


def test_a_huge_template_width_is_a_clear_error_not_gigabytes(tmp_path: Path) -> None:
    (tmp_path / "verm.toml").write_text('[references]\n"*.svg" = "{stem:>1500000000}"\n')
    shutil.copy(FIXTURES / "icon.svg", tmp_path / "icon.svg")
    out = verm("check", "icon.svg", cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert "use only {stem}, {name} and {dir}" in out.stderr
    assert "Traceback" not in out.stderr


def test_plain_templates_still_work(tmp_path: Path) -> None:
    (tmp_path / "verm.toml").write_text('[references]\n"charts/*.py" = "design/{dir}/{stem}.png"\n')
    (tmp_path / "charts").mkdir()
    config = load_config(tmp_path)
    assert config.reference_for(tmp_path / "charts" / "a.py") == tmp_path / "design/charts/a.png"


# -- the editor: the same rules, said as diagnostics --------------------------------------------
SERVER = ClientServerConfig(server_command=[*VERM, "serve"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    # A workspace's .vscode/settings.json reaches the server this way: it claims trust.
    lsp_client.set_configuration({"trusted": True}, section="verm")

    yield
    await lsp_client.shutdown_session()


async def test_editor_untrusted_pragma_chromium_is_a_warning_not_a_program(
        client: LanguageClient, tmp_path: Path) -> None:
    _script, marker = evil_program(tmp_path)
    src = page(tmp_path, "<!-- verm: reference=page.ref.png chromium=./evil.sh -->")
    verm("render", src.name, "-o", "page.ref.png", cwd=tmp_path)
    marker.unlink(missing_ok=True)
    await start_session(client, tmp_path, {"trusted": False})
    open_document(client, src, "html")
    found = await published(client, src)
    assert not marker.exists()
    warnings = [d for d in found if d.code == "workspace-setting"]
    assert len(warnings) == 1 and warnings[0].range.start.line == 1  # on the pragma's line
    assert warnings[0].severity == lsp.DiagnosticSeverity.Warning
    assert "ignored `chromium`" in warnings[0].message


async def test_editor_trust_is_not_a_workspace_setting(client: LanguageClient,
                                                       tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    src = tmp_path / "chart.py"
    src.write_text(f"open({str(marker)!r}, 'w').write('x')\nimport matplotlib.pyplot as plt\n"
                   f"plt.plot([1, 2])\n")
    Image.new("RGB", (64, 48), "white").save(tmp_path / "chart.ref.png")
    outside = tmp_path.parent / f"{tmp_path.name}-root"  # the workspace is another folder
    outside.mkdir(exist_ok=True)
    await start_session(client, outside)
    await asyncio.sleep(1.5)  # the server asks for workspace/configuration after `initialized`
    open_document(client, src, "python")
    await published(client, src)
    await asyncio.sleep(1.5)  # a re-judgement after settings arrive would run it now
    found = client.diagnostics[src.as_uri()]
    assert not marker.exists()
    assert any("not trusted" in d.message for d in found), found
