"""The revision policy: a vision-language model that rewrites code from the reference image,
the code and the critique; its settings, and the two ways to reach it.

Settings are the user's alone (``~/.config/verm/config.toml``, then the editor's settings or
CLI flags; never a workspace file): a policy path is code to load, an endpoint is where the
user's code and pictures are sent. Keys are kebab-case, ``policy-`` prefixed so they never
collide with the critic's model keys. The nearest layer that names a policy decides where it
runs: ``--policy PATH`` on the command line replaces a ``policy-endpoint`` of the config file.

A local policy runs in the same kind of worker process as the model critic (torch never enters
the language server); a remote one is any OpenAI-compatible server (``vllm serve``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from verm.config import ConfigError
from verm.critic.model.settings import convert

KEYS: dict[str, tuple[str, str]] = {
    "policy": ("model", "str"),
    "policy-adapter": ("adapter", "str"),
    "policy-quantize": ("quantize", "quantize"),
    "policy-device": ("device", "str"),
    "policy-endpoint": ("endpoints", "urls"),
    "policy-name": ("name", "str"),
    "policy-api-key-env": ("api_key_env", "str"),
    "policy-rounds": ("rounds", "int"),
    "policy-max-new-tokens": ("max_new_tokens", "int"),
    "policy-temperature": ("temperature", "float"),
    "policy-image-size": ("image_size", "int"),
    "policy-timeout": ("timeout_s", "float"),
}
RANGES: dict[str, tuple[float, float]] = {
    "rounds": (1, 20), "max_new_tokens": (64, 65536), "temperature": (0.0, 2.0),
    "image_size": (64, 4096), "timeout_s": (1, 3600),
}
OnText = Callable[[str], None]
Cancelled = Callable[[], bool]


class PolicySettingsError(ConfigError):
    """A policy setting verm cannot use; the message names it and says what is expected."""


class PolicyUnavailable(Exception):
    """The policy could not answer (worker failed, server unreachable); the message says why."""


class PolicyCancelled(Exception):
    pass


@dataclass(frozen=True)
class PolicySettings:
    model: str | None = None  # a local checkpoint folder (Qwen-VL-family instruct model)
    adapter: str | None = None  # a PEFT LoRA folder on top of it
    quantize: str = "auto"  # auto (4bit on CUDA) | 4bit | 8bit | none
    device: str = "auto"
    endpoints: tuple[str, ...] = ()  # OpenAI-compatible base URLs, used round-robin
    name: str | None = None  # the served model's name (None: the server's first)
    api_key_env: str | None = None  # the NAME of the environment variable with the key
    rounds: int = 3  # the paper's reflection rounds
    max_new_tokens: int = 4096  # the whole revised file must fit
    temperature: float = 0.0  # greedy: the same request gets the same revision
    image_size: int = 1024  # each image's longest side, at most
    timeout_s: float = 300.0  # a remote server silent this long has stalled

    @property
    def configured(self) -> bool:
        return bool(self.model or self.endpoints)

    def describe(self) -> str:
        if self.endpoints:
            return f"{self.name or 'the served model'} at {self.endpoints[0]}"
        return f"{self.model}" + (f" + {self.adapter}" if self.adapter else "")


def apply(base: PolicySettings, settings: dict[str, Any], where: str) -> PolicySettings:
    """``base`` with the policy keys of ``settings`` (one user layer) on top; others ignored."""
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        k = key.replace("_", "-").lower()
        if k == "policy-api-key":
            raise PolicySettingsError(
                f"{where}: policy-api-key: verm does not read API keys from settings; put the "
                f"key in an environment variable and name it with policy-api-key-env")
        if k not in KEYS:
            continue
        name, kind = KEYS[k]
        converted = convert(k, kind, value, where, PolicySettingsError)
        if converted is None:
            continue  # unset (an editor's null): the layer below stands
        lo_hi = RANGES.get(name)
        if lo_hi is not None and not lo_hi[0] <= converted <= lo_hi[1]:
            raise PolicySettingsError(f"{where}: {k}: {converted:g} is outside "
                                      f"{lo_hi[0]:g}..{lo_hi[1]:g}")
        changes[name] = converted
    if "model" in changes and "endpoints" in changes:
        raise PolicySettingsError(f"{where}: both policy and policy-endpoint are set; set one "
                                  f"(a local checkpoint, or a server)")
    if "model" in changes:  # this layer names a local policy: the server below no longer counts
        changes["endpoints"] = ()
    elif "endpoints" in changes:
        changes["model"] = None
    return replace(base, **changes)


def read_settings(user: dict[str, Any], overrides: dict[str, Any], user_where: str,
                  ) -> PolicySettings:
    """The policy settings: the user config file's, then the editor's or CLI's on top."""
    return apply(apply(PolicySettings(), user, user_where), overrides, "your settings")


