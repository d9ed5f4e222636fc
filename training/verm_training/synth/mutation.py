"""What every domain's mutator returns — a ``Mutation`` — and the small text edits they share.

A mutation is a whole new source text plus the labels that say, exactly, what a critic should
find when its render is compared with the original's: the labels are known by construction, so
no model is needed to write them. Edits keep the line count wherever they can (a removed
statement becomes ``pass``, a removed element an empty line), so a label's line is the same in
the original and the mutated source.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from verm.revise.literals import parse_color
from verm_training.data import Label

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")

# Colours a mutation may switch to, each with the word a model would use for it.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#d62728", "red"), ("#2ca02c", "green"), ("#1f77b4", "blue"), ("#ff7f0e", "orange"),
    ("#9467bd", "purple"), ("#8c564b", "brown"), ("#e377c2", "pink"), ("#7f7f7f", "gray"),
    ("#17becf", "cyan"), ("#000000", "black"), ("#bcbd22", "olive"), ("#ffd700", "yellow"),
)
# Only for naming what was there (a change to white or pale gray is often invisible).
NAMES = (*PALETTE, ("#ffffff", "white"), ("#d3d3d3", "light gray"), ("#1f3a60", "dark blue"))

# Words a text mutation may put in place of another: plausible, visibly different.
SWAP_WORDS = ("Revenue", "Sales", "Profit", "Users", "Region", "Month", "Total", "Growth",
              "Quarter", "Year", "Cost", "Share", "Summary", "Report", "Status", "Items")


@dataclass(frozen=True)
class Mutation:
    """One deterministic edit of a source and the labels it causes.

    ``family`` groups edits of one sort ("recolor", "data", "text", ...), so a source's pairs
    are drawn across families rather than five recolourings of one bar.
    """

    family: str
    name: str
    text: str
    labels: tuple[Label, ...]


def label(category: str, severity: int, location: str, description: str, line: int) -> Label:
    return Label(category=category, severity=severity, location=location,
                 description=description, line=line)


def ordinal(i: int) -> str:
    return ORDINALS[i] if i < len(ORDINALS) else f"#{i + 1}"


def line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def line_at(text: str, offset: int) -> int:
    """0-based line of character ``offset`` (lines end at \\n; sources are read that way)."""
    return text.count("\n", 0, offset)


def splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def blank_out(text: str, start: int, end: int) -> str:
    """``text`` without ``[start, end)`` but with its line breaks, so no line moves."""
    return text[:start] + "\n" * text.count("\n", start, end) + text[end:]


def color_name(value: str) -> str:
    """The palette word nearest to a colour literal ("#1f77b4" → "blue"); the literal itself
    when it is no colour verm can read."""
    rgb = parse_color(value, python=True, prop="color")
    if rgb is None:
        return value
    best = min(NAMES, key=lambda p: _distance(rgb, parse_color(p[0]) or (0, 0, 0)))
    return best[1]


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


def other_color(value: str | None, rng: random.Random) -> tuple[str, str]:
    """A palette colour (hex, word) far from ``value`` (any, when ``value`` is unreadable)."""
    rgb = parse_color(value, python=True, prop="color") if value else None
    choices = [p for p in PALETTE
               if rgb is None or _distance(rgb, parse_color(p[0]) or (0, 0, 0)) > 90 ** 2]
    return rng.choice(choices or list(PALETTE))


def other_text(old: str, rng: random.Random) -> tuple[str, int] | None:
    """A visibly different text for ``old`` and the severity of the change (a word replaced
    or dropped: 2; letters swapped: 1); None when ``old`` has nothing to change."""
    words = old.split()
    if not words:
        return None
    options: list[tuple[str, int]] = []
    i = rng.randrange(len(words))
    replacement = rng.choice([w for w in SWAP_WORDS if w.lower() != words[i].lower()])
    options.append((" ".join([*words[:i], replacement, *words[i + 1:]]), 2))
    if len(words) >= 2:
        options.append((" ".join(words[:-1]), 2))
    long = [j for j, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if long:
        j = rng.choice(long)
        w = words[j]
        k = rng.randrange(len(w) - 1)
        swapped = w[:k] + w[k + 1] + w[k] + w[k + 2:]
        if swapped != w:
            options.append((" ".join([*words[:j], swapped, *words[j + 1:]]), 1))
    new, severity = rng.choice(options)
    return (new, severity) if new != old and new.strip() else None


_NUMBER = re.compile(r"^(-?)(\d*)(\.(\d+))?$")


def other_number(old: str, rng: random.Random, *, integer: bool | None = None) -> str | None:
    """``old`` (a number's source text) changed by a visible factor, written in its notation
    (same number of decimals; an integer stays one)."""
    m = _NUMBER.match(old.strip())
    if not m or not (m.group(2) or m.group(4)):
        return None
    value = float(old)
    decimals = len(m.group(4) or "")
    factor = rng.choice((0.4, 0.5, 0.6, 1.5, 1.7, 2.0))
    new_value = value * factor if value else rng.choice((1.0, 2.0, 5.0))
    if integer is True or decimals == 0:
        new = str(round(new_value))
        if new == old.strip():
            new = str(round(new_value) + 1)
    else:
        new = f"{new_value:.{decimals}f}"
    return new if new != old.strip() else None
