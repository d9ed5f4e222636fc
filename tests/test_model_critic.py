"""The ``model`` and ``ensemble`` critics with a real (tiny) Qwen3-VL in verm's worker process.

The model is built offline by the tests; one LoRA adapter is trained in the session (TRL SFT,
CPU) to answer one pair of pictures with one critique. Everything else is verm's real code:
the worker process, transformers loading, bitsandbytes 4-bit, PEFT, the parser, locate.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import TITLE_LINE, TRAINED_CRITIQUE, TrainedCritic
from verm.check import Checker
from verm.critic.model.client import ModelWorker
from verm.critic.model.runtime import ModelSpec
from verm.critic.model.settings import ModelSettings

VERM = [sys.executable, "-m", "verm.cli"]


def run_verm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERM, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_check_with_the_trained_critic_puts_its_finding_on_the_title_line(
        trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    out = run_verm("check", src.name, "--critic", "model", "--model", str(trained_critic.base),
                   "--adapter", str(trained_critic.adapter), "--format", "json", cwd=src.parent)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    expected = TRAINED_CRITIQUE["errors"][0]
    assert [(e["category"], e["severity"], e["description"], e["range"]["start"]["line"])
            for e in result["errors"]] == [
        (expected["category"], expected["severity"], expected["description"], TITLE_LINE)]
    assert result["reward"] == 1.96  # 1 + (1 - 2/50): the model's one severity-2 finding
    assert "notes" not in result


def test_without_the_adapter_the_random_model_is_unreadable_and_the_analytic_result_stands(
        trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    out = run_verm("check", src.name, "--critic", "model", "--model", str(trained_critic.base),
                   "--format", "json", "--max-new-tokens", "40", cwd=src.parent)
    result = json.loads(out.stdout)
    assert result["notes"] == [
        "the model's judgement could not be read; showing the analytic critic's findings"]
    assert "could not be read" in out.stderr
    # The analytic critic's own finding on the changed title, never "no errors".
    assert any(e["range"]["start"]["line"] == TITLE_LINE and e["category"] == "text_error"
               for e in result["errors"]), result
    assert out.returncode == 1


def test_ensemble_says_a_finding_both_critics_make_once_with_the_models_reward(
        trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    out = run_verm("check", src.name, "--critic", "ensemble", "--model", str(trained_critic.base),
                   "--adapter", str(trained_critic.adapter), "--format", "json", cwd=src.parent)
    result = json.loads(out.stdout)
    on_title = [e for e in result["errors"] if e["range"]["start"]["line"] == TITLE_LINE]
    assert len(on_title) == 1, result["errors"]
    finding = on_title[0]
    assert finding["description"].startswith(TRAINED_CRITIQUE["errors"][0]["description"])
    assert "(analytic: " in finding["description"]  # both views, one diagnostic
    assert finding["bbox"] is not None  # the analytic critic's box of the title
    assert result["reward"] == 1.96


def test_4bit_leaves_the_vision_tower_and_head_in_full_precision(tiny_vl: Path):
    worker = ModelWorker(ModelSpec(path=str(tiny_vl), quantize="4bit"), idle_s=0)
    try:
        facts = worker.ensure_loaded()
    finally:
        worker.close()
    assert facts["quantize"] == "4bit"
    assert facts["quantized_kinds"] == ["Linear4bit"]
    assert facts["quantized_linear"] >= 14  # every linear layer of the language model
    assert facts["quantized_vision"] == 0
    assert facts["quantized_lm_head"] is False


def test_a_worker_killed_mid_judgement_says_so_and_the_next_judgement_works(
        trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    settings = ModelSettings(model=str(trained_critic.base),
                             adapter=str(trained_critic.adapter), idle_unload_s=0)
    with Checker(critic="model", overrides={"model": settings.model,
                                            "adapter": settings.adapter}) as checker:
        critic = checker.critic(checker.config_for(src))
        worker = critic.worker  # type: ignore[attr-defined]
        killed: list[int] = []

        def kill_when_asked() -> None:  # as soon as the worker has the request in hand
            deadline = time.monotonic() + 30
            while not worker._pending and time.monotonic() < deadline:
                time.sleep(0.001)
            pid = worker.pid
            if pid is not None:
                killed.append(pid)
                os.kill(pid, signal.SIGKILL)

        def start_killer(partial: object) -> None:  # called with the analytic findings
            if not killed and not killers:
                killers.append(threading.Thread(target=kill_when_asked, daemon=True))
                killers[0].start()

        killers: list[threading.Thread] = []
        worker.ensure_loaded()
        first = checker.check(checker.load(src), on_partial=start_killer)
        killers[0].join()
        assert killed
        assert first.critique is not None and first.critique.meta.get("fallback")
        assert any("model worker died (signal 9)" in n for n in first.critique.notes), \
            first.critique.notes
        assert any(d.category == "text_error" for d in first.discrepancies)  # analytic stands

        again = checker.check(checker.load(src))
        assert worker.starts == 2
        assert [(d.description, d.range.start.line) for d in again.discrepancies] == [
            (TRAINED_CRITIQUE["errors"][0]["description"], TITLE_LINE)]


def test_the_model_unloads_when_idle_and_loads_again_on_the_next_judgement(
        trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    with Checker(critic="model", overrides={"model": str(trained_critic.base),
                                            "adapter": str(trained_critic.adapter),
                                            "idle-unload": 1}) as checker:
        checker.check(checker.load(src))
        worker = checker.critic(checker.config_for(src)).worker  # type: ignore[attr-defined]
        pid = worker.pid
        assert pid is not None
        deadline = time.monotonic() + 20
        while worker.alive and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not worker.alive
        while Path(f"/proc/{pid}").exists() and not _zombie(pid) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)  # the process ended
        result = checker.check(checker.load(src))
        assert worker.starts == 2
        assert result.discrepancies[0].range.start.line == TITLE_LINE


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_a_workspace_cannot_choose_the_model(trained_critic: TrainedCritic, tmp_path: Path):
    src = trained_critic.copy_workspace(tmp_path)
    (src.parent / "verm.toml").write_text(
        f'critic = "model"\nmodel = "{trained_critic.base}"\nendpoint = "http://evil.test/v1"\n')
    out = run_verm("check", src.name, "--format", "json", cwd=src.parent)
    assert out.returncode == 2
    assert "ignored `model`" in out.stderr and "ignored `endpoint`" in out.stderr
    assert "the model critic needs a model" in out.stderr
