"""``verm train rl``: reinforce a vision-to-code policy with TRL's GRPOTrainer and verm's reward.

The policy sees a reference image and a domain instruction and writes code; the reward is the
paper's (``verm.reward``): 0 when the answer holds no code or its render fails or is blank,
else ``1 + clip(1 - S/50, 0, 1)`` with S the critic's severity sum. It is computed by verm
itself — the completion's code written to a temporary source of the domain's suffix and judged
by one warm ``Checker`` against the reference — so the policy is rewarded for exactly what
``verm check`` reports. Policy code is untrusted model output: the Checker renders it only in
verm's sandbox (forked, rlimited workers; a browser with the network blocked).

A remote critic spends its time waiting on the server, so its reward function is ``async``: TRL
awaits it, and the completions of a batch are judged concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verm_training import card

log = logging.getLogger("verm_training.rl")

DOMAINS = ("chart", "svg", "html", "table")
SUFFIX: dict[str, str] = {"chart": ".py", "svg": ".svg", "html": ".html", "table": ".md"}
CRITICS = ("analytic", "model", "remote")
INSTRUCTIONS: dict[str, str] = {
    "chart": "Write matplotlib code that reproduces this chart exactly: the same chart type, "
             "data, colours, text, axes and layout. Do not call savefig or show. Answer with "
             "the complete Python script in one ```python code block.",
    "svg": "Write SVG markup that reproduces this image exactly: the same shapes, geometry, "
           "colours and text. Answer with the complete SVG in one ```svg code block.",
    "html": "Write an HTML page (inline CSS, no scripts, no external resources) that reproduces "
            "this screenshot exactly: the same structure, layout, text and style. Answer with "
            "the complete page in one ```html code block.",
    "table": "Write a Markdown table that reproduces this table exactly: the same rows, "
             "columns, text and numbers. Answer with the table in one ```markdown code block.",
}


@dataclass
class RLArgs:
    """One GRPO run; every field is a ``verm train rl`` flag."""

    policy: Path  # a Qwen-VL-family instruct model folder
    out: Path
    images: Path | None = None  # a folder of reference PNGs (domain from a sidecar)
    data: Path | None = None  # or a synth dataset: its reference images
    domain: str = "chart"  # for images without a sidecar
    critic: str = "analytic"
    critic_model: str | None = None  # --critic model: the reward model folder
    critic_adapter: str | None = None
    endpoints: tuple[str, ...] = ()  # --critic remote: OpenAI-compatible base URLs
    model_name: str | None = None
    api_key_env: str | None = None
    reward_concurrency: int = 8  # completions judged at once by an async (remote) reward
    full: bool = False  # train every weight instead of a LoRA adapter
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = "all-linear"
    num_generations: int = 8
    batch_size: int | None = None  # prompts×generations per device step; None: num_generations
    grad_accum: int = 1
    beta: float = 0.01  # KL to the reference policy (the paper: 0.01)
    max_prompt_length: int | None = None  # drop prompts longer than this (never truncate images)
    max_completion_length: int = 1024
    temperature: float = 1.0
    learning_rate: float | None = None  # None: 1e-5 LoRA, 1e-6 full (the paper)
    max_steps: int = 500
    image_size: int = 1024  # reference images' longest side
    gradient_checkpointing: bool = True
    vllm: str = "auto"  # auto: when vllm is installed and a GPU is there | on | off
    vllm_mode: str = "colocate"
    logging_steps: int = 10
    save_steps: int = 100
    resume: bool = False
    report_to: str = "tensorboard"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # more GRPOConfig fields

    def __post_init__(self) -> None:
        self.policy, self.out = Path(self.policy), Path(self.out)
        self.images = Path(self.images) if self.images is not None else None
        self.data = Path(self.data) if self.data is not None else None
        if (self.images is None) == (self.data is None):
            raise ValueError("give reference images with exactly one of --images or --data")
        if self.domain not in DOMAINS:
            raise ValueError(f"--domain must be one of {', '.join(DOMAINS)}")
        if self.critic not in CRITICS:
            raise ValueError(f"--critic must be one of {', '.join(CRITICS)}")
        if self.critic == "model" and not self.critic_model:
            raise ValueError("--critic model needs --critic-model PATH (the reward model)")
        if self.critic == "remote" and not self.endpoints:
            raise ValueError("--critic remote needs --endpoint URL")
        if self.vllm not in ("auto", "on", "off"):
            raise ValueError("--vllm must be auto, on or off")
        self.endpoints = tuple(self.endpoints)

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-6 if self.full else 1e-5


# -- the prompts ---------------------------------------------------------------------------------
def prompt_messages(domain: str) -> list[dict[str, Any]]:
    """The policy's user turn: the reference image, then the domain's instruction."""
    return [{"role": "user", "content": [{"type": "image"},
                                         {"type": "text", "text": INSTRUCTIONS[domain]}]}]


def domain_of(png: Path, default: str) -> str:
    """A reference's domain from its sidecar: ``verm pin``'s ``NAME.png.anchors.json`` (its
    ``kind``) or a ``STEM.json`` with ``{"domain": ...}``; else ``default``."""
    for side, key in ((png.with_name(f"{png.name}.anchors.json"), "kind"),
                      (png.with_suffix(".json"), "domain")):
        if side.is_file():
            try:
                value = json.loads(side.read_text()).get(key)
            except (OSError, ValueError, AttributeError):
                continue
            if value in DOMAINS:
                return str(value)
    return default


def references(args: RLArgs) -> list[tuple[Path, str]]:
    """(reference PNG, domain) pairs: the PNGs of ``--images``, or the distinct reference
    images of a synth dataset written to ``OUT/references``."""
    if args.images is not None:
        if not args.images.is_dir():
            raise FileNotFoundError(f"--images: {args.images} is not a folder")
        pngs = sorted(p for p in args.images.iterdir()
                      if p.suffix.lower() == ".png" and p.is_file())
        if not pngs:
            raise ValueError(f"--images: no .png files in {args.images}")
        return [(p.absolute(), domain_of(p, args.domain)) for p in pngs]
    from datasets import DatasetDict, load_from_disk

    assert args.data is not None
    loaded = load_from_disk(str(args.data))
    split = loaded["train"] if isinstance(loaded, DatasetDict) else loaded
    folder = args.out / "references"
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for row in split.select_columns(["images", "domain", "source"]):
        if row["source"] in seen:
            continue
        seen.add(row["source"])
        path = folder / f"{len(out):05d}.png"
        row["images"][0].convert("RGB").save(path)
        out.append((path.absolute(), row["domain"]))
    return out


def build_dataset(pairs: Sequence[tuple[Path, str]], image_size: int,
                  processor: Any = None, max_prompt_length: int | None = None) -> Any:
    """GRPO rows: the prompt, the reference ``image`` (bounded), its ``domain`` and its
    ``reference`` path (both reach the reward function as keyword arguments)."""
    from datasets import Dataset
    from PIL import Image

    from verm.critic.model.prompts import bounded

    rows = []
    for path, domain in pairs:
        with Image.open(path) as im:
            image = bounded(im, image_size)
        rows.append({"prompt": prompt_messages(domain), "image": image, "domain": domain,
                     "reference": str(path)})
    if max_prompt_length is not None and processor is not None:
        kept = [r for r in rows if prompt_tokens(processor, r) <= max_prompt_length]
        if len(kept) < len(rows):
            log.warning("verm train rl: %d of %d prompts are longer than --max-prompt-length "
                        "%d tokens and were left out (lower --image-size to keep them)",
                        len(rows) - len(kept), len(rows), max_prompt_length)
        rows = kept
    if not rows:
        raise ValueError("no prompts left to train on")
    return Dataset.from_list(rows)


def prompt_tokens(processor: Any, row: dict[str, Any]) -> int:
    """How many tokens a row's prompt is, its image tokens included."""
    text = processor.apply_chat_template(row["prompt"], add_generation_prompt=True,
                                         tokenize=False)
    return int(processor(text=[text], images=[[row["image"]]],
                         return_tensors="pt")["input_ids"].shape[1])


