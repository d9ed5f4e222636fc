"""The ``remote`` critic through the CLI: against a real third-party OpenAI-compatible server
(``transformers serve``, standing where vLLM stands in production) serving the tiny critic
trained in the session, and against a stand-in for what a real server will not do on demand.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TITLE_LINE, TRAINED_CRITIQUE, TrainedCritic
from standin_openai import StandinServer, completion, error
from support import FIXTURES

SHIM = Path(__file__).parent / "serve_shim"
VERM = [sys.executable, "-m", "verm.cli"]


def run_verm(*args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERM, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_critic(trained_critic: TrainedCritic, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    """The trained critic (adapter merged, as a team would serve it) behind
    ``transformers serve`` on 127.0.0.1; yields its base URL."""
    from tinyvl import merge_adapter

    merged = merge_adapter(trained_critic.base, trained_critic.adapter,
                           tmp_path_factory.mktemp("served") / "critic")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SHIM), *filter(None, [os.environ.get("PYTHONPATH")])])}
    serve = shutil.which("transformers", path=str(Path(sys.executable).parent))
    assert serve, "transformers[serving] provides the `transformers` command"
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([serve, "serve", str(merged), "--host", "127.0.0.1", "--port",
                                 str(port), "--device", "cpu"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"transformers serve did not start:\n"
                                         f"{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield f"{url}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_check_against_a_real_openai_compatible_server(
        served_critic: str, trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    out = run_verm("check", src.name, "--critic", "remote", "--endpoint", served_critic,
                   "--format", "json", cwd=src.parent)
    result = json.loads(out.stdout)
    expected = TRAINED_CRITIQUE["errors"][0]
    assert [(e["category"], e["description"], e["range"]["start"]["line"])
            for e in result["errors"]] == [
        (expected["category"], expected["description"], TITLE_LINE)], out.stderr
    assert result["reward"] == 1.96
    assert out.returncode == 1


def _pinned_folder(tmp_path: Path, count: int) -> Path:
    from verm.check import Checker
    from verm.pins import pin_render
    from verm.source import Source

    folder = tmp_path / "icons"
    folder.mkdir()
    (tmp_path / ".git").mkdir()
    with Checker() as checker:
        for i in range(count):
            src = folder / f"icon{i}.svg"
            shutil.copy(FIXTURES / "icon.svg", src)
            pin_render(checker.render(Source.load(src)), src.with_name(f"icon{i}.ref.png"))
    return folder


def test_a_folder_is_judged_concurrently_in_order_and_the_key_comes_from_the_environment(
        tmp_path: Path):
    folder = _pinned_folder(tmp_path, 4)
    answer = json.dumps({"errors": [{"category": "style_error", "severity": 1,
                                     "location": "<svg>", "description": "slightly off"}]})
    slow = [completion(answer)] * 4
    for reply in slow:
        reply.stall_s = 0.6  # the server thinks before it answers
    with StandinServer(slow) as server:
        env = {**os.environ, "TEAM_KEY": "s3cret"}
        out = run_verm("check", folder.name, "--critic", "remote", "--endpoint", server.url,
                       "--api-key-env", "TEAM_KEY", "--format", "json", cwd=tmp_path, env=env)
        in_flight = server.max_in_flight
        chats = server.chats
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["source"] for r in lines] == [f"icons/icon{i}.svg" for i in range(4)]
    assert all(r["reward"] == 1.98 for r in lines), lines
    assert in_flight >= 2  # pairs went to the server at the same time
    assert {c.headers.get("authorization") for c in chats} == {"Bearer s3cret"}
    assert "s3cret" not in out.stdout + out.stderr


def test_an_unreachable_server_leaves_the_analytic_verdict_with_a_note(tmp_path: Path):
    folder = _pinned_folder(tmp_path, 1)
    with StandinServer([error(503, "overloaded")] * 3) as server:
        out = run_verm("check", str(folder / "icon0.svg"), "--critic", "remote", "--endpoint",
                       server.url, "--format", "json", cwd=tmp_path)
    result = json.loads(out.stdout)
    assert result["errors"] == []  # the analytic critic: the icon matches its reference
    assert len(result["notes"]) == 1 and "could not judge this render" in result["notes"][0]
    assert "503" in result["notes"][0]
    assert out.returncode == 0
