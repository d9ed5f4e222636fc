"""The published model's shape on a CUDA GPU: load, VRAM, prefill, decode, streamed answer.

Visual-ERM is a full finetune of Qwen3-VL-8B-Instruct. This builds a **random-weight** Qwen3-VL
with that model's config (text: hidden 4096, 36 layers, 32 heads / 8 KV heads of 128,
intermediate 12288, vocab 151936, interleaved M-RoPE [24, 20, 20] θ 5e6; vision: 27 layers,
hidden 1152, 16 heads, patch 16, merge 2, DeepStack [8, 16, 24]; ~8.8B parameters), saves it
once to local disk, then loads it through verm's own loader
(``verm.critic.model.runtime.load(ModelSpec(path, quantize=...))``: nf4 4-bit with the vision
tower and ``lm_head`` left in bf16, or plain bf16) and measures, for each precision:

- load time, and VRAM (``torch.cuda.max_memory_allocated``, reset between precisions): after
  loading and the peak of a judgement;
- prefill of verm's chart prompt with two 1024×1024 images (time to the first token);
- decode speed (tokens/s);
- time to the first streamed error. Random weights write garbage, never a JSON error object,
  so this is **time to N tokens** (``--first-error-tokens``, default 60: about the tokens of a
  typical first error object with the counts before it, ~250 characters of JSON) plus the
  processor's preprocessing;
- a 300-token critique end to end (forced with ``min_new_tokens``; preprocessing included);
- once, verm's real streaming path (``runtime.generate`` feeding ``StreamParser``): time to
  the first streamed text.

Nothing is downloaded: the tokenizer and processor are ``tests/tinyvl.py``'s kind (a small
byte-level BPE padded to the model's vocabulary, Qwen's special tokens and chat layout; patch
16, merge 2, ``max_pixels`` = ``--image-size``²). With ``--model DIR`` the script measures a
checkpoint you already have (e.g. a local copy of ``internlm/Visual-ERM``) instead; then the
first error is also timed as the moment ``StreamParser`` yields it.

Needs torch with CUDA, transformers ≥ 5, PIL, and bitsandbytes for 4-bit (without it the 4-bit
row is skipped with a message, bf16 still runs, and the exit status is 1). Prints one JSON line
per precision and a table; writes ``$OUT/model_gpu.json`` when ``$OUT`` is set.

    python benchmarks/model_gpu.py                 # 8B shape on the GPU (~17 GB on disk, tmp)
    python benchmarks/model_gpu.py --repeat 5 --skip-bf16
    python benchmarks/model_gpu.py --model /models/Visual-ERM
    .venv/bin/python benchmarks/model_gpu.py --tiny   # a tiny config; runs on a CPU

Targets (printed beside the numbers): VRAM ≤ 10 GB in 4-bit, first streamed error ≤ 1.5 s,
full critique ≤ 8 s p50.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for extra in (ROOT / "server", ROOT / "tests"):  # verm from the tree; tinyvl's tokenizer parts
    if str(extra) not in sys.path:
        sys.path.insert(0 if extra.name == "server" else len(sys.path), str(extra))
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from PIL import Image, ImageDraw  # noqa: E402

TARGET_VRAM_4BIT_GB = 10.0
TARGET_FIRST_ERROR_S = 1.5
TARGET_CRITIQUE_S = 8.0
VOCAB = 151936
REGULAR_TOKENS = 151643  # Qwen's regular vocabulary; the special tokens follow

# Qwen/Qwen3-VL-8B-Instruct's config.json (values as published; rope in transformers 5 form).
TEXT_8B: dict[str, Any] = {
    "vocab_size": VOCAB, "hidden_size": 4096, "intermediate_size": 12288,
    "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
    "head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 262144,
    "rms_norm_eps": 1e-6, "attention_bias": False, "tie_word_embeddings": False,
    "rope_parameters": {"rope_type": "default", "rope_theta": 5_000_000.0,
                        "mrope_section": [24, 20, 20], "mrope_interleaved": True},
}
VISION_8B: dict[str, Any] = {
    "depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
    "hidden_act": "gelu_pytorch_tanh", "in_channels": 3, "patch_size": 16,
    "temporal_patch_size": 2, "spatial_merge_size": 2, "out_hidden_size": 4096,
    "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24],
}
# The same architecture, tiny (widths multiples of 64 so bitsandbytes' CPU 4-bit path works).
TEXT_TINY: dict[str, Any] = {
    **TEXT_8B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "max_position_embeddings": 8192,
    "rope_parameters": {"rope_type": "default", "rope_theta": 5_000_000.0,
                        "mrope_section": [2, 3, 3], "mrope_interleaved": True},
}
VISION_TINY: dict[str, Any] = {
    **VISION_8B, "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
    "out_hidden_size": 64, "num_position_embeddings": 2304, "deepstack_visual_indexes": [1],
}


# -- the model folder --------------------------------------------------------------------------

def image_processor(max_side: int) -> Any:
    """Qwen-VL's image processor (patch 16, temporal 2, merge 2) allowing ``max_side``² pixels."""
    sizes = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
             "min_pixels": 32 * 32, "max_pixels": max_side * max_side}
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )
    except ImportError:  # older transformers 5: the torchvision-backed one
        from transformers import Qwen2VLImageProcessor

        return Qwen2VLImageProcessor(**sizes)
    return Qwen2VLImageProcessorPil(**sizes)


