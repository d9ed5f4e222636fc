"""A scanner of markup (SVG, HTML) that keeps exact character spans, for the mutators.

A parser that builds a tree loses where each attribute was written; a mutation must replace
exactly one attribute value or one element's text and report that line. Comments, CDATA,
processing instructions and ``<script>`` bodies are masked first (same length, so offsets
hold), so a pragma or a commented-out rule is never edited.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from verm_training.synth.mutation import Mutation, label, line_at

_MASKED = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^>]*>"
                     r"|(?<=<script)[^>]*>.*?(?=</script>)|/\*.*?\*/", re.S | re.I)
_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)"
                  r"((?:\s+[^\s=/>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)"
                  r"\s*(/?)>", re.S)
_ATTR = re.compile(r"([^\s=/>]+)(?:\s*=\s*(\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_DECL = re.compile(r"([\w-]+)\s*:\s*([^;{}]+?)\s*(?:;|$|(?=}))")


def mask(text: str) -> str:
    """``text`` with comments and scripts blanked (same length; line breaks kept)."""
    return _MASKED.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


@dataclass
class Attr:
    name: str
    value: str
    start: int  # span of the value, quotes excluded
    end: int


@dataclass
class Tag:
    """One start tag, its attributes and (when found) the matching end tag."""

    name: str
    start: int
    end: int  # just past '>'
    self_closing: bool
    attrs: dict[str, Attr] = field(default_factory=dict)
    close_start: int | None = None  # '<' of the matching end tag
    close_end: int | None = None
    depth: int = 0
    parent: Tag | None = None

    @property
    def outer_end(self) -> int:
        return self.close_end if self.close_end is not None else self.end

    def inner(self, text: str) -> tuple[int, int] | None:
        if self.close_start is None:
            return None
        return self.end, self.close_start


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def tags(text: str, html: bool = False) -> list[Tag]:
    """Every start tag of ``text`` in order, with end tags matched by a simple stack."""
    shadow = mask(text)
    out: list[Tag] = []
    stack: list[Tag] = []
    for m in _TAG.finditer(shadow):
        closing, name = m.group(1), m.group(2)
        key = name.lower() if html else name
        if closing:
            for i in range(len(stack) - 1, -1, -1):
                if (stack[i].name.lower() if html else stack[i].name) == key:
                    stack[i].close_start, stack[i].close_end = m.start(), m.end()
                    del stack[i:]
                    break
            continue
        tag = Tag(name=name, start=m.start(), end=m.end(), self_closing=bool(m.group(4)),
                  depth=len(stack), parent=stack[-1] if stack else None)
        for a in _ATTR.finditer(shadow, m.start(3), m.end(3)):
            group = 3 if a.group(3) is not None else 4 if a.group(4) is not None else 5
            if a.group(group) is None:
                continue
            tag.attrs[a.group(1)] = Attr(a.group(1), text[a.start(group):a.end(group)],
                                         a.start(group), a.end(group))
        out.append(tag)
        if not tag.self_closing and not (html and key in VOID):
            stack.append(tag)
    return out


def declarations(text: str, start: int, end: int) -> list[tuple[str, str, int, int]]:
    """``(property, value, value start, value end)`` of the CSS declarations in a span."""
    shadow = mask(text)
    return [(m.group(1).lower(), text[m.start(2):m.end(2)], m.start(2), m.end(2))
            for m in _DECL.finditer(shadow, start, end)]


class MarkupMutator:
    """What the SVG and HTML mutators share: the text, the seeded choices, and ``add``, which
    keeps an edit that changed the text, labelled on the line of ``offset``."""

    def __init__(self, text: str, rng: random.Random) -> None:
        self.text = text
        self.rng = rng
        self.out: list[Mutation] = []

    def add(self, family: str, text: str, category: str, severity: int, location: str,
            description: str, offset: int) -> None:
        if text != self.text:
            self.out.append(Mutation(family, f"{family} {location}", text, (
                label(category, severity, location, description, line_at(text, offset)),)))
