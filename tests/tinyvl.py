"""A tiny random Qwen3-VL built offline, for tests: the real architecture, processor and chat
template at ~0.5M parameters (NOTES.md: "Tiny vision-language models"). Nothing is downloaded.

Layer widths are multiples of 64 so bitsandbytes' CPU 4-bit path works on every layer; the
vision tower is as wide as the text model so a test can tell it was left unquantized.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>"]

# Qwen-VL's chat layout, small: each image is <|vision_start|><|image_pad|><|vision_end|>.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

# Text the byte-level BPE learns merges from: the JSON a critic writes, so answers are short.
CORPUS = [
    '{"structure_error_count": 0, "data_error_count": 0, "text_error_count": 1, '
    '"style_error_count": 0, "errors": [{"category": "text_error", "severity": 2, '
    '"location": "title", "description": "The title reads Sales 2023 instead of Sales 2024"}]}',
    "def plot import matplotlib pyplot as plt fig ax subplots bar title color savefig",
    "Image 1 is the ground truth reference, Image 2 is the rendered prediction. errors",
]


def build_tiny_qwen3vl(out: Path, seed: int = 0, vocab: int = 420) -> Path:
    """Write a tiny random Qwen3-VL (model, processor, tokenizer, chat template) to ``out``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AutoModelForImageTextToText, Qwen2Tokenizer, Qwen3VLConfig

    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    from transformers import Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.video_processing_utils import BaseVideoProcessor

    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS * 20, trainer)
    spec = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=spec["vocab"], merges=merges, unk_token=None,
                               bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS})
    images = Qwen2VLImageProcessorPil(patch_size=16, temporal_patch_size=2, merge_size=2,
                                      min_pixels=32 * 32, max_pixels=256 * 256)
    processor = Qwen3VLProcessor(image_processor=images, tokenizer=tokenizer,
                                 video_processor=BaseVideoProcessor(), chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "head_dim": 16, "max_position_embeddings": 4096,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 1e6,
                                         "mrope_section": [2, 3, 3], "mrope_interleaved": True}},
        vision_config={"depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
                       "patch_size": 16, "temporal_patch_size": 2, "spatial_merge_size": 2,
                       "out_hidden_size": 64, "num_position_embeddings": 256,
                       "deepstack_visual_indexes": [1]},
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config.eos_token_id = ids("<|im_end|>")
    model.generation_config.pad_token_id = ids("<|endoftext|>")
    model.save_pretrained(out)
    return out


def train_tiny_critic(base: Path, out: Path, images: list, prompt: list[dict], target: str,
                      steps: int = 150, seed: int = 0) -> Path:
    """Teach the tiny model (a LoRA adapter, TRL's SFT) to answer ``prompt`` about ``images``
    (reference, render) with exactly ``target``; save the adapter to ``out``."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    torch.manual_seed(seed)
    row = {"images": images, "prompt": prompt,
           "completion": [{"role": "assistant", "content": [{"type": "text", "text": target}]}]}
    processor = AutoProcessor.from_pretrained(base)
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    config = SFTConfig(output_dir=str(out / "run"), max_steps=steps, learning_rate=5e-3,
                       per_device_train_batch_size=1, lr_scheduler_type="constant",
                       bf16=False, use_cpu=True, max_length=None, save_strategy="no",
                       report_to=[], logging_steps=steps, disable_tqdm=True, seed=seed)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list([row] * 8),
                         processing_class=processor,
                         peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                modules_to_save=["lm_head"]))
    trainer.train()
    trainer.model.save_pretrained(out)
    return out


def merge_adapter(base: Path, adapter: Path, out: Path) -> Path:
    """Base + adapter as one plain checkpoint (what a team would serve with vLLM)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from verm.critic.model.compat import allow_missing_torchvision

    allow_missing_torchvision()
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    merged.save_pretrained(out)
    AutoProcessor.from_pretrained(base).save_pretrained(out)
    return out
