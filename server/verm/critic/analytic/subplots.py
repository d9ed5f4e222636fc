"""Plot areas laid out anew (two subplots side by side made one above the other), judged
against a screenshot: one cause on the line that lays them out, not every mark in them.

Without a sidecar nothing says where the reference's plot areas are, and a new layout moves and
stretches every bar, line, tick and title: each read as a change of its own. The frames tell:
a plot area whose spines the reference does not draw where the render does, while the reference
draws long frame edges far from every render frame, was laid out elsewhere. Frames a few pixels
off (tight_layout making room for wider tick labels) are not a new layout.
"""

from __future__ import annotations

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, Placed, only_words
from verm.critic.analytic.pixels import abs_diff, channel_max
from verm.critic.taxonomy import TOP_CONTAINERS

FRAME_INK = 100  # difference from the ground that a spine's pixel shows at least
SOFT_INK = 60  # … in a resampled or JPEG reference
THIN = 3  # px: a frame edge is a line, with no ink this far either side of it
IN_PLACE = 0.8  # share of a frame's edge pixels the reference draws for it to be in place
MIN_EDGE = 0.15  # share of the canvas's width (height) a frame edge spans at least
RELAID = 0.08  # share of the canvas an edge lies from every render frame edge: elsewhere


def relaid_plots(findings: list[Finding], placed: list[Placed], cmp: Comparison
                 ) -> list[Finding]:
    """A ``subplots`` finding per layout line whose plot areas the reference frames
    elsewhere; everything found inside those plots becomes its consequence."""
    plots = [p for p in placed if p.anchor.role == "axes" and "/" not in p.anchor.key]
    if only_words(findings):
        return findings  # no plot was laid out anew
    # Resampled or compressed, a 1 px spine is a paler line a pixel wider.
    soft = cmp.lossy or cmp.frame.scale != 1.0
    ref_ink = channel_max(abs_diff(cmp.ref, cmp.ref_background)) > (
        SOFT_INK if soft else FRAME_INK)
    render_ink = channel_max(abs_diff(cmp.render, cmp.render_background)) > FRAME_INK
    squeezed = _squeezed(findings, plots, ref_ink)
    if squeezed is not None:
        return squeezed
    framed = [p for p in plots if (_framed(render_ink, p) or 0.0) >= IN_PLACE]
    away = [p for p in framed if (_framed(ref_ink, p, 2 if soft else 1) or 0.0) < IN_PLACE]
    by_line: dict[int | None, list[Placed]] = {}
    if away and _frames_elsewhere(ref_ink, framed):
        for p in away:
            by_line.setdefault(_line(p), []).append(p)
    elif not framed:
        by_line = _frameless_relaid(plots, ref_ink, render_ink, cmp)
    if not by_line:
        return findings
    # A frameless plot (a pie) laid out by the same call moved with the others, and each
    # colorbar with its plot.
    moved = [p for p in plots if _line(p) in by_line]
    moved += [p for p in placed if p.anchor.role == "colorbar"]
    keys = tuple(p.anchor.key for p in moved)
    for f in findings:
        own = f.anchor or f.ref_anchor
        if own is not None and (own.key in keys or own.key.startswith(
                tuple(k + "/" for k in keys)) or own.role in TOP_CONTAINERS):
            f.consequence = True
    out = list(findings)
    for members in by_line.values():
        head = members[0]
        n = len(members)
        if framed:
            note = (f"{n} of {len(framed)} plot areas are not where the reference frames them "
                    if n > 1 else "the plot area is not where the reference frames it ")
            note += "(its frame lies elsewhere there): the subplot layout differs"
        else:
            note = (f"{n} of {n} plots (frameless) differ in most of their ink, each where "
                    "the reference draws it: the subplot layout differs")
        out.append(Finding("subplots", head.anchor, None, head.tight, head.tight, 0,
                           note=note))
    return out


SLIVER = 12  # px: a plot area this narrow or low has been squeezed, not laid out


