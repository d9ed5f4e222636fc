"""What a Visual-ERM model is asked: the prompt, the answer's schema and the two images.

The published checkpoint (``internlm/Visual-ERM``) was trained on one prompt per domain, with the
reference image first, the render second and the text last; asking it the same way, for the same
JSON keys, is what makes it answer well. The default texts live in ``prompts/<domain>.txt``;
html has no published prompt, so ours follows the same shape with the html taxonomy.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image

from verm.safeio import read_bounded
from verm.types import TAXONOMY

DEFAULT_LONGEST_SIDE = 1024
"""The published model's training and RL runs sent images of at most 1024 px a side."""

MAX_PROMPT_BYTES = 64 * 1024
DEFAULTS_DIR = Path(__file__).with_name("prompts")

COUNT_KEYS: dict[str, tuple[str, ...]] = {
    "chart": ("structure_error_count", "data_error_count", "text_error_count",
              "style_error_count"),
    "svg": ("structure_error_count", "shape_error_count", "style_error_count",
            "text_symbol_error_count"),
    "table": ("layout_error_count", "text_error_count", "numeric_error_count"),
    "html": ("structure_error_count", "layout_error_count", "text_error_count",
             "style_error_count"),
}
"""The per-category counts the model writes before its errors, in the order it was taught."""


def _check_domain(domain: str) -> None:
    if domain not in TAXONOMY:
        raise ValueError(f"no model prompt for {domain!r}; domains: {', '.join(TAXONOMY)}")


def prompt_text(domain: str, prompts_dir: Path | None = None) -> str:
    """The prompt for ``domain``: ``prompts_dir/<domain>.txt`` when the user has one, else ours.

    Raises ``ValueError`` (saying which file and why) for a prompt file that is over 64 KB, is
    not a regular file, cannot be read or is not UTF-8.
    """
    _check_domain(domain)
    path = DEFAULTS_DIR / f"{domain}.txt"
    if prompts_dir is not None:
        user = Path(prompts_dir) / f"{domain}.txt"
        if user.exists() or user.is_symlink():  # a broken link is an error, not "no file"
            path = user
    try:
        data = read_bounded(path, limit=MAX_PROMPT_BYTES, what="the prompt file")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot use the {domain} prompt {path}: {exc}; fix or remove the "
                         f"file to use verm's default prompt") from exc
    if not text.strip():
        raise ValueError(f"the {domain} prompt {path} is empty; write a prompt or remove the "
                         f"file to use verm's default prompt")
    return text


def output_schema(domain: str) -> dict[str, Any]:
    """JSON Schema of the answer (vLLM ``response_format`` json_schema takes it as is).

    Only ``errors`` is required and the top level is open: the counts are asked for but
    the published model card's own example has a ``score`` and no counts. Table errors are keyed
    ``type`` and have no location, as the published table prompt has it.
    """
    _check_domain(domain)
    severity = {"type": "integer", "minimum": 1, "maximum": 3}
    category = {"type": "string", "enum": list(TAXONOMY[domain])}
    if domain == "table":
        item_props: dict[str, Any] = {"type": category, "description": {"type": "string"},
                                      "severity": severity}
    else:
        item_props = {"category": category, "severity": severity,
                      "location": {"type": "string"}, "description": {"type": "string"}}
    properties: dict[str, Any] = {key: {"type": "integer", "minimum": 0}
                                  for key in COUNT_KEYS[domain]}
    properties["errors"] = {
        "type": "array",
        "items": {"type": "object", "properties": item_props, "required": list(item_props),
                  "additionalProperties": False},
    }
    return {"type": "object", "properties": properties, "required": ["errors"]}


def bounded(image: Image.Image, longest: int = DEFAULT_LONGEST_SIDE) -> Image.Image:
    """``image`` in RGB (transparency on white, as renders are), shrunk so no side exceeds
    ``longest``; never enlarged, since upscaling adds no detail and costs image tokens."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = image.convert("RGB")
    width, height = rgb.size
    side = max(width, height)
    if side <= longest:
        return rgb
    scale = longest / side
    size = (max(1, min(longest, round(width * scale))), max(1, min(longest, round(height * scale))))
    return rgb.resize(size, Image.Resampling.LANCZOS)


def chat_messages(domain: str, prompt: str) -> list[dict[str, Any]]:
    """The user turn for a transformers chat template: reference, render, then the text (the
    published model's order); the processor gets the images as ``[[reference, render]]``."""
    _check_domain(domain)
    return [{"role": "user", "content": [{"type": "image"}, {"type": "image"},
                                         {"type": "text", "text": prompt}]}]


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def openai_messages(prompt: str, reference_png: bytes, render_png: bytes) -> list[dict[str, Any]]:
    """The same turn for an OpenAI-compatible server: two ``image_url`` data URLs, then text."""
    return [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": _data_url(reference_png)}},
        {"type": "image_url", "image_url": {"url": _data_url(render_png)}},
        {"type": "text", "text": prompt},
    ]}]
