"""Workspace configuration: ``[tool.verm]`` in ``pyproject.toml`` or the top level of ``verm.toml``.

Found by walking up from the source's folder (the nearest file that has verm settings wins),
merged over the defaults here, then per-source pragmas on top (see ``render_options``).
Invalid values raise ``ConfigError`` naming the file, the key and what is expected.

```toml
[tool.verm]
timeout = 10            # seconds a render may take
memory = 2048           # MB a chart script may allocate
viewport = "1280x800"   # HTML/Markdown page size
full-page = false
critic = "analytic"
chromium = "/usr/bin/chromium"
svg-backend = "cairosvg"
preload = ["pandas"]    # chart workers import these before forking (false: none, none learned)

[tool.verm.references]  # source glob (relative to this file) -> reference
"charts/*.py" = "design/{stem}.png"
```
"""

from __future__ import annotations

import math
import os
import re
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from verm.critic.model.settings import KEYS as MODEL_KEYS
from verm.render.base import RenderOptions
from verm.safeio import ReadLimits, read_config
from verm.source import Source
from verm.types import Range

CONFIG_FILES = ("verm.toml", "pyproject.toml")
USER_CONFIG_ENV = "VERM_CONFIG"  # the user config file, instead of ~/.config/verm/config.toml
TEMPLATE_FIELDS = ("stem", "name", "dir")
CRITICS = ("analytic", "model", "remote", "ensemble")
SVG_BACKENDS = ("cairosvg", "resvg")


