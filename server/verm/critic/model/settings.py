"""The model critics' settings: which model or server, how to decode. The user's alone.

They come from the user config (``~/.config/verm/config.toml``), the editor's settings and CLI
flags — never from a workspace file: a model path is code to load, an endpoint is where a
picture of the user's work is sent, and both spend the user's GPU. Keys are kebab-case as in
the config file; the editor's camelCase names are mapped by the language server.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from verm.critic.model.runtime import QUANTIZE, ModelSpec

# config key → (field, kind)
KEYS: dict[str, tuple[str, str]] = {
    "model": ("model", "str"),
    "adapter": ("adapter", "str"),
    "quantize": ("quantize", "quantize"),
    "device": ("device", "str"),
    "trust-remote-code": ("trust_remote_code", "bool"),
    "endpoint": ("endpoints", "urls"),
    "model-name": ("model_name", "str"),
    "api-key-env": ("api_key_env", "str"),
    "max-new-tokens": ("max_new_tokens", "int"),
    "temperature": ("temperature", "float"),
    "top-p": ("top_p", "float"),
    "top-k": ("top_k", "int"),
    "image-size": ("image_size", "int"),
    "prompts": ("prompts", "str"),
    "idle-unload": ("idle_unload_s", "float"),
    "remote-timeout": ("remote_timeout_s", "float"),
    "remote-retries": ("remote_retries", "int"),
    "remote-concurrency": ("remote_concurrency", "int"),
    "stream": ("stream", "bool"),
}
RANGES: dict[str, tuple[float, float]] = {
    "max_new_tokens": (16, 32768), "temperature": (0.0, 2.0), "top_p": (0.0, 1.0),
    "top_k": (1, 1000), "image_size": (64, 4096), "idle_unload_s": (0, 86400 * 7),
    "remote_timeout_s": (1, 3600), "remote_retries": (0, 10), "remote_concurrency": (1, 256),
}


class ModelSettingsError(ValueError):
    """A model setting verm cannot use; the message names it and says what is expected."""


@dataclass(frozen=True)
class ModelSettings:
    model: str | None = None  # a local folder (or a hub id the machine can reach)
    adapter: str | None = None  # a PEFT LoRA folder
    quantize: str = "auto"  # auto (4bit on CUDA) | 4bit | 8bit | none
    device: str = "auto"
    trust_remote_code: bool = False
    endpoints: tuple[str, ...] = ()  # OpenAI-compatible base URLs, used round-robin
    model_name: str | None = None  # the served model's name (None: the server's first)
    api_key_env: str | None = None  # the NAME of the environment variable with the key
    max_new_tokens: int = 1024
    temperature: float = 0.0  # greedy: the same picture gets the same answer twice
    top_p: float | None = None
    top_k: int | None = None
    image_size: int = 1024  # each image's longest side, at most
    prompts: str | None = None  # a folder of <domain>.txt prompts replacing verm's
    idle_unload_s: float = 600.0  # unload the local model after this long unused (0: never)
    remote_timeout_s: float = 120.0
    remote_retries: int = 2
    remote_concurrency: int = 4
    stream: bool = True

    def spec(self) -> ModelSpec:
        if not self.model:
            raise ModelSettingsError(
                "the model critic needs a model: pass --model PATH, or set `model = \"...\"` "
                "in ~/.config/verm/config.toml (or verm.modelPath in your editor)")
        return ModelSpec(path=self.model, adapter=self.adapter, quantize=self.quantize,
                         device=self.device, trust_remote_code=self.trust_remote_code)

    def sampling(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                "top_p": self.top_p, "top_k": self.top_k}


def convert(key: str, kind: str, value: Any, where: str,
            error: type[Exception] = ModelSettingsError) -> Any:
    """One user setting as its ``kind`` (str, bool, quantize, urls, int, float); None when unset
    (None, "", an empty list). Shared by the model critics' and the revision policy's settings;
    a bad value raises ``error`` naming ``where`` and the key."""
    at = f"{where}: {key}"
    if value is None or value == "" or value == []:
        return None
    if kind == "str":
        return str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise error(f"{at}: expected true or false, got {value!r}")
    if kind == "quantize":
        if str(value) not in QUANTIZE:
            raise error(f"{at}: expected one of {', '.join(QUANTIZE)}, got {value!r}")
        return str(value)
    if kind == "urls":
        urls = [value] if isinstance(value, str) else list(value)
        parts = [p.strip() for url in urls for p in str(url).split(",") if p.strip()]
        for part in parts:
            if not part.startswith(("http://", "https://")):
                raise error(f"{at}: expected http(s) URLs, got {part!r}")
        return tuple(parts) or None
    try:
        return int(value) if kind == "int" else float(value)
    except (TypeError, ValueError):
        raise error(f"{at}: expected a number, got {value!r}") from None


def apply(base: ModelSettings, settings: dict[str, Any], where: str) -> ModelSettings:
    """``base`` with the model keys of ``settings`` (a user layer) on top; others ignored."""
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        k = key.replace("_", "-").lower()
        if k == "api-key":
            raise ModelSettingsError(
                f"{where}: api-key: verm does not read API keys from files; put the key in an "
                f"environment variable and name it with api-key-env = \"VARIABLE\"")
        if k not in KEYS:
            continue
        name, kind = KEYS[k]
        converted = convert(k, kind, value, where)
        if converted is None and name in ("quantize", "device"):
            continue
        lo_hi = RANGES.get(name)
        if lo_hi is not None and converted is not None and not lo_hi[0] <= converted <= lo_hi[1]:
            raise ModelSettingsError(f"{where}: {k}: {converted:g} is outside "
                                     f"{lo_hi[0]:g}..{lo_hi[1]:g}")
        changes[name] = converted if converted is not None or name != "endpoints" else ()
    return replace(base, **changes)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(ModelSettings))
