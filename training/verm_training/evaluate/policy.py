"""``verm train eval-policy``: how well a code-writing policy reproduces pictures — for each
reference image, ask it for the code, render that code with verm's own sandboxed renderers and
judge it against the image. Reported per domain: the share that rendered and the mean reward
(the paper's RL reward, so the number matches what ``verm train rl`` optimised).

The policy is reached through verm's revision machinery (``verm.revise.policy``: a local
checkpoint in a worker process, or an OpenAI-compatible server) and its answers are read by the
same code extractor, so a policy scored here behaves the same in ``verm revise``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from verm.critic.model.flags import given_model_flags
from verm.types import TAXONOMY
from verm_training.evaluate.critic_flags import add_critic_flags
from verm_training.evaluate.report import table, write_json

EXIT_OK, EXIT_USAGE = 0, 2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
SUFFIX = {"chart": ".py", "svg": ".svg", "html": ".html", "table": ".md"}
COLUMNS = (("images", "images", False), ("rendered", "render_rate", True),
           ("with code", "code_rate", True), ("reward", "mean_reward", False),
           ("equivalent", "equivalent_rate", True))


def generation_prompt(domain: str) -> str:
    """What the policy is asked: ``verm train rl``'s own instruction for the domain, so a
    policy is scored on the prompt it was trained on."""
    from verm_training.rl import INSTRUCTIONS

    return INSTRUCTIONS[domain]


@dataclass
class Outcome:
    image: str
    domain: str
    code: bool  # the answer held usable code
    rendered: bool
    reward: float
    errors: int
    why: str = ""  # no code, render failure, policy failure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=Path, required=True, metavar="DIR",
                        help="reference images (PNG/JPEG); an image's domain comes from its "
                        "verm pin sidecar or a <stem>.json {\"domain\": \"svg\"}, as in `rl`")
    parser.add_argument("--domain", choices=tuple(TAXONOMY), default="chart",
                        help="the domain of images without a sidecar (default chart)")
    policy = parser.add_argument_group("the policy (one of --policy, --policy-endpoint)")
    policy.add_argument("--policy", default=None, metavar="PATH",
                        help="a Qwen-VL-family checkpoint folder (e.g. `verm train rl`'s output)")
    policy.add_argument("--policy-adapter", default=None, metavar="PATH",
                        help="a PEFT LoRA adapter for --policy")
    policy.add_argument("--policy-endpoint", action="append", default=None, metavar="URL",
                        help="an OpenAI-compatible server serving the policy (repeatable)")
    policy.add_argument("--policy-name", default=None, metavar="NAME",
                        help="the served policy's name (default: the server's first)")
    policy.add_argument("--policy-api-key-env", default=None, metavar="VAR",
                        help="the environment variable holding the policy server's API key")
    policy.add_argument("--policy-max-new-tokens", type=int, default=None, metavar="N",
                        help="longest answer (default 4096)")
    policy.add_argument("--policy-temperature", type=float, default=None, metavar="T",
                        help="sampling temperature (default 0: greedy)")
    add_critic_flags(parser)
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="score only the first N images")
    parser.add_argument("--keep-sources", type=Path, default=None, metavar="DIR",
                        help="keep each generated source here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.json",
                        help="write the summary and each image's outcome here")


def _images(folder: Path, default: str, limit: int | None) -> list[tuple[Path, str]]:
    """The reference images and their domains, read as ``verm train rl`` reads them (a pin
    sidecar's ``kind`` or a ``<stem>.json`` ``{"domain": ...}``, else ``default``)."""
    from verm_training.rl import domain_of

    found = [(path, domain_of(path, default)) for path in sorted(folder.iterdir())
             if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()]
    return found[:limit] if limit is not None else found


def _policy_settings(args: argparse.Namespace) -> Any:
    from verm.revise.policy import PolicySettings, apply

    given = {"policy": args.policy, "policy-adapter": args.policy_adapter,
             "policy-endpoint": args.policy_endpoint, "policy-name": args.policy_name,
             "policy-api-key-env": args.policy_api_key_env,
             "policy-max-new-tokens": args.policy_max_new_tokens,
             "policy-temperature": args.policy_temperature}
    return apply(PolicySettings(), {k: v for k, v in given.items() if v is not None},
                 "the command line")


def one_image(policy: Any, checker: Any, image_path: Path, domain: str, folder: Path
              ) -> Outcome:
    """Ask, extract, write, render, judge: one reference image's outcome."""
    from verm.check import CriticError
    from verm.critic.model.prompts import bounded, png_bytes
    from verm.revise.policy import PolicyUnavailable
    from verm.revise.prompt import extract_code

    with Image.open(image_path) as im:
        png = png_bytes(bounded(im, policy.settings.image_size))
    name = image_path.name
    try:
        answer = policy.ask(generation_prompt(domain), [png])
    except PolicyUnavailable as exc:
        return Outcome(name, domain, False, False, 0.0, 0, f"policy: {exc}")
    code = extract_code(answer.text, domain)  # type: ignore[arg-type]
    if code is None:
        return Outcome(name, domain, False, False, 0.0, 0, "the answer held no code")
    source_path = folder / f"{image_path.stem}{SUFFIX[domain]}"
    source_path.write_text(code, encoding="utf-8")
    try:
        result = checker.check(checker.load(source_path), reference=image_path)
    except CriticError as exc:
        return Outcome(name, domain, True, True, 0.0, 0, f"critic: {exc}")
    why = ""
    if not result.render.ok and result.render.failure is not None:
        why = f"render: {result.render.failure.message}"
    return Outcome(name, domain, True, result.rendered, float(result.reward),
                   len(result.discrepancies), why)


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    n = len(outcomes)
    if not n:
        return {"images": 0}
    return {"images": n,
            "render_rate": sum(o.rendered for o in outcomes) / n,
            "code_rate": sum(o.code for o in outcomes) / n,
            "mean_reward": sum(o.reward for o in outcomes) / n,
            "equivalent_rate": sum(o.rendered and o.errors == 0 for o in outcomes) / n}


def run(args: argparse.Namespace) -> int:
    from verm.check import Checker
    from verm.config import ConfigError
    from verm.render import Renderers
    from verm.revise.policy import PolicySettingsError, open_policy

    if not args.images.is_dir():
        print(f"eval-policy: {args.images}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        images = _images(args.images, args.domain, args.limit)
        settings = _policy_settings(args)
        policy = open_policy(settings)
    except (ValueError, PolicySettingsError) as exc:
        print(f"eval-policy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not images:
        print(f"eval-policy: {args.images}: no images ({', '.join(IMAGE_SUFFIXES)})",
              file=sys.stderr)
        policy.close()
        return EXIT_USAGE
    overrides = given_model_flags(args)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="verm-eval-policy-") as tmp:
        folder = args.keep_sources or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with Checker(critic=args.critic, overrides=overrides,
                         renderers=Renderers(batch=True)) as checker:
                from tqdm import tqdm

                for path, domain in tqdm(images, unit="image", file=sys.stderr,
                                         disable=not sys.stderr.isatty()):
                    outcomes.append(one_image(policy, checker, path, domain, folder))
        except ConfigError as exc:
            print(f"eval-policy: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            policy.close()
    domains = sorted({o.domain for o in outcomes})
    out = {"policy": settings.describe(), "critic": args.critic, "images": str(args.images),
           "seconds": round(time.perf_counter() - started, 2),
           "overall": summarize(outcomes),
           "domains": {d: summarize([o for o in outcomes if o.domain == d]) for d in domains},
           "outcomes": [asdict(o) for o in outcomes]}
    print(table("domain", [("all", out["overall"]), *out["domains"].items()], COLUMNS))
    if args.out is not None:
        write_json(args.out, out)
        print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK
