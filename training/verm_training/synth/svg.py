"""SVG mutations: an attribute value, an element's text, an element removed or duplicated.

Edits work on the exact spans ``markup.tags`` finds, so the label's line is the line of the
attribute value (for a start tag spread over lines, the line of that attribute), and removed
elements leave their line breaks behind.
"""

from __future__ import annotations

import random
import re

from verm_training.synth.markup import MarkupMutator, Tag, declarations, tags
from verm_training.synth.mutation import (
    Mutation,
    blank_out,
    color_name,
    ordinal,
    other_color,
    other_number,
    other_text,
    splice,
)

SHAPES = {"rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "text", "use",
          "image"}
GEOMETRY = ("x", "y", "width", "height", "cx", "cy", "r", "rx", "ry", "x1", "y1", "x2", "y2")
PAINT = ("fill", "stroke")
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


class _Mutator(MarkupMutator):
    def __init__(self, text: str, rng: random.Random) -> None:
        super().__init__(text, rng)
        self.tags = [t for t in tags(text) if t.depth > 0 or t.name != "svg"]
        self.names = self._names()

    def _names(self) -> dict[int, str]:
        """Each tag's location words: ``<circle>``, or ``second <rect>`` when there are more."""
        seen: dict[str, int] = {}
        counts: dict[str, int] = {}
        for t in self.tags:
            counts[t.name] = counts.get(t.name, 0) + 1
        names: dict[int, str] = {}
        for t in self.tags:
            i = seen.get(t.name, 0)
            seen[t.name] = i + 1
            names[t.start] = f"<{t.name}>" if counts[t.name] == 1 else f"{ordinal(i)} <{t.name}>"
        return names

    def run(self) -> list[Mutation]:
        for tag in self.tags:
            if _in_defs(tag):
                continue
            name = self.names[tag.start]
            self.paint(tag, name)
            self.geometry(tag, name)
            self.transform(tag, name)
            self.content(tag, name)
            self.structure(tag, name)
        return self.out

    def paint(self, tag: Tag, name: str) -> None:
        spots = [(a.name, a.value, a.start, a.end) for a in tag.attrs.values() if a.name in PAINT]
        style = tag.attrs.get("style")
        if style is not None:
            spots += [d for d in declarations(self.text, style.start, style.end) if d[0] in PAINT]
        for prop, value, start, end in spots:
            if value.strip().lower() in ("none", "transparent") or value.startswith("url("):
                continue
            new, word = other_color(value, self.rng)
            self.add("recolor", splice(self.text, start, end, new), "style_error", 1,
                     f"{name} {prop}", f"the {name} {prop} is {word} ({new}) instead of "
                     f"{color_name(value)} ({value})", start)

    def geometry(self, tag: Tag, name: str) -> None:
        attrs = [a for a in tag.attrs.values() if a.name in GEOMETRY and _NUM.fullmatch(a.value)]
        if tag.name in ("polyline", "polygon") and "points" in tag.attrs:
            attrs.append(tag.attrs["points"])
        if tag.name == "path" and "d" in tag.attrs:
            attrs.append(tag.attrs["d"])
        if not attrs:
            return
        attr = self.rng.choice(attrs)
        numbers = list(_NUM.finditer(attr.value))
        if not numbers:
            return
        m = self.rng.choice(numbers)
        new = other_number(m.group(0), self.rng)
        if new is None:
            return
        start = attr.start + m.start()
        what = "size" if attr.name in ("width", "height", "r", "rx", "ry") else "shape"
        if attr.name in ("x", "y", "cx", "cy", "x1", "y1", "x2", "y2"):
            what = "position"
        self.add("geometry", splice(self.text, start, attr.start + m.end(), new), "shape_error",
                 2, name, f"the {name} has a different {what} ({attr.name} {m.group(0)} → {new})",
                 start)

    def transform(self, tag: Tag, name: str) -> None:
        attr = tag.attrs.get("transform")
        if attr is None:
            return
        numbers = list(_NUM.finditer(attr.value))
        if not numbers:
            return
        m = self.rng.choice(numbers)
        new = other_number(m.group(0), self.rng)
        if new is None:
            return
        start = attr.start + m.start()
        self.add("transform", splice(self.text, start, attr.start + m.end(), new), "shape_error",
                 2, name, f"the {name} is transformed differently ({attr.value!r} with "
                 f"{m.group(0)} → {new})", start)

    def content(self, tag: Tag, name: str) -> None:
        inner = tag.inner(self.text)
        if tag.name not in ("text", "tspan") or inner is None:
            return
        start, end = inner
        old = self.text[start:end]
        if "<" in old:
            return
        changed = other_text(old.strip(), self.rng)
        if changed is None:
            return
        new, severity = changed
        lead = len(old) - len(old.lstrip())
        at = start + lead
        self.add("text", splice(self.text, at, at + len(old.strip()), new), "text_symbol_error",
                 severity, f"text '{old.strip()}'",
                 f"the text reads '{new}' instead of '{old.strip()}'", at)

    def structure(self, tag: Tag, name: str) -> None:
        if tag.name not in SHAPES:
            return
        ident = tag.attrs.get("id")
        if ident is not None and f"#{ident.value}" in self.text:
            return  # referenced (<use>, url(#...)): removing it changes more than itself
        end = tag.outer_end
        if self.text.count("\n", tag.start, end) == 0:
            self.add("remove", blank_out(self.text, tag.start, end), "structure_error", 3,
                     name, f"the {name} is missing", tag.start)
        if tag.self_closing and "transform" not in tag.attrs and ident is None:
            copy = self.text[tag.start:end]
            copy = copy[:-2].rstrip() + ' transform="translate(12 8)"/>'
            self.add("duplicate", splice(self.text, end, end, copy), "structure_error", 2, name,
                     f"an extra copy of the {name} is drawn, shifted", end)


def _in_defs(tag: Tag) -> bool:
    parent = tag.parent
    while parent is not None:
        if parent.name in ("defs", "clipPath", "mask", "pattern", "marker", "symbol",
                           "linearGradient", "radialGradient", "filter"):
            return True
        parent = parent.parent
    return tag.name in ("defs", "stop", "title", "desc", "style", "metadata")


def mutations(text: str, rng: random.Random) -> list[Mutation]:
    """Every mutation this module knows for the SVG ``text``."""
    return _Mutator(text, rng).run()
