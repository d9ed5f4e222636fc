"""Every test runs as a user with no verm config of their own (tests that need one make it),
and writes nothing into the real home: caches, configs and state go to throwaway folders."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `from support import ...` from sub-folders

# Set at import, so servers, CLIs and editors the tests start inherit them (some test modules copy
# os.environ at import). Everything verm and its parts write under home goes here: verm's diff
# images and views (XDG_CACHE_HOME/verm), matplotlib's font cache, Chromium's profile bits,
# fontconfig, Hugging Face and torch caches, Neovim's state; removed when the session ends.
SESSION_HOME = Path(tempfile.mkdtemp(prefix="verm-test-home-"))
_SESSION_PID = os.getpid()
atexit.register(lambda: os.getpid() == _SESSION_PID and shutil.rmtree(SESSION_HOME, True))
HOME_DIRS = {"XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data",
             "XDG_STATE_HOME": "state", "MPLCONFIGDIR": "matplotlib"}
for _name, _sub in HOME_DIRS.items():
    os.environ[_name] = str(SESSION_HOME / _sub)
    (SESSION_HOME / _sub).mkdir()
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(SESSION_HOME / "hypothesis")  # not ./.hypothesis
# A user config on the developer's machine must not change what the tests see; VERM_CONFIG names
# a file that does not exist.
os.environ["VERM_CONFIG"] = str(SESSION_HOME / "user-config.toml")


# -- tiny vision-language models, built offline once per session (see tests/tinyvl.py) ------------
TITLE_LINE = 7  # 0-based line of ax.set_title in tests/fixtures/e2e/bars.py
TRAINED_CRITIQUE = {
    "structure_error_count": 0, "data_error_count": 0, "text_error_count": 1,
    "style_error_count": 0,
    "errors": [{"category": "text_error", "severity": 2, "location": "title",
                "description":
                    "The title reads 'Sales by quarter' instead of 'Sales per quarter'"}],
}


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own XDG_CACHE_HOME (verm's diff images go to ``<it>/verm/diffs``), passed
    to the servers and CLIs it starts through the environment."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(autouse=True)
def tmpdir_unchanged() -> Iterator[None]:
    """No test leaves the process's TMPDIR pointing elsewhere (a browser pool once left it at
    a Chromium profile folder that was later deleted: every later test's temp files failed)."""
    before = os.environ.get("TMPDIR")
    yield
    assert os.environ.get("TMPDIR") == before, "TMPDIR was left changed"


@pytest.fixture(autouse=True)
def no_prestart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers start their render workers when a source needs them, not ahead from a scan of
    the folder they run in (the repository, full of pinned examples): tests that count workers
    see only the ones their sources started. tests/test_lsp_warmup.py turns it back on."""
    monkeypatch.setenv("VERM_PRESTART", "0")


@dataclass(frozen=True)
class TrainedCritic:
    """A tiny critic trained to answer one pair: bars.py pinned, then its title edited."""

    base: Path  # the tiny random Qwen3-VL
    adapter: Path  # the LoRA adapter that learned TRAINED_CRITIQUE for the pair
    workspace: Path  # a folder with bars.py (title edited) and its pinned reference

    def copy_workspace(self, to: Path) -> Path:
        target = to / "ws"
        shutil.copytree(self.workspace, target)
        return target / "bars.py"


@pytest.fixture(scope="session")
def tiny_vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tinyvl import build_tiny_qwen3vl

    return build_tiny_qwen3vl(tmp_path_factory.mktemp("models") / "tiny-qwen3vl")


@pytest.fixture(scope="session")
def trained_critic(tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedCritic:
    from support import FIXTURES
    from tinyvl import train_tiny_critic
    from verm.check import Checker
    from verm.critic.model.prompts import bounded, chat_messages, prompt_text
    from verm.pins import pin_render
    from verm.source import Source

    workspace = tmp_path_factory.mktemp("trained") / "ws"
    workspace.mkdir()
    (workspace / ".git").mkdir()  # a project root
    src = workspace / "bars.py"
    shutil.copy(FIXTURES / "bars.py", src)
    with Checker(critic="analytic") as checker:
        pinned = checker.render(Source.load(src))
        pin_render(pinned, src.with_name("bars.ref.png"))
        text = src.read_text()
        assert text.splitlines()[TITLE_LINE].startswith("ax.set_title(")
        src.write_text(text.replace('"Sales per quarter"', '"Sales by quarter"'))
        render = checker.render(Source.load(src))
    images = [bounded(pinned.image), bounded(render.image)]
    adapter = train_tiny_critic(tiny_vl, workspace.parent / "adapter", images,
                                chat_messages("chart", prompt_text("chart")),
                                json.dumps(TRAINED_CRITIQUE))
    return TrainedCritic(tiny_vl, adapter, workspace)


@pytest.fixture(scope="module")
def pinner():
    """A Checker of the test module's own, to render and pin fixtures before a server starts."""
    from verm.check import Checker

    with Checker() as checker:
        yield checker
