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

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from verm.render.base import RenderOptions
from verm.source import Source

CONFIG_FILES = ("verm.toml", "pyproject.toml")
CRITICS = ("analytic", "model", "remote", "ensemble")
SVG_BACKENDS = ("cairosvg", "resvg")


class ConfigError(Exception):
    """A configuration or pragma value verm cannot use; the message says where and why."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the file the settings came from
    references: tuple[tuple[str, str], ...] = ()  # (source glob, reference template)
    options: RenderOptions = field(default_factory=RenderOptions)
    critic: str = "analytic"

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


def apply_settings(options: RenderOptions, settings: dict[str, Any], where: str) -> RenderOptions:
    """Overlay render settings (config keys or pragmas) on ``options``; unknown keys are ignored."""
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        k = key.replace("_", "-").lower()
        at = f"{where}: {key}"
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
            changes["chromium_path"] = str(value)
        elif k == "svg-backend":
            if str(value) not in SVG_BACKENDS:
                raise ConfigError(f"{at}: expected one of {', '.join(SVG_BACKENDS)}, got {value!r}")
            changes["svg_backend"] = str(value)
        elif k == "preload":
            changes.update(_preload(value, at))
    return replace(options, **changes)


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
        data = tomllib.loads(path.read_text(encoding="utf-8"))
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
    critic = str(settings.get("critic", "analytic"))
    if critic not in CRITICS:
        raise ConfigError(f"{path}: critic must be one of {', '.join(CRITICS)}, got {critic!r}")
    options = apply_settings(RenderOptions(), settings, str(path))
    return Config(path=path, references=tuple(refs.items()), options=options, critic=critic)


def render_options(source: Source, config: Config) -> RenderOptions:
    """The config's options with the source's own pragmas on top."""
    pragmas = {k: v for k, (v, _line) in source.pragmas.items() if k != "reference"}
    return apply_settings(config.options, pragmas, f"{source.path} (verm: pragma)")
