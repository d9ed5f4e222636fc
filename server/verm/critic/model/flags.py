"""The model critics' command-line flags, one definition for ``verm check``/``verm revise`` and
the training commands (``verm train eval-critic``, ``eval-policy``)."""

from __future__ import annotations

import argparse
from typing import Any

# argparse dest → user setting (verm.critic.model.settings)
MODEL_FLAGS = (("model", "model"), ("adapter", "adapter"), ("quantize", "quantize"),
               ("device", "device"), ("endpoint", "endpoint"), ("model_name", "model-name"),
               ("api_key_env", "api-key-env"), ("max_new_tokens", "max-new-tokens"),
               ("temperature", "temperature"), ("image_size", "image-size"),
               ("prompts", "prompts"))


def add_model_flags(parser: argparse.ArgumentParser,
                    title: str = "model critics (--critic model|remote|ensemble)") -> None:
    """The model critics' settings as flags (the user's alone; also in the user config)."""
    group = parser.add_argument_group(title)
    group.add_argument("--model", default=None, metavar="PATH",
                       help="a Visual-ERM checkpoint folder (or a hub id your machine can reach; "
                       "the base model of --adapter)")
    group.add_argument("--adapter", default=None, metavar="PATH",
                       help="a PEFT LoRA adapter, e.g. the output of `verm train reward-model`")
    group.add_argument("--quantize", choices=("auto", "4bit", "8bit", "none"), default=None,
                       help="load the model in 4-bit (default on a CUDA GPU), 8-bit or full")
    group.add_argument("--device", default=None, metavar="DEV",
                       help="auto (default), cpu, cuda or cuda:N")
    group.add_argument("--endpoint", action="append", default=None, metavar="URL",
                       help="an OpenAI-compatible server, e.g. http://gpu-box:8000/v1 "
                       "(repeat for several, used round-robin)")
    group.add_argument("--model-name", default=None, metavar="NAME",
                       help="the served model's name (default: the server's first)")
    group.add_argument("--api-key-env", default=None, metavar="VAR",
                       help="the environment variable holding the server's API key")
    group.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                       help="longest judgement the model may write (default 1024)")
    group.add_argument("--temperature", type=float, default=None, metavar="T",
                       help="sampling temperature (default 0: greedy, the same answer twice)")
    group.add_argument("--image-size", type=int, default=None, metavar="PX",
                       help="longest side of each image sent to the model (default 1024)")
    group.add_argument("--prompts", default=None, metavar="DIR",
                       help="a folder of <domain>.txt prompts replacing verm's")


def given_model_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The model flags given on the command line, as user-setting keys."""
    return {key: getattr(args, dest) for dest, key in MODEL_FLAGS
            if getattr(args, dest, None) is not None}