# -- the reward ----------------------------------------------------------------------------------
def completion_text(completion: Any) -> str:
    """The text of one completion, conversational (a list of messages) or plain."""
    if isinstance(completion, str):
        return completion
    parts: list[str] = []
    for message in completion:
        content = message.get("content") if isinstance(message, dict) else message
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(c.get("text", "")) for c in content
                         if isinstance(c, dict) and c.get("type") == "text")
    return "".join(parts)


OUTCOMES = ("no_code", "not_rendered", "rendered", "refused", "critic_failed")


class VisualReward:
    """The paper's reward as a TRL reward function, judged by one warm ``Checker``.

    Called with ``completions`` and the dataset's ``domain`` and ``reference`` columns; returns
    one float in [0, 2] per completion. Whatever the candidate does wrong (no code, a crash, a
    timeout, a blank render, a source or pragma verm refuses) is a 0, never an exception: one
    bad sample must not stop a run. A critic that fails on a sample is a 0 too, but said on the
    log, and the share of each outcome is logged with TRL's metrics (``verm/<outcome>``) so a
    run whose critic keeps failing shows it.
    """

    def __init__(self, checker: Any, workdir: Path) -> None:
        self.checker = checker
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The candidates' workspace: config lookup stops here, whatever lies above.
        (self.workdir / "verm.toml").touch()
        self.__name__ = "verm_reward"  # TRL names a reward's logged metrics after it

    def judge(self, completion: Any, domain: str, reference: str | Path) -> tuple[float, str]:
        """The reward of one completion, and which of ``OUTCOMES`` it had."""
        from verm.check import ConfigError, CriticError
        from verm.revise.prompt import extract_code
        from verm.source import SourceError

        code = extract_code(completion_text(completion), domain)  # type: ignore[arg-type]
        if code is None:
            return 0.0, "no_code"
        folder = Path(tempfile.mkdtemp(prefix="candidate-", dir=self.workdir))
        try:
            src = folder / f"candidate{SUFFIX[domain]}"
            src.write_text(code, encoding="utf-8")
            result = self.checker.check(self.checker.load(src), reference=Path(reference))
        except (SourceError, ConfigError) as exc:  # the candidate's own doing
            log.debug("verm train rl: candidate refused (%s)", exc)
            return 0.0, "refused"
        except CriticError as exc:
            log.warning("verm train rl: the critic failed on a candidate, scored 0: %s", exc)
            return 0.0, "critic_failed"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if not result.rendered:
            return 0.0, "not_rendered"
        return min(2.0, max(0.0, float(result.reward))), "rendered"

    def score(self, completion: Any, domain: str, reference: str | Path) -> float:
        return self.judge(completion, domain, reference)[0]

    def _report(self, judged: list[tuple[float, str]], kwargs: dict[str, Any]) -> list[float]:
        log_metric = kwargs.get("log_metric")
        if callable(log_metric) and judged:
            for outcome in OUTCOMES:
                share = sum(o == outcome for _, o in judged) / len(judged)
                log_metric(f"verm/{outcome}", share)
        return [r for r, _ in judged]

    def __call__(self, prompts: list[Any], completions: list[Any], domain: list[str],
                 reference: list[str], **kwargs: Any) -> list[float]:
        return self._report([self.judge(c, d, r) for c, d, r in zip(
            completions, domain, reference, strict=True)], kwargs)


