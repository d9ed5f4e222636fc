"""``verm train reward-model``: finetune a Visual-ERM critic on synth data with TRL's SFTTrainer.

The dataset (``verm_training.data``) already holds what the model critic sees at judgement time
(the prompt, the reference then the render) and the critique it should write, so training is
TRL's prompt/completion SFT with the loss on the completion only. ``max_length`` is None: two
images are hundreds of tokens and truncating them would teach the model on half a picture.

The result is what ``verm check --critic model --model BASE --adapter OUT`` loads: a PEFT LoRA
adapter in OUT (LoRA and QLoRA), or full weights plus the processor in OUT (``--full``, or
``--merge``, which folds the adapter into the base for serving with vLLM).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verm_training import card

MODES = ("lora", "qlora", "full")
SFT_COLUMNS = ("images", "prompt", "completion")


@dataclass
class RewardModelArgs:
    """One reward-model run; every field is a ``verm train reward-model`` flag."""

    base: Path  # a Qwen-VL-family model folder (e.g. Visual-ERM or Qwen3-VL-8B-Instruct)
    data: Path  # a synth dataset saved with ``save_to_disk`` ("train", optional "test")
    out: Path
    mode: str = "lora"  # lora | qlora (4-bit nf4 base) | full
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = "all-linear"
    modules_to_save: tuple[str, ...] = ()  # e.g. ("lm_head",): trained in full next to LoRA
    merge: bool = False
    image_size: int = 1024  # longest side; the processor's pixel budget is image_size²
    learning_rate: float | None = None  # None: 1e-4 for (Q)LoRA, 1e-5 full
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 1
    grad_accum: int = 8
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int | None = 2
    eval_steps: int = 0  # 0: evaluate once at the end (when the data has a "test" split)
    resume: bool = False
    report_to: str = "tensorboard"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # more SFTConfig fields (tests, experts)

    def __post_init__(self) -> None:
        self.base, self.data, self.out = Path(self.base), Path(self.data), Path(self.out)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.merge and self.mode == "full":
            raise ValueError("--merge folds a LoRA adapter into the base; --full has none")
        self.modules_to_save = tuple(self.modules_to_save)

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-5 if self.mode == "full" else 1e-4


def load_splits(data: Path) -> tuple[Any, Any | None]:
    """The train split and the test split (None when absent) of a saved synth dataset, with
    only the columns SFT reads (labels stay on disk for evaluation)."""
    from datasets import Dataset, DatasetDict, load_from_disk

    if not data.exists():
        raise FileNotFoundError(f"--data: {data} does not exist; make one with "
                                f"`verm train synth --out {data}`")
    loaded = load_from_disk(str(data))
    if isinstance(loaded, Dataset):
        train, test = loaded, None
    elif isinstance(loaded, DatasetDict):
        if "train" not in loaded:
            raise ValueError(f"--data: {data} has no 'train' split (has {', '.join(loaded)})")
        train, test = loaded["train"], loaded.get("test")
    else:
        raise ValueError(f"--data: {data} is not a dataset saved with save_to_disk")
    missing = [c for c in SFT_COLUMNS if c not in train.column_names]
    if missing:
        raise ValueError(f"--data: {data} lacks the columns {', '.join(missing)} "
                         f"(see verm_training.data)")

    def keep(ds: Any) -> Any:
        return ds.select_columns(list(SFT_COLUMNS))

    return keep(train), (keep(test) if test is not None and len(test) else None)


def quantization_config(cuda: bool) -> Any:
    """nf4 4-bit for the language model only: the vision tower and the head stay in full
    precision (verm's runtime loads the same way, so train and serve see the same model)."""
    import torch
    from transformers import BitsAndBytesConfig

    from verm.critic.model.runtime import SKIP_QUANTIZE

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16 if cuda else torch.float32,
                              llm_int8_skip_modules=list(SKIP_QUANTIZE))


