"""``verm train reward-model``: TRL SFT of the tiny Qwen3-VL on synth-shaped rows, through the
recipe itself (``train_reward_model``), and the saved adapter judged by ``verm check``.

Rows come from ``verm_training.data.make_row``, so the prompt and schema are exactly the model
critic's. The models are tiny and random (tests/tinyvl.py): the loss falls within steps, and
150 steps overfit one critique exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from conftest import TITLE_LINE, TRAINED_CRITIQUE
from support import FIXTURES
from verm_training import card
from verm_training.data import Label, make_row
from verm_training.reward_model import RewardModelArgs, add_arguments, run, train_reward_model

VERM = [sys.executable, "-m", "verm.cli"]
FAST: dict[str, Any] = {"grad_accum": 1, "learning_rate": 5e-3, "lr_scheduler": "constant",
                        "warmup_ratio": 0.0, "logging_steps": 1, "modules_to_save": ("lm_head",),
                        "extra": {"disable_tqdm": True}}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: on a shared 2-core machine two threads contend and a tiny step takes
    ten times longer."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _picture(colour: str) -> Image.Image:
    image = Image.new("RGB", (96, 64), "white")
    ImageDraw.Draw(image).rectangle([10, 10, 60, 50], fill=colour)
    return image


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synth-shaped dataset on disk: a recoloured bar (one style error) and an unchanged one."""
    from datasets import Dataset, DatasetDict

    rows = [make_row("chart", _picture("blue"), _picture("red"),
                     [Label("style_error", 2, "bar", "The bar is red instead of blue", 6)],
                     source="a.py", mutation="recolor"),
            make_row("chart", _picture("blue"), _picture("blue"), [], source="b.py")]
    path = tmp_path_factory.mktemp("synth") / "rm"
    DatasetDict({"train": Dataset.from_list(rows * 4),
                 "test": Dataset.from_list(rows[:1])}).save_to_disk(str(path))
    return path


def _record(out: Path) -> dict[str, Any]:
    return json.loads((out / card.CARD_JSON).read_text())


def test_lora_loss_falls_and_the_run_leaves_an_adapter_a_card_and_tensorboard_logs(
        tiny_vl: Path, synth: Path, tmp_path: Path):
    out = train_reward_model(RewardModelArgs(base=tiny_vl, data=synth, out=tmp_path / "rm",
                                             max_steps=6, save_steps=100,
                                             gradient_checkpointing=True, **FAST))
    metrics = _record(out)["metrics"]
    assert metrics["final_train_loss"] < metrics["first_train_loss"] - 0.5, metrics
    assert metrics["global_step"] == 6
    assert metrics["eval_loss"] < metrics["first_train_loss"]  # the test split was evaluated
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    readme = (out / card.CARD_README).read_text()
    for words in ("# verm reward-model", str(tiny_vl), str(synth), "final_train_loss",
                  "eval_loss", "| lora_r | `16` |", f"--adapter {out}"):
        assert words in readme, words
    assert list((out / "runs").rglob("events.out.tfevents.*")), "no TensorBoard events"


