"""The server's settings: typed, defaulted, layered, and forgiving of bad values.

Layers, lowest first: the defaults here; ``[tool.verm]`` in the workspace's config file (read
per source by ``verm.config``); ``workspace/configuration`` (section ``verm``);
``initializationOptions``. A bad value is reported to the user and replaced by its default —
a typo in an editor setting must never stop the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from verm.config import CRITICS, ConfigError, apply_settings, parse_viewport
from verm.render.base import RenderOptions

RUN_ON = ("save", "change", "open")
# Editor setting → user setting of the model critics and the revision policy (kebab-case keys
# of verm.critic.model.settings and verm.revise); validated where they are used.
MODEL_SETTINGS = {
    "modelPath": "model", "model": "model", "adapter": "adapter", "quantize": "quantize",
    "device": "device", "endpoint": "endpoint", "modelName": "model-name",
    "apiKeyEnv": "api-key-env", "maxNewTokens": "max-new-tokens", "temperature": "temperature",
    "imageSize": "image-size", "prompts": "prompts", "idleUnload": "idle-unload",
    "trustRemoteCode": "trust-remote-code", "remoteTimeout": "remote-timeout",
    "remoteRetries": "remote-retries", "remoteConcurrency": "remote-concurrency",
    "stream": "stream",
    "policy": "policy", "policyAdapter": "policy-adapter", "policyEndpoint": "policy-endpoint",
    "policyName": "policy-name", "policyApiKeyEnv": "policy-api-key-env",
    "policyRounds": "policy-rounds", "policyMaxNewTokens": "policy-max-new-tokens",
    "policyTemperature": "policy-temperature", "policyQuantize": "policy-quantize",
    "policyDevice": "policy-device", "policyImageSize": "policy-image-size",
    "policyTimeout": "policy-timeout",
}


@dataclass(frozen=True)
class Settings:
    critic: str | None = None  # None: the config file's, else analytic
    model_path: str | None = None
    endpoint: str | tuple[str, ...] | None = None
    severity_threshold: int = 1  # show discrepancies of at least this severity (1..3)
    timeout: float | None = None  # seconds; None: the config file's (default 10)
    chromium: str | None = None
    viewport: str | None = None  # "1280x800"
    run_on: tuple[str, ...] = ("open", "save")
    workers: int = 2  # sources judged at once
    debounce_ms: int = 300  # quiet time after a change before judging (run-on change)
    trusted: bool | None = None  # None: unknown client → trust only the workspace root
    extra: dict[str, Any] = field(default_factory=dict)

    def render_overrides(self) -> dict[str, Any]:
        """The render settings that override the config files (``verm.config`` keys)."""
        out: dict[str, Any] = {}
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.chromium:
            out["chromium"] = self.chromium
        if self.viewport:
            out["viewport"] = self.viewport
        return out

    def model_overrides(self) -> dict[str, Any]:
        """The editor's model and policy settings, as user-config keys (the user's alone)."""
        out: dict[str, Any] = {}
        if self.model_path:
            out["model"] = self.model_path
        if self.endpoint:
            out["endpoint"] = self.endpoint
        for key, value in self.extra.items():
            name = MODEL_SETTINGS.get(key) or (key if key in MODEL_SETTINGS.values() else None)
            if name is not None and value is not None and name not in out:
                out[name] = value
        return out


_ALIASES = {"severityThreshold": "severity_threshold", "modelPath": "model_path",
            "runOn": "run_on", "debounceMs": "debounce_ms", "run-on": "run_on"}


def _check(name: str, value: Any) -> Any:
    """The value to store for ``name``, or ``ValueError`` saying what is expected."""
    if name == "critic":
        if value not in CRITICS:
            raise ValueError(f"one of {', '.join(CRITICS)}")
        return str(value)
    if name == "severity_threshold":
        if isinstance(value, str):
            words = {"error": 3, "warning": 2, "information": 1, "info": 1}
            value = words.get(value.lower(), value)
        if int(value) not in (1, 2, 3):
            raise ValueError("1, 2 or 3 (or error/warning/information)")
        return int(value)
    if name == "timeout":
        v = float(value)
        if not 0.1 <= v <= 600:
            raise ValueError("seconds between 0.1 and 600")
        return v
    if name == "viewport":
        parse_viewport(value, "viewport")
        return str(value)
    if name == "run_on":
        items = (value,) if isinstance(value, str) else tuple(value)
        if not items or any(i not in RUN_ON for i in items):
            raise ValueError(f"any of {', '.join(RUN_ON)}")
        return tuple(items)
    if name == "workers":
        v = int(value)
        if not 1 <= v <= 16:
            raise ValueError("a number of workers between 1 and 16")
        return v
    if name == "debounce_ms":
        v = int(value)
        if not 0 <= v <= 10_000:
            raise ValueError("milliseconds between 0 and 10000")
        return v
    if name == "trusted":
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if name in ("model_path", "chromium"):
        return None if value in (None, "") else str(value)
    if name == "endpoint":  # one URL, or several used round-robin
        if value in (None, "", []):
            return None
        urls = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        if not all(u.startswith(("http://", "https://")) for u in urls):
            raise ValueError("http(s) URLs of an OpenAI-compatible server")
        return urls[0] if len(urls) == 1 else urls
    raise ValueError("a known setting")


def merge(base: Settings, layer: dict[str, Any] | None, where: str) -> tuple[Settings, list[str]]:
    """``base`` with ``layer`` on top; the problems found, each as a message for the user."""
    if not layer:
        return base, []
    if not isinstance(layer, dict):
        return base, [f"verm: {where} must be an object, got {type(layer).__name__}"]
    known = {f.name for f in fields(Settings)} - {"extra"}
    changes: dict[str, Any] = {}
    problems: list[str] = []
    extra = dict(base.extra)
    for key, value in layer.items():
        name = _ALIASES.get(key, key.replace("-", "_"))
        if value is None:
            continue  # editors send unset settings as null: "not set", keep the layer below
        if name not in known:
            extra[key] = value  # unknown keys are kept for features that know them
            continue
        try:
            changes[name] = _check(name, value)
        except (ValueError, TypeError, ConfigError) as exc:
            detail = str(exc).split(": ")[-1]
            problems.append(f"verm: ignoring {where} setting {key}={value!r}: expected {detail}; "
                            f"using the default")
    return replace(base, **changes, extra=extra), problems


def render_options(base: RenderOptions, settings: Settings) -> RenderOptions:
    return apply_settings(base, settings.render_overrides(), "editor settings")