def load_model(args: RewardModelArgs, cuda: bool) -> Any:
    import torch
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
    if args.mode == "qlora":
        from accelerate import PartialState

        kwargs["quantization_config"] = quantization_config(cuda)
        kwargs["device_map"] = {"": PartialState().local_process_index if cuda else "cpu"}
    model = AutoModelForImageTextToText.from_pretrained(str(args.base), **kwargs)
    if args.mode == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=args.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def lora_config(args: RewardModelArgs) -> Any:
    from peft import LoraConfig

    target: str | list[str] = args.lora_target
    if args.lora_target != "all-linear":
        target = [t.strip() for t in args.lora_target.split(",") if t.strip()]
    return LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                      target_modules=target, task_type="CAUSAL_LM",
                      modules_to_save=list(args.modules_to_save) or None)


def sft_config(args: RewardModelArgs, cuda: bool, has_eval: bool) -> Any:
    from trl import SFTConfig

    evaluate_during = has_eval and args.eval_steps > 0
    settings: dict[str, Any] = {
        "output_dir": str(args.out), "learning_rate": args.lr,
        "num_train_epochs": args.epochs, "max_steps": args.max_steps,
        "per_device_train_batch_size": args.batch_size,
        "per_device_eval_batch_size": args.batch_size,
        "gradient_accumulation_steps": args.grad_accum, "warmup_steps": args.warmup_ratio,
        "lr_scheduler_type": args.lr_scheduler,
        "gradient_checkpointing": args.gradient_checkpointing,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "max_length": None,  # never truncate image tokens
        "bf16": cuda, "use_cpu": not cuda,
        "logging_steps": args.logging_steps, "save_strategy": "steps",
        "save_steps": args.save_steps, "save_total_limit": args.save_total_limit,
        "eval_strategy": "steps" if evaluate_during else "no",
        "eval_steps": args.eval_steps if evaluate_during else None,
        "report_to": card.report_to(args.report_to), "seed": args.seed,
        "remove_unused_columns": False,
    }
    settings.update(args.extra)
    return SFTConfig(**settings)


def train_reward_model(args: RewardModelArgs) -> Path:
    """Train, save the adapter (or merged/full weights) and the model card to ``args.out``;
    return ``args.out``."""
    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    from trl import SFTTrainer

    cuda = card.on_cuda()
    resume = card.resume_from(args.out, args.resume)
    train, test = load_splits(args.data)
    processor = card.load_processor(args.base, max_pixels=args.image_size ** 2)
    model = load_model(args, cuda)
    trainer = SFTTrainer(
        model=model, args=sft_config(args, cuda, test is not None), train_dataset=train,
        eval_dataset=test, processing_class=processor,
        peft_config=None if args.mode == "full" else lora_config(args))
    trainer.train(resume_from_checkpoint=resume)
    from verm.critic.model.runtime import quantized_modules

    facts = quantized_modules(trainer.model)
    history = list(trainer.state.log_history)
    if test is not None:
        history.append(trainer.evaluate())
    adapter = args.out / "adapter" if args.merge else args.out
    trainer.save_model(str(adapter))
    if args.mode == "full":
        processor.save_pretrained(str(args.out))
    if args.merge and trainer.accelerator.is_main_process:
        merge_into(args.base, adapter, args.out, cuda)
    if trainer.accelerator.is_main_process:
        metrics = {**card.final_metrics(history), "global_step": trainer.state.global_step,
                   "train_rows": len(train), "test_rows": len(test) if test is not None else 0}
        card.write_card(args.out, recipe="reward-model", base=str(args.base),
                        data=str(args.data), args=args, metrics=metrics,
                        usage=usage(args), model=facts)
    return args.out


def usage(args: RewardModelArgs) -> str:
    if args.mode == "full" or args.merge:
        return f"verm check chart.py --critic model --model {args.out}"
    return f"verm check chart.py --critic model --model {args.base} --adapter {args.out}"


