"""What the policy is asked, and how its answer becomes code.

The paper's reflection step conditions the revision on the reference image, the previous code
and the critic's JSON critique. We send the reference first (and the current render second, as
the critic sees them), the file's kind and name, the whole code, and each discrepancy with the
line it blames and that line's text — a model counts lines badly, so it is shown the line too.

Answers are messy: a ``<think>`` block, prose around the code, several fenced blocks (a snippet,
then the file), a fence cut off at the token limit. ``extract_code`` takes the largest fenced
block in the file's language that is plausibly the whole file, and says None for an answer that
is not code at all, so a round is never spent rendering prose.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from verm.check import CheckResult
from verm.critic.model.prompts import bounded, png_bytes
from verm.types import LINE_BREAK, Kind

LANGUAGES: dict[str, tuple[str, ...]] = {
    "chart": ("python", "py", "python3"),
    "svg": ("svg", "xml"),
    "html": ("html", "htm"),
    "table": ("markdown", "md"),
}
WHAT: dict[str, str] = {
    "chart": "a matplotlib chart script (Python)",
    "svg": "an SVG image",
    "html": "an HTML page",
    "table": "a Markdown table",
}
LONG_FILE_LINES = 60  # past this, the prompt insists on leaving the rest untouched
FRAGMENT_MIN_LINES = 8  # a file at least this long answered with under half its lines: a snippet

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n"
                    r"(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$", re.S | re.M)
_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n", re.M)
_TAG = re.compile(r"<[A-Za-z!][^>]*>")


@dataclass(frozen=True)
class Request:
    """One request to the policy: the text, and the PNG images in the order the text names."""

    text: str
    images: list[bytes]


def critique_errors(result: CheckResult) -> list[dict[str, Any]]:
    """The critique as the policy reads it: ``verm check --format json``'s errors with a 1-based
    ``line`` (and that line's ``code``) instead of LSP ranges and pixel boxes."""
    source_lines = LINE_BREAK.split(result.source.text)
    out = []
    for d in result.discrepancies:
        item: dict[str, Any] = {"category": d.category, "severity": d.severity,
                                "location": d.location, "description": d.description}
        if d.range is not None:
            line = d.range.start.line
            item["line"] = line + 1
            if 0 <= line < len(source_lines) and source_lines[line].strip():
                item["code"] = source_lines[line].strip()[:200]
        out.append(item)
    return out


def build_request(result: CheckResult, reference: Image.Image, *, image_size: int = 1024,
                  previous: str | None = None) -> Request:
    """The revision request for the judged ``result`` (its source text is the code to revise).

    ``previous``: why the last answer was not kept, so the next round tries something else.
    """
    kind, code = result.kind, result.source.text
    lang = LANGUAGES[kind][0]
    images = [png_bytes(bounded(reference, image_size))]
    parts = [f"You are revising {WHAT[kind]} so that its rendering matches a reference image.",
             "", "Image 1 is the reference: what the rendering must look like."]
    if result.render.ok and result.render.image is not None:
        images.append(png_bytes(bounded(result.render.image, image_size)))
        parts.append("Image 2 is how the current code renders.")
    else:
        parts.append("The current code does not render (see the critique).")
    parts += ["", f"File: {result.source.path.name}", "Current code:", f"```{lang}",
              code.rstrip("\r\n"), "```", "",
              "A visual critic compared the rendering with the reference and found these "
              "discrepancies (JSON; severity 1 minor, 2 moderate, 3 severe; \"line\" is the "
              "1-based line of the code it blames and \"code\" that line's text):",
              json.dumps(critique_errors(result), indent=1, ensure_ascii=False), ""]
    if previous:
        parts += [f"Your previous revision was not kept: {previous}. Try a different fix.", ""]
    parts.append("Revise the code so its rendering matches Image 1 and every discrepancy is "
                 "fixed. You may change, add or delete lines (add a missing call, remove an "
                 "extra one). Keep everything that is not wrong unchanged, character for "
                 "character, including comments and `verm:` pragmas.")
    if len(LINE_BREAK.split(code)) > LONG_FILE_LINES:
        parts.append("The file is long: change only the lines that need it and copy every "
                     "other line exactly.")
    if kind == "chart":
        parts.append("Do not add savefig or show calls: verm renders the figure itself.")
    parts.append(f"Answer with the complete revised file in one ```{lang} code block and "
                 f"nothing after it.")
    return Request("\n".join(parts), images)


def extract_code(answer: str, kind: Kind) -> str | None:
    """The revised file in ``answer``, or None when the answer holds no usable code."""
    text = _THINK.sub("", answer)
    if "</think>" in text.lower():  # the template opened the think block in the prompt
        text = text[text.lower().rindex("</think>") + len("</think>"):]
    if "<think>" in text.lower():  # cut off while thinking
        text = text[: text.lower().index("<think>")]
    blocks = [(m["lang"].lower(), m["body"]) for m in _FENCE.finditer(text)]
    if not blocks:
        opened = list(_OPEN.finditer(text))
        if opened:  # a fence the token limit cut off: what there is, if it still parses
            last = opened[-1]
            blocks = [(last.group(2).lower(), text[last.end():])]
    if not blocks:
        return text.strip() + "\n" if looks_like(text, kind) else None
    wanted = LANGUAGES[kind]
    for choose in (lambda lang: lang in wanted, lambda lang: lang == "", lambda lang: True):
        usable = [body for lang, body in blocks if choose(lang) and looks_like(body, kind)]
        if usable:
            return max(reversed(usable), key=len)  # the largest; the last of equals
    return None


def looks_like(code: str, kind: Kind) -> bool:
    """Whether ``code`` is plausibly a whole source of ``kind`` (not prose, not empty)."""
    if not code.strip():
        return False
    if kind == "chart":
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return False
        return any(isinstance(n, (ast.Call, ast.Import, ast.ImportFrom, ast.Assign))
                   for n in ast.walk(tree))
    if kind == "svg":
        return bool(re.search(r"<svg\b", code, re.I)) and "</svg>" in code.lower()
    if kind == "html":
        return len(_TAG.findall(code)) >= 2
    return sum("|" in line for line in code.splitlines()) >= 2


def conform(candidate: str, original: str) -> str:
    """``candidate`` written the way ``original`` is: its line ends and its final newline (a
    model answers in LF and drops a trailing newline; neither is a change the user asked for)."""
    text = candidate.replace("\r\n", "\n").replace("\r", "\n")
    if "\r\n" in original:
        text = text.replace("\n", "\r\n")
    newline = "\r\n" if "\r\n" in original else "\n"
    text = text.rstrip("\r\n")
    if original.endswith(("\n", "\r")):
        text += newline
    return text


def is_fragment(candidate: str, original: str) -> bool:
    """An answer with under half the lines of a file of some length is a snippet, not a file."""
    n = len(LINE_BREAK.split(original.rstrip("\r\n")))
    return n >= FRAGMENT_MIN_LINES and len(LINE_BREAK.split(candidate.rstrip("\r\n"))) < n / 2