class ConfigError(Exception):
    """A configuration or pragma value verm cannot use; the message says where and why."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the file the settings came from
    references: tuple[tuple[str, str], ...] = ()  # (source glob, reference template)
    options: RenderOptions = field(default_factory=RenderOptions)  # the file's, over defaults
    critic: str = "analytic"
    settings: tuple[tuple[str, Any], ...] = ()  # the file's render settings, as written

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path else None

    def reference_for(self, source: Path) -> Path | None:
        """The reference the ``references`` table maps ``source`` to, if any."""
        if self.root is None:
            return None
        try:
            rel = source.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None
        for pattern, template in self.references:
            if fnmatch(rel, pattern) or fnmatch(source.name, pattern):
                target = template.format(stem=source.stem, name=source.name,
                                         dir=Path(rel).parent.as_posix())
                return Path(os.path.normpath((self.root / target).absolute()))
        return None


def parse_viewport(value: Any, where: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", str(value))
    if not m:
        raise ConfigError(f"{where}: viewport must look like 1280x800, got {value!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 10000 and 16 <= h <= 10000):
        raise ConfigError(f"{where}: viewport {w}x{h} is outside 16..10000 pixels")
    return w, h


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except OverflowError:  # an int too large for a float (JSON settings have no size limit)
        v = math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{where}: {v:g} is outside {lo:g}..{hi:g}")
    return v


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


# Settings a workspace file (``verm.toml``, ``[tool.verm]``, a pragma) may never set: they choose
# a program to start, a server or model to use, a secret, or how much verm reads and keeps. Only
# the user may (``~/.config/verm/config.toml``, editor settings, the environment, CLI flags); a
# workspace that sets one gets a warning and the value is ignored. The value says why.
USER_ONLY: dict[str, str] = {
    "chromium": "it names the program verm starts for HTML and Markdown",
    "model": "it names the model verm loads",
    "adapter": "it names the model adapter verm loads",
    "quantize": "it decides how the user's GPU loads the model",
    "endpoint": "it names the server verm sends renders to",
    "model-name": "it names the model on the user's server",
    "api-key": "it is a secret for the user's server",
    "policy": "it names the model verm loads",
    "policy-endpoint": "it names the server verm sends renders to",
    "policy-name": "it names the model on the user's server",
    "trusted": "only the user decides whether a workspace is trusted",
    "allow-outside": "only the user lets verm write outside the workspace",
    "watch-folders": "only the user chooses folders outside the workspace to watch",
}
USER_ONLY.update({key: "it caps what verm reads and keeps" for key in ReadLimits.KEYS})
for _key_name in (*MODEL_KEYS, *(f"policy-{k}" for k in (
        "adapter", "quantize", "device", "api-key-env", "api-key", "timeout", "rounds",
        "max-new-tokens", "temperature", "image-size"))):  # the user's models: load, decode, reach
    USER_ONLY.setdefault(_key_name, "it decides how verm runs the user's model")
# Limits a workspace may lower, never raise above the user's: key → RenderOptions field, unit.
LIMITS: dict[str, tuple[str, str]] = {"timeout": ("timeout_s", "s"), "memory": ("memory_mb", "MB"),
                                      "max-pixels": ("max_pixels", "px")}


@dataclass(frozen=True)
class Notice:
    """A workspace setting verm ignored or lowered: said once, where it was written."""

    message: str
    range: Range | None = None  # the pragma's line; None: a config file (top of the source)


def _key(name: str) -> str:
    return name.replace("_", "-").lower()


def user_only(key: str) -> bool:
    return _key(key) in USER_ONLY


def apply_settings(options: RenderOptions, settings: dict[str, Any], where: str) -> RenderOptions:
    """Overlay the *user's* render settings (user config, editor, CLI) on ``options``; unknown
    keys are ignored. Workspace files go through ``apply_workspace``."""
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        k = _key(key)
        at = f"{where}: {key}"
        if value is None:  # JSON's null (an editor's unset setting): not set, not "None"
            continue
        if k == "timeout":
            changes["timeout_s"] = _number(value, at, 0.1, 600)
        elif k == "memory":
            changes["memory_mb"] = int(_number(value, at, 64, 1 << 20))
        elif k == "viewport":
            changes["viewport"] = parse_viewport(value, at)
        elif k == "full-page":
            changes["full_page"] = _bool(value, at)
        elif k == "figure":
            changes["figure"] = str(value)
        elif k == "max-pixels":
            changes["max_pixels"] = int(_number(value, at, 64, 16384))
        elif k == "chromium":
            if not isinstance(value, str):
                raise ConfigError(f"{at}: expected the path of a Chromium, got {value!r}")
            changes["chromium_path"] = value
        elif k == "svg-backend":
            if str(value) not in SVG_BACKENDS:
                raise ConfigError(f"{at}: expected one of {', '.join(SVG_BACKENDS)}, got {value!r}")
            changes["svg_backend"] = str(value)
        elif k == "preload":
            changes.update(_preload(value, at))
    return replace(options, **changes)


def apply_workspace(options: RenderOptions, settings: dict[str, Any], where: str,
                    ceiling: RenderOptions,
                    at: Callable[[str], Range | None] = lambda key: None,
                    ) -> tuple[RenderOptions, list[Notice]]:
    """Overlay a workspace file's settings (config file or pragmas) on ``options``.

    User-only keys are ignored with a notice; limits above ``ceiling`` (the user's) are held at
    the user's, with a notice. ``at(key)``: where the key was written (a pragma's line).
    """
    allowed: dict[str, Any] = {}
    notices: list[Notice] = []
    for key, value in settings.items():
        k = _key(key)
        if user_only(k):
            notices.append(Notice(
                f"{where}: ignored `{key}`: {USER_ONLY[k]}, so "
                f"only your own settings may set it (~/.config/verm/config.toml, editor "
                f"settings, environment or command line), never a file in the workspace",
                at(key)))
            continue
        allowed[key] = value
    result = apply_settings(options, allowed, where)
    changes: dict[str, Any] = {}
    for key in allowed:
        limit = LIMITS.get(_key(key))
        if limit is None:
            continue
        field_name, unit = limit
        asked, most = getattr(result, field_name), getattr(ceiling, field_name)
        if asked > most:
            changes[field_name] = most
            notices.append(Notice(
                f"{where}: `{key}` asks for {asked:g} {unit}, above your limit of {most:g} "
                f"{unit}; using {most:g} {unit} (a workspace may only lower limits; raise yours "
                f"in ~/.config/verm/config.toml, editor settings or on the command line)",
                at(key)))
    return (replace(result, **changes) if changes else result), notices


def _preload(value: Any, where: str) -> dict[str, Any]:
    """``preload``: installed modules chart workers import before they fork (a list, or a
    comma-separated string in a pragma), or false: none, and none learned from renders."""
    if isinstance(value, bool) or str(value).strip().lower() in ("true", "false"):
        learn = value if isinstance(value, bool) else str(value).strip().lower() == "true"
        return {"learn_imports": learn} if learn else {"learn_imports": False, "preload": ()}
    names = value if isinstance(value, list) else str(value).split(",")
    modules = tuple(str(n).strip() for n in names if str(n).strip())
    bad = [m for m in modules if not all(p.isidentifier() for p in m.split("."))]
    if bad:
        raise ConfigError(f"{where}: expected module names (e.g. [\"pandas\"]) or false, "
                          f"got {', '.join(map(repr, bad))}")
    return {"preload": modules}


def _settings_in(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(read_config(path).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        return tool.get("verm") if isinstance(tool, dict) else None
    tool = data.get("tool")
    if isinstance(tool, dict) and "verm" in tool:
        return tool["verm"]
    return data


def find_config_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``verm.toml`` (or ``pyproject.toml`` with ``[tool.verm]``) from ``start`` up."""
    folder = start if start.is_dir() else start.parent
    for d in (folder, *folder.parents):
        for name in CONFIG_FILES:
            candidate = d / name
            if candidate.is_file():
                settings = _settings_in(candidate)
                if settings is not None:
                    return candidate, settings
    return None