def merge_into(base: Path, adapter: Path, out: Path, cuda: bool) -> Path:
    """Fold ``adapter`` into a full-precision copy of ``base`` and save it with the processor
    to ``out`` (QLoRA's 4-bit base is reloaded unquantized: merging into nf4 loses precision)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(
        str(base), dtype=torch.bfloat16 if cuda else torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(out))
    card.load_processor(base).save_pretrained(str(out))
    return out


# -- the command line ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``verm train reward-model`` (and ``python -m verm_training reward-model``)."""
    d = RewardModelArgs(base=Path("."), data=Path("."), out=Path("."))
    parser.add_argument("--base", required=True, type=Path, metavar="PATH",
                        help="the base model folder (a Qwen-VL-family checkpoint)")
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="a dataset written by `verm train synth` ('train', optional 'test')")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="where checkpoints, logs (runs/), the adapter and the card go")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--qlora", dest="mode", action="store_const", const="qlora",
                      help="load the base in 4-bit nf4 (vision tower and head in full precision)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="train every weight (no adapter)")
    parser.set_defaults(mode="lora")
    parser.add_argument("--lora-r", type=int, default=d.lora_r)
    parser.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    parser.add_argument("--lora-dropout", type=float, default=d.lora_dropout)
    parser.add_argument("--lora-target", default=d.lora_target,
                        help="'all-linear' or comma-separated module names")
    parser.add_argument("--modules-to-save", default="",
                        help="comma-separated modules trained in full next to LoRA (e.g. lm_head)")
    parser.add_argument("--merge", action="store_true",
                        help="save base+adapter merged (with the processor) in OUT; the adapter "
                             "goes to OUT/adapter")
    parser.add_argument("--image-size", type=int, default=d.image_size, metavar="PX",
                        help="longest image side the processor keeps (pixel budget PX²)")
    parser.add_argument("--lr", dest="learning_rate", type=float, default=None,
                        help="learning rate (default 1e-4 LoRA/QLoRA, 1e-5 full)")
    parser.add_argument("--epochs", type=float, default=d.epochs)
    parser.add_argument("--steps", dest="max_steps", type=int, default=d.max_steps,
                        help="train this many optimizer steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--grad-accum", type=int, default=d.grad_accum)
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing",
                        action="store_false")
    parser.add_argument("--logging-steps", type=int, default=d.logging_steps)
    parser.add_argument("--save-steps", type=int, default=d.save_steps)
    parser.add_argument("--eval-steps", type=int, default=d.eval_steps,
                        help="evaluate every N steps (0: once at the end)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in --out")
    parser.add_argument("--report-to", default=d.report_to, choices=card.REPORT_TO)
    parser.add_argument("--seed", type=int, default=d.seed)


def from_namespace(ns: argparse.Namespace) -> RewardModelArgs:
    return RewardModelArgs(
        base=ns.base, data=ns.data, out=ns.out, mode=ns.mode, lora_r=ns.lora_r,
        lora_alpha=ns.lora_alpha, lora_dropout=ns.lora_dropout, lora_target=ns.lora_target,
        modules_to_save=tuple(m.strip() for m in ns.modules_to_save.split(",") if m.strip()),
        merge=ns.merge, image_size=ns.image_size, learning_rate=ns.learning_rate,
        epochs=ns.epochs, max_steps=ns.max_steps, batch_size=ns.batch_size,
        grad_accum=ns.grad_accum, gradient_checkpointing=ns.gradient_checkpointing,
        logging_steps=ns.logging_steps, save_steps=ns.save_steps, eval_steps=ns.eval_steps,
        resume=ns.resume, report_to=ns.report_to, seed=ns.seed)


def run(ns: argparse.Namespace) -> int:
    """Run from parsed flags: 0 done, 2 a usage error (said on stderr)."""
    try:
        out = train_reward_model(from_namespace(ns))
    except (ValueError, FileNotFoundError) as exc:
        print(f"verm train reward-model: {exc}", file=sys.stderr)
        return 2
    print(f"verm train reward-model: saved to {out} (model card: {out / card.CARD_README})",
          file=sys.stderr)
    return 0
