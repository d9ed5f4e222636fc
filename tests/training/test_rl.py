"""``verm train rl``: GRPO of the tiny Qwen3-VL policy with verm's own reward (analytic critic).

The reward is judged through verm's real renderers and critic: the reference's own source
scores 2.0, an answer without code or whose code crashes scores 0. A random policy never writes
code, so every reward would be 0 and GRPO's advantages (and gradients) nothing; the policy is
first taught a little of one SVG (a short SFT, tests/tinyvl.py), so that sampled answers sometimes
render and sometimes do not — then two GRPO steps must move its LoRA weights.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import FIXTURES
from verm.check import Checker
from verm.pins import pin_render
from verm.source import Source
from verm_training import card, rl
from verm_training.rl import (
    AsyncVisualReward,
    RLArgs,
    VisualReward,
    add_arguments,
    build_dataset,
    prompt_messages,
    references,
    run,
    train_policy,
)

TAUGHT_SVG = '<svg><circle cx="80" cy="70" r="36"/></svg>'


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One torch thread: two contend on a shared 2-core machine (ten times slower steps)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with single_thread():
        yield


@pytest.fixture(scope="module")
def refs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reference PNGs pinned from bars.py (a chart) and icon.svg, with verm's pin sidecars
    (which tell each one's domain)."""
    folder = tmp_path_factory.mktemp("rl") / "refs"
    folder.mkdir()
    with Checker(critic="analytic") as checker:
        for name in ("bars.py", "icon.svg"):
            src = folder / name
            shutil.copy(FIXTURES / name, src)
            pin_render(checker.render(Source.load(src)), folder / f"{src.stem}.png", within=())
            src.unlink()
    return folder


