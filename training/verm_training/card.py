"""What every training recipe shares: where its logs go, where it resumes from, how it loads a
processor, and the model card it leaves next to its output.

A team reruns a recipe after a crash or on a bigger machine, and hands the result to someone
who did not train it; so each run resumes from its own last checkpoint, logs where TensorBoard
looks by default (``OUT/runs``), and writes down what it was trained on and how
(``OUT/README.md`` for people, ``OUT/verm_training.json`` for tools).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORT_TO = ("tensorboard", "wandb", "none")
CARD_JSON = "verm_training.json"
CARD_README = "README.md"


def report_to(value: str) -> list[str]:
    """``--report-to`` as ``TrainingArguments.report_to``: ``none`` is no tracker at all (an
    empty list, not transformers' "all installed trackers")."""
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in REPORT_TO]
    if unknown:
        raise ValueError(f"--report-to: unknown tracker {', '.join(unknown)}; "
                         f"choose from {', '.join(REPORT_TO)}")
    if not names or "none" in names:
        return []
    missing = [n for n, module in (("tensorboard", "tensorboard"), ("wandb", "wandb"))
               if n in names and importlib.util.find_spec(module) is None]
    if missing:
        raise ValueError(f"--report-to {', '.join(missing)}: not installed (pip install "
                         f"{' '.join(missing)}, or pass --report-to none)")
    return names


def on_cuda() -> bool:
    """Whether training runs on a CUDA GPU (bf16 and 4-bit compute in bf16 only there)."""
    import torch

    return bool(torch.cuda.is_available())


def last_checkpoint(out: Path) -> str | None:
    """The newest ``checkpoint-N`` folder under ``out`` (what ``--resume`` continues from)."""
    from transformers.trainer_utils import get_last_checkpoint

    if not out.is_dir():
        return None
    return get_last_checkpoint(str(out))


def resume_from(out: Path, resume: bool) -> str | None:
    """The checkpoint to resume from, or None; asking to resume with none is an error (a
    silent fresh start would overwrite what the user meant to continue)."""
    if not resume:
        return None
    found = last_checkpoint(out)
    if found is None:
        raise FileNotFoundError(f"--resume: no checkpoint-N folder in {out}; run without "
                                f"--resume to start training")
    return found


def load_processor(path: str | Path, *, padding_side: str | None = None,
                   max_pixels: int | None = None) -> Any:
    """The model's processor, loadable on machines without torchvision (see
    ``verm.critic.model.compat``); ``max_pixels`` bounds each image's pixel count, which bounds
    its image tokens (and so memory)."""
    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(str(path))
    if padding_side is not None:
        processor.padding_side = padding_side
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = padding_side
    images = getattr(processor, "image_processor", None)
    if max_pixels is not None and images is not None:
        size = dict(getattr(images, "size", None) or {})
        if "longest_edge" in size:
            size["longest_edge"] = min(int(size["longest_edge"]), max_pixels)
            if int(size.get("shortest_edge", 0)) > size["longest_edge"]:
                size["shortest_edge"] = size["longest_edge"]
            images.size = size
        if getattr(images, "max_pixels", None) is not None:
            images.max_pixels = min(int(images.max_pixels), max_pixels)
    return processor


def final_metrics(log_history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The numbers a card reports, from ``trainer.state.log_history``: the first and last
    logged training loss, the last eval loss, the last mean reward (GRPO) and run time."""
    out: dict[str, Any] = {}
    losses = [e["loss"] for e in log_history if _number(e.get("loss"))]
    if losses:
        out["first_train_loss"] = round(float(losses[0]), 6)
        out["final_train_loss"] = round(float(losses[-1]), 6)
    for key, name in (("eval_loss", "eval_loss"), ("reward", "final_mean_reward"),
                      ("train_runtime", "train_runtime_s"), ("train_loss", "mean_train_loss")):
        values = [e[key] for e in log_history if _number(e.get(key))]
        if values:
            out[name] = round(float(values[-1]), 6)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        float(value))


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def hyper_parameters(args: Any) -> dict[str, Any]:
    """A recipe's argument dataclass as plain JSON values."""
    if is_dataclass(args) and not isinstance(args, type):
        return {f.name: _plain(getattr(args, f.name)) for f in fields(args)}
    return _plain(dict(asdict(args)))


def write_card(out: Path, *, recipe: str, base: str, data: str, args: Any,
               metrics: Mapping[str, Any], usage: str, extra: Mapping[str, Any] | None = None,
               model: Mapping[str, Any] | None = None) -> Path:
    """Write ``OUT/README.md`` and ``OUT/verm_training.json`` (overwriting the trainer's own
    card: ours says how to serve the result with verm)."""
    import importlib.metadata as md

    out.mkdir(parents=True, exist_ok=True)
    versions = {}
    for package in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[package] = md.version(package)
    record = {
        "recipe": recipe, "base": base, "data": data,
        "hyper_parameters": hyper_parameters(args), "metrics": dict(metrics),
        "model": dict(model or {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "versions": versions, **dict(extra or {}),
    }
    (out / CARD_JSON).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    lines = [
        "---", "library_name: " + ("peft" if (out / "adapter_config.json").is_file()
                                   else "transformers"), f"base_model: {base}",
        "tags: [verm, visual-erm, trl]", "---", "",
        f"# verm {recipe}", "", f"Trained with `verm train {recipe}` (TRL).", "",
        "## Use", "", "```", usage, "```", "",
        "## Data", "", f"- `{data}`", *[f"- {k}: {v}" for k, v in (extra or {}).items()], "",
        "## Base model", "", f"- `{base}`", *[f"- {k}: {v}" for k, v in (model or {}).items()],
        "",
        "## Hyper-parameters", "", "| name | value |", "| --- | --- |",
        *[f"| {k} | `{json.dumps(v, ensure_ascii=False)}` |"
          for k, v in record["hyper_parameters"].items()], "",
        "## Metrics", "", "| metric | value |", "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in metrics.items()], "",
        "## Versions", "", *[f"- {k} {v}" for k, v in versions.items()], "",
    ]
    path = out / CARD_README
    path.write_text("\n".join(lines))
    return path
