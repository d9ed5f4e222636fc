"""Model-driven revise (the paper's reflection loop) with real renders and a stand-in policy
server: an answer that fixes the file (adding back a deleted call, which the literal search
cannot) is kept and reaches the editor as edits of the changed lines only; a worse answer, or
one with no code, is kept out; the CLI and the language server use the policy when the user's
settings name one; a real (tiny, random) Qwen3-VL in the worker answers garbage and is refused.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from PIL import Image
from pytest_lsp import ClientServerConfig, LanguageClient

from standin_openai import StandinServer, completion
from support import (
    FIXTURES,
    accept_registrations,
    diagnostics,
    open_document,
    pinned_copy,
    start_session,
)
from verm.check import Checker
from verm.revise import (
    PolicySettings,
    PolicySettingsError,
    apply_text_edits,
    open_policy,
    read_settings,
    revise_with_policy,
)
from verm.revise.policy import apply
from verm.revise.prompt import conform, extract_code

GOOD = (FIXTURES / "bars.py").read_text()
TITLE = 'ax.set_title("Sales per quarter")\n'
# The broken file: a wrong colour (line 7) and the title call deleted (was line 8).
BROKEN = GOOD.replace('color="#4C72B0"', 'color="#DD8452"').replace(TITLE, "")
WORSE = BROKEN.replace("sales = [12, 15, 9, 17]", "sales = [2, 19, 1, 3]")


@pytest.fixture(scope="module")
def checker():
    with Checker() as c:
        yield c


@pytest.fixture
def broken(checker: Checker, tmp_path: Path) -> Path:
    src = pinned_copy(checker, tmp_path, "bars.py")
    src.write_text(BROKEN)
    return src


def answer(code: str, lang: str = "python") -> str:
    return f"<think>The title is missing and the bars are orange.</think>\nHere is the fix:\n" \
           f"```{lang}\n{code}```\nThe title is back."


def remote(url: str, rounds: int = 3) -> PolicySettings:
    return PolicySettings(endpoints=(url,), rounds=rounds)


def test_a_fixing_answer_is_kept_and_the_edit_is_minimal(checker: Checker, broken: Path):
    with StandinServer([completion(answer(GOOD))]) as server:
        policy = open_policy(remote(server.url))
        revision = revise_with_policy(checker, checker.load(broken), policy)
    assert revision.reward_before < 2.0
    assert (revision.reward_after, revision.stopped, revision.reviser) == (2.0, "equivalent",
                                                                          "policy")
    assert revision.text == GOOD and len(server.chats) == 1 and revision.renders == 2
    assert [(r.number, r.kept) for r in revision.rounds] == [(1, True)]
    edits = revision.text_edits()
    assert {e.range.start.line for e in edits} == {6, 7}  # the colour, the title put back
    assert [e.new_text for e in edits] == ["4C72B0", TITLE]
    assert apply_text_edits(BROKEN, edits) == GOOD
    assert broken.read_text() == BROKEN  # revise never writes the file


def test_the_request_carries_the_reference_first_and_the_critique_with_lines(
        checker: Checker, broken: Path):
    with StandinServer([completion(answer(GOOD))]) as server:
        revise_with_policy(checker, checker.load(broken), open_policy(remote(server.url)))
    content = server.chats[0].body["messages"][0]["content"]
    kinds = [part["type"] for part in content]
    assert kinds == ["image_url", "image_url", "text"]
    first = content[0]["image_url"]["url"]
    assert first.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(first.split(",", 1)[1]))).convert("RGB")
    reference = Image.open(broken.with_name("bars.ref.png")).convert("RGB")
    assert sent.size == reference.size and sent.tobytes() == reference.tobytes()
    text = content[-1]["text"]
    assert "Image 1 is the reference" in text and "File: bars.py" in text
    assert BROKEN.rstrip() in text  # the whole current code
    start = text.index("\n[", text.index("discrepancies"))
    errors = json.loads(text[start:text.index("\n]", start) + 2])
    assert errors and all({"category", "severity", "location", "description"} <= set(e)
                          for e in errors)
    colour = [e for e in errors if e.get("line") == 7]
    assert colour and colour[0]["code"] == 'bars = ax.bar(quarters, sales, color="#DD8452")'
    assert "```python" in text.rsplit("\n", 1)[-1]  # asks for one fenced block


def test_a_worse_answer_and_a_non_code_answer_are_kept_out(checker: Checker, broken: Path):
    replies = [completion(answer(WORSE)), completion("I cannot see any image, sorry."),
               completion("```python\nthis is not python (\n```")]
    with StandinServer(replies) as server:
        revision = revise_with_policy(checker, checker.load(broken),
                                      open_policy(remote(server.url)))
    assert revision.text == revision.original == BROKEN and not revision.improved
    assert revision.reward_after == revision.reward_before < 2.0
    assert revision.stopped == "rounds" and revision.renders == 2  # only WORSE was rendered
    whys = [r.why for r in revision.rounds]
    assert "no better" in whys[0] and revision.rounds[0].reward <= revision.reward_before
    assert "no usable code" in whys[1] and "no usable code" in whys[2]
    # the next round is told why the last answer was not kept
    assert "was not kept: it judged no better" in server.chats[1].body["messages"][0][
        "content"][-1]["text"]
    assert revision.text_edits() == []


def test_progress_per_round_and_cancellation(checker: Checker, broken: Path):
    seen: list[tuple[str, float]] = []
    with StandinServer([completion(answer(WORSE))] * 3) as server:
        revision = revise_with_policy(checker, checker.load(broken),
                                      open_policy(remote(server.url, rounds=2)),
                                      on_progress=lambda m, f: seen.append((m, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("round 2/2: asking") for m, _ in seen) and len(server.chats) == 2
    asked = iter(range(100))
    with StandinServer([completion(answer(WORSE))] * 3) as server:
        revision = revise_with_policy(checker, checker.load(broken),
                                      open_policy(remote(server.url)),
                                      cancelled=lambda: next(asked) >= 1)
    assert (revision.stopped, revision.improved) == ("cancelled", False)
    assert len(server.chats) <= 1


def test_an_answer_that_repins_the_file_is_refused(checker: Checker, broken: Path):
    repinned = "# verm: reference=elsewhere.png\n" + GOOD
    with StandinServer([completion(answer(repinned))]) as server:
        revision = revise_with_policy(checker, checker.load(broken),
                                      open_policy(remote(server.url, rounds=1)))
    assert not revision.improved and revision.renders == 1
    assert revision.rounds[0].why == "the answer changed which reference the file pins"


def test_an_unreachable_policy_stops_with_a_reason(checker: Checker, broken: Path):
    from standin_openai import unused_url

    policy = open_policy(PolicySettings(endpoints=(unused_url(),), timeout_s=2))
    revision = revise_with_policy(checker, checker.load(broken), policy)
    assert (revision.stopped, revision.improved) == ("failed", False)
    assert revision.notes and "policy server" in revision.notes[0]


def test_code_extraction_reads_messy_answers():
    fixed = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
    snippet = "plt.title('x')\n"
    assert extract_code(answer(fixed), "chart") == fixed
    two = f"Change this:\n```python\n{snippet}```\nThe whole file:\n```python\n{fixed}```"
    assert extract_code(two, "chart") == fixed  # the largest block
    assert extract_code(f"```\n{fixed}```", "chart") == fixed  # no language
    assert extract_code(fixed, "chart") == fixed  # no fence, but it parses
    assert extract_code("<think>long</think>" + fixed, "chart") == fixed
    assert extract_code("thinking...</think>```python\n" + fixed + "```", "chart") == fixed
    assert extract_code("Sorry, I cannot help.", "chart") is None
    assert extract_code("nonsense", "chart") is None  # a bare name parses, but is no script
    assert extract_code("```python\nplt.plot([1,\n", "chart") is None  # cut off mid-call
    assert extract_code("<think>cut off while thinking", "chart") is None
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>\n'
    assert extract_code(f"```svg\n{svg}```", "svg") == svg
    assert extract_code(f"```xml\n{svg}```", "svg") == svg
    assert extract_code("```svg\nnot markup\n```", "svg") is None
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert extract_code(f"```markdown\n{table}```", "table") == table


def test_answers_take_the_files_line_ends():
    assert conform("a\nb", "x\r\ny\r\n") == "a\r\nb\r\n"
    assert conform("a\r\nb\n", "x\ny") == "a\nb"


def test_settings_layers_and_errors():
    user = {"policy-endpoint": ["http://a:1/v1", "http://b:2/v1"], "policy-rounds": 5,
            "model": "critic-only"}
    settings = read_settings(user, {}, "config.toml")
    assert (settings.endpoints, settings.rounds, settings.model) == (
        ("http://a:1/v1", "http://b:2/v1"), 5, None)
    local = read_settings(user, {"policy": "/models/qwen", "policy-rounds": None}, "cfg")
    assert (local.model, local.endpoints, local.rounds) == ("/models/qwen", (), 5)
    assert PolicySettings().max_new_tokens == 4096 and not PolicySettings().configured
    for bad in ({"policy-rounds": 0}, {"policy-endpoint": "gpu-box:8000"},
                {"policy-api-key": "sk-1"}, {"policy": "a", "policy-endpoint": "http://b/v1"},
                {"policy-temperature": "hot"}):
        with pytest.raises(PolicySettingsError):
            apply(PolicySettings(), bad, "cfg")


def _verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "verm.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=180)


def test_cli_revise_with_a_policy_endpoint(broken: Path):
    with StandinServer([completion(answer(GOOD))] * 2) as server:
        shown = _verm("revise", "bars.py", "--policy-endpoint", server.url, "--rounds", "2",
                      cwd=broken.parent)
        assert shown.returncode == 0, shown.stderr
        assert "1 of 1 policy rounds kept" in shown.stdout and "→ 2.00" in shown.stdout
        assert f"+{TITLE}" in shown.stdout and broken.read_text() == BROKEN
        written = _verm("revise", "bars.py", "--policy-endpoint", server.url, "--write",
                        cwd=broken.parent)
    assert written.returncode == 0, written.stderr
    assert broken.read_text() == GOOD
    assert server.chats[0].body["model"] == "standin"


def test_cli_policy_errors_exit_2(broken: Path):
    bad = _verm("revise", "bars.py", "--policy-endpoint", "gpu-box:8000", cwd=broken.parent)
    assert bad.returncode == 2 and "expected http(s) URLs" in bad.stderr
    with StandinServer([completion("no code here")]) as server:
        out = _verm("revise", "bars.py", "--policy-endpoint", server.url, "--rounds", "1",
                    cwd=broken.parent)
    assert out.returncode == 1 and "round 1: the answer held no usable code block" in out.stdout
    assert broken.read_text() == BROKEN


# -- the editor: the "Revise to match reference" command with the policy in the settings ------
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "verm.cli", "serve"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_lsp_revise_uses_the_policy_from_the_editor_settings(
        client: LanguageClient, checker: Checker, tmp_path: Path):
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams):
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    src = pinned_copy(checker, tmp_path, "bars.py")
    src.write_text(BROKEN)
    with StandinServer([completion(answer(GOOD))]) as server:
        await start_session(client, tmp_path, {"policyEndpoint": server.url})
        open_document(client, src, "python")
        uri = src.as_uri()
        assert await diagnostics(client, uri)
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="verm.revise", arguments=[uri]))
    assert result["applied"] is True and result["reviser"] == "policy", result
    assert (result["reward_after"], result["stopped"]) == (2.0, "equivalent")
    [workspace_edit] = applied
    [change] = workspace_edit.document_changes
    assert change.text_document.version == 1
    assert {e.range.start.line for e in change.edits} == {6, 7}  # only the changed lines
    lines = BROKEN.splitlines(keepends=True)

    def offset(p: lsp.Position) -> int:
        return sum(len(line) for line in lines[: p.line]) + p.character

    text = BROKEN
    for e in sorted(change.edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    assert text == GOOD
    assert src.read_text() == BROKEN  # the server never writes the file itself


# -- a local policy: a real (tiny, random) Qwen3-VL in verm's model worker --------------------
@pytest.fixture(scope="module")
def tiny_policy(tiny_vl: Path) -> Path:
    """The session's tiny random Qwen3-VL (tests/conftest.py) standing as a policy."""
    return tiny_vl


def test_a_local_policy_that_answers_garbage_changes_nothing(checker: Checker, broken: Path,
                                                            tiny_policy: Path):
    settings = PolicySettings(model=str(tiny_policy), device="cpu", quantize="none",
                              rounds=1, max_new_tokens=200)
    policy = open_policy(settings)
    try:
        revision = revise_with_policy(checker, checker.load(broken), policy)
        assert policy.worker.starts == 1  # type: ignore[attr-defined]  # it really asked
    finally:
        policy.close()
    assert (revision.stopped, revision.improved, revision.renders) == ("rounds", False, 1)
    [only] = revision.rounds
    assert not only.kept and only.reward is None
    assert "no usable code" in only.why or "cut off" in only.why
    assert revision.text_edits() == []
