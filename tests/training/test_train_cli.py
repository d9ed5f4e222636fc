"""`verm train`: every command's help and bad-argument path, `python -m verm_training`,
`accelerate launch` with the 1-process CPU config, eval-policy against a served policy, and
eval-critic's LLM matcher against a served judge."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from standin_openai import Received, Reply, StandinServer, completion
from verm_training.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT / "training")])}


def verm(*args: str, cwd: Path | None = None, timeout: float = 120
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verm.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=ENV)


def small_bench(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in (("ref", "#1f77b4"), ("pred", "#d62728")):
        image = Image.new("RGB", (240, 180), "white")
        ImageDraw.Draw(image).rectangle([40, 60, 100, 160], fill=colour)
        image.save(folder / f"{name}.png")
    rows = [{"id": "a", "idx": 0, "category": "chart", "gt_img_path": "ref.png",
             "pred_img_path": "pred.png", "human_errors": [
                 {"type": "style_error", "severity": 2, "location": "bar",
                  "description": "the bar is red"}]},
            {"id": "b", "idx": 1, "category": "chart", "gt_img_path": "ref.png",
             "pred_img_path": "ref.png", "human_errors": []}]
    path = folder / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_verm_train_help() -> None:
    proc = verm("train", "--help")
    assert proc.returncode == 0, proc.stderr
    for command in COMMANDS:
        assert command in proc.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_help(command: str) -> None:
    proc = verm("train", command, "--help")
    module = COMMANDS[command][0]
    if importlib.util.find_spec(module) is None or \
            not hasattr(importlib.import_module(module), "add_arguments"):  # not landed yet
        assert proc.returncode == 2
        assert f"verm train {command}: {module}" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert f"usage: verm train {command}" in proc.stdout


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert main([]) == 2
    assert main(["eval-critic"]) == 2  # neither --data nor --vc-rewardbench
    assert main(["eval-critic", "--vc-rewardbench", "x.jsonl", "--critic", "bogus"]) == 2
    assert main(["eval-critic", "--vc-rewardbench", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: no such file" in capsys.readouterr().err
    assert main(["eval-critic", "--vc-rewardbench", str(small_bench(tmp_path)),
                 "--critic", "remote"]) == 2
    assert "--critic remote needs --endpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "category": "poster", "gt_img_path": "a", "pred_img_path": "b"}\n')
    assert main(["eval-critic", "--vc-rewardbench", str(bad)]) == 2
    assert "bad.jsonl:1: category 'poster'" in capsys.readouterr().err
    assert main(["eval-policy", "--images", str(tmp_path)]) == 2  # no policy named
    assert "no policy model configured" in capsys.readouterr().err
    proc = verm("train", "eval-critic", "--limit", "x", "--data", ".")
    assert proc.returncode == 2 and "invalid int value" in proc.stderr


def test_python_m_verm_training_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "verm_training", "--help"], capture_output=True,
                          text=True, timeout=60, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "eval-critic" in proc.stdout


def test_accelerate_launch_cpu_config(tmp_path: Path) -> None:
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert accelerate is not None
    out = tmp_path / "res.json"
    proc = subprocess.run(
        [accelerate, "launch", "--config_file", str(ROOT / "training/configs/cpu-1proc.yaml"),
         "--num_cpu_threads_per_process", "1", "-m", "verm_training", "eval-critic",
         "--vc-rewardbench", str(small_bench(tmp_path / "bench")), "--critic", "analytic",
         "--out", str(out)], capture_output=True, text=True, timeout=180, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["overall"]["items"] == 2


def test_llm_matcher_asks_the_served_model(tmp_path: Path) -> None:
    """The paper's protocol: the served model's yes/partial/no replaces the rule's verdict."""
    with StandinServer(lambda request: completion("<think>hmm</think> Partial.")) as server:
        out = tmp_path / "res.json"
        assert main(["eval-critic", "--vc-rewardbench", str(small_bench(tmp_path / "b")),
                     "--critic", "analytic", "--llm-matcher", "--endpoint", server.url,
                     "--out", str(out)]) == 0
        asked = [c.body["messages"][0]["content"] for c in server.chats]
    res = json.loads(out.read_text())
    assert res["matcher"] == "llm"
    pair = next(p for p in res["pairs"] if p["id"] == "a")
    assert pair["pred"] and len(asked) == len(pair["pred"])  # one question per candidate pair
    assert "the bar is red" in asked[0]
    assert {m["verdict"] for m in pair["matches"]} == {"partial"}
    assert pair["f1_hard"] == 0.0 and pair["f1_soft"] > 0


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160">'
       '<rect width="160" height="160" fill="white"/>'
       '<circle cx="80" cy="80" r="50" fill="#2ca02c"/></svg>\n')


