"""Moved, not new: find an element's render pixels elsewhere in the reference.

Without a sidecar an element drawn at a new place reads as *extra* where it is now and leaves
reference ink where it was — on whatever lay under it (a legend moved off two lines makes both
lines look changed). Searching the reference for the element's own crop (sum of squared
differences, by FFT) finds where it was; what it covered there, or covers now, is then a
consequence of the move, not a change of its own.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import (
    Finding,
    Placed,
    diff_in,
    grow,
    inside,
    int_box,
    texty,
    union,
)
from verm.critic.analytic.pixels import dilate
from verm.critic.taxonomy import CHART_GUIDES, CHART_MARKS, TOP_CONTAINERS
from verm.types import Anchor, Box

MAX_SEARCHES = 8  # crops searched per judgement (~10 ms each on a chart)
ROW_SLACK = 2  # px a text's top or bottom may differ and still be in its row
LABELS = frozenset({"title", "suptitle", "xlabel", "ylabel"})  # a chart's one-line labels
MIN_SIDE = 6  # px: smaller crops match anywhere
MIN_CONTRAST = 12.0  # grey standard deviation below which a crop is featureless
EXACT_RMS = 12.0  # grey RMS error of a match on an exact comparison
LOSSY_RMS = 28.0  # … on a JPEG or resampled one
LEGEND_RMS = 36.0  # … of a legend's softened ink, moved onto other marks that show through
WORD_INK = 0.8  # ink pixels per text-height px that make a word, not a stray rim
WORD_REACH = 1.2  # text heights beside a text searched for words the reference has on
MOVABLE = frozenset({"extra", "text", "changed"})
INK_GREY = 24.0  # grey step from the commonest grey that is ink
BESIDE = 1.2  # text heights beside words where more words of theirs would be
MORE_INK = 0.08  # share of those strips inked in the reference alone: its words run on


def relocate(findings: list[Finding], cmp: Comparison, placed: list[Placed] | None = None
             ) -> list[Finding]:
    """Findings of elements drawn elsewhere become moves (``ref_box`` where they were), and
    marks they covered or uncovered become the move's consequences. With ``placed``, a legend
    hidden under translucent marks is also found by the size of the patch it left."""
    matcher: Matcher | None = None
    searched = 0
    moves = _moved_legends(findings, cmp)
    if placed is not None:
        moves += _legends_left(findings, placed, cmp)
    for f in sorted(findings, key=lambda f: -f.pixels):
        a = f.anchor
        if (searched >= MAX_SEARCHES or f.nature not in MOVABLE or a is None or f.consequence
                or f.render_box is None or a.role in TOP_CONTAINERS or a.role in CHART_MARKS
                or (a.container and a.role not in ("legend", "colorbar"))):
            continue
        if matcher is None:
            matcher = matcher_of(cmp)
        grey_ref, grey_render = matcher.ref, matcher.render
        searched += 1
        # A legend's frame is translucent: what it now sits over shows through a little.
        rms = LOSSY_RMS if cmp.lossy or cmp.frame.scale != 1.0 or a.container else EXACT_RMS
        box = int_box(f.render_box, cmp.frame)
        found = None
        if texty(a):
            # A text's own ink, not its cell: a cell may have grown around unchanged words.
            ink = ink_box(grey_render, box)
            if ink is not None and _fits_in_place(grey_ref, grey_render, ink, rms):
                beyond = (None if a.role in ("cell", "header")
                          else words_beyond(grey_ref, grey_render, ink,
                                             cmp.lossy or cmp.frame.scale != 1.0,
                                             _grey_of(cmp.ref_background)))
                if beyond is None:
                    f.nature = "resized"  # the same words where they were: the box changed
                    continue
                # The reference's words run on past the render's ("Group A" → "Group"):
                # a text change, to be read where the reference's words were.
                f.ref_box = beyond
                continue
            if ink is not None and a.role in ("cell", "header"):
                # Its words elsewhere in the same row of cells: realigned or shifted over.
                # Words drawn at another sub-pixel offset anti-alias differently: lossy slack.
                found = matcher.locate(ink, LOSSY_RMS, box)
                if found is not None:
                    f.nature, f.ref_box = "moved", _shifted(box, ink, found)
                    moves.append(f)
                    continue
        if a.role in LABELS and _words_in_its_rows(grey_ref, ink, box):
            # Other words drawn where its own are, in the same rows: changed in place (a move
            # along its row is sought there, by moved_texts); no search of the whole picture.
            continue
        found = matcher.locate(box, rms)
        if found is not None and texty(a):
            ink = ink_box(grey_render, box)
            if ink is not None and runs_on(matcher, ink, round(found[0] - box[0]),
                                           round(found[1] - box[1])):
                continue  # a part of longer words there ("Sales (5, 1)"): its text changed
        if found is None and a.container:
            # A legend moved onto the data: what shows through its frame differs at both
            # places, so only its own ink (entries, handles, frame) is searched for.
            # Its texts sit at another fraction of a pixel there: compared softened.
            found = matcher.softened().locate_masked(box, _own_ink(grey_render, box),
                                                     LEGEND_RMS)
        if found is None:
            continue
        f.nature, f.ref_box = "moved", found
        if isinstance(place := a.props.get("place_line"), int):
            f.line = place  # a legend placed by `loc=` on its call's second line: there
        if texty(a) and f.ref_text is not None and f.ref_text != f.render_text:
            f.nature = "text"  # same place found but the words differ: keep the text change
        moves.append(f)
    for m in moves:
        if m.nature != "moved" or m.ref_box is None or m.render_box is None:
            continue
        for g in findings:
            own = g.anchor or g.ref_anchor  # a grid only the reference draws has no anchor
            if g is m or own is None or own.role not in CHART_MARKS | CHART_GUIDES:
                continue
            if (own.role in CHART_MARKS and any(
                    inside(e, box, 0.6) for e in (g.evidence or [g.box])
                    for box in (m.ref_box, m.render_box))) or _changed_within(
                       cmp.diff, g.evidence or [g.box], (m.ref_box, m.render_box)):
                g.consequence = True
    return findings


def _moved_legends(findings: list[Finding], cmp: Comparison) -> list[Finding]:
    """A legend whose own finding says it changed (its ground, an entry's colour) but whose
    whole box is found elsewhere in the reference: it moved. Its entries' findings, and its
    other pieces', become the move's consequences. Searched softened and on its own ink: what
    shows through its frame differs at both places, and its texts sit at another fraction of
    a pixel there."""
    moves: list[Finding] = []
    done: set[str] = set()
    for f in sorted(findings, key=lambda f: -f.pixels):
        a = f.anchor
        if (a is None or a.role != "legend" or a.key in done or f.consequence
                or f.nature in ("moved", "missing") or f.ref_box is not None):
            continue
        done.add(a.key)
        whole = cmp.frame.from_render(a.box)
        box = int_box(whole, cmp.frame)
        if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
            continue
        matcher = matcher_of(cmp)
        found = matcher.softened().locate_masked(box, _own_ink(matcher.render, box),
                                                 LEGEND_RMS)
        if found is None:
            continue
        f.nature, f.render_box, f.ref_box = "moved", whole, found
        f.ref_color = f.render_color = None
        moves.append(_legend_moved(f, a, findings))
    return moves


def _legend_moved(move: Finding, legend: Anchor, findings: list[Finding]) -> Finding:
    """``move`` is the legend's: reported on its ``loc=`` line when that is another, and its
    own other findings and its entries' (drawn elsewhere) become the move's consequences."""
    if isinstance(place := legend.props.get("place_line"), int):
        move.line = place
    for g in findings:
        if g is not move and g.anchor is not None and (
                g.anchor is legend or g.anchor.key.startswith(legend.key + "/")):
            g.consequence = True
    return move


SAME_SIZE = 2.5  # px either way: a patch of a legend's own size is where the legend was
CORE_GREY = 96  # grey below which a legend's pixel is its words' core, on any face


def _legends_left(findings: list[Finding], placed: list[Placed], cmp: Comparison
                  ) -> list[Finding]:
    """A legend moved onto marks it is drawn under or over translucently (a twin axes' bars
    above it, bars through its frame against a JPEG) has at its new place the colours of
    their blend: its crop matches nowhere, and no finding of its own may even name it.
    Where it was, the reference keeps a patch no render element explains of the legend's own
    width and height; else its words' dark cores, which no ground changes, are found there.
    Either is where it was: the move is the finding (new when none named the legend)."""
    moves: list[Finding] = []
    taken = {id(f.anchor) for f in findings if f.anchor is not None and f.nature == "moved"}
    matcher: Matcher | None = None
    for p in placed:
        a = p.anchor
        if a.role != "legend" or id(a) in taken:
            continue
        w, h = p.tight[2] - p.tight[0], p.tight[3] - p.tight[1]
        box = int_box(p.tight, cmp.frame)
        differing = diff_in(cmp, box)
        if differing < 0.05 * w * h:
            continue  # drawn as the reference draws it there
        left = next((g for g in findings if g.nature == "missing" and g.ref_box is not None
                     and not g.consequence and _same_size(g.ref_box, w, h)
                     and not inside(g.ref_box, grow(p.tight, SAME_SIZE), 0.05)), None)
        if left is not None:
            move = left
            move.anchor, move.nature, move.render_box = a, "moved", p.tight
            move.ref_color = move.render_color = None
        else:
            matcher = matcher or matcher_of(cmp)
            cores = matcher.render[box[1]:box[3], box[0]:box[2]] < CORE_GREY
            found = matcher.softened().locate_masked(box, cores, LEGEND_RMS)
            if (found is None or inside(found, grow(p.tight, SAME_SIZE), 0.05)
                    or diff_in(cmp, int_box(found, cmp.frame)) < 0.05 * w * h):
                continue  # (where it was, the render must now differ)
            move = Finding("moved", a, None, p.tight, found, differing,
                           evidence=[p.tight])
            findings.append(move)
        moves.append(_legend_moved(move, a, findings))
    return moves


def _same_size(box: Box, w: float, h: float) -> bool:
    return abs(box[2] - box[0] - w) <= SAME_SIZE and abs(box[3] - box[1] - h) <= SAME_SIZE


LEGEND_PAD = 8  # px round a legend that its frame's resizing repaints


def legend_reflow(findings: list[Finding], placed: list[Placed], cmp: Comparison
                  ) -> list[Finding]:
    """A legend entry whose words changed resizes the legend's frame: marks it then covers or
    uncovers there (a line behind a narrower frame) changed only inside the legend's box as
    either picture draws it. Their findings become consequences of the entry's."""
    legends = {p.anchor.key: p for p in placed if p.anchor.role == "legend"}
    for f in findings:
        a = f.anchor
        if (a is None or a.role != "legend-text" or f.consequence or f.nature != "text"
                or (legend := legends.get(a.key.rsplit("/", 1)[0])) is None):
            continue
        zone = grow(union([b for b in (legend.tight, f.ref_box, f.render_box) if b]),
                    LEGEND_PAD)
        for g in findings:
            own = g.anchor or g.ref_anchor
            if (g is not f and own is not None and own.role in CHART_MARKS | CHART_GUIDES
                    and not g.consequence
                    and _changed_within(cmp.diff, g.evidence or [g.box], (zone,))):
                g.consequence = True
    return findings


def _changed_within(diff: np.ndarray, evidence: list[Box], boxes: tuple[Box, ...],
                    share: float = 0.9) -> bool:
    """Do ``share`` of the changed pixels of ``evidence`` lie in ``boxes`` (2 px round)? A
    region merged across the gap between where a legend was and where it is now is its
    move alone, though neither box holds most of the region's bounding box."""
    h, w = diff.shape
    total = moved = 0
    for e in evidence:
        x0, y0 = max(0, int(e[0])), max(0, int(e[1]))
        x1, y1 = min(w, int(np.ceil(e[2]))), min(h, int(np.ceil(e[3])))
        if x1 <= x0 or y1 <= y0:
            continue
        crop = diff[y0:y1, x0:x1]
        held = np.zeros_like(crop)
        for b in boxes:
            bx0, by0 = max(0, int(b[0]) - 2 - x0), max(0, int(b[1]) - 2 - y0)
            bx1, by1 = int(np.ceil(b[2])) + 2 - x0, int(np.ceil(b[3])) + 2 - y0
            if bx1 > 0 and by1 > 0:
                held[by0:by1, bx0:bx1] = True
        total += int(np.count_nonzero(crop))
        moved += int(np.count_nonzero(crop & held))
    return total > 0 and moved >= share * total


def ink_box(grey: np.ndarray, box: tuple[int, int, int, int]
             ) -> tuple[int, int, int, int] | None:
    """The bounding box of what differs from the crop's own background (its commonest grey),
    inside the box's edges (a cell's borders are not its text)."""
    x0, y0, x1, y1 = box
    if x1 - x0 > 8 and y1 - y0 > 8:
        x0, y0, x1, y1 = x0 + 2, y0 + 2, x1 - 2, y1 - 2
    crop = grey[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    values, counts = np.unique(np.round(crop), return_counts=True)
    ink = np.abs(crop - values[np.argmax(counts)]) > 24
    if not ink.any():
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1,
            y0 + int(rows[-1]) + 1)


def words_beyond(ref: np.ndarray, render: np.ndarray, ink: tuple[int, int, int, int],
                  lossy: bool = False, page: float | None = None) -> Box | None:
    """The reference's extent of a text whose render words it shows in place but which runs
    on past them: ink the reference alone has on their line, within a word or so of either
    end ("Group A" shortened to "Group"). The box of both; None when there is none.

    ``lossy`` (JPEG, resampled): only strong ink a pixel clear of the render's own counts; a
    JPEG's ringing round the punctuation both pictures draw next to the words is not words."""
    x0, y0, x1, y1 = ink
    height = y1 - y0
    reach = max(3, round(WORD_REACH * height))
    crop = render[y0:y1, max(0, x0 - 2):x1 + 2]
    values, counts = np.unique(np.round(crop), return_counts=True)
    ground = float(values[np.argmax(counts)])  # the words' ground: their commonest grey
    w = ref.shape[1]
    strong = 96 if lossy else 48

    def words(a: int, b: int) -> tuple[int, int] | None:
        """The columns of reference-only ink between ``a`` and ``b``, when they make a word."""
        if b - a < 2:
            return None
        drawn = np.abs(render[y0:y1, a:b] - ground) > 48
        if lossy:
            drawn = dilate(drawn, 1)
        only = (np.abs(ref[y0:y1, a:b] - ground) > strong) & ~drawn
        if page is not None:
            # The page's own ground where the words' box now reaches further (a badge made
            # a block) is no word.
            only &= np.abs(ref[y0:y1, a:b] - page) > strong
        if np.count_nonzero(only) < WORD_INK * height:
            return None
        cols = np.flatnonzero(only.any(axis=0))
        return a + int(cols[0]), a + int(cols[-1]) + 1

    # Word after word while they follow a word space apart ("and set_dash_capstyle()" lost).
    left = x0
    while (found := words(max(0, left - reach), left)) is not None and found[0] < left:
        left = found[0]
    right = x1
    while (found := words(right, min(w, right + reach))) is not None and found[1] > right:
        right = found[1]
    if (left, right) == (x0, x1):
        return None
    return (float(left), float(y0), float(right), float(y1))


def _words_in_its_rows(grey_ref: np.ndarray, ink: Box | None,
                       box: tuple[int, int, int, int]) -> bool:
    """The reference draws words inside the text's box whose ink spans the rows the render's
    does (within a px or two): words in their place, not a text moved away."""
    if ink is None:
        return False
    theirs = ink_box(grey_ref, box)
    return (theirs is not None and abs(theirs[1] - ink[1]) <= ROW_SLACK
            and abs(theirs[3] - ink[3]) <= ROW_SLACK
            and theirs[2] - theirs[0] >= (ink[2] - ink[0]) / 3)


def _own_ink(grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of a crop that differ from its commonest grey (a legend's ground), with a
    pixel round them: its entries, handles and frame."""
    x0, y0, x1, y1 = box
    crop = grey[y0:y1, x0:x1]
    values, counts = np.unique(np.round(crop), return_counts=True)
    return dilate(np.abs(crop - values[np.argmax(counts)]) > 24, 1)


def _fits_in_place(ref: np.ndarray, render: np.ndarray, box: tuple[int, int, int, int],
                   rms: float) -> bool:
    x0, y0, x1, y1 = box
    a, b = ref[y0:y1, x0:x1], render[y0:y1, x0:x1]
    if a.size == 0 or a.shape != b.shape or min(b.shape) < 3:
        return False
    return float(np.mean((a - b) ** 2)) <= (rms / 2) ** 2


def _box3(a: np.ndarray) -> np.ndarray:
    """The 3×3 mean of each pixel (edges repeated)."""
    p = np.pad(a.astype(np.float32), 1, mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0


def _grey_of(color: tuple[int, int, int]) -> float:
    return float(_grey(np.array([color], dtype=np.uint8))[0])


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _shifted(box: tuple[int, int, int, int], ink: tuple[int, int, int, int], found: Box) -> Box:
    dx, dy = found[0] - ink[0], found[1] - ink[1]
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


class Matcher:
    """Template search of a render's crops in the reference (both grey), by FFT.

    What every search shares is computed once per judgement and band of rows: the reference's
    spectrum and its table of summed squares (on a page-sized picture two thirds of each
    search's cost), and each answer (relocate runs twice a judgement and searches again what
    it did not find the first time)."""

    def __init__(self, ref: np.ndarray, render: np.ndarray,
                 side: _RefSide | None = None) -> None:
        self.ref, self.render = ref, render
        side = side or _RefSide()
        # The reference's share of the work, kept across judgements of one reference (a
        # person saving again and again): its spectra and tables of summed squares.
        self._spectra: dict[tuple[int, int], np.ndarray] = side.spectra
        self._squares: dict[tuple[int, int], np.ndarray] = side.squares
        self.side = side
        self._found: dict[tuple[Any, ...], Box | None] = {}
        self._soft: Matcher | None = None

    def softened(self) -> Matcher:
        """A matcher of both pictures blurred twice 3×3: ink drawn at another sub-pixel offset (a
        legend moved by a fractional distance) then differs by little, not by its edges."""
        if self._soft is None:
            self._soft = Matcher(_box3(_box3(self.ref)), _box3(_box3(self.render)))
        return self._soft

    def locate(self, box: tuple[int, int, int, int], rms: float,
               band: tuple[int, int, int, int] | None = None) -> Box | None:
        """Where the render's crop at ``box`` best matches the reference, when that is
        elsewhere and the match is close (grey RMS ≤ ``rms``); None otherwise. ``band``: search
        only the rows of that box (a cell's words stay in their row)."""
        key = (box, rms, band)
        if key not in self._found:
            self._found[key] = self._find(box, rms, band)
        return self._found[key]

    def _find(self, box: tuple[int, int, int, int], rms: float,
              band: tuple[int, int, int, int] | None) -> Box | None:
        x0, y0, x1, y1 = box
        top = 0
        h, w = self.ref.shape
        if band is not None:
            top, bottom = max(0, band[1]), min(h, band[3])
            h = bottom - top
            y0, y1 = y0 - top, y1 - top
        th, tw = y1 - y0, x1 - x0
        if th < 3 or tw < 3 or th >= h or tw >= w or max(th, tw) < MIN_SIDE:
            return None
        t = self.render[y0 + top : y1 + top, x0:x1]
        if float(t.std()) < MIN_CONTRAST:
            return None
        ssd = self._ssd(t, top, top + h)
        at_place = (float(ssd[y0, x0]) if 0 <= y0 < ssd.shape[0] and x0 < ssd.shape[1]
                    else np.inf)
        best = int(np.argmin(ssd))
        by, bx = divmod(best, ssd.shape[1])
        err = float(ssd[by, bx]) / (th * tw)
        if err > rms * rms or (abs(bx - x0) <= 2 and abs(by - y0) <= 2):
            return None
        if at_place / (th * tw) <= 4 * err + 1:
            return None  # it also fits where it is: nothing moved, something else changed
        return (float(bx), float(by + top), float(bx + tw), float(by + top + th))

    def locate_masked(self, box: tuple[int, int, int, int], mask: np.ndarray,
                      rms: float) -> Box | None:
        """``locate`` on only the crop's pixels under ``mask`` (a group's own shapes, not what
        shows between them), over the whole reference."""
        x0, y0, x1, y1 = box
        h, w = self.ref.shape
        th, tw = y1 - y0, x1 - x0
        t = self.render[y0:y1, x0:x1].astype(np.float64)
        m = mask.astype(np.float64)
        n = float(m.sum())
        if (t.shape != m.shape or th >= h or tw >= w or n < 9
                or float(t[mask].std()) < MIN_CONTRAST):
            return None
        fh, fw = _fast(h), _fast(w)
        if self.side.exact is None:  # in float64: a masked sum is a difference of large ones
            image = self.ref.astype(np.float64)
            self.side.exact = (np.fft.rfft2(image, (fh, fw)), np.fft.rfft2(image**2, (fh, fw)))
        spec, spec2 = self.side.exact
        valid = (slice(0, h - th + 1), slice(0, w - tw + 1))
        r2 = np.fft.irfft2(spec2 * np.conj(np.fft.rfft2(m, (fh, fw))), (fh, fw))[valid]
        rt = np.fft.irfft2(spec * np.conj(np.fft.rfft2(m * t, (fh, fw))), (fh, fw))[valid]
        ssd = np.maximum(r2 - 2 * rt + float((m * t * t).sum()), 0.0)
        by, bx = divmod(int(np.argmin(ssd)), ssd.shape[1])
        err = float(ssd[by, bx]) / n
        if err > rms * rms or (abs(bx - x0) <= 2 and abs(by - y0) <= 2):
            return None
        if 0 <= y0 < ssd.shape[0] and 0 <= x0 < ssd.shape[1] and float(ssd[y0, x0]) / n <= (
                4 * err + 1):
            return None  # it also fits where it is
        return (float(bx), float(by), float(bx + tw), float(by + th))

    def _ssd(self, t: np.ndarray, y0: int, y1: int) -> np.ndarray:
        """Sum of squared differences of template ``t`` at every valid offset in the
        reference's rows ``y0:y1``."""
        image = self.ref[y0:y1]
        h, w = image.shape
        th, tw = t.shape
        # Circular correlation equals the linear one at every valid offset once the transform
        # is at least the picture's size: one size, so one spectrum, for every template.
        fh, fw = _fast(h), _fast(w)
        spec = self._spectra.get((y0, y1))
        if spec is None:
            spec = self._spectra[(y0, y1)] = np.fft.rfft2(image, (fh, fw))
        corr = np.fft.irfft2(spec * np.conj(np.fft.rfft2(t, (fh, fw))), (fh, fw))
        corr = corr[: h - th + 1, : w - tw + 1]
        sq = self._squares.get((y0, y1))
        if sq is None:
            sq = self._squares[(y0, y1)] = np.pad(
                np.cumsum(np.cumsum(image.astype(np.float64) ** 2, 0), 1), ((1, 0), (1, 0)))
        window = sq[th:, tw:] - sq[:-th, tw:] - sq[th:, :-tw] + sq[:-th, :-tw]
        return np.maximum(window - 2 * corr + float((t.astype(np.float64) ** 2).sum()), 0.0)


@dataclass
class _RefSide:
    """What a matcher computes of the reference alone."""

    grey: np.ndarray | None = None
    soft: _RefSide | None = None  # the same of the reference softened (words at sub-pixels)
    spectra: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    squares: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    exact: tuple[np.ndarray, np.ndarray] | None = None  # whole reference, and squared

    def softened(self, ref: np.ndarray, how: Callable[[np.ndarray], np.ndarray]) -> _RefSide:
        """The kept work on the reference ``ref`` (its grey) made soft by ``how``, once."""
        if self.soft is None:
            grey = how(ref)
            grey.setflags(write=False)
            self.soft = _RefSide(grey=grey)
        return self.soft


REF_SIDES = 4  # references whose search tables are kept (the ones being edited against)
_ref_sides: OrderedDict[bytes, _RefSide] = OrderedDict()
_ref_lock = threading.Lock()


def _ref_side(ref: np.ndarray) -> _RefSide:
    """The kept work on this reference frame (the same pixels: the same reference, placed
    the same way), or a new entry for it."""
    key = hashlib.blake2b(ref.tobytes(), digest_size=16, person=b"%dx%d" % ref.shape[:2]).digest()
    with _ref_lock:
        side = _ref_sides.get(key)
        if side is None:
            side = _ref_sides[key] = _RefSide()
            while len(_ref_sides) > REF_SIDES:
                _ref_sides.popitem(last=False)
        else:
            _ref_sides.move_to_end(key)
    return side


def matcher_of(cmp: Comparison) -> Matcher:
    """The comparison's matcher, made on first use and kept for the judgement; the
    reference's share of it kept for the next judgement against the same reference."""
    if cmp.matcher is None:
        side = _ref_side(cmp.ref)
        if side.grey is None:
            side.grey = _grey(cmp.ref)
            side.grey.setflags(write=False)  # shared by the next judgements
        cmp.matcher = Matcher(side.grey, _grey(cmp.render), side)
    return cmp.matcher


def find(ref: np.ndarray, render: np.ndarray, box: tuple[int, int, int, int],
         rms: float, band: tuple[int, int, int, int] | None = None) -> Box | None:
    """``Matcher.locate`` once, on two grey pictures."""
    return Matcher(ref, render).locate(box, rms, band)


def _fast(n: int) -> int:
    """A size ≥ n whose FFT is fast (a product of 2, 3 and 5)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def runs_on(raw: Matcher, ink: Box, dx: int, dy: int) -> bool:
    """The reference's words at ``ink`` + (dx, dy) go on past the render's, before or after
    them on their line ("Request latency" where the render has "Request"): the render's words
    are a part of other words, not the same text moved."""
    x0, y0, x1, y1 = ink
    if y1 - y0 > 1.5 * (x1 - x0):  # a rotated label (a y-axis's): its line runs up and down
        reach = max(3, round(BESIDE * (x1 - x0)))
        strips = [(x0, y0 - reach, x1, y0 - 1), (x0, y1 + 1, x1, y1 + reach)]
    else:
        reach = max(3, round(BESIDE * (y1 - y0)))
        strips = [(x0 - reach, y0, x0 - 1, y1), (x1 + 1, y0, x1 + reach, y1)]
    for a0, b0, a1, b1 in strips:
        mine = _inked(raw.render, (a0, b0, a1, b1))
        theirs = _inked(raw.ref, (a0 + dx, b0 + dy, a1 + dx, b1 + dy))
        if theirs is not None and theirs - (mine or 0.0) > MORE_INK:
            return True
    return False


def _inked(grey: np.ndarray, box: Box) -> float | None:
    """Share of ``box`` that is ink against the commonest grey around it (a margin of its own
    size each way: the background its words sit on)."""
    x0, y0, x1, y1 = box
    height, width = grey.shape
    x0, x1, y0, y1 = max(0, x0), min(width, x1), max(0, y0), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    around = grey[max(0, y0 - h):y1 + h, max(0, x0 - w):x1 + w]
    values, counts = np.unique(np.round(around), return_counts=True)
    background = values[np.argmax(counts)]
    return float(np.mean(np.abs(grey[y0:y1, x0:x1] - background) > INK_GREY))
