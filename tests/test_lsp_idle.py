"""An idle server gives memory back: spare render workers retire, the allocator is trimmed.

End to end over stdio with the real server and renderers; the idle timers are shortened
through the environment variables a user would set.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from support import pinned_copy
from test_lsp_load import Doc, cmdline, descendants, recording_client
from verm.check import Checker

IDLE_S = 2.0  # long enough to see the spare while in use, even on a loaded machine
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "verm.lsp"],
    client_factory=recording_client,
    # made when the module is imported, before conftest's no_prestart: said here too
    server_env={**os.environ, "VERM_PRESTART": "0", "VERM_SPARE_IDLE_S": str(IDLE_S),
                "VERM_BROWSER_IDLE_S": str(IDLE_S)},
)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 30)


def render_workers(server: int) -> list[int]:
    """Processes below the server that run verm's fork server or are forked from it."""
    return [pid for pid in descendants(server) if "verm.render.forkserver" in cmdline(pid)]


async def render_workers_when(server: int, ok: Callable[[int], bool],
                              within_s: float = 30.0) -> list[int]:
    """The render workers as soon as their count satisfies ``ok`` (processes start and retire
    on their own time: wait for it, do not snapshot), else the last count seen."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not ok(len(found := render_workers(server))):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    return found


async def test_idle_server_retires_spare_workers_and_trims_memory(client, tmp_path: Path):
    with Checker() as checker:
        src = pinned_copy(checker, tmp_path, "icon.svg")
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=tmp_path.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")]))
    doc = Doc(client, src, "svg")
    doc.open()
    await doc.judged(1)
    server = client.server_pid
    busy = await render_workers_when(server, lambda n: n >= 3)
    assert len(busy) >= 3, "fork server, spare monitor and spare worker while in use"

    async def settled() -> None:
        while not any("memory given back" in m.message for m in client.log_messages):
            await asyncio.sleep(0.1)

    await asyncio.wait_for(settled(), 30)
    idle = await render_workers_when(server, lambda n: n == 1)
    assert len(idle) == 1, f"only the fork server stays when idle: {idle}"

    version = doc.save(src.read_text())  # the next save is judged as before
    assert (await doc.judged(version)) == []
    assert len(await render_workers_when(server, lambda n: n >= 2)) >= 2