class AsyncVisualReward(VisualReward):
    """The same reward, ``async``: the batch's completions are judged at once (up to
    ``concurrency``), each in a thread, while a remote critic's server works on the others."""

    def __init__(self, checker: Any, workdir: Path, concurrency: int = 8) -> None:
        super().__init__(checker, workdir)
        self.concurrency = max(1, concurrency)

    async def __call__(self, prompts: list[Any], completions: list[Any],  # type: ignore[override]
                       domain: list[str], reference: list[str], **kwargs: Any) -> list[float]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(c: Any, d: str, r: str) -> tuple[float, str]:
            async with gate:
                return await asyncio.to_thread(self.judge, c, d, r)

        return self._report(list(await asyncio.gather(*(one(c, d, r) for c, d, r in zip(
            completions, domain, reference, strict=True)))), kwargs)


def make_checker(args: RLArgs) -> Any:
    """The warm Checker the reward shares: the user's critic choice and model settings."""
    from verm.check import Checker

    overrides: dict[str, Any] = {}
    if args.critic_model:
        overrides["model"] = args.critic_model
    if args.critic_adapter:
        overrides["adapter"] = args.critic_adapter
    if args.endpoints:
        overrides["endpoint"] = list(args.endpoints)
    if args.model_name:
        overrides["model-name"] = args.model_name
    if args.api_key_env:
        overrides["api-key-env"] = args.api_key_env
    from verm.render import Renderers

    return Checker(critic=args.critic, overrides=overrides, renderers=Renderers(batch=True))


def make_reward(args: RLArgs, checker: Any) -> VisualReward:
    workdir = args.out / "candidates"
    if args.critic == "remote":
        return AsyncVisualReward(checker, workdir, args.reward_concurrency)
    return VisualReward(checker, workdir)