def video_processor() -> Any:
    """Qwen3-VL's own video processor where torchvision works (so ``AutoProcessor`` maps the
    saved config back on a GPU machine), else the plain one verm's CPU fallback expects."""
    from verm.critic.model.compat import torchvision_usable

    if torchvision_usable():
        try:
            from transformers.models.qwen3_vl.video_processing_qwen3_vl import (
                Qwen3VLVideoProcessor,
            )

            return Qwen3VLVideoProcessor()
        except Exception:
            pass
    from transformers.video_processing_utils import BaseVideoProcessor

    return BaseVideoProcessor()


def build_processor(out: Path, max_side: int) -> dict[str, int]:
    """tinyvl's byte-level BPE and chat layout, the vocabulary padded with filler tokens to
    Qwen's 151,643 regular ids (the specials follow, as in Qwen), so every id the model can
    write decodes to text; saved to ``out``. Returns the special tokens' ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    from tinyvl import CHAT_TEMPLATE, CORPUS, SPECIALS
    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    from transformers import Qwen3VLProcessor

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=[], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS * 20, trainer)
    spec = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = dict(spec["vocab"])
    filler = 0
    while len(vocab) < REGULAR_TOKENS:  # "Ġw12" decodes to " w12"
        vocab.setdefault(f"\u0120w{filler}", len(vocab))
        filler += 1
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None,
                               eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS})
    if len(tokenizer) > VOCAB:
        raise SystemExit(f"the tokenizer has {len(tokenizer)} ids, the model only {VOCAB}")
    processor = Qwen3VLProcessor(image_processor=image_processor(max_side), tokenizer=tokenizer,
                                 video_processor=video_processor(), chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)
    ids = tokenizer.convert_tokens_to_ids
    return {name: int(ids(token)) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"),
        ("eos", "<|im_end|>"), ("pad", "<|endoftext|>"))}


def build_model(out: Path, tiny: bool, device: str, max_side: int) -> dict[str, Any]:
    """A random-weight Qwen3-VL (the 8B config, or a tiny one) with its processor, saved to
    ``out`` in bf16. Built directly on ``device`` (random init of 8.8B parameters on a GPU
    takes seconds, on a CPU minutes). Returns what was built."""
    import torch
    from transformers import AutoModelForImageTextToText, Qwen3VLConfig

    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    ids = build_processor(out, max_side)
    config = Qwen3VLConfig(
        text_config=TEXT_TINY if tiny else TEXT_8B,
        vision_config=VISION_TINY if tiny else VISION_8B,
        image_token_id=ids["image_token_id"], video_token_id=ids["video_token_id"],
        vision_start_token_id=ids["vision_start_token_id"],
        vision_end_token_id=ids["vision_end_token_id"], tie_word_embeddings=False)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = ids["eos"]
    model.generation_config.pad_token_id = ids["pad"]
    parameters = sum(p.numel() for p in model.parameters())
    built_s = time.perf_counter() - start
    model.save_pretrained(out)
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    return {"parameters": parameters, "build_s": round(built_s, 1),
            "save_s": round(time.perf_counter() - start - built_s, 1),
            "disk_gb": round(size / 2**30, 2)}


def test_images(side: int) -> list[Image.Image]:
    """A reference and a render of a bar chart, ``side``² pixels, differing in the title."""
    out = []
    for title in ("Sales per quarter", "Sales by quarter"):
        image = Image.new("RGB", (side, side), "white")
        draw = ImageDraw.Draw(image)
        unit = side / 16
        draw.text((side * 0.35, unit * 0.8), title, fill="black")
        draw.line([(unit * 2, unit * 14), (unit * 15, unit * 14)], fill="black", width=2)
        draw.line([(unit * 2, unit * 2), (unit * 2, unit * 14)], fill="black", width=2)
        for i, height in enumerate((5, 8, 6, 11)):
            x0 = unit * (3 + 3 * i)
            draw.rectangle([x0, unit * (14 - height), x0 + unit * 2, unit * 14], fill="#4c72b0")
            draw.text((x0 + unit * 0.6, unit * 14.3), f"Q{i + 1}", fill="black")
        out.append(image)
    return out


# -- measuring ---------------------------------------------------------------------------------

def bitsandbytes_problem() -> str | None:
    """Why 4-bit cannot run here, or None."""
    try:
        importlib.import_module("bitsandbytes")
    except Exception as exc:  # missing, or a build that fails to import
        return (f"bitsandbytes is not usable ({type(exc).__name__}: {exc}); 4-bit (nf4) is "
                f"NOT measured. Install it (pip install bitsandbytes, or the wheel carried "
                f"with this benchmark) and run again.")
    return None


class Clock:
    """A generate() streamer that only stamps the time of each put: the first put is the
    prompt, each later one a new token (generate moves it to the CPU first: synchronised)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def put(self, value: Any) -> None:
        self.stamps.append(time.perf_counter())

    def end(self) -> None:
        pass