def _squeezed(findings: list[Finding], plots: list[Placed], ref_ink: np.ndarray
              ) -> list[Finding] | None:
    """A lone plot area drawn as a sliver where the reference frames a plot (a log scale or
    limits on an axis of fixed aspect): its axis setting squeezed it, and everything drawn in
    it or round it changed with it. One cause, on the script's last line setting that plot's
    axes (else its own line); None when no plot is squeezed."""
    if len(plots) != 1:
        return None
    p = plots[0]
    x0, y0, x1, y1 = p.tight
    if min(x1 - x0, y1 - y0) >= SLIVER or max(x1 - x0, y1 - y0) < 4 * SLIVER:
        return None
    if not _frames_elsewhere(ref_ink, [p]):
        return None
    for f in findings:
        f.consequence = True
    lines = p.anchor.props.get("set_lines") or {}
    set_at = [v for k, v in lines.items() if k in ("x", "y") and isinstance(v, int)]
    return [*findings, Finding(
        "limits", p.anchor, None, p.tight, p.tight, 0, line=max(set_at) if set_at else None,
        note=(f"the plot area is drawn {round(x1 - x0)}×{round(y1 - y0)} px where the "
              "reference frames a plot: an axis's limits, scale or aspect squeezed it"))]


MOVED_INK = 0.5  # share of a frameless plot's ink that differs when its plot was laid out anew
MIN_PLOT_INK = 400  # px of ink a plot draws at least for that share to say anything


def _frameless_relaid(plots: list[Placed], ref_ink: np.ndarray, render_ink: np.ndarray,
                      cmp: Comparison) -> dict[int | None, list[Placed]]:
    """Plots with no frame to find (pies, ``axis('off')``) laid out by one call, every one of
    which differs in most of its ink: the layout moved them all (one changed plot leaves the
    others' ink in place)."""
    groups: dict[int | None, list[Placed]] = {}
    for p in plots:
        groups.setdefault(_line(p), []).append(p)
    out = {}
    for line, members in groups.items():
        if line is None or len(members) < 2:
            continue
        shares = []
        for p in members:
            x0, y0, x1, y1 = p.box
            ink = ref_ink[y0:y1, x0:x1] | render_ink[y0:y1, x0:x1]
            n = int(np.count_nonzero(ink))
            shares.append(None if n < MIN_PLOT_INK
                          else np.count_nonzero(cmp.diff[y0:y1, x0:x1] & ink) / n)
        if all(s is not None and s >= MOVED_INK for s in shares):
            out[line] = members
    return out


def _line(p: Placed) -> int | None:
    return p.anchor.range.start.line if p.anchor.range else None


def _framed(ink: np.ndarray, p: Placed, slack: int = 1) -> float | None:
    """The share of the plot area's frame (its four edges, give or take ``slack`` px) that
    ``ink`` draws; None when the edges are too short to tell."""
    h, w = ink.shape
    x0, y0, x1, y1 = (round(v) for v in p.tight)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w - 1, x1), min(h - 1, y1)
    if x1 - x0 < 20 or y1 - y0 < 20:
        return None
    edges = [ink[max(0, y - slack):y + slack + 1, x0:x1].any(axis=0) for y in (y0, y1)]
    edges += [ink[y0:y1, max(0, x - slack):x + slack + 1].any(axis=1) for x in (x0, x1)]
    drawn = sum(int(e.sum()) for e in edges)
    total = sum(e.size for e in edges)
    return drawn / total if total else None


def _frames_elsewhere(ref_ink: np.ndarray, framed: list[Placed]) -> bool:
    """Does the reference draw a long straight edge (a frame's) far from every render frame
    edge along the same direction?"""
    h, w = ref_ink.shape
    rows = [y for p in framed for y in (p.tight[1], p.tight[3])]
    cols = [x for p in framed for x in (p.tight[0], p.tight[2])]
    for y in _long_runs(ref_ink, MIN_EDGE * w):
        if min(abs(y - r) for r in rows) >= RELAID * h:
            return True
    for x in _long_runs(ref_ink.T, MIN_EDGE * h):
        if min(abs(x - c) for c in cols) >= RELAID * w:
            return True
    return False


def _long_runs(ink: np.ndarray, length: float) -> list[int]:
    """Rows holding an unbroken thin line of ink at least ``length`` long: little ink
    ``THIN`` px above and below it (a bar's top edge has the bar below it)."""
    h = ink.shape[0]
    out = []
    for y in np.flatnonzero(ink.sum(axis=1) >= length):
        row = np.concatenate(([0], ink[y].astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(row))
        for a, b in zip(edges[0::2], edges[1::2], strict=True):
            if b - a < length:
                continue
            if all(ink[y + d, a:b].mean() < 0.3 for d in (-THIN, THIN) if 0 <= y + d < h):
                out.append(int(y))
                break
    return out