def _check_template(template: str, where: str) -> str:
    """A reference template may use {stem}, {name} and {dir} plainly: no index, attribute,
    conversion or format spec (``{stem:>1500000000}`` would allocate gigabytes)."""
    if len(template) > 1024:
        raise ConfigError(f"{where}: reference template is {len(template)} characters long")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where}: reference template {template!r}: {exc}") from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS or spec or conversion:
            got = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ConfigError(
                f"{where}: reference template {template!r}: use only {{stem}}, {{name}} and "
                f"{{dir}}, without index or format spec (got {{{got}}})")
    return template


def load_config(start: Path) -> Config:
    found = find_config_file(start.absolute())
    if found is None:
        return Config()
    path, settings = found
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: [tool.verm] must be a table")
    refs = settings.get("references", {})
    if not isinstance(refs, dict) or not all(isinstance(v, str) for v in refs.values()):
        raise ConfigError(f"{path}: [tool.verm.references] must map source globs to paths")
    for pattern, template in refs.items():
        _check_template(template, f"{path}: references[{pattern!r}]")
    critic = str(settings.get("critic", "analytic"))
    if critic not in CRITICS:
        raise ConfigError(f"{path}: critic must be one of {', '.join(CRITICS)}, got {critic!r}")
    rest = {k: v for k, v in settings.items() if k not in ("references", "critic")}
    # Validated now (a bad value is a ConfigError at load); limits are held to the user's later.
    options = apply_settings(RenderOptions(), {k: v for k, v in rest.items() if not user_only(k)},
                             str(path))
    return Config(path=path, references=tuple(refs.items()), options=options, critic=critic,
                  settings=tuple(rest.items()))


def user_config_path() -> Path:
    """``$VERM_CONFIG``, else ``$XDG_CONFIG_HOME/verm/config.toml`` (``~/.config`` by default)."""
    explicit = os.environ.get(USER_CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "verm" / "config.toml"


def load_user_settings(path: Path | None = None) -> dict[str, Any]:
    """The user's own settings (every key allowed, limits included); {} when there is no file.

    The same keys as ``[tool.verm]`` plus the user-only ones (``chromium``, ``model``,
    ``endpoint``, ``max-*-mb``...), at the top level or under ``[tool.verm]``.
    """
    path = path or user_config_path()
    if not path.is_file():
        return {}
    settings = _settings_in(path)
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: must be a table of settings")
    apply_settings(RenderOptions(), settings, str(path))  # report bad values now
    return settings


def resolve_options(source: Source, config: Config, user: RenderOptions | None = None,
                    overrides: dict[str, Any] | None = None,
                    ) -> tuple[RenderOptions, list[Notice]]:
    """What a render of ``source`` uses, and the workspace settings verm ignored or lowered.

    Layers, lowest first: ``user`` (defaults < the user config file), the workspace config file,
    ``overrides`` (editor settings, CLI flags), the source's pragmas. The user's layers set the
    limits; the workspace's (config file, pragmas) may only lower them and may not set
    user-only keys.
    """
    user = user or RenderOptions()
    ceiling = apply_settings(user, overrides or {}, "your settings")
    notices: list[Notice] = []
    options = user
    if config.settings:
        options, found = apply_workspace(options, dict(config.settings), str(config.path), ceiling)
        notices += found
    if overrides:
        options = apply_settings(options, overrides, "your settings")
    pragmas = {k: v for k, (v, _line) in source.pragmas.items() if k != "reference"}
    if pragmas:
        def line_of(key: str) -> Range:  # only when there is something to say
            return Range.of_line(source.pragmas[key][1], source.text)

        options, found = apply_workspace(options, pragmas, f"{source.path.name} (verm: pragma)",
                                         ceiling, line_of)
        notices += found
    return options, notices


def render_options(source: Source, config: Config, user: RenderOptions | None = None,
                   overrides: dict[str, Any] | None = None) -> RenderOptions:
    """The options a render of ``source`` uses (see ``resolve_options``)."""
    return resolve_options(source, config, user, overrides)[0]