@dataclass
class Run:
    prep_s: float  # chat template + processor + copy to the device
    ttft_s: float  # generate() start → first token: vision tower + prefill
    first_error_s: float  # prep + generate() start → token N
    decode_tok_s: float
    critique_s: float  # prep + all tokens
    tokens: int
    prompt_tokens: int


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def forced_run(loaded: Any, messages: list[dict[str, Any]], images: list[Image.Image],
               tokens: int, first_error_tokens: int, device: str) -> Run:
    """One critique of exactly ``tokens`` tokens (greedy), stamped token by token."""
    import torch

    processor, model = loaded.processor, loaded.model
    sync(device)
    start = time.perf_counter()
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[images], return_tensors="pt")
    where = next(model.parameters()).device
    inputs = {k: (v.to(where) if hasattr(v, "to") else v) for k, v in inputs.items()}
    sync(device)
    prepared = time.perf_counter()
    clock = Clock()
    with torch.inference_mode():
        model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                       temperature=None, top_p=None, top_k=None, streamer=clock)
    sync(device)
    end = time.perf_counter()
    stamps = clock.stamps[1:]  # the first put is the prompt
    n = len(stamps)
    nth = stamps[min(first_error_tokens, n) - 1] if n else end
    return Run(prep_s=prepared - start, ttft_s=(stamps[0] if n else end) - prepared,
               first_error_s=nth - start,
               decode_tok_s=(n - 1) / (stamps[-1] - stamps[0]) if n > 1 else float("nan"),
               critique_s=end - start, tokens=n,
               prompt_tokens=int(inputs["input_ids"].shape[1]))


