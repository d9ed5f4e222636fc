"""eval-critic: the metrics on a hand-made set whose answers are worked out here by hand, and
a small VC-RewardBench-format file judged end to end by the analytic critic through the CLI."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from verm_training.evaluate.items import read_vc_rewardbench
from verm_training.evaluate.metrics import (
    Error,
    Scored,
    match,
    per_category,
    rule_verdict,
    score_item,
    summary,
)

ROOT = Path(__file__).resolve().parents[2]


def E(category: str, severity: int, location: str = "", description: str = "") -> Error:
    return Error(category, severity, location, description)


def hand_made() -> list[Scored]:
    """Six pairs, one rule each. Groups g1/g2 share a reference (for ranking)."""
    return [score_item(item) for item in [
        # 1 both sides empty: F1 = 1 (the paper's rule)
        Scored("empty", "chart", "g1", [], [], reward=2.0),
        # 2 found once, reported twice: the duplicate matches once (P 1/2, R 1)
        Scored("dup", "chart", "g1", [E("style_error", 2, "legend")],
               [E("style_error", 2, "the legend"), E("style_error", 2, "legend")], reward=1.92),
        # 3 right place, wrong category: soft only (partial = 0.5)
        Scored("mismatch", "chart", "g1", [E("text_error", 3, "title")],
               [E("style_error", 1, "chart title")], reward=1.98),
        # 4 one of two found (P 1, R 1/2)
        Scored("missed", "chart", "g2",
               [E("data_error", 3, "bar Q3"), E("structure_error", 2, "legend")],
               [E("data_error", 3, "bar 'Q3'")], reward=1.94),
        # 5 a spurious error on a clean pair: 0
        Scored("spurious", "svg", "g2", [], [E("shape_error", 1, "circle")], reward=1.98),
        # 6 a table error (no location in the schema): the category decides
        Scored("table", "table", "g2",
               [Error.from_json({"type": "numeric_error", "severity": 2,
                                 "description": "12 should read 21"})],
               [E("numeric_error", 2, "", "row 2 value differs")], reward=1.94),
    ]]


def test_matcher_rules() -> None:
    assert rule_verdict(E("text_error", 2, "x-axis label"), E("text_error", 2, "x axis"))[0] \
        == "yes"
    assert rule_verdict(E("text_error", 2, "x-axis label"),
                        E("text_error", 2, "y-axis label"))[0] == "no"
    assert rule_verdict(E("text_error", 2, "title"), E("style_error", 2, "the title"))[0] \
        == "partial"
    assert rule_verdict(E("text_error", 2, "title"), E("text_error", 2, "legend"))[0] == "no"
    # one duplicate matched once, the better-placed one first
    gold = [E("style_error", 2, "legend")]
    pred = [E("style_error", 1, "left bar"), E("style_error", 2, "legend"),
            E("style_error", 2, "legend")]
    assert [(m.gold, m.pred, m.verdict) for m in match(gold, pred)] == [(0, 1, "yes")]
    # a yes outranks a partial for the same gold error
    pred = [E("data_error", 2, "title"), E("text_error", 2, "the title")]
    assert [(m.pred, m.verdict) for m in match([E("text_error", 3, "title")], pred)] == \
        [(1, "yes")]


def test_error_keys_type_and_category() -> None:
    assert Error.from_json({"type": "Numeric Error", "severity": 3}).category == "numeric_error"
    assert Error.from_json({"category": "text_error", "severity": "2", "location": "title"}) \
        == E("text_error", 2, "title")


def test_hand_made_set_scores() -> None:
    items = hand_made()
    out = summary(items)
    # per-item (P, R, F1), hard and soft, worked out by hand from the comments above
    hard = [(1, 1, 1), (1 / 2, 1, 2 / 3), (0, 0, 0), (1, 1 / 2, 2 / 3), (0, 0, 0), (1, 1, 1)]
    soft = [(1, 1, 1), (1 / 2, 1, 2 / 3), (1 / 2, 1 / 2, 1 / 2), (1, 1 / 2, 2 / 3), (0, 0, 0),
            (1, 1, 1)]
    for kind, rows in (("hard", hard), ("soft", soft)):
        for k, name in enumerate(("precision", "recall", "f1")):
            assert out[f"{name}_{kind}"] == pytest.approx(sum(r[k] for r in rows) / 6), name
    # micro: 3 hard matches (3.5 soft) of 6 predicted and 5 annotated errors
    assert out["micro_precision_hard"] == pytest.approx(3 / 6)
    assert out["micro_recall_hard"] == pytest.approx(3 / 5)
    assert out["micro_f1_hard"] == pytest.approx(2 * 0.5 * 0.6 / 1.1)
    assert out["micro_precision_soft"] == pytest.approx(3.5 / 6)
    assert out["micro_recall_soft"] == pytest.approx(3.5 / 5)
    # severity sums: annotated 0 2 3 5 0 2, predicted 0 4 1 3 1 2
    assert out["pearson"] == pytest.approx(
        statistics.correlation([0, 2, 3, 5, 0, 2], [0, 4, 1, 3, 1, 2]))
    # ranking, within a reference, pairs whose annotated severity differs:
    # g1: empty>dup ✓, empty>mismatch ✓, dup(2)>mismatch(3) needs 1.92 > 1.98 ✗;
    # g2: spurious(0)>missed(5) ✓, table(2)>missed(5) a reward tie: ½, spurious>table ✓
    assert out["ranking_pairs"] == 6
    assert out["ranking_accuracy"] == pytest.approx(4.5 / 6)


def test_per_domain_and_category() -> None:
    items = hand_made()
    svg = summary([i for i in items if i.domain == "svg"])
    assert (svg["items"], svg["f1_hard"], svg["pearson"]) == (1, 0.0, None)
    cats = per_category(items)
    style = cats["style_error"]  # 3 predicted (2 dup + 1 mismatch), 1 annotated
    assert (style["gold_errors"], style["pred_errors"]) == (1, 3)
    assert style["precision_hard"] == pytest.approx(1 / 3)
    assert style["precision_soft"] == pytest.approx(1.5 / 3)
    assert style["recall_hard"] == 1.0
    text = cats["text_error"]  # the mismatch's annotated error: found only softly
    assert (text["recall_hard"], text["recall_soft"], text["precision_hard"]) == (0.0, 0.5, None)
    assert cats["structure_error"]["f1_hard"] == 0.0


# -- a VC-RewardBench-format file, end to end ------------------------------------------------------
def _chart(path: Path, colour: str = "#1f77b4", height: int = 100, title: str = "Sales") -> None:
    image = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([40, 220 - height, 100, 220], fill=colour)
    draw.rectangle([140, 160, 200, 220], fill=colour)
    draw.text((120, 16), title, fill="black")
    image.save(path)


def write_vc_rewardbench(folder: Path) -> Path:
    """Three pairs against one reference (errors keyed `category`, `type`, none) and an SVG pair
    whose images sit in a sub-folder, as in the benchmark's layout."""
    (folder / "img").mkdir(parents=True)
    _chart(folder / "img" / "ref.png")
    _chart(folder / "img" / "recolour.png", colour="#d62728")
    _chart(folder / "img" / "taller.png", height=160)
    _chart(folder / "img" / "same.png")
    icon = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(icon).ellipse([50, 50, 150, 150], fill="#2ca02c")
    icon.save(folder / "img" / "icon.png")
    rows = [
        {"id": "recolour", "idx": 0, "category": "chart", "gt_img_path": "img/ref.png",
         "pred_img_path": "img/recolour.png", "human_errors": [
             {"category": "style_error", "severity": 2, "location": "bars",
              "description": "the bars are red, not blue"}]},
        {"id": "taller", "idx": 1, "category": "chart", "gt_img_path": "img/ref.png",
         "pred_img_path": "img/taller.png", "human_errors": [
             {"type": "data_error", "severity": 3, "location": "first bar",
              "description": "the first bar is too tall"}]},
        {"id": "same", "idx": 2, "category": "chart", "gt_img_path": "img/ref.png",
         "pred_img_path": "img/same.png", "human_errors": []},
        {"id": "icon", "idx": 3, "category": "svg", "gt_img_path": "img/icon.png",
         "pred_img_path": "img/icon.png", "human_errors": []},
    ]
    path = folder / "VC-RewardBench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reads_vc_rewardbench(tmp_path: Path) -> None:
    pairs = read_vc_rewardbench(write_vc_rewardbench(tmp_path))
    assert [p.id for p in pairs] == ["recolour", "taller", "same", "icon"]
    assert [[e.category for e in p.gold] for p in pairs] == \
        [["style_error"], ["data_error"], [], []]
    assert pairs[0].group == pairs[1].group == "img/ref.png"
    ref, render = pairs[0].images()
    assert ref.mode == render.mode == "RGB" and ref.size == (320, 240)


