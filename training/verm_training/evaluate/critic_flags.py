"""The critic flags of ``verm check`` (``--critic``, ``--model``, ``--adapter``, ...) for the
training commands, and the critic they build.

Only the command line counts here, not ``~/.config/verm/config.toml``: an evaluation must say
exactly which model it scored. A user config that names an adapter would otherwise silently
turn "the base model" into the fine-tune being compared with it.
"""

from __future__ import annotations

import argparse
from typing import Any

from verm.config import CRITICS
from verm.critic.model.flags import add_model_flags, given_model_flags


def add_critic_flags(parser: argparse.ArgumentParser, default: str = "analytic") -> None:
    parser.add_argument("--critic", choices=CRITICS, default=default,
                        help=f"which critic judges (default {default})")
    add_model_flags(parser, "model critics (--critic model|remote|ensemble), as in `verm check`")


def critic_settings(args: argparse.Namespace) -> Any:
    """``ModelSettings`` from the flags (raises ``ModelSettingsError`` with the flag's name)."""
    from verm.critic.model.settings import ModelSettings, apply

    return apply(ModelSettings(), given_model_flags(args), "the command line")


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