def verm_path(loaded: Any, messages: list[dict[str, Any]], images: list[Image.Image],
              tokens: int) -> dict[str, Any]:
    """verm's own streaming path (``runtime.generate`` → ``StreamParser``), ``tokens`` long."""
    from verm.critic.model.parse import StreamParser
    from verm.critic.model.runtime import Sampling, generate

    parser = StreamParser("chart")
    first_error: list[float] = []
    start = time.perf_counter()

    def on_text(text: str) -> None:
        if parser.feed(text) and not first_error:
            first_error.append(time.perf_counter() - start)

    done = generate(loaded, messages, images, Sampling(max_new_tokens=tokens), on_text,
                    threading.Event())
    judgement = parser.finish()
    return {"first_text_s": done.get("first_text_s"), "seconds": done.get("seconds"),
            "tokens": done.get("tokens"), "first_error_s": first_error[0] if first_error else None,
            "errors_parsed": len(judgement.errors), "readable": judgement.readable}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    precision: str
    device: str
    load_s: float
    facts: dict[str, Any]
    vram_weights_gb: float | None = None  # allocated once loaded
    vram_load_peak_gb: float | None = None  # peak while loading (quantizing) the weights
    vram_judge_peak_gb: float | None = None  # peak while judging (prefill, KV cache)
    runs: list[Run] = field(default_factory=list)
    verm: dict[str, Any] = field(default_factory=dict)

    @property
    def vram_peak_gb(self) -> float | None:
        peaks = [v for v in (self.vram_load_peak_gb, self.vram_judge_peak_gb) if v is not None]
        return max(peaks) if peaks else None

    def p50(self, key: str) -> float:
        return statistics.median(getattr(r, key) for r in self.runs)

    def p95(self, key: str) -> float | None:
        return pct([getattr(r, key) for r in self.runs], 0.95) if len(self.runs) >= 5 else None

    def summary(self) -> dict[str, Any]:
        keys = ("prep_s", "ttft_s", "first_error_s", "decode_tok_s", "critique_s")
        out: dict[str, Any] = {"precision": self.precision, "device": self.device,
                               "load_s": round(self.load_s, 2),
                               "vram_weights_gb": self.vram_weights_gb,
                               "vram_load_peak_gb": self.vram_load_peak_gb,
                               "vram_judge_peak_gb": self.vram_judge_peak_gb,
                               "vram_peak_gb": self.vram_peak_gb}
        for key in keys:
            out[f"{key}_p50"] = round(self.p50(key), 4)
            p95 = self.p95(key)
            if p95 is not None:
                out[f"{key}_p95"] = round(p95, 4)
        out["tokens"] = self.runs[0].tokens if self.runs else 0
        out["prompt_tokens"] = self.runs[0].prompt_tokens if self.runs else 0
        out["runs"] = [asdict(r) for r in self.runs]
        out["verm_path"] = self.verm
        out["facts"] = self.facts
        return out


def measure(path: Path, precision: str, device: str, args: argparse.Namespace,
            images: list[Image.Image]) -> Result:
    import torch

    from verm.critic.model.prompts import chat_messages, prompt_text
    from verm.critic.model.runtime import ModelSpec, load

    cuda = device.startswith("cuda")
    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    spec = ModelSpec(str(path), quantize="4bit" if precision == "4bit" else "none", device=device)
    start = time.perf_counter()
    loaded = load(spec)
    sync(device)
    load_s = time.perf_counter() - start
    gb = 2**30
    facts = {k: v for k, v in loaded.facts.items() if k != "vram_gb"}
    label = {"4bit": "nf4", "none": "bf16" if cuda else "fp32"}[precision]
    result = Result(label, device, load_s, facts)
    if cuda:
        result.vram_weights_gb = round(torch.cuda.memory_allocated() / gb, 3)
        result.vram_load_peak_gb = round(torch.cuda.max_memory_allocated() / gb, 3)
        torch.cuda.reset_peak_memory_stats()
    messages = chat_messages("chart", prompt_text("chart"))
    forced_run(loaded, messages, images, 4, 1, device)  # warm-up: kernels, allocator
    for _ in range(args.repeat):
        result.runs.append(forced_run(loaded, messages, images, args.tokens,
                                      args.first_error_tokens, device))
    # A real checkpoint writes JSON: let it write a whole critique so its first error shows.
    result.verm = verm_path(loaded, messages, images,
                            args.tokens if args.model else args.first_error_tokens)
    if cuda:
        result.vram_judge_peak_gb = round(torch.cuda.max_memory_allocated() / gb, 3)
    del loaded
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