# -- reaching the model ----------------------------------------------------------------------
class Policy(Protocol):
    """A model that answers one revision request (reference image first, then the render)."""

    settings: PolicySettings

    def ask(self, prompt: str, images: list[bytes], on_text: OnText | None = None,
            cancelled: Cancelled | None = None) -> Answer: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Answer:
    text: str
    truncated: bool  # stopped at max-new-tokens: the code in it is likely cut short


class LocalPolicy:
    """A checkpoint on this machine, in a worker process loaded on first use."""

    def __init__(self, settings: PolicySettings, idle_s: float = 600.0) -> None:
        from verm.critic.model.client import ModelWorker
        from verm.critic.model.runtime import ModelSpec

        assert settings.model
        self.settings = settings
        self.worker = ModelWorker(ModelSpec(path=settings.model, adapter=settings.adapter,
                                            quantize=settings.quantize, device=settings.device),
                                  idle_s=idle_s)

    def ask(self, prompt: str, images: list[bytes], on_text: OnText | None = None,
            cancelled: Cancelled | None = None) -> Answer:
        from verm.critic.model.client import Cancelled as WorkerCancelled
        from verm.critic.model.client import WorkerError

        s = self.settings
        messages = [{"role": "user", "content": [*({"type": "image"} for _ in images),
                                                 {"type": "text", "text": prompt}]}]
        sampling = {"max_new_tokens": s.max_new_tokens, "temperature": s.temperature,
                    "top_p": None, "top_k": None}
        try:
            done = self.worker.generate(messages, images, sampling, on_text=on_text,
                                        cancelled=cancelled)
        except WorkerCancelled as exc:
            raise PolicyCancelled(str(exc)) from exc
        except WorkerError as exc:
            raise PolicyUnavailable(f"the policy {s.describe()}: {exc}") from exc
        return Answer(str(done.get("text", "")),
                      truncated=int(done.get("tokens") or 0) >= s.max_new_tokens)

    def close(self) -> None:
        self.worker.close()


class RemotePolicy:
    """A model behind an OpenAI-compatible server; images go as PNG ``data:`` URLs."""

    def __init__(self, settings: PolicySettings) -> None:
        from verm.critic.model.openai import ChatClient, EndpointConfig

        self.settings = settings
        self.client = ChatClient(EndpointConfig(
            urls=settings.endpoints, model=settings.name, api_key_env=settings.api_key_env,
            timeout_s=settings.timeout_s, retries=1, concurrency=1))

    def ask(self, prompt: str, images: list[bytes], on_text: OnText | None = None,
            cancelled: Cancelled | None = None) -> Answer:
        from verm.critic.model.openai import Cancelled as RemoteCancelled
        from verm.critic.model.openai import RemoteError

        s = self.settings
        content: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {
                "url": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}}
            for png in images]
        content.append({"type": "text", "text": prompt})
        try:
            done = self.client.complete([{"role": "user", "content": content}],
                                        max_tokens=s.max_new_tokens, temperature=s.temperature,
                                        stream=True, on_text=on_text, cancelled=cancelled)
        except RemoteCancelled as exc:
            raise PolicyCancelled(str(exc)) from exc
        except RemoteError as exc:
            raise PolicyUnavailable(f"the policy server: {exc}") from exc
        return Answer(done.text, truncated=done.finish_reason == "length")

    def close(self) -> None:
        pass


def open_policy(settings: PolicySettings) -> Policy:
    """The policy ``settings`` name (a server when it names one, else the local checkpoint)."""
    if settings.endpoints:
        try:
            return RemotePolicy(settings)
        except Exception as exc:  # RemoteError: settings out of range
            raise PolicySettingsError(f"the policy server: {exc}") from exc
    if settings.model:
        return LocalPolicy(settings)
    raise PolicySettingsError(
        "no policy model configured: pass --policy PATH or --policy-endpoint URL, or set "
        "`policy = \"...\"` / `policy-endpoint = \"...\"` in ~/.config/verm/config.toml")
