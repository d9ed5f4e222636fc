"""HTML/CSS mutations: a colour, a layout property, an element's text, an element removed.

CSS is edited where it is written — a ``<style>`` rule or a ``style=""`` attribute — so the
label's line is the declaration's line; the location names the rule's selector or the element
("h1 color", "'.badge' padding"), which is how a reviewer would point at it.
"""

from __future__ import annotations

import html as html_lib
import random
import re

from verm_training.synth.markup import MarkupMutator, Tag, declarations, mask, tags
from verm_training.synth.mutation import (
    Mutation,
    blank_out,
    color_name,
    other_color,
    other_number,
    other_text,
    splice,
)

COLORS = ("color", "background", "background-color", "border-color")
SPACING = ("margin", "padding", "width", "height", "gap", "margin-top", "margin-bottom",
           "margin-left", "margin-right", "padding-top", "padding-bottom", "padding-left",
           "padding-right", "max-width", "min-height", "line-height", "letter-spacing")
DISPLAY = {"block": "inline-block", "inline-block": "block", "inline": "block", "flex": "block",
           "grid": "block", "table": "block"}
TEXT_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "span", "a", "li", "td", "th", "button",
             "label", "div", "strong", "em", "caption", "figcaption", "small", "b", "i"}
REMOVABLE = TEXT_TAGS | {"img", "hr", "tr", "section", "ul", "ol", "table", "svg", "nav",
                         "header", "footer"}
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_LENGTH = re.compile(r"-?\d+(?:\.\d+)?")


class _Mutator(MarkupMutator):
    def __init__(self, text: str, rng: random.Random) -> None:
        super().__init__(text, rng)
        self.tags = tags(text, html=True)

    def run(self) -> list[Mutation]:
        shadow = mask(self.text)
        for tag in self.tags:
            if tag.name.lower() == "style" and tag.close_start is not None:
                for rule in _RULE.finditer(shadow, tag.end, tag.close_start):
                    selector = " ".join(rule.group(1).split())
                    if selector.startswith("@"):
                        continue
                    self.css(f"'{selector}'", rule.start(2), rule.end(2))
            style = tag.attrs.get("style")
            if style is not None:
                self.css(f"<{tag.name}>", style.start, style.end)
            if _in_body(tag):
                self.content(tag)
                self.remove(tag)
        return self.out

    def css(self, where: str, start: int, end: int) -> None:
        for prop, value, vstart, vend in declarations(self.text, start, end):
            if prop in COLORS:
                self.recolor(where, prop, value, vstart, vend)
            elif prop in SPACING or prop == "font-size":
                self.length(where, prop, value, vstart)
            elif prop == "display" and value.strip() in DISPLAY:
                new = DISPLAY[value.strip()]
                self.add("display", splice(self.text, vstart, vend, new), "layout_error", 2,
                         f"{where} display", f"the {where} element is laid out as {new} instead "
                         f"of {value.strip()}", vstart)

    def recolor(self, where: str, prop: str, value: str, start: int, end: int) -> None:
        if " " in value.strip() and not value.strip().startswith("rgb"):
            return  # a shorthand ("1px solid red"): not one colour
        new, word = other_color(value, self.rng)
        what = "background" if prop.startswith("background") else prop
        self.add("recolor", splice(self.text, start, end, new), "style_error", 1,
                 f"{where} {what}", f"the {where} {what} is {word} ({new}) instead of "
                 f"{color_name(value)} ({value})", start)

    def length(self, where: str, prop: str, value: str, start: int) -> None:
        m = _LENGTH.search(value)
        if m is None:
            return
        new = other_number(m.group(0), self.rng)
        if new is None or float(new) < 0:
            return
        at = start + m.start()
        text = splice(self.text, at, start + m.end(), new)
        if prop == "font-size":
            self.add("font-size", text, "style_error", 1, f"{where} font size",
                     f"the {where} text is {new} instead of {m.group(0)} in size", at)
        else:
            self.add("layout", text, "layout_error", 2, f"{where} {prop}",
                     f"the {where} {prop} is {new} instead of {m.group(0)}", at)

    def content(self, tag: Tag) -> None:
        inner = tag.inner(self.text)
        if tag.name.lower() not in TEXT_TAGS or inner is None:
            return
        start, end = inner
        old = self.text[start:end]
        if "<" in old or "&" in old or not old.strip():
            return
        changed = other_text(old.strip(), self.rng)
        if changed is None:
            return
        new, severity = changed
        at = start + len(old) - len(old.lstrip())
        shown = html_lib.unescape(old.strip())
        self.add("text", splice(self.text, at, at + len(old.strip()), new), "text_error",
                 severity, f"<{tag.name}> text '{shown[:40]}'",
                 f"the <{tag.name}> text reads '{new}' instead of '{shown}'", at)

    def remove(self, tag: Tag) -> None:
        end = tag.outer_end
        if tag.name.lower() not in REMOVABLE or self.text.count("\n", tag.start, end):
            return
        self.add("remove", blank_out(self.text, tag.start, end), "structure_error", 3,
                 f"<{tag.name}>", f"the <{tag.name}> element is missing", tag.start)


def _in_body(tag: Tag) -> bool:
    parent = tag.parent
    while parent is not None:
        if parent.name.lower() == "body":
            return True
        parent = parent.parent
    return False


def mutations(text: str, rng: random.Random) -> list[Mutation]:
    """Every mutation this module knows for the page ``text``."""
    return _Mutator(text, rng).run()
