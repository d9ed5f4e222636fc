"""The model critic's prompts, answer schema and image messages."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from verm.critic.model.prompts import (
    COUNT_KEYS,
    DEFAULT_LONGEST_SIDE,
    bounded,
    chat_messages,
    openai_messages,
    output_schema,
    png_bytes,
    prompt_text,
)
from verm.types import TAXONOMY

DOMAINS = tuple(TAXONOMY)
KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
            "minimum", "maximum"}

# The model card's example answer (InternLM/Visual-ERM README) and answers in the published
# prompts' schemas, as the checkpoint writes them.
CARD_EXAMPLE = {"score": 0.84, "errors": [{"category": "text_error", "severity": 2,
                                           "location": "y-axis label",
                                           "description": "The label text differs from the "
                                                          "reference image."}]}
PUBLISHED = {
    "chart": {"structure_error_count": 0, "data_error_count": 1, "text_error_count": 0,
              "style_error_count": 0,
              "errors": [{"category": "data_error", "severity": 3, "location": "Red line data",
                          "description": "The red line peaks at 8, not 5."}]},
    "svg": {"structure_error_count": 0, "shape_error_count": 1, "style_error_count": 0,
            "text_symbol_error_count": 0,
            "errors": [{"category": "shape_error", "severity": 2, "location": "Eye Contour",
                        "description": "The eye is an ellipse."}]},
    "table": {"layout_error_count": 0, "text_error_count": 0, "numeric_error_count": 1,
              "errors": [{"type": "numeric_error", "description": "Row 2 shows 1.2 not 12",
                          "severity": 2}]},
    "html": {"structure_error_count": 1, "layout_error_count": 0, "text_error_count": 0,
             "style_error_count": 0,
             "errors": [{"category": "structure_error", "severity": 3, "location": "Nav bar",
                         "description": "The nav bar is missing."}]},
}


def _problems(value: Any, schema: dict[str, Any], at: str = "$") -> list[str]:
    """A JSON Schema check for the keywords in KEYWORDS (jsonschema is not installed)."""
    kinds = {"object": dict, "array": list, "string": str, "integer": int}
    kind = schema.get("type")
    if kind and (not isinstance(value, kinds[kind]) or isinstance(value, bool)):
        return [f"{at}: not {kind}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} not in enum")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{at}: below minimum")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{at}: above maximum")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            found += [f"{at}: extra {k}" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                found += _problems(v, props[k], f"{at}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            found += _problems(v, schema["items"], f"{at}[{i}]")
    return found


def _keywords(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for sub in schema.get("properties", {}).values():
        found |= _keywords(sub)
    return found | _keywords(schema.get("items"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_schema_accepts_the_published_answers(domain: str) -> None:
    schema = output_schema(domain)
    assert _keywords(schema) <= KEYWORDS  # the checker above covers every keyword used
    assert _problems(PUBLISHED[domain], schema) == []
    json.dumps(schema)  # plain JSON, as response_format needs


@pytest.mark.parametrize("domain", ["chart", "html"])  # svg has no text_error
def test_schema_accepts_the_model_card_example(domain: str) -> None:
    assert _problems(CARD_EXAMPLE, output_schema(domain)) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_schema_rejects_answers_outside_the_taxonomy(domain: str) -> None:
    schema = output_schema(domain)
    key = "type" if domain == "table" else "category"
    good = PUBLISHED[domain]["errors"][0]
    for bad in ({**good, key: "colour_error"}, {**good, "severity": 4},
                {**good, "severity": "2"}, {k: v for k, v in good.items() if k != key}):
        assert _problems({"errors": [bad]}, schema), bad
    assert _problems({"structure_error_count": 1}, schema) == ["$: missing errors"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_schema_enums_and_counts_follow_the_taxonomy(domain: str) -> None:
    schema = output_schema(domain)
    item = schema["properties"]["errors"]["items"]
    key = "type" if domain == "table" else "category"
    assert item["properties"][key]["enum"] == list(TAXONOMY[domain])
    assert ("location" in item["properties"]) == (domain != "table")
    counts = [k for k in schema["properties"] if k.endswith("_count")]
    assert counts == [f"{c}_count" for c in TAXONOMY[domain]] == list(COUNT_KEYS[domain])


@pytest.mark.parametrize("domain", DOMAINS)
def test_default_prompt_asks_for_the_schema_and_the_image_roles(domain: str) -> None:
    text = prompt_text(domain)
    assert "Image 1 (ground truth)" in text and "Image 2 (prediction)" in text
    assert "single JSON object ONLY" in text
    assert "1 (minor)" in text and "2 (medium)" in text and "3 (severe)" in text
    assert " | ".join(TAXONOMY[domain]) in text
    for key in COUNT_KEYS[domain]:
        assert f'"{key}": int' in text
    fields = ("type", "description", "severity") if domain == "table" else (
        "category", "severity", "location", "description")
    positions = [text.index(f'"{f}":') for f in fields]
    assert positions == sorted(positions)  # the key order the model was trained on
    if domain == "table":
        assert '"category"' not in text and '"location"' not in text


def test_prompts_dir_replaces_only_the_domains_it_has(tmp_path: Path) -> None:
    (tmp_path / "chart.txt").write_text("Compare the charts. Answer in JSON.", encoding="utf-8")
    assert prompt_text("chart", tmp_path) == "Compare the charts. Answer in JSON."
    assert prompt_text("svg", tmp_path) == prompt_text("svg")


@pytest.mark.parametrize("content", [b"x" * (64 * 1024 + 1), b"\xff\xfe not utf-8", b"  \n"])
def test_a_bad_prompt_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "table.txt").write_bytes(content)
    with pytest.raises(ValueError, match=r"table prompt .*table\.txt"):
        prompt_text("table", tmp_path)


def test_a_prompt_file_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "html.txt").mkdir()
    with pytest.raises(ValueError, match="html prompt"):
        prompt_text("html", tmp_path)
    (tmp_path / "svg.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(ValueError, match="svg prompt"):
        prompt_text("svg", tmp_path)


def test_a_prompt_file_at_the_limit_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "chart.txt").write_bytes(b"p" * (64 * 1024))
    assert len(prompt_text("chart", tmp_path)) == 64 * 1024


def test_unknown_domain_is_refused() -> None:
    for call in (prompt_text, output_schema, lambda d: chat_messages(d, "p")):
        with pytest.raises(ValueError, match="pdf"):
            call("pdf")


@pytest.mark.parametrize(("size", "expected"), [
    ((3000, 1500), (1024, 512)), ((1500, 3000), (512, 1024)), ((1025, 7), (1024, 7)),
    ((1024, 1024), (1024, 1024)), ((300, 200), (300, 200)), ((5000, 3), (1024, 1)),
])
def test_bounded_shrinks_to_the_longest_side_and_never_enlarges(
        size: tuple[int, int], expected: tuple[int, int]) -> None:
    out = bounded(Image.new("RGB", size, (10, 20, 30)))
    assert out.size == expected and out.mode == "RGB"
    assert max(out.size) <= DEFAULT_LONGEST_SIDE


def test_bounded_keeps_the_aspect_and_honours_a_smaller_limit() -> None:
    out = bounded(Image.new("RGB", (1000, 333)), longest=768)
    assert out.size[0] == 768
    assert abs(out.size[1] - 333 * 768 / 1000) <= 0.5


def test_bounded_puts_transparency_on_white() -> None:
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    image.putpixel((0, 0), (200, 0, 0, 255))
    out = bounded(image)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (200, 0, 0) and out.getpixel((3, 3)) == (255, 255, 255)
    assert bounded(Image.new("L", (5, 5), 128)).getpixel((0, 0)) == (128, 128, 128)


def test_chat_messages_put_reference_then_render_then_text() -> None:
    messages = chat_messages("chart", "PROMPT")
    assert messages == [{"role": "user", "content": [
        {"type": "image"}, {"type": "image"}, {"type": "text", "text": "PROMPT"}]}]


def test_openai_messages_carry_both_pngs_reference_first() -> None:
    reference = png_bytes(Image.new("RGB", (3, 2), (255, 0, 0)))
    render = png_bytes(Image.new("RGB", (2, 3), (0, 0, 255)))
    [message] = openai_messages("PROMPT", reference, render)
    assert message["role"] == "user"
    parts = message["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert parts[2]["text"] == "PROMPT"
    decoded = []
    for part in parts[:2]:
        head, data = part["image_url"]["url"].split(",", 1)
        assert head == "data:image/png;base64"
        decoded.append(base64.b64decode(data))
    assert decoded == [reference, render]
    assert Image.open(io.BytesIO(decoded[0])).getpixel((0, 0)) == (255, 0, 0)
