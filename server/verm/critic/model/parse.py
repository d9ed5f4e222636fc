"""Read a Visual-ERM model's answer: its error objects, however messily the model wrote them.

A model's text is not JSON. It may think first (``<think>…</think>``, or only a closing tag when
the chat template opened it), fence the JSON, talk around it, write a counts object before the
answer, stop mid-string at ``max_tokens``, or drift from the schema (``type`` for ``category``,
"Data Error", "major", trailing commas, Python literals). One scanner reads it all, left to
right, so the streaming and the whole-text readings are the same code and cannot disagree: it
tracks strings, escapes and nesting, and hands over each error object the moment its closing
brace arrives, because the editor shows findings as they come.

The answer is the first top-level object with an ``errors`` key, outside ``<think>``. Only in
two recoveries does ``finish()`` differ from what ``feed()`` streamed, and it says so in
``problems``: an answer followed by a stray ``</think>`` and another answer was reasoning (its
streamed errors are void), and an answer found only inside ``<think>`` is used when there is
no other (its errors were never streamed). Consumers take ``finish()`` as the verdict.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from verm.types import TAXONOMY

ERRORS_KEYS = frozenset({"errors", "error_list", "discrepancies", "issues"})
"""Top-level keys that hold the error list."""
ERROR_FIELDS = frozenset({"category", "type", "error_type", "severity", "level", "location",
                          "description", "issue", "message", "detail", "details"})
"""An object in the error list with none of these keys is not an error."""
MAX_ERROR_CHARS = 64 * 1024  # one error object larger than this is not read
_OPEN, _CLOSE = "<think>", "</think>"

_STYLE = ("color", "colour", "font", "line width", "linewidth", "line style", "linestyle",
          "thickness", "opacity", "transparen", "marker", "stroke", "fill", "style",
          "background", "gradient", "border", "shadow")
_VALUE = ("value", "number", "numeric", "digit", "data", "decimal", "percent", "unit")
_EXTENT = ("missing", "extra", "layout", "position", "structure", "order", "align", "spacing",
           "overlap")
_TEXT = ("text", "label", "title", "typo", "spell", "word", "caption", "annotation",
         "character", "letter")
KEYWORDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "chart": (("style_error", _STYLE), ("data_error", _VALUE),
              ("structure_error", (*_EXTENT, "size", "subplot")), ("text_error", _TEXT)),
    "svg": (("style_error", _STYLE),
            ("shape_error", ("shape", "geometry", "path", "curve", "contour", "outline",
                             "proportion", "size", "scale", "rotat", "angle", "corner",
                             "radius", "distort")),
            ("structure_error", _EXTENT),
            ("text_symbol_error", (*_TEXT, "symbol", "glyph", "value", "number", "digit"))),
    "table": (("numeric_error", (*_VALUE, "symbol", "currency", "sign")),
              ("layout_error", (*_STYLE, *_EXTENT, "row", "column", "merge", "span")),
              ("text_error", _TEXT)),
    "html": (("style_error", _STYLE),
             ("structure_error", ("missing", "extra", "structure", "element", "order", "nest",
                                  "hierarch", "duplicat")),
             ("layout_error", ("layout", "position", "align", "spacing", "margin", "padding",
                               "size", "width", "height", "overflow", "wrap", "overlap")),
             ("text_error", (*_TEXT, *_VALUE, "content"))),
}
"""Words that place an unknown category, per domain, tried in order (colour before text, so a
"text colour" error is style). Tables have no style category: their styling is layout."""

SEVERITY_WORDS = {"minor": 1, "low": 1, "small": 1, "trivial": 1, "cosmetic": 1, "slight": 1,
                  "moderate": 2, "medium": 2, "mid": 2, "normal": 2, "severe": 3, "major": 3,
                  "high": 3, "critical": 3, "serious": 3, "fatal": 3}


@dataclass
class ModelError:
    """One error as the model reported it, with its category and severity made valid."""

    category: str  # always in TAXONOMY[domain]
    severity: int  # 1..3
    location: str  # "" when the model gave none (the table schema has no location)
    description: str
    raw: dict[str, Any]  # the object as the model wrote it


@dataclass
class Judgement:
    errors: list[ModelError]
    readable: bool  # False: nothing usable was read (never means "no errors")
    complete: bool  # False: the output was cut short (the errors kept are the whole ones)
    problems: list[str] = field(default_factory=list)  # what was repaired or guessed, for humans
    counts: dict[str, int] = field(default_factory=dict)  # the *_error_count values written


# ---- one error object -> ModelError ----

def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def _exact(raw: str, domain: str) -> str | None:
    """The category ``raw`` names, forgiving case, spacing and a missing ``_error``."""
    names = TAXONOMY[domain]
    for part in re.split(r"[|/,;]", raw):
        name = _norm(part)
        name = name[:-1] if name.endswith("_errors") else name
        for candidate in (name, f"{name}_error"):
            if candidate in names:
                return candidate
    return None


def _by_keyword(text: str, domain: str) -> str | None:
    words = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
    for category, keys in KEYWORDS[domain]:
        if any(key in words for key in keys):
            return category
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _category(obj: dict[str, Any], domain: str, hint: str | None) -> tuple[str, str | None]:
    raws = [_text(obj[k]) for k in ("category", "type", "error_type") if _text(obj.get(k))]
    for raw in raws:
        if found := _exact(raw, domain):
            return found, None
    first = TAXONOMY[domain][0]
    if raws:
        if found := _by_keyword(raws[0], domain):
            return found, f"mapped unknown category {raws[0]!r} to {found}"
        return first, f"unknown category {raws[0]!r}; kept as {first}"
    if hint:
        return hint, None
    words = " ".join(_text(obj.get(k)) for k in ("description", "location", "issue", "message"))
    if found := _by_keyword(words, domain):
        return found, f"no category given; {found} from the description"
    return first, f"no category given; kept as {first}"


def _severity(value: Any) -> tuple[int, str | None]:
    number: float | None = None
    if isinstance(value, float):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = float(max(-9, min(9, value)))  # a 400-digit int is just "above 3"
    elif isinstance(value, str):
        if match := re.search(r"-?\d+(?:\.\d+)?", value):
            number = float(match.group())
        else:
            for word in re.findall(r"[a-z]+", value.lower()):
                if word in SEVERITY_WORDS:
                    return SEVERITY_WORDS[word], None
    if value is None or value == "":
        return 2, "no severity given; assumed 2"
    if number is None or number != number:  # NaN
        return 2, f"unreadable severity {value!r}; assumed 2"
    level = max(1, min(3, int(max(-9.0, min(9.0, number)) + 0.5)))  # 1e999, "9"*400: inf
    if level != number:
        return level, f"severity {value!r} is not 1, 2 or 3; read as {level}"
    return level, None


def to_error(obj: dict[str, Any], domain: str, hint: str | None = None
             ) -> tuple[ModelError, list[str]]:
    """``obj`` as a ModelError, and notes on what had to be guessed (``hint``: a category named
    by the key the error sits under, as in ``{"errors": {"text_error": [...]}}``)."""
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    notes: list[str] = []
    category, note = _category(lowered, domain, hint)
    severity, sev_note = _severity(lowered.get("severity", lowered.get("level")))
    location = next((_text(lowered[k]) for k in ("location", "position", "element", "where")
                     if _text(lowered.get(k))), "")
    description = next((_text(lowered[k]) for k in ("description", "issue", "message",
                                                    "detail", "details", "error")
                        if _text(lowered.get(k))), "")
    if not description:
        description = category.replace("_", " ") + (f" at {location}" if location else "")
        notes.append(f"no description given for a {category}; wrote {description!r}")
    notes += [n for n in (note, sev_note) if n]
    return ModelError(category, severity, location, description, dict(obj)), notes


# ---- lenient JSON for one small object ----

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _outside_strings(text: str, fn: Any) -> str:
    parts, last = [], 0
    for match in _STRING.finditer(text):
        parts += [fn(text[last:match.start()]), match.group()]
        last = match.end()
    return "".join([*parts, fn(text[last:])])


def _as_json(code: str) -> str:
    code = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", code))
    return _TRAILING_COMMA.sub(r"\1", re.sub(r"\bNone\b", "null", code))


def _as_python(code: str) -> str:
    code = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", code))
    return re.sub(r"\bnull\b", "None", code)


def loads_lenient(text: str) -> Any:
    """``text`` as JSON; else with trailing commas and Python words fixed; else as a Python
    literal (single quotes); None when none of these reads it."""
    for attempt in (lambda: text, lambda: _outside_strings(text, _as_json)):
        try:
            return json.loads(attempt(), strict=False)
        except ValueError:
            pass
    try:
        return ast.literal_eval(_outside_strings(text, _as_python))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _string_value(raw: str, quote: str) -> str:
    try:
        if quote == '"':
            return str(json.loads(f'"{raw}"', strict=False))
        return str(ast.literal_eval(f"'{raw}'"))
    except (ValueError, SyntaxError):
        return raw


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


# ---- the scanner ----

class _Frame:
    """An open ``{`` or ``[``: for objects, the key being read; within the error list, where
    its text starts and whether an error was already taken from inside it."""

    __slots__ = ("emitted", "expect_key", "in_errors", "key", "kind", "start")

    def __init__(self, kind: str, in_errors: bool, start: int) -> None:
        self.kind = kind
        self.key: str | None = None
        self.expect_key = kind == "{"
        self.in_errors = in_errors
        self.start = start
        self.emitted = False


class _Answer:
    """One top-level JSON object, read a character at a time; the answer once it has an
    ``errors`` key. Only objects inside that key's value ever become errors."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.stack: list[_Frame] = []
        self.quote: str | None = None
        self.escape = False
        self.chars: list[str] = []  # the string being read
        self.scalar: list[str] | None = None  # a bare top-level value being read
        self.sub: list[str] | None = None  # the errors value's text, while inside it
        self.fresh = False  # just past the opening brace
        self.locked = False  # has an errors key: this is the answer
        self.errors_closed = False
        self.closed = False
        self.errors: list[ModelError] = []
        self.problems: list[str] = []
        self.counts: dict[str, int] = {}

    def start(self) -> None:
        self.stack.append(_Frame("{", False, 0))
        self.fresh = True

    def push(self, s: str, i: int, out: list[ModelError]) -> int:
        """Read ``s`` from ``i`` while the object is open; the index where reading stopped."""
        stack, n = self.stack, len(s)
        while i < n and stack:
            c = s[i]
            i += 1
            if self.sub is not None:
                self.sub.append(c)
            if self.quote is not None:
                if self.escape:
                    self.escape = False
                elif c == self.quote:
                    self._string(self.quote, out)
                    self.quote = None
                    continue
                elif c == "\\":
                    self.escape = True
                self.chars.append(c)
                continue
            if c in " \t\r\n":
                continue
            if self.fresh:
                self.fresh = False
                if c not in "\"'}":  # "{x}" or "{ see below }": prose, not JSON
                    stack.clear()
                    return i - 1
            if c in "\"'":
                self.quote, self.chars = c, []
            elif c in "{[":
                self._open(c)
            elif c in "}]":
                self._end_scalar(out)
                self._close(c, out)
            elif c == ",":
                self._end_scalar(out)
                if stack[-1].kind == "{":
                    stack[-1].expect_key, stack[-1].key = True, None
            elif c == ":":
                stack[-1].expect_key = False
            elif len(stack) == 1 and not stack[-1].expect_key:
                if self.scalar is None:
                    self.scalar = []
                self.scalar.append(c)
        return i

    def _open(self, c: str) -> None:
        top = self.stack[-1]
        in_errors = top.in_errors
        if (len(self.stack) == 1 and not top.expect_key and self.sub is None
                and not self.errors_closed and _norm(top.key or "") in ERRORS_KEYS):
            self.locked, self.sub, in_errors = True, [c], True
        start = len(self.sub) - 1 if in_errors and self.sub is not None else 0
        self.stack.append(_Frame(c, in_errors, start))

    def _close(self, c: str, out: list[ModelError]) -> None:
        if self.stack[-1].kind != ("{" if c == "}" else "["):
            self.problems.append(f"ignored an unmatched {c!r}")
            return
        frame = self.stack.pop()
        if frame.in_errors:
            parent = self.stack[-1]
            is_root = not parent.in_errors
            direct = is_root or (len(self.stack) >= 2 and not self.stack[-2].in_errors)
            if frame.kind == "{" and not frame.emitted and self.sub is not None:
                frame.emitted = self._take("".join(self.sub[frame.start:]), direct, is_root, out)
            if is_root:
                self.sub, self.errors_closed = None, True
            elif frame.emitted:
                parent.emitted = True
        if not self.stack:
            self.closed = True

    def _hint(self) -> str | None:
        for frame in reversed(self.stack):
            if not frame.in_errors:
                return None
            if frame.kind == "{" and frame.key and (found := _exact(frame.key, self.domain)):
                return found
        return None

    def _take(self, text: str, direct: bool, is_root: bool, out: list[ModelError]) -> bool:
        """Make the closed object ``text`` an error if it is one; True when it was."""
        obj = loads_lenient(text) if len(text) <= MAX_ERROR_CHARS else None
        if not isinstance(obj, dict):
            if direct:
                self.problems.append(f"skipped an unreadable error entry: {_excerpt(text)}")
            return False
        if not {str(k).strip().lower() for k in obj} & ERROR_FIELDS:
            if direct and not is_root:
                self.problems.append(f"skipped an entry with no category, severity or "
                                     f"description: {_excerpt(text)}")
            return False
        self._emit(obj, out)
        return True

    def _emit(self, obj: dict[str, Any], out: list[ModelError]) -> None:
        error, notes = to_error(obj, self.domain, self._hint())
        self.errors.append(error)
        self.problems += notes
        out.append(error)

    def _string(self, quote: str, out: list[ModelError]) -> None:
        value = _string_value("".join(self.chars), quote)
        top = self.stack[-1]
        if top.kind == "{" and top.expect_key:
            top.key = value
        elif len(self.stack) == 1:
            self._top_value(top.key, value, out)
        elif (top.in_errors and top.kind == "[" and value.strip()
              and all(f.kind == "[" for f in self.stack[2:])):
            self._emit({"description": value}, out)  # a bare sentence in the error list

    def _end_scalar(self, out: list[ModelError]) -> None:
        if self.scalar is None:
            return
        text, self.scalar = "".join(self.scalar).strip(), None
        value = loads_lenient(text)
        self._top_value(self.stack[-1].key, text if value is None else value, out)

    def _top_value(self, key: str | None, value: Any, out: list[ModelError]) -> None:
        name = _norm(key or "")
        if name.endswith("_count"):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                    math.isfinite(value)):
                self.counts[key or name] = int(value)
        elif name in ERRORS_KEYS and self.sub is None and not self.errors_closed:
            self.locked = self.errors_closed = True
            if isinstance(value, str) and _norm(value) not in ("", "none", "null", "n_a"):
                self._emit({"description": value}, out)


class StreamParser:
    """Read a model's answer as it streams: ``feed`` returns each error object in the call
    whose chunk closes it, once; ``finish`` returns what ``parse_judgement`` of the whole text
    does (the verdict; see the module docstring for the two cases where it differs)."""

    def __init__(self, domain: str) -> None:
        if domain not in TAXONOMY:
            raise ValueError(f"unknown domain {domain!r}; domains: {', '.join(TAXONOMY)}")
        self._domain = domain
        self._answer = _Answer(domain)
        self._earlier: _Answer | None = None  # an answer a later stray </think> made reasoning
        self._think: list[str] = []
        self._in_think = False
        self._pending = ""  # the start of a tag cut by a chunk boundary
        self._result: Judgement | None = None

    def feed(self, chunk: str) -> list[ModelError]:
        if self._result is not None:
            raise ValueError("feed() after finish(): start a new StreamParser")
        out: list[ModelError] = []
        self._read(self._pending + chunk, out, final=False)
        return out

    def finish(self) -> Judgement:
        if self._result is None:
            self._read(self._pending, [], final=True)
            self._result = self._judge()
        return self._result

    def _read(self, s: str, out: list[ModelError], final: bool) -> None:
        self._pending = ""
        i, n = 0, len(s)
        while i < n:
            if self._in_think:
                j = s.find(_CLOSE, i)
                if j < 0:
                    keep = n if final else _tag_tail(s, i, _CLOSE)
                    self._think.append(s[i:keep])
                    self._pending = s[keep:]
                    return
                self._think.append(s[i:j])
                self._in_think, i = False, j + len(_CLOSE)
            elif self._answer.stack:
                i = self._answer.push(s, i, out)
                if not self._answer.stack and not self._answer.locked:
                    self._answer = _Answer(self._domain)  # not the answer: look further
            else:
                j = s.find("<", i) if self._answer.locked else _next_mark(s, i)
                if j < 0:
                    return
                if s[j] == "{":
                    self._answer.start()
                    i = j + 1
                elif s.startswith(_OPEN, j):
                    self._in_think, i = True, j + len(_OPEN)
                elif s.startswith(_CLOSE, j):
                    if self._answer.locked:
                        self._earlier, self._answer = self._answer, _Answer(self._domain)
                    i = j + len(_CLOSE)
                elif not final and n - j < len(_CLOSE) and (
                        _OPEN.startswith(s[j:]) or _CLOSE.startswith(s[j:])):
                    self._pending = s[j:]
                    return
                else:
                    i = j + 1

    def _judge(self) -> Judgement:
        answer, problems = self._answer, []
        if answer.locked and self._earlier is not None:
            problems.append(f"ignored the {len(self._earlier.errors)} error(s) written before "
                            f"a stray </think>: that part was reasoning")
        elif not answer.locked and self._earlier is not None:
            answer = self._earlier
            problems.append("used the JSON written before a stray </think>: none followed it")
        if not answer.locked:
            if self._think:
                inner = parse_judgement("".join(self._think), self._domain)
                if inner.readable:
                    inner.problems.insert(0, "the only answer was inside <think>; used it")
                    return inner
            if self._in_think:
                why = "the output ended inside <think>, before any answer (max_tokens too low?)"
            elif answer.stack:
                why = "the output ended inside a JSON object, before its errors list"
            else:
                why = "no JSON object with an errors list in the output"
            return Judgement([], False, not (self._in_think or answer.stack),
                             [*problems, why], dict(answer.counts))
        if not answer.errors_closed:
            problems.append(f"the output ended inside the errors list; kept the "
                            f"{len(answer.errors)} complete error object(s)")
        elif answer.stack:
            problems.append("the output ended after the errors list, before the object closed")
        readable = bool(answer.errors) or answer.errors_closed
        return Judgement(list(answer.errors), readable, answer.errors_closed,
                         [*answer.problems, *problems], dict(answer.counts))


_MARK = re.compile(r"[{<]")


def _next_mark(s: str, i: int) -> int:
    match = _MARK.search(s, i)
    return match.start() if match else -1


def _tag_tail(s: str, i: int, tag: str) -> int:
    """Where a possible start of ``tag`` at the end of ``s[i:]`` begins (len(s) if none)."""
    for k in range(min(len(tag) - 1, len(s) - i), 0, -1):
        if s.endswith(tag[:k]):
            return len(s) - k
    return len(s)


def parse_judgement(text: str, domain: str) -> Judgement:
    """The judgement in a model's whole output (see the module docstring for what is read)."""
    parser = StreamParser(domain)
    parser.feed(text)
    return parser.finish()