def test_eval_critic_end_to_end(tmp_path: Path) -> None:
    bench = write_vc_rewardbench(tmp_path / "bench")
    out = tmp_path / "res.json"
    proc = subprocess.run(
        [sys.executable, "-m", "verm.cli", "train", "eval-critic", "--vc-rewardbench",
         str(bench), "--critic", "analytic", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "server"), str(ROOT / "training")])})
    assert proc.returncode == 0, proc.stderr
    assert "F1-hard" in proc.stdout and "style_error" in proc.stdout
    res = json.loads(out.read_text())
    assert (res["critic"], res["format"], res["matcher"], res["failed"]) == \
        ("analytic", "vc-rewardbench", "rule", 0)
    assert res["overall"]["items"] == 4 and set(res["domains"]) == {"chart", "svg"}
    pairs = {p["id"]: p for p in res["pairs"]}
    # both keys read; identical pictures: nothing found, reward 2, F1 1
    assert pairs["taller"]["gold"][0]["category"] == "data_error"
    for name in ("same", "icon"):
        assert (pairs[name]["pred"], pairs[name]["reward"], pairs[name]["f1_hard"]) == \
            ([], 2.0, 1.0)
    # the recolour is a style error the analytic critic finds: a hard match
    assert any(e["category"] == "style_error" for e in pairs["recolour"]["pred"])
    assert pairs["recolour"]["f1_hard"] == 1.0
    assert pairs["recolour"]["reward"] < 2.0 and pairs["taller"]["reward"] < 2.0
    # the reported means are the means of the pairs' scores
    assert res["overall"]["f1_hard"] == pytest.approx(
        sum(p["f1_hard"] for p in res["pairs"]) / 4, abs=1e-4)
    # same (0) vs recolour (2) vs taller (3): three pairs; a clean render outranks both
    assert res["overall"]["ranking_pairs"] == 3
    assert res["overall"]["ranking_accuracy"] >= 2 / 3