def test_eval_policy_against_a_served_policy(tmp_path: Path) -> None:
    """A policy that answers one image with the SVG that drew it (rendered, reward 2) and the
    other with prose (no code: not rendered, reward 0)."""
    from verm.check import Checker

    source = tmp_path / "src" / "circle.svg"
    source.parent.mkdir()
    source.write_text(SVG)
    images = tmp_path / "images"
    images.mkdir()
    with Checker() as checker:
        render = checker.render(checker.load(source))
    assert render.ok and render.image is not None
    render.image.save(images / "circle.png")
    render.image.save(images / "other.png")
    for name in ("circle", "other"):
        (images / f"{name}.json").write_text('{"domain": "svg"}')

    def reply(request: Received) -> Reply:  # the first image (circle.png) gets the code
        first = len(server.chats) == 1
        return completion(f"Here it is:\n```svg\n{SVG}```" if first else "I cannot draw that.")

    out, kept = tmp_path / "policy.json", tmp_path / "kept"
    with StandinServer(reply) as server:
        assert main(["eval-policy", "--images", str(images), "--policy-endpoint", server.url,
                     "--keep-sources", str(kept), "--out", str(out)]) == 0
        prompts = [c.body["messages"][0]["content"] for c in server.chats]
    assert len(prompts) == 2 and prompts[0][0]["type"] == "image_url"
    assert "SVG" in prompts[0][-1]["text"]
    res = json.loads(out.read_text())
    outcomes = {o["image"]: o for o in res["outcomes"]}
    assert outcomes["circle.png"]["rendered"] and outcomes["circle.png"]["reward"] == 2.0
    assert not outcomes["other.png"]["code"] and outcomes["other.png"]["reward"] == 0.0
    assert res["domains"]["svg"]["render_rate"] == 0.5
    assert res["domains"]["svg"]["mean_reward"] == 1.0
    assert (kept / "circle.svg").read_text() == SVG


def test_eval_critic_with_a_remote_critic(tmp_path: Path) -> None:
    """--critic remote: each pair judged by the served model (here a stand-in answering in the
    published schema), its errors scored against the known ones."""
    found = json.dumps({"structure_error_count": 0, "data_error_count": 0,
                        "text_error_count": 0, "style_error_count": 1, "errors": [
                            {"category": "style_error", "severity": 2, "location": "the bar",
                             "description": "the bar is red instead of blue"}]})
    answers = [completion(found), completion('{"errors": []}')]
    with StandinServer(answers) as server:
        out = tmp_path / "res.json"
        assert main(["eval-critic", "--vc-rewardbench", str(small_bench(tmp_path / "b")),
                     "--critic", "remote", "--endpoint", server.url, "--jobs", "1",
                     "--out", str(out)]) == 0
        assert len(server.chats) == 2
    res = json.loads(out.read_text())
    assert (res["critic"], res["failed"]) == ("remote", 0)
    assert [(p["id"], p["f1_hard"], p["reward"]) for p in res["pairs"]] == \
        [("a", 1.0, 1.96), ("b", 1.0, 2.0)]
    assert res["overall"]["ranking_accuracy"] == 1.0