def test_qlora_trains_on_a_4bit_base_and_merge_writes_a_plain_checkpoint(
        tiny_vl: Path, synth: Path, tmp_path: Path):
    import torch
    from transformers import AutoModelForImageTextToText

    out = train_reward_model(RewardModelArgs(base=tiny_vl, data=synth, out=tmp_path / "q",
                                             mode="qlora", merge=True, max_steps=4,
                                             save_steps=100, gradient_checkpointing=False,
                                             **FAST))
    record = _record(out)
    assert record["model"]["quantized_kinds"] == ["Linear4bit"]
    assert record["model"]["quantized_linear"] >= 14
    assert record["model"]["quantized_vision"] == 0 and not record["model"]["quantized_lm_head"]
    metrics = record["metrics"]
    assert metrics["final_train_loss"] < metrics["first_train_loss"], metrics
    assert (out / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForImageTextToText.from_pretrained(out, dtype=torch.float32)
    assert not any(type(m).__name__ == "Linear4bit" for m in merged.modules())
    assert (out / "processor_config.json").is_file() or (out / "preprocessor_config.json").is_file()
    assert f"--model {out}" in (out / card.CARD_README).read_text()


def test_resume_continues_from_the_last_checkpoint(tiny_vl: Path, synth: Path, tmp_path: Path):
    out = tmp_path / "r"
    args = {"base": tiny_vl, "data": synth, "out": out, "save_steps": 2,
            "gradient_checkpointing": False, **FAST}
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train_reward_model(RewardModelArgs(max_steps=4, resume=True, **args))
    train_reward_model(RewardModelArgs(max_steps=4, **args))
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    train_reward_model(RewardModelArgs(max_steps=6, resume=True, **args))
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    steps = [e["step"] for e in state["log_history"] if "loss" in e]
    assert steps == [1, 2, 3, 4, 5, 6]  # the first run's history, continued
    assert _record(out)["metrics"]["global_step"] == 6


def test_bad_arguments_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    ns = parser.parse_args(["--base", str(tmp_path), "--data", str(tmp_path / "none"),
                            "--out", str(tmp_path / "o"), "--qlora", "--steps", "3",
                            "--modules-to-save", "lm_head"])
    assert (ns.mode, ns.max_steps, ns.modules_to_save) == ("qlora", 3, "lm_head")
    assert run(ns) == 2
    assert "verm train synth" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--base", "b", "--data", "d", "--out", "o", "--qlora", "--full"])
    with pytest.raises(ValueError, match="--merge"):
        RewardModelArgs(base=tmp_path, data=tmp_path, out=tmp_path, mode="full", merge=True)


def test_an_overfit_adapter_is_served_by_verm_check_on_the_title_line(
        tiny_vl: Path, tmp_path: Path):
    """150 steps on one pair through the recipe; ``verm check --critic model --adapter OUT``
    then reproduces the trained critique, located on the line that changed."""
    from datasets import DatasetDict

    from verm.check import Checker
    from verm.pins import pin_render
    from verm.source import Source

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".git").mkdir()
    src = workspace / "bars.py"
    shutil.copy(FIXTURES / "bars.py", src)
    with Checker(critic="analytic") as checker:
        pinned = checker.render(Source.load(src))
        pin_render(pinned, src.with_name("bars.ref.png"))
        src.write_text(src.read_text().replace('"Sales per quarter"', '"Sales by quarter"'))
        render = checker.render(Source.load(src))
    expected = TRAINED_CRITIQUE["errors"][0]
    row = make_row("chart", pinned.image, render.image,
                   [Label(expected["category"], expected["severity"], expected["location"],
                          expected["description"], TITLE_LINE)], source="bars.py")
    assert json.loads(row["completion"][0]["content"][0]["text"]) == TRAINED_CRITIQUE
    from datasets import Dataset

    data = tmp_path / "data"
    DatasetDict({"train": Dataset.from_list([row] * 8)}).save_to_disk(str(data))
    adapter = train_reward_model(RewardModelArgs(
        base=tiny_vl, data=data, out=tmp_path / "adapter", max_steps=150, save_steps=1000,
        gradient_checkpointing=False, report_to="none",
        **{**FAST, "logging_steps": 50}))
    out = subprocess.run([*VERM, "check", src.name, "--critic", "model", "--model", str(tiny_vl),
                          "--adapter", str(adapter), "--format", "json"],
                         capture_output=True, text=True, cwd=workspace, timeout=300)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert [(e["category"], e["severity"], e["description"], e["range"]["start"]["line"])
            for e in result["errors"]] == [
        (expected["category"], expected["severity"], expected["description"], TITLE_LINE)]
    assert result["reward"] == 1.96