# -- the trainer ---------------------------------------------------------------------------------
def vllm_wanted(setting: str, cuda: bool) -> bool:
    """TRL's vLLM generation: ``auto`` uses it when vllm is installed and a GPU is there."""
    installed = importlib.util.find_spec("vllm") is not None
    if setting == "on" and not installed:
        raise ValueError("--vllm on: vllm is not installed in this environment")
    return setting == "on" or (setting == "auto" and installed and cuda)


def grpo_config(args: RLArgs, cuda: bool) -> Any:
    from trl import GRPOConfig

    use_vllm = vllm_wanted(args.vllm, cuda)
    settings: dict[str, Any] = {
        "output_dir": str(args.out), "learning_rate": args.lr, "beta": args.beta,
        "num_generations": args.num_generations,
        "per_device_train_batch_size": args.batch_size or args.num_generations,
        "gradient_accumulation_steps": args.grad_accum,
        "max_completion_length": args.max_completion_length,
        "temperature": args.temperature, "max_steps": args.max_steps,
        "gradient_checkpointing": args.gradient_checkpointing,
        "bf16": cuda, "use_cpu": not cuda, "use_vllm": use_vllm,
        "logging_steps": args.logging_steps, "save_strategy": "steps",
        "save_steps": args.save_steps, "report_to": card.report_to(args.report_to),
        "seed": args.seed,
    }
    if use_vllm:
        settings["vllm_mode"] = args.vllm_mode
    settings.update(args.extra)
    return GRPOConfig(**settings)


def lora_config(args: RLArgs) -> Any:
    from peft import LoraConfig

    target: str | list[str] = args.lora_target
    if args.lora_target != "all-linear":
        target = [t.strip() for t in args.lora_target.split(",") if t.strip()]
    return LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                      target_modules=target, task_type="CAUSAL_LM")


def train_policy(args: RLArgs) -> Path:
    """Run GRPO; save the policy (a LoRA adapter, or full weights) and the card to
    ``args.out``; return ``args.out``."""
    if args.images is not None:
        references(args)  # a bad --images folder is said before torch is even imported
    import torch
    from transformers import AutoModelForImageTextToText
    from trl import GRPOTrainer

    cuda = card.on_cuda()
    resume = card.resume_from(args.out, args.resume)
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = references(args)
    processor = card.load_processor(args.policy, padding_side="left",
                                    max_pixels=args.image_size ** 2)
    dataset = build_dataset(pairs, args.image_size, processor, args.max_prompt_length)
    model = AutoModelForImageTextToText.from_pretrained(
        str(args.policy), dtype=torch.bfloat16 if cuda else torch.float32)
    checker = make_checker(args)
    try:
        reward = make_reward(args, checker)
        trainer = GRPOTrainer(model=model, reward_funcs=[reward],
                              args=grpo_config(args, cuda), train_dataset=dataset,
                              processing_class=processor,
                              peft_config=None if args.full else lora_config(args))
        trainer.train(resume_from_checkpoint=resume)
        trainer.save_model(str(args.out))
        if args.full:
            processor.save_pretrained(str(args.out))
    finally:
        checker.close()
    if trainer.accelerator.is_main_process:
        domains = sorted({d for _, d in pairs})
        metrics = {**card.final_metrics(trainer.state.log_history),
                   "global_step": trainer.state.global_step, "prompts": len(dataset)}
        card.write_card(args.out, recipe="rl", base=str(args.policy),
                        data=str(args.images or args.data), args=args, metrics=metrics,
                        usage=usage(args),
                        extra={"domains": ", ".join(domains), "critic": args.critic})
    return args.out


def usage(args: RLArgs) -> str:
    if args.full:
        return f"verm revise chart.py --policy {args.out}"
    return f"verm revise chart.py --policy {args.policy} --policy-adapter {args.out}"


