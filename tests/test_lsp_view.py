"""``verm/visualDiff`` and ``verm/status`` through a real LSP client (pytest-lsp over stdio).

The request is what an editor's visual-diff view draws: three aligned pictures on disk, each
discrepancy's boxes in both, its line and quick fix, the reward; ``readOnly`` when the client
is not trusted. ``verm/status`` counts the judgements in flight.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from PIL import Image
from pytest_lsp import ClientServerConfig, LanguageClient

from support import (
    accept_registrations,
    diagnostics,
    edit_once,
    open_document,
    pinned_copy,
    start_session,
)
from verm.check import Checker

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])
CIRCLE = (44, 34, 116, 106)  # icon.svg's circle: cx 80, cy 70, r 36


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    statuses: list[dict[str, Any]] = []
    lsp_client.statuses = statuses  # type: ignore[attr-defined]

    @lsp_client.feature("verm/status")
    def status(params: Any) -> None:
        statuses.append(as_dict(params))

    yield
    await lsp_client.shutdown_session()


def as_dict(value: Any) -> Any:
    """pygls hands custom messages over as attribute objects: back to plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: as_dict(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [as_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    return value


async def visual_diff(client: LanguageClient, src: Path) -> dict[str, Any]:
    answer = await client.protocol.send_request_async(
        "verm/visualDiff", {"textDocument": {"uri": src.as_uri()}})
    return as_dict(answer)


def inside(point: tuple[float, float], box: list[float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


async def test_visual_diff_gives_aligned_pictures_and_boxes_on_the_change(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start_session(client, tmp_path, {"trusted": True})
    src = pinned_copy(pinner, tmp_path, "icon.svg")
    line = edit_once(src, 'fill="#5E81AC"', 'fill="#D08770"')
    open_document(client, src, "xml")
    await diagnostics(client, src.as_uri())

    answer = await visual_diff(client, src)
    assert answer["state"] == "judged", answer
    view = answer["view"]
    assert view["title"] == "icon.svg" and view["reference"] == "icon.ref.png"
    assert 1.0 <= view["reward"] < 2.0 and view["equivalent"] is False
    assert view["readOnly"] is False
    images = view["images"]
    sizes = {Image.open(images[name]).size for name in ("reference", "render", "diff")}
    assert sizes == {(images["width"], images["height"])}, sizes
    assert all(Path(images[n]).parent.name == "view" for n in ("reference", "render", "diff"))

    hit = next(d for d in view["discrepancies"] if d["category"] == "style_error")
    assert hit["line"] == line and hit["number"] == hit["index"] + 1
    assert hit["fix"] is not None and "#5e81ac" in hit["fix"].lower()
    scale = images["width"] / 160
    centre = (80 * scale, 70 * scale)
    for box in (hit["refBox"], hit["renderBox"]):
        assert box is not None and inside(centre, box), (box, centre)
        assert box[2] - box[0] <= (CIRCLE[2] - CIRCLE[0] + 8) * scale  # the circle, not the icon
    # The pictures are what they say: the circle's colour in each, flagged in the difference.
    x, y = (int(v) for v in centre)
    assert Image.open(images["reference"]).convert("RGB").getpixel((x, y)) == (0x5E, 0x81, 0xAC)
    assert Image.open(images["render"]).convert("RGB").getpixel((x, y)) == (0xD0, 0x87, 0x70)
    assert Image.open(images["diff"]).convert("RGB").getpixel((x, y)) == (240, 140, 0)

    again = await visual_diff(client, src)
    assert again["view"]["images"] == images, "drawn once per judgement"

    statuses = client.statuses  # type: ignore[attr-defined]
    assert any(s["judging"] >= 1 for s in statuses), statuses
    assert statuses[-1]["judging"] == 0, statuses


async def test_an_untrusted_client_gets_a_read_only_view(
        client: LanguageClient, pinner: Checker, tmp_path: Path):
    await start_session(client, tmp_path, {"trusted": False})
    src = pinned_copy(pinner, tmp_path, "icon.svg")
    edit_once(src, 'fill="#5E81AC"', 'fill="#D08770"')
    open_document(client, src, "xml")
    await diagnostics(client, src.as_uri())
    answer = await visual_diff(client, src)
    assert answer["state"] == "judged" and answer["view"]["readOnly"] is True, answer


async def test_an_unjudged_or_unpinned_document_says_so(client: LanguageClient, tmp_path: Path):
    await start_session(client, tmp_path, {"trusted": True})
    src = tmp_path / "loose.svg"
    src.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    assert (await visual_diff(client, src))["state"] == "pending"
    open_document(client, src, "xml")
    for _ in range(200):  # an unpinned file publishes nothing: poll until it is judged
        answer = await visual_diff(client, src)
        if answer["state"] != "pending":
            break
        await asyncio.sleep(0.05)
    assert answer["state"] == "unpinned" and answer["view"] is None, answer
