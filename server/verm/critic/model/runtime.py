"""The model itself, inside the worker process: load a Qwen-VL-family checkpoint, generate text.

Only the worker imports this module (torch and transformers never enter the language server
or the CLI's parent process). Loading follows the published model's needs: ``AutoProcessor`` +
``AutoModelForImageTextToText`` from a folder (or a hub id where the user's machine can reach
one), nf4 4-bit on CUDA by default with the vision tower and ``lm_head`` left in full precision
(quantizing them costs accuracy for little memory), an optional PEFT LoRA adapter on top.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUANTIZE = ("auto", "4bit", "8bit", "none")
# Module-name prefixes bitsandbytes must leave alone: the vision tower (its name differs across
# Qwen-VL generations and transformers versions) and the output head. Matching is by prefix of
# the full module name, and prefixes no module has are harmless.
SKIP_QUANTIZE = ("model.visual", "visual", "model.vision_tower", "vision_tower", "lm_head")
VISION_PREFIXES = ("model.visual", "visual", "model.vision_tower", "vision_tower")


@dataclass(frozen=True)
class ModelSpec:
    """What to load; chosen by the user only (never by a workspace file)."""

    path: str
    adapter: str | None = None
    quantize: str = "auto"  # auto: 4bit on CUDA, none on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    trust_remote_code: bool = False  # runs the checkpoint's own Python: the user's call alone

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelSpec:
        return cls(path=str(d["path"]), adapter=d.get("adapter") or None,
                   quantize=str(d.get("quantize") or "auto"), device=str(d.get("device") or "auto"),
                   trust_remote_code=bool(d.get("trust_remote_code", False)))


@dataclass
class Loaded:
    processor: Any
    model: Any
    facts: dict[str, Any] = field(default_factory=dict)


def _device(spec: ModelSpec, torch: Any) -> str:
    if spec.device != "auto":
        return spec.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def quantization(spec: ModelSpec, device: str, torch: Any) -> Any | None:
    """The ``BitsAndBytesConfig`` for ``spec`` on ``device`` (None: full precision)."""
    mode = spec.quantize
    if mode == "auto":
        mode = "4bit" if device.startswith("cuda") else "none"
    if mode == "none":
        return None
    from transformers import BitsAndBytesConfig

    if mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(SKIP_QUANTIZE))
    if mode != "4bit":
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)}, got {spec.quantize!r}")
    compute = torch.bfloat16 if device.startswith("cuda") or device == "cpu" else torch.float32
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute,
                              llm_int8_skip_modules=list(SKIP_QUANTIZE))


def quantized_modules(model: Any) -> dict[str, Any]:
    """Which linear layers are quantized, and whether any sits in the vision tower or the head:
    the proof that 4-bit left them in full precision."""
    names = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if kind in ("Linear4bit", "Linear8bitLt"):
            names.append(name.removeprefix("base_model.model."))
    vision = [n for n in names if n.startswith(VISION_PREFIXES)]
    return {"quantized_linear": len(names), "quantized_vision": len(vision),
            "quantized_lm_head": any(n == "lm_head" or n.endswith(".lm_head") for n in names),
            "quantized_kinds": sorted({type(m).__name__ for _, m in model.named_modules()
                                       if type(m).__name__ in ("Linear4bit", "Linear8bitLt")})}


def load(spec: ModelSpec, on_status: Callable[[str, float], None] | None = None) -> Loaded:
    """Load processor and model (and adapter) as ``spec`` says; facts say what was loaded."""
    say = on_status or (lambda message, fraction: None)
    start = time.perf_counter()
    say("importing torch and transformers", 0.05)
    import torch

    from verm.critic.model.compat import allow_missing_torchvision

    shim = allow_missing_torchvision()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    device = _device(spec, torch)
    quant = quantization(spec, device, torch)
    say(f"loading the processor from {spec.path}", 0.15)
    processor = AutoProcessor.from_pretrained(spec.path, trust_remote_code=spec.trust_remote_code)
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.padding_side = "left"
    precision = "" if quant is None else " in 4-bit" if quant.load_in_4bit else " in 8-bit"
    say(f"loading the model{precision} on {device}", 0.3)
    kwargs: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if quant is not None:
        kwargs["quantization_config"] = quant
        kwargs["device_map"] = "auto" if device.startswith("cuda") else {"": device}
    elif device.startswith("cuda"):
        kwargs["device_map"] = "auto"
        kwargs["dtype"] = torch.bfloat16
    else:
        kwargs["dtype"] = torch.float32
    model = AutoModelForImageTextToText.from_pretrained(spec.path, **kwargs)
    if quant is None and not device.startswith("cuda"):
        model = model.to(device)
    if spec.adapter:
        say(f"loading the adapter {spec.adapter}", 0.85)
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, spec.adapter)
    model.eval()
    facts: dict[str, Any] = {
        "device": device, "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "quantize": ("4bit" if quant is not None and quant.load_in_4bit else
                     "8bit" if quant is not None else "none"),
        "adapter": spec.adapter, "torchvision_fallback": shim,
        "parameters": sum(p.numel() for p in model.parameters()),
        "load_s": round(time.perf_counter() - start, 3),
    }
    facts.update(quantized_modules(model))
    if device.startswith("cuda"):
        facts["vram_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    say("model ready", 1.0)
    return Loaded(processor, model, facts)


@dataclass(frozen=True)
class Sampling:
    """Decoding: greedy by default (an editor must give the same answer twice)."""

    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sampling:
        return cls(max_new_tokens=int(d.get("max_new_tokens", 1024)),
                   temperature=float(d.get("temperature") or 0.0),
                   top_p=d.get("top_p"), top_k=d.get("top_k"),
                   repetition_penalty=d.get("repetition_penalty"))

    def generate_kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_new_tokens": self.max_new_tokens}
        if self.temperature > 0:
            out.update(do_sample=True, temperature=self.temperature)
            if self.top_p is not None:
                out["top_p"] = float(self.top_p)
            if self.top_k is not None:
                out["top_k"] = int(self.top_k)
        else:
            out.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if self.repetition_penalty is not None:
            out["repetition_penalty"] = float(self.repetition_penalty)
        return out


def generate(loaded: Loaded, messages: list[dict[str, Any]], images: list[Any],
             sampling: Sampling, on_text: Callable[[str], None],
             stop: threading.Event) -> dict[str, Any]:
    """Generate an answer to ``messages`` with ``images`` (in order); each decoded piece goes to
    ``on_text`` as it is produced. ``stop`` ends generation early (a newer save came)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    processor, model = loaded.processor, loaded.model
    start = time.perf_counter()
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[images] if images else None, return_tensors="pt")
    device = next(model.parameters()).device
    inputs = {k: (v.to(device) if hasattr(v, "to") else v) for k, v in inputs.items()}
    tokenizer = getattr(processor, "tokenizer", processor)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)

    class Stop(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return stop.is_set()

    out: dict[str, Any] = {}
    first: list[float] = []

    def run() -> None:
        try:
            with torch.inference_mode():
                ids = model.generate(**inputs, **sampling.generate_kwargs(), streamer=streamer,
                                     stopping_criteria=StoppingCriteriaList([Stop()]))
            out["tokens"] = int(ids.shape[1] - inputs["input_ids"].shape[1])
        except BaseException as exc:  # reported to the caller, never lost in the thread
            out["error"] = exc
            streamer.end()

    thread = threading.Thread(target=run, name="verm-generate", daemon=True)
    thread.start()
    pieces: list[str] = []
    for piece in streamer:
        if piece:
            if not first:
                first.append(time.perf_counter() - start)
            pieces.append(piece)
            on_text(piece)
    thread.join()
    if "error" in out:
        raise out["error"]
    return {"text": "".join(pieces), "tokens": out.get("tokens", 0),
            "prompt_tokens": int(inputs["input_ids"].shape[1]),
            "first_text_s": round(first[0], 4) if first else None,
            "seconds": round(time.perf_counter() - start, 4), "stopped": stop.is_set()}