@pytest.fixture(scope="module")
def primed_policy(tiny_vl: Path, refs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model after a little SFT towards ``TAUGHT_SVG`` for the SVG reference."""
    from PIL import Image

    from tinyvl import merge_adapter, train_tiny_critic

    tmp = tmp_path_factory.mktemp("primed")
    with Image.open(refs / "icon.png") as im:
        reference = im.convert("RGB")
    with single_thread():  # module fixtures are set up before the autouse one_thread
        adapter = train_tiny_critic(tiny_vl, tmp / "adapter", [reference],
                                    prompt_messages("svg"), f"```svg\n{TAUGHT_SVG}\n```",
                                    steps=60)
        return merge_adapter(tiny_vl, adapter, tmp / "policy")


def _answer(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": text}]


def test_the_reward_is_verms_judgement_of_the_rendered_code(refs: Path, tmp_path: Path):
    chart, svg = str(refs / "bars.png"), str(refs / "icon.png")
    cases = [
        ("chart", chart, f"Here:\n```python\n{(FIXTURES / 'bars.py').read_text()}```", 2.0),
        ("svg", svg, f"```svg\n{(FIXTURES / 'icon.svg').read_text()}```", 2.0),
        ("chart", chart, "I cannot draw that chart, sorry.", 0.0),  # no code
        ("chart", chart, "```python\nimport matplotlib.pyplot as plt\n1 / 0\n```", 0.0),
        ("chart", chart, "```python\nimport os\nos.abort()\n```", 0.0),  # kills the renderer
        ("svg", svg, "```svg\n<svg><rect width='10' height='10'</svg>\n```", 0.0),  # bad XML
        ("svg", svg, "```svg\n<svg xmlns='http://www.w3.org/2000/svg'></svg>\n```", 0.0),  # blank
    ]
    logged: dict[str, float] = {}
    with Checker(critic="analytic") as checker:
        reward = VisualReward(checker, tmp_path / "candidates")
        scores = reward(prompts=[None] * len(cases),
                        completions=[_answer(text) for _, _, text, _ in cases],
                        domain=[d for d, _, _, _ in cases], reference=[r for _, r, _, _ in cases],
                        completion_ids=None, trainer_state=None,
                        log_metric=lambda name, value: logged.__setitem__(name, value))
        # A plausible but different chart renders: 1 <= reward < 2.
        other = reward.score("```python\nimport matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\n```",
                             "chart", chart)
    assert scores == [expected for _, _, _, expected in cases]
    assert all(isinstance(s, float) for s in scores)
    assert 1.0 <= other < 2.0
    # What became of the batch, logged with TRL's metrics: 2 rendered, 1 without code, 4 not.
    assert logged == {"verm/no_code": 1 / 7, "verm/not_rendered": 4 / 7, "verm/rendered": 2 / 7,
                      "verm/refused": 0.0, "verm/critic_failed": 0.0}
    assert not list((tmp_path / "candidates").glob("candidate-*"))  # temp sources cleaned up


def test_the_async_reward_judges_a_batch_concurrently_with_the_same_numbers(
        refs: Path, tmp_path: Path):
    svg = str(refs / "icon.png")
    answers = [_answer(f"```svg\n{(FIXTURES / 'icon.svg').read_text()}```"), _answer("no"),
               _answer(f"```svg\n{(FIXTURES / 'icon.svg').read_text()}```")]
    with Checker(critic="analytic") as checker:
        reward = AsyncVisualReward(checker, tmp_path / "c", concurrency=3)
        from trl.trainer.utils import is_async_callable

        assert is_async_callable(reward)  # TRL awaits it alongside other async rewards
        scores = asyncio.run(reward(prompts=[None] * 3, completions=answers,
                                    domain=["svg"] * 3, reference=[svg] * 3))
    assert scores == [2.0, 0.0, 2.0]


def test_prompts_come_from_pinned_references_or_a_synth_dataset(refs: Path, tmp_path: Path,
                                                                 tiny_vl: Path):
    from datasets import Dataset, DatasetDict
    from PIL import Image

    from verm_training.data import make_row

    args = RLArgs(policy=tmp_path, out=tmp_path / "o", images=refs)
    assert [(p.name, d) for p, d in references(args)] == [("bars.png", "chart"),
                                                         ("icon.png", "svg")]
    blank = Image.new("RGB", (32, 32), "white")
    rows = [make_row("svg", blank, blank, [], source=s) for s in ("a.svg", "a.svg", "b.svg")]
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "d"))
    found = references(RLArgs(policy=tmp_path, out=tmp_path / "o", data=tmp_path / "d"))
    assert [d for _, d in found] == ["svg", "svg"]  # one prompt per source
    assert all(p.is_file() for p, _ in found)
    # --max-prompt-length leaves long prompts out (image tokens included), never truncates.
    processor = card.load_processor(tiny_vl, padding_side="left")
    pairs = references(args)
    dataset = build_dataset(pairs, 256, processor, max_prompt_length=10_000)
    assert dataset.column_names == ["prompt", "image", "domain", "reference"]
    assert max(dataset["image"][0].size) <= 256
    with pytest.raises(ValueError, match="no prompts left"):
        build_dataset(pairs, 256, processor, max_prompt_length=10)
    assert prompt_messages("chart")[0]["content"][0] == {"type": "image"}
    assert "matplotlib" in prompt_messages("chart")[0]["content"][1]["text"]


def test_grpo_two_steps_with_the_analytic_reward_moves_the_policy(
        primed_policy: Path, refs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from safetensors.torch import load_file

    calls: list[tuple[list[str], list[str], list[float]]] = []
    judge = VisualReward.__call__

    def spy(self: VisualReward, prompts: list[Any], completions: list[Any], domain: list[str],
            reference: list[str], **kwargs: Any) -> list[float]:
        scores = judge(self, prompts, completions, domain, reference, **kwargs)
        calls.append((list(domain), [rl.completion_text(c) for c in completions], scores))
        return scores

    monkeypatch.setattr(VisualReward, "__call__", spy)
    out = train_policy(RLArgs(
        policy=primed_policy, out=tmp_path / "policy", images=refs, num_generations=4,
        batch_size=8, max_completion_length=64, max_steps=2, learning_rate=1e-3,
        logging_steps=1, save_steps=100, gradient_checkpointing=False, report_to="none",
        extra={"disable_tqdm": True}))
    assert len(calls) == 2
    for domains, texts, scores in calls:
        assert sorted(set(domains)) == ["chart", "svg"] and len(texts) == 8
        assert all(isinstance(s, float) and 0.0 <= s <= 2.0 for s in scores)
    # Some sampled answers rendered and some did not: GRPO had something to learn from.
    svg_scores = [s for domains, _, scores in calls for d, s in zip(domains, scores, strict=True)
                  if d == "svg"]
    assert max(svg_scores) >= 1.0 and min(svg_scores) == 0.0, calls
    # LoRA's B matrices start at zero: non-zero ones were moved by the policy gradient.
    weights = load_file(str(out / "adapter_model.safetensors"))
    moved = [k for k, v in weights.items() if "lora_B" in k and v.abs().sum() > 0]
    assert moved, "no LoRA weight changed"
    record = json.loads((out / card.CARD_JSON).read_text())
    assert record["metrics"]["global_step"] == 2 and record["critic"] == "analytic"
    assert "--policy-adapter" in (out / card.CARD_README).read_text()


def test_bad_arguments_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    ns = parser.parse_args(["--policy", str(tmp_path), "--out", str(tmp_path / "o"),
                            "--images", str(tmp_path / "missing"), "--num-generations", "4",
                            "--beta", "0.02"])
    assert (ns.num_generations, ns.beta, ns.critic, ns.vllm) == (4, 0.02, "analytic", "auto")
    assert run(ns) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--endpoint"):
        RLArgs(policy=tmp_path, out=tmp_path, images=tmp_path, critic="remote")
    with pytest.raises(ValueError, match="exactly one"):
        RLArgs(policy=tmp_path, out=tmp_path, images=tmp_path, data=tmp_path)
    remote = RLArgs(policy=tmp_path, out=tmp_path, images=tmp_path, critic="remote",
                    endpoints=("http://gpu-a:8000/v1", "http://gpu-b:8000/v1"),
                    api_key_env="RM_KEY")
    with rl.make_checker(remote) as checker:  # the reward's critic: the user's settings
        settings = checker.model_settings()
        assert isinstance(rl.make_reward(remote, checker), AsyncVisualReward)
    assert settings.endpoints == remote.endpoints and settings.api_key_env == "RM_KEY"
    assert rl.vllm_wanted("auto", cuda=False) is False
    with pytest.raises(ValueError, match="not installed"):
        rl.vllm_wanted("on", cuda=True)