# -- report ------------------------------------------------------------------------------------

def verdict(value: float | None, target: float, applies: bool = True) -> str:
    if value is None or value != value:
        return "-"
    if not applies:
        return "(n/a)"
    return "ok" if value <= target else "MISS"


def table(results: list[Result], args: argparse.Namespace, tiny: bool) -> str:
    def s(x: float | None) -> str:
        return "-" if x is None or x != x else f"{x:.2f}"

    lines = [f"{'':<34}" + "".join(f"{r.precision:>12}" for r in results) + "   target"]

    def add(name: str, values: list[str], target: str = "") -> None:
        lines.append(f"{name:<34}" + "".join(f"{v:>12}" for v in values) + f"   {target}")

    add("load (verm loader), s", [s(r.load_s) for r in results])
    add("VRAM weights loaded, GB", [s(r.vram_weights_gb) for r in results])
    add("VRAM peak load / judgement, GB",
        [f"{s(r.vram_load_peak_gb)}/{s(r.vram_judge_peak_gb)}" for r in results])
    add("VRAM peak, GB", [f"{s(r.vram_peak_gb)} {verdict(r.vram_peak_gb, TARGET_VRAM_4BIT_GB)}"
                          if r.precision == "nf4" and r.vram_peak_gb is not None
                          else s(r.vram_peak_gb) for r in results],
        f"≤ {TARGET_VRAM_4BIT_GB:g} GB in 4-bit")
    add("prompt tokens (2 images + text)", [str(r.runs[0].prompt_tokens) for r in results])
    add("preprocess p50, s", [s(r.p50("prep_s")) for r in results])
    add("prefill → first token p50, s", [s(r.p50("ttft_s")) for r in results])
    add("decode p50, tokens/s", [f"{r.p50('decode_tok_s'):.1f}" for r in results])
    add(f"first error ≈ {args.first_error_tokens} tokens p50, s",
        [f"{s(r.p50('first_error_s'))} {verdict(r.p50('first_error_s'), TARGET_FIRST_ERROR_S)}"
         for r in results], f"≤ {TARGET_FIRST_ERROR_S:g} s")
    add(f"critique, {args.tokens} tokens p50, s",
        [f"{s(r.p50('critique_s'))} {verdict(r.p50('critique_s'), TARGET_CRITIQUE_S)}"
         for r in results], f"≤ {TARGET_CRITIQUE_S:g} s")
    if args.repeat >= 5:
        add(f"critique, {args.tokens} tokens p95, s", [s(r.p95("critique_s")) for r in results])
    add("verm path: first streamed text, s", [s(r.verm.get("first_text_s")) for r in results])
    if any(r.verm.get("first_error_s") is not None for r in results):
        add("verm path: first parsed error, s",
            [f"{s(r.verm.get('first_error_s'))} "
             f"{verdict(r.verm.get('first_error_s'), TARGET_FIRST_ERROR_S)}" for r in results],
            f"≤ {TARGET_FIRST_ERROR_S:g} s")
    lines.append(f"{args.repeat} runs each after a warm-up; greedy, forced to {args.tokens} "
                 f"tokens; first error = time to {args.first_error_tokens} tokens incl. "
                 "preprocessing (random weights write no JSON)")
    if args.model is None:
        lines.append("prompt text counted with the stand-in tokenizer (a tiny BPE: its text is "
                     "~2-3× the tokens Qwen's tokenizer would make; the image tokens are exact)")
    if tiny:
        lines.append("TINY config: the numbers test the script; the targets are for the 8B model")
    return "\n".join(lines)


