"""The critic flags of ``verm check`` (``--critic``, ``--model``, ``--adapter``, ...) for the
training commands, and the critic they build.

Only the command line counts here, not ``~/.config/verm/config.toml``: an evaluation must say
exactly which model it scored. A user config that names an adapter would otherwise silently
turn "the base model" into the fine-tune being compared with it.
"""

from __future__ import annotations

import argparse
from typing import Any

CRITICS = ("analytic", "model", "remote", "ensemble")
# argparse dest → verm.critic.model.settings key
FLAGS = (("model", "model"), ("adapter", "adapter"), ("quantize", "quantize"),
         ("device", "device"), ("endpoint", "endpoint"), ("model_name", "model-name"),
         ("api_key_env", "api-key-env"), ("max_new_tokens", "max-new-tokens"),
         ("temperature", "temperature"), ("image_size", "image-size"))


def add_critic_flags(parser: argparse.ArgumentParser, default: str = "analytic") -> None:
    parser.add_argument("--critic", choices=CRITICS, default=default,
                        help=f"which critic judges (default {default})")
    group = parser.add_argument_group("model critics (--critic model|remote|ensemble), as in "
                                      "`verm check`")
    group.add_argument("--model", default=None, metavar="PATH",
                       help="a Visual-ERM checkpoint folder (or the base model of --adapter)")
    group.add_argument("--adapter", default=None, metavar="PATH",
                       help="a PEFT LoRA adapter, e.g. the output of `verm train reward-model`")
    group.add_argument("--quantize", choices=("auto", "4bit", "8bit", "none"), default=None,
                       help="load the model in 4-bit (default on a CUDA GPU), 8-bit or full")
    group.add_argument("--device", default=None, metavar="DEV",
                       help="auto (default), cpu, cuda or cuda:N")
    group.add_argument("--endpoint", action="append", default=None, metavar="URL",
                       help="an OpenAI-compatible server, e.g. http://gpu:8000/v1 (repeat for "
                       "several, used round-robin)")
    group.add_argument("--model-name", default=None, metavar="NAME",
                       help="the served model's name (default: the server's first)")
    group.add_argument("--api-key-env", default=None, metavar="VAR",
                       help="the environment variable holding the server's API key")
    group.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                       help="longest judgement the model may write (default 1024)")
    group.add_argument("--temperature", type=float, default=None, metavar="T",
                       help="sampling temperature (default 0: greedy)")
    group.add_argument("--image-size", type=int, default=None, metavar="PX",
                       help="longest side of each image sent to the model (default 1024)")


def critic_settings(args: argparse.Namespace) -> Any:
    """``ModelSettings`` from the flags (raises ``ModelSettingsError`` with the flag's name)."""
    from verm.critic.model.settings import ModelSettings, apply

    given = {key: getattr(args, dest) for dest, key in FLAGS
             if getattr(args, dest, None) is not None}
    return apply(ModelSettings(), given, "the command line")


def build_critic(args: argparse.Namespace) -> Any:
    """The critic ``args`` name; raises ``ValueError`` (a usage error) when it cannot be built."""
    from verm.critic import get_critic

    settings = None if args.critic == "analytic" else critic_settings(args)
    if args.critic in ("model", "ensemble") and settings is not None and not settings.model \
            and not settings.endpoints:
        raise ValueError(f"--critic {args.critic} needs --model PATH (or --endpoint URL)")
    if args.critic == "remote" and settings is not None and not settings.endpoints:
        raise ValueError("--critic remote needs --endpoint URL")
    return get_critic(args.critic, settings=settings)