def test_eval_critic_on_a_synth_test_split(tmp_path: Path) -> None:
    """Rows in the reward-model data set's shape (``verm_training.data``), saved by
    ``datasets``: the "test" split is scored, its labels are the known errors."""
    import datasets

    from verm_training.cli import main
    from verm_training.data import Label, make_row

    folder = tmp_path / "img"
    folder.mkdir()
    _chart(folder / "ref.png")
    _chart(folder / "red.png", colour="#d62728")
    ref, red = Image.open(folder / "ref.png"), Image.open(folder / "red.png")
    recolour = Label("style_error", 2, "bars", "the bars are red, not blue", line=4)
    rows = [make_row("chart", ref, red, [recolour], source="a.py", mutation="recolor"),
            make_row("chart", ref, ref, [], source="a.py", mutation="none")]
    data = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:1]),
                                 "test": datasets.Dataset.from_list(rows)})
    data.save_to_disk(str(tmp_path / "rm"))
    out = tmp_path / "res.json"
    assert main(["eval-critic", "--data", str(tmp_path / "rm"), "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert (res["format"], res["overall"]["items"]) == ("synth", 2)
    assert [p["gold_severity"] for p in res["pairs"]] == [2, 0]
    assert res["pairs"][0]["group"] == res["pairs"][1]["group"] == "a.py"
    assert res["overall"]["ranking_pairs"] == 1 and res["overall"]["ranking_accuracy"] == 1.0
    assert main(["eval-critic", "--data", str(tmp_path / "rm"), "--split", "dev"]) == 2