def environment(device: str) -> dict[str, Any]:
    import torch
    import transformers

    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                            "transformers": transformers.__version__, "device": device}
    try:
        info["bitsandbytes"] = importlib.import_module("bitsandbytes").__version__
    except Exception:
        info["bitsandbytes"] = None
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["gpu_memory_gb"] = round(
            torch.cuda.get_device_properties(torch.device(device)).total_memory / 2**30, 1)
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true",
                        help="a tiny config of the same architecture (runs on a CPU)")
    parser.add_argument("--model", type=Path, default=None,
                        help="measure this checkpoint folder instead of building a random one")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the random model is saved (default: a temp folder, removed "
                             "after; an existing build there is reused)")
    parser.add_argument("--repeat", type=int, default=3, help="critiques per precision")
    parser.add_argument("--skip-bf16", action="store_true")
    parser.add_argument("--skip-4bit", action="store_true")
    parser.add_argument("--tokens", type=int, default=300, help="tokens of a full critique")
    parser.add_argument("--first-error-tokens", type=int, default=60,
                        help="tokens up to the end of a typical first error object")
    parser.add_argument("--image-size", type=int, default=1024, help="each image's side, px")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    args = parser.parse_args()

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if not device.startswith("cuda") and not args.tiny and args.model is None:
        raise SystemExit("no CUDA GPU: the 8B shape needs one (~17 GB in bf16); try --tiny")
    precisions: list[str] = []
    bnb_problem = None if args.skip_4bit else bitsandbytes_problem()
    if bnb_problem:
        print(f"model_gpu: {bnb_problem}"
              + ("" if args.skip_bf16 else " Measuring bf16 meanwhile."), file=sys.stderr)
    elif not args.skip_4bit:
        precisions.append("4bit")
    if not args.skip_bf16:
        precisions.append("none")
    if not precisions:
        print("model_gpu: nothing to measure (4-bit unavailable and --skip-bf16)",
              file=sys.stderr)
        return 2

    from verm.critic.model.prompts import bounded

    images = [bounded(i, args.image_size) for i in test_images(args.image_size)]
    built: dict[str, Any] = {}
    own_tmp = None
    if args.model is not None:
        path = args.model
    else:
        if args.workdir is None:
            own_tmp = Path(tempfile.mkdtemp(prefix="verm-model-gpu-"))
        path = (args.workdir or own_tmp or Path(".")) / ("qwen3vl-tiny" if args.tiny
                                                         else "qwen3vl-8b-random")
        if not (path / "config.json").exists():
            need_gb = 0.1 if args.tiny else 18.0
            free_gb = shutil.disk_usage(path.parent if path.parent.exists() else ".").free / 2**30
            if free_gb < need_gb:
                raise SystemExit(f"model_gpu: {path.parent} has {free_gb:.1f} GB free; the "
                                 f"random model needs ~{need_gb:g} GB (pass --workdir)")
            print(f"model_gpu: building a random Qwen3-VL ({'tiny' if args.tiny else '8B'} "
                  f"config) on {device}, saving to {path}", file=sys.stderr)
            built = build_model(path, args.tiny, device, args.image_size)
            print(f"model_gpu: built {built}", file=sys.stderr)
    results: list[Result] = []
    try:
        for precision in precisions:
            print(f"model_gpu: measuring {precision} …", file=sys.stderr)
            result = measure(path, precision, device, args, images)
            results.append(result)
            print(json.dumps({"event": "result", **result.summary()}, default=str), flush=True)
    finally:
        if own_tmp is not None:
            shutil.rmtree(own_tmp, ignore_errors=True)

    report = {"model": str(args.model) if args.model else ("random tiny Qwen3-VL" if args.tiny
                                                             else "random Qwen3-VL-8B shape"),
              "build": built, "environment": environment(device),
              "images": [list(i.size) for i in images], "tokens": args.tokens,
              "first_error_tokens": args.first_error_tokens, "repeat": args.repeat,
              "targets": {"vram_4bit_gb": TARGET_VRAM_4BIT_GB,
                          "first_error_s": TARGET_FIRST_ERROR_S,
                          "critique_p50_s": TARGET_CRITIQUE_S},
              "bitsandbytes_problem": bnb_problem,
              "results": [r.summary() for r in results]}
    print(json.dumps({"event": "environment", **report["environment"]}), flush=True)
    print("\n" + table(results, args, args.tiny))
    if bnb_problem:
        print(f"\n{bnb_problem}")
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "model_gpu.json").write_text(json.dumps(report, indent=1, default=str))
        print(f"wrote {Path(out) / 'model_gpu.json'}")
    return 1 if bnb_problem else 0


if __name__ == "__main__":
    sys.exit(main())