# -- the command line ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``verm train rl`` (and ``python -m verm_training rl``)."""
    d = RLArgs(policy=Path("."), out=Path("."), images=Path("."))
    parser.add_argument("--policy", required=True, type=Path, metavar="PATH",
                        help="the policy model folder (a Qwen-VL-family instruct model)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="reference PNGs; each one's domain from its verm pin sidecar or a "
                             "STEM.json {\"domain\": ...}, else --domain")
    source.add_argument("--data", type=Path, metavar="DIR",
                        help="a `verm train synth` dataset: train on its reference images")
    parser.add_argument("--domain", default=d.domain, choices=DOMAINS)
    parser.add_argument("--critic", default=d.critic, choices=CRITICS,
                        help="who judges the renders (the reward)")
    parser.add_argument("--critic-model", default=None, metavar="PATH",
                        help="--critic model: the reward model folder")
    parser.add_argument("--critic-adapter", default=None, metavar="PATH")
    parser.add_argument("--endpoint", dest="endpoints", action="append", default=[],
                        metavar="URL", help="--critic remote: an OpenAI-compatible base URL "
                                            "(repeat for round-robin)")
    parser.add_argument("--model-name", default=None)
    parser.add_argument("--api-key-env", default=None, metavar="VAR")
    parser.add_argument("--reward-concurrency", type=int, default=d.reward_concurrency)
    parser.add_argument("--full", action="store_true", help="train every weight (no LoRA)")
    parser.add_argument("--lora-r", type=int, default=d.lora_r)
    parser.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    parser.add_argument("--lora-dropout", type=float, default=d.lora_dropout)
    parser.add_argument("--lora-target", default=d.lora_target)
    parser.add_argument("--num-generations", type=int, default=d.num_generations)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="completions per device step (default: --num-generations)")
    parser.add_argument("--grad-accum", type=int, default=d.grad_accum)
    parser.add_argument("--beta", type=float, default=d.beta, help="KL coefficient")
    parser.add_argument("--max-prompt-length", type=int, default=None,
                        help="leave out prompts (image tokens included) longer than this")
    parser.add_argument("--max-completion-length", type=int, default=d.max_completion_length)
    parser.add_argument("--temperature", type=float, default=d.temperature)
    parser.add_argument("--lr", dest="learning_rate", type=float, default=None)
    parser.add_argument("--steps", dest="max_steps", type=int, default=d.max_steps)
    parser.add_argument("--image-size", type=int, default=d.image_size, metavar="PX")
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing",
                        action="store_false")
    parser.add_argument("--vllm", default=d.vllm, choices=("auto", "on", "off"),
                        help="generate with TRL's vLLM mode (auto: when installed, on a GPU)")
    parser.add_argument("--vllm-mode", default=d.vllm_mode, choices=("colocate", "server"))
    parser.add_argument("--logging-steps", type=int, default=d.logging_steps)
    parser.add_argument("--save-steps", type=int, default=d.save_steps)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in --out")
    parser.add_argument("--report-to", default=d.report_to, choices=card.REPORT_TO)
    parser.add_argument("--seed", type=int, default=d.seed)


def from_namespace(ns: argparse.Namespace) -> RLArgs:
    return RLArgs(
        policy=ns.policy, out=ns.out, images=ns.images, data=ns.data, domain=ns.domain,
        critic=ns.critic, critic_model=ns.critic_model, critic_adapter=ns.critic_adapter,
        endpoints=tuple(ns.endpoints or ()), model_name=ns.model_name,
        api_key_env=ns.api_key_env, reward_concurrency=ns.reward_concurrency, full=ns.full,
        lora_r=ns.lora_r, lora_alpha=ns.lora_alpha, lora_dropout=ns.lora_dropout,
        lora_target=ns.lora_target, num_generations=ns.num_generations,
        batch_size=ns.batch_size, grad_accum=ns.grad_accum, beta=ns.beta,
        max_prompt_length=ns.max_prompt_length, max_completion_length=ns.max_completion_length,
        temperature=ns.temperature, learning_rate=ns.learning_rate, max_steps=ns.max_steps,
        image_size=ns.image_size, gradient_checkpointing=ns.gradient_checkpointing,
        vllm=ns.vllm, vllm_mode=ns.vllm_mode, logging_steps=ns.logging_steps,
        save_steps=ns.save_steps, resume=ns.resume, report_to=ns.report_to, seed=ns.seed)


def run(ns: argparse.Namespace) -> int:
    """Run from parsed flags: 0 done, 2 a usage error (said on stderr)."""
    try:
        out = train_policy(from_namespace(ns))
    except (ValueError, FileNotFoundError) as exc:
        print(f"verm train rl: {exc}", file=sys.stderr)
        return 2
    print(f"verm train rl: saved to {out} (model card: {out / card.CARD_README})",
          file=sys.stderr)
    return 0
