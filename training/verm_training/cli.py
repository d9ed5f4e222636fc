"""``verm train …`` (also ``python -m verm_training …`` and ``accelerate launch -m
verm_training …``): one entry point for every recipe.

Each sub-command's module is imported only when that command runs: ``verm train eval-critic``
must not pay for importing TRL, and a recipe that is not installed (or not written yet) must
not break the others. Each recipe module exposes ``add_arguments(parser)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from types import ModuleType

EXIT_USAGE = 2
# command → (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("verm_training.synth",
              "reward-model data from your own sources by deterministic mutation"),
    "reward-model": ("verm_training.reward_model",
                     "fine-tune the critic (SFT; LoRA, QLoRA or full) on synth data"),
    "rl": ("verm_training.rl",
           "GRPO of a vision-to-code policy with a critic as the reward"),
    "eval-critic": ("verm_training.evaluate.critic",
                    "score a critic: error F1 (hard/soft), severity Pearson, reward ranking"),
    "eval-policy": ("verm_training.evaluate.policy",
                    "score a policy: render success and mean reward per domain"),
}


def _load(module: str) -> ModuleType | str:
    """The recipe module, or why it cannot be used (a message for the user)."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        if missing == module or module.startswith(f"{missing}."):
            return f"{module} is not part of this installation of verm"
        return (f"{module} needs {missing!r}, which is not installed; install the training "
                f"extra: pip install 'verm[train]'")
    if not callable(getattr(loaded, "add_arguments", None)) or \
            not callable(getattr(loaded, "run", None)):
        return f"{module} has no command in it (add_arguments and run) in this version"
    return loaded


def build_parser(command: str | None = None, module: ModuleType | None = None
                 ) -> argparse.ArgumentParser:
    """The parser; only ``command``'s ``module`` adds its arguments (the others' modules are
    never imported)."""
    parser = argparse.ArgumentParser(
        prog="verm train", description="Teach the critic your house style, and reinforce a "
        "code writer with it. Launch a recipe on several GPUs with `accelerate launch "
        "--config_file training/configs/<config>.yaml -m verm_training <command> ...`.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == command and module is not None:
            module.add_arguments(cmd)
            cmd.set_defaults(run=module.run)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The sub-command in ``argv`` (its first word that is not an option), before parsing."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    module = None
    if command is not None:
        loaded = _load(COMMANDS[command][0])
        if isinstance(loaded, str):
            print(f"verm train {command}: {loaded}", file=sys.stderr)
            return EXIT_USAGE
        module = loaded
    parser = build_parser(command, module)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad arguments (2, message printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return int(run(args))
    except KeyboardInterrupt:
        print(f"verm train {args.command}: interrupted", file=sys.stderr)
        return 130
