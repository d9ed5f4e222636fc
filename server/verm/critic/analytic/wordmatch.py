"""The same words, drawn at another sub-pixel offset: a test no pixel-for-pixel match passes.

Text moved by a fraction of a pixel anti-aliases differently: 10 px digits drawn half a pixel
over differ from themselves by a grey RMS of ~50, as much as other digits do. Softening both
pictures ([1 2 1] each way) evens that out enough to find the words and to tell them by their
shape (correlation); moving the render's words by the best fraction of a pixel, unsoftened,
then tells one changed digit (worst letter RMS 50) from the same digits (27–36).
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, Placed, int_box, norm_text, union
from verm.critic.analytic.moves import (
    EXACT_RMS,
    LOSSY_RMS,
    Matcher,
    ink_box,
    matcher_of,
    runs_on,
    words_beyond,
)

SAME_WORDS = 0.8  # correlation of two softened crops that are the same words
# Grey RMS of the worst letter of the same words drawn at another sub-pixel offset, once the
# render's are moved by the best fraction of a pixel (10 px digits and labels: 27-36; a page's
# 12 px table digits pushed along their row: 35-46; one digit changed: 50; two letters swapped:
# 62; another number of the column: 78 and up), exact | lossy.
SUBPIXEL_RMS = {False: 48.0, True: 48.0}
# … of a legend entry's words where the legend was: its face, translucent, took the colours
# of what it now lies over, and its words' rims with it (same words: up to 59 under a twin's
# bars; two letters swapped: 87).
ENTRY_RMS = 70.0
FRAME = 3  # px of a legend's frame and its rim inside its box
LETTER = 0.6  # text heights: the narrowest run of words past an entry's end
FRACTIONS = (-0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75)

Box = tuple[int, int, int, int]


def soften(grey: np.ndarray, times: int = 1) -> np.ndarray:
    """A [1 2 1]/4 blur each way (``times`` over): anti-aliasing at another sub-pixel offset
    mostly evens out."""
    g = grey.astype(np.float32)
    for _ in range(times):
        g = np.pad(g, 1, mode="edge")
        g = (g[:-2] + 2 * g[1:-1] + g[2:]) / 4
        g = (g[:, :-2] + 2 * g[:, 1:-1] + g[:, 2:]) / 4
    return g


def soft_matcher(raw: Matcher) -> Matcher:
    """A template search over both pictures softened: words at another sub-pixel offset (the
    reference's softened once, with the raw matcher's kept work)."""
    side = raw.side.softened(raw.ref, soften)
    assert side.grey is not None
    return Matcher(side.grey, soften(raw.render), side)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def same_words(soft: Matcher, ink: Box, dx: int, dy: int, lossy: bool = True) -> bool:
    """The render's words at ``ink`` are the reference's at ``ink`` + (dx, dy) (``soft``:
    both softened, for words drawn at another sub-pixel offset; else as drawn, within an exact
    comparison's slack unless ``lossy``)."""
    x0, y0, x1, y1 = ink
    t = soft.render[y0:y1, x0:x1]
    if y0 + dy < 0 or x0 + dx < 0:
        return False
    c = soft.ref[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    if c.shape != t.shape or not t.size:
        return False
    rms = float(np.sqrt(np.mean((t - c) ** 2)))
    return rms <= (LOSSY_RMS if lossy else EXACT_RMS) and correlation(t, c) >= SAME_WORDS


def words_kept(cmp: Comparison, box: tuple[int, int, int, int]) -> bool:
    """The render's words inside ``box`` (frame px, their own ink: a cell's borders left out)
    are the reference's at the same place: the box changed round unchanged words."""
    return words_nearby(cmp, box, 0)


def words_nearby(cmp: Comparison, box: tuple[int, int, int, int], reach: int) -> bool:
    """The render's words inside ``box`` are the reference's at the same place or up to
    ``reach`` px above or below (a row whose cells' padding changed draws the same words a few
    px higher); the nearest offsets are tried first."""
    matcher = matcher_of(cmp)
    ink = ink_box(matcher.render, box)
    lossy = cmp.lossy or cmp.frame.scale != 1.0
    return ink is not None and any(same_words(matcher, ink, 0, dy, lossy)
                                   for dy in sorted(range(-reach, reach + 1), key=abs))


def subpixel_rms(raw: Matcher, ink: Box, dx: int, dy: int) -> float:
    """Grey RMS of the worst letter between the render's words at ``ink`` and the reference's
    at ``ink`` + (dx, dy), after moving the render's by the best fraction of a pixel each way
    (bilinear), unsoftened: the softening that finds moved words would also hide a changed
    digit."""
    x0, y0, x1, y1 = ink
    height, width = raw.render.shape
    if (x0 < 1 or y0 < 1 or x1 + 1 >= width or y1 + 1 >= height or y0 + dy < 0
            or x0 + dx < 0 or y1 + dy > raw.ref.shape[0] or x1 + dx > raw.ref.shape[1]):
        return float("inf")
    c = raw.ref[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    best = float("inf")
    for fy in FRACTIONS:
        ys = np.arange(y0, y1) - fy
        ylo = np.floor(ys).astype(int)
        wy = (ys - ylo)[:, None]
        rows = raw.render[ylo] * (1 - wy) + raw.render[ylo + 1] * wy
        for fx in FRACTIONS:
            xs = np.arange(x0, x1) - fx
            xlo = np.floor(xs).astype(int)
            wx = xs - xlo
            t = rows[:, xlo] * (1 - wx) + rows[:, xlo + 1] * wx
            if t.shape == c.shape:
                best = min(best, _worst_letter((t - c) ** 2))
    return best


def _worst_letter(squares: np.ndarray) -> float:
    """The RMS of the worst letter-sized window along the words (as wide as the line is
    tall): two letters swapped in a long title hardly move the whole's RMS."""
    if squares.shape[0] > 1.5 * squares.shape[1]:
        squares = squares.T  # a rotated label: its letters follow each other downwards
    side = max(1, squares.shape[0])
    length = squares.shape[1]
    starts = range(0, max(1, length - side + 1), max(1, side // 2))
    return max(float(np.sqrt(np.mean(squares[:, i:i + side]))) for i in starts)


NUDGE = 3  # px each way a text is first sought around its own place


def _nearby(soft: Matcher, ink: Box) -> tuple[int, int] | None:
    """The offset within ``NUDGE`` px where the softened words match best, when that is not
    where they are and matches clearly better (half the in-place error or less); (0, 0) when
    they match where they are; None when nowhere near."""
    x0, y0, x1, y1 = ink
    t = soft.render[y0:y1, x0:x1]
    height, width = soft.ref.shape
    errors = {}
    for dy in range(-NUDGE, NUDGE + 1):
        for dx in range(-NUDGE, NUDGE + 1):
            if y0 + dy < 0 or x0 + dx < 0 or y1 + dy > height or x1 + dx > width:
                continue
            errors[(dx, dy)] = float(np.mean((t - soft.ref[y0 + dy:y1 + dy, x0 + dx:x1 + dx]) ** 2))
    if not errors:
        return None
    best = min(errors, key=errors.__getitem__)
    in_place = errors.get((0, 0), np.inf)
    if errors[best] > LOSSY_RMS ** 2:
        return None
    if best == (0, 0) or in_place < 4 * errors[best]:
        return (0, 0) if in_place <= LOSSY_RMS ** 2 else None
    return best


TEXT_ROLES = frozenset({"title", "suptitle", "xlabel", "ylabel", "xticklabel", "yticklabel",
                        "legend-text", "text"})
MAX_TEXTS = 12  # texts sought per judgement (an FFT over a band of rows each)
REACH_LINES = 3  # text heights above and below a text searched for its words


def moved_texts(findings: list[Finding], cmp: Comparison) -> list[Finding]:
    """Chart texts that read as changed only because they are drawn a little elsewhere (an
    axis label pushed over by wider tick labels, a title by a taller legend): their words, at
    another sub-pixel offset, are found nearby in the reference — a move, not a change. Texts
    whose words match where they are (a JPEG's ringing round them, a pixel's nudge) are no
    change at all: dropped, with the stray fragments round them (a descender past its box)."""
    unchanged: list[Box] = []
    raw: Matcher | None = None
    soft: Matcher | None = None
    lossy = cmp.lossy or cmp.frame.scale != 1.0
    sought = 0
    for f in sorted(findings, key=lambda f: -f.pixels):
        a = f.anchor
        if (sought >= MAX_TEXTS or a is None or a.role not in TEXT_ROLES or not a.text
                or f.nature not in ("text", "extra", "changed", "resized")
                or f.ref_text is not None
                or f.render_box is None):
            continue
        if raw is None:
            raw = matcher_of(cmp)
            soft = soft_matcher(raw)
        assert soft is not None
        ink = ink_box(raw.render, int_box(f.render_box, cmp.frame))
        if ink is None or ink[2] - ink[0] < 4 or ink[3] - ink[1] < 4:
            continue
        sought += 1
        # A nudge of a pixel or two (a title re-centred over a narrower plot) first; the
        # template search leaves those to "in place".
        near = _nearby(soft, ink)
        if near == (0, 0):
            if (subpixel_rms(raw, ink, 0, 0) <= SUBPIXEL_RMS[lossy]
                    and not runs_on(raw, ink, 0, 0)):
                unchanged.append(_grown(int_box(f.render_box, cmp.frame), ink[3] - ink[1]))
            continue
        if near is not None:
            dx, dy = near
        else:
            reach = REACH_LINES * (ink[3] - ink[1])
            found = soft.locate(ink, LOSSY_RMS, (0, ink[1] - reach, 0, ink[3] + reach))
            if found is None:
                continue
            dx, dy = round(found[0] - ink[0]), round(found[1] - ink[1])
        if (max(abs(dx), abs(dy)) < 1 or not same_words(soft, ink, dx, dy)
                or subpixel_rms(raw, ink, dx, dy) > SUBPIXEL_RMS[lossy]
                or runs_on(raw, ink, dx, dy)):
            continue
        x0, y0, x1, y1 = f.render_box
        f.nature, f.ref_box = "moved", (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    if not unchanged:
        return findings
    return [f for f in findings if not any(_within(f, box) for box in unchanged)]


def _grown(box: Box, by: int) -> Box:
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


def _within(f: Finding, box: Box) -> bool:
    """``f`` is an unchanged text's own finding, or a fragment no element claims beside it."""
    a = f.anchor
    if a is not None and a.role not in TEXT_ROLES and a.role not in ("figure", "axes"):
        return False
    if a is not None and a.role in TEXT_ROLES and f.render_box is not None:
        x0, y0, x1, y1 = f.render_box
    else:  # a figure's or plot's finding is where its pixels differ, not its whole box
        x0, y0, x1, y1 = union(f.evidence) if f.evidence else f.box
    return box[0] <= x0 and box[1] <= y0 and x1 <= box[2] and y1 <= box[3]


def changed_entries(findings: list[Finding], placed: list[Placed], cmp: Comparison
                    ) -> list[Finding]:
    """A legend found moved takes its entries' findings as its own (drawn elsewhere, their
    words read as changed). An entry whose words, compared where the legend was, are not
    the reference's (a letter swapped, words cut short) changed too: a text finding of its
    own, on the line that wrote its label."""
    moved = [f for f in findings if f.nature == "moved" and f.anchor is not None
             and f.anchor.role == "legend" and f.ref_box is not None
             and f.render_box is not None]
    if not moved:
        return findings
    raw = matcher_of(cmp)
    lossy = cmp.lossy or cmp.frame.scale != 1.0
    for m in moved:
        assert m.anchor is not None and m.ref_box is not None and m.render_box is not None
        dx, dy = round(m.ref_box[0] - m.render_box[0]), round(m.ref_box[1] - m.render_box[1])
        aligned: np.ndarray | None = None  # the render laid where the legend was, once
        for p in placed:
            a = p.anchor
            if (a.role != "legend-text" or not a.key.startswith(m.anchor.key + "/")
                    or not a.text or any(f.anchor is a and not f.consequence for f in findings)):
                continue
            ink = ink_box(raw.render, int_box(p.tight, cmp.frame))
            if ink is None or ink[2] - ink[0] < 4 or ink[3] - ink[1] < 4:
                continue
            # The move was found softened: its offset may be a pixel off the words'.
            rms = min(subpixel_rms(raw, ink, dx + ex, dy + ey)
                      for ex in (-1, 0, 1) for ey in (-1, 0, 1))
            # Words the reference has past the render's end (an entry is written left to
            # right from its handle): with the render laid where the legend was, strong ink
            # only (what shows through the translucent face there is not words).
            if aligned is None:
                aligned = np.roll(raw.render, (dy, dx), axis=(0, 1))
            there = (ink[0] + dx, ink[1] + dy, ink[2] + dx, ink[3] + dy)
            beyond = (words_beyond(raw.ref, aligned, there, lossy)
                      if min(there) >= 0 and there[2] <= aligned.shape[1]
                      and there[3] <= aligned.shape[0] else None)
            # Inside the legend's frame where it was, by a letter at least (a rim is none).
            end = min(beyond[2], m.ref_box[2] - FRAME) if beyond is not None else 0
            runs = end - there[2] >= LETTER * (there[3] - there[1])
            if rms <= ENTRY_RMS and not runs:
                continue
            x0, y0, x1, y1 = p.tight
            ref_box = ((there[0], there[1], end, there[3]) if runs
                       else (x0 + dx, y0 + dy, x1 + dx, y1 + dy))
            findings.append(Finding("text", a, None, p.tight, ref_box,
                                    (ink[2] - ink[0]) * (ink[3] - ink[1]),
                                    render_text=norm_text(a.text), evidence=[p.tight]))
    return findings
