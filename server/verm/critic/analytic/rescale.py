"""Which series changed when an axis was rescaled, from pixels alone (no sidecar).

A new value that moves the y-axis limits redraws every series: the one whose data changed, and
all the others, stretched by the same axis map. Against a screenshot nothing says which is
which — except that map. Each series is found by its colour in both pictures; the unchanged ones
all agree on one affine map y_render = a·y_reference + b (and one for x), the changed ones do
not. The map is fitted robustly (each series proposes one, the one most series agree with wins);
series off the map changed their data, series on it only moved with the axis. When every
series is on the map, the axis limits themselves changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.findings import Finding, Placed, area, int_box, numeric
from verm.critic.analytic.moves import LOSSY_RMS, ink_box, matcher_of
from verm.critic.analytic.pixels import near_color
from verm.critic.taxonomy import CHART_MARKS
from verm.types import Anchor

SERIES = frozenset({"line", "collection", "bar", "wedge", "patch"})
MIN_INK = 12  # pixels of a series' colour needed in each picture
TOLERANCE = 3.0  # px a series may sit off the fitted map and still be on it
TICK_RMS = 32.0  # grey RMS within which a tick label's words match in the reference (drawn
# at another fraction of a pixel they differ by ~25)
TICK_UNIQUE = 1.5  # … and by which every other place along its columns must match worse
SERIES_COLOR = 30.0  # RGB distance that is still the series' colour (anti-aliasing aside)


@dataclass
class Series:
    """One series of a plot: its render anchors (a bar chart's bars share a line and colour)
    and where its colour's ink spans in each picture (frame px)."""

    anchors: list[Anchor]
    ref: tuple[float, float, float, float]
    render: tuple[float, float, float, float]


def explain_rescale(findings: list[Finding], placed: list[Placed], cmp: Comparison
                    ) -> list[Finding]:
    """Mark the findings of series that only moved with a rescaled axis as consequences; add a
    data finding for a series that changed though it looks the same; a limits finding when
    no series changed. Plots without changed tick labels are left alone."""
    plots = [p for p in placed if p.anchor.role == "axes"]
    out = list(findings)
    for plot in plots:
        key = plot.anchor.key + "/"
        ticks = [f for f in findings if f.anchor is not None and f.anchor.key.startswith(key)
                 and f.anchor.role in ("xticklabel", "yticklabel")]
        if not ticks:
            out += _unticked(out, placed, plot, key, cmp)
            continue
        series = _series(placed, key, plot, cmp)
        edges = tuple(float(v) for v in int_box(plot.tight, cmp.frame))
        changed = _off_map(series, edges) if len(series) >= 2 else None
        if changed is None and len(series) >= 2:
            changed = _off_tick_map(series, ticks, cmp, edges)
        if changed is None:
            limits = _set_axis(out, plot, key, ticks)
            if limits:
                _texts_moved(out, key, changed=False)
            out += limits
            continue
        _texts_moved(out, key, changed=bool(changed))
        moved_only = {id(a) for s in series if s not in changed for a in s.anchors}
        for f in out:
            if f.anchor is not None and id(f.anchor) in moved_only:
                f.consequence = True
        for s in changed:
            own = [f for f in out if f.anchor is not None and not f.consequence
                   and any(f.anchor is a for a in s.anchors)]
            if not own:
                out.append(_data_finding(s))
                continue
            # Whatever else it seems to show (a blended crossing, a new size), its data changed.
            head = max(own, key=lambda f: f.pixels)
            if head.nature not in ("missing", "extra"):
                head.nature, head.note = "data", _data_finding(s).note
                head.ref_color = head.render_color = None
        if not changed:
            lines = plot.anchor.props.get("limit_lines") or {}
            axis = "y" if any(f.anchor is not None and f.anchor.role == "yticklabel"
                              for f in ticks) else "x"
            line = lines.get(axis) if isinstance(lines, dict) else None
            out.append(Finding("limits", plot.anchor, None, plot.tight, plot.tight,
                               sum(f.pixels for f in ticks),
                               note=(f"{axis}-axis limits differ from the reference: every "
                                     "series moved with the axis, none changed its data"),
                               line=line))
    return out


# A value label moved onto another bar shows that bar's colour round its words: "recoloured".
MOVED_TEXT = frozenset({"text", "moved", "resized", "extra", "recolor"})
UNTICKED = 3  # series that must all follow one map to tell limits set on a hidden axis
SPREAD = 10  # px between the nearest and farthest of their starts along it


def _unticked(findings: list[Finding], placed: list[Placed], plot: Placed, key: str,
              cmp: Comparison) -> list[Finding]:
    """An axis without tick labels (``xaxis.set_visible(False)``) whose limits the script set:
    when every series (each bar one) follows one map along it that is not the identity, the
    limits changed — one finding on the line that set them, the series and their value labels
    its consequences. Else nothing (a series of its own changed, or too few to tell)."""
    lines = plot.anchor.props.get("set_lines")
    if not isinstance(lines, dict) or not any(f.anchor is not None and not f.consequence
                                              and f.anchor.key.startswith(key)
                                              and f.anchor.role in CHART_MARKS
                                              for f in findings):
        return []  # (no series changed: no map to find; a retitled plot costs nothing)
    edges = tuple(float(v) for v in int_box(plot.tight, cmp.frame))
    measured = _series(placed, key, plot, cmp, sideways=True)
    for axis, name in ((0, "x"), (1, "y")):
        if name not in lines:
            continue
        # A bar is measured in its own column (row): across it, its span is that column's.
        series = [t for t in measured
                  if not (t.anchors[0].role == "bar"
                          and bool(t.anchors[0].props.get("horizontal")) != (axis == 0))]
        starts = [t.ref[axis] for t in series]
        if len(series) < UNTICKED or max(starts, default=0) - min(starts, default=0) < SPREAD:
            continue  # too few, or all at one place: any map fits them
        fit = _best_map(series, axis, edges)
        if fit is None:
            continue
        (scale, shift), on = fit
        if _unmoved(scale, shift) or len(on) < len(series):
            continue
        mine = [f for f in findings if f.anchor is not None and not f.consequence
                and f.anchor.key.startswith(key)]
        for f in mine:
            if f.anchor is not None and f.anchor.role in SERIES:
                f.consequence = True
        _texts_moved(findings, key, changed=False)
        return [Finding("limits", plot.anchor, None, plot.tight, plot.tight,
                        sum(f.pixels for f in mine),
                        note=(f"{name}-axis limits differ from the reference: every series "
                              "moved along the axis (its ticks are hidden), none changed its "
                              "data"),
                        line=lines[name])]
    return []


def _texts_moved(findings: list[Finding], key: str, changed: bool) -> None:
    """Texts placed at data points of a rescaled plot (value labels, annotations) moved with
    the axis: consequences, unless the reference's words read there differ (a text of its own
    changed) — when a series' data changed, its labels' new numbers are that change too."""
    for f in findings:
        own = f.anchor
        if (own is None or f.consequence or own.role != "text" or not own.key.startswith(key)
                or not own.props.get("at_data") or f.nature not in MOVED_TEXT):
            continue
        if changed or f.nature != "text" or f.ref_text is None or f.ref_text == f.render_text:
            f.consequence = True


def _set_axis(findings: list[Finding], plot: Placed, key: str, ticks: list[Finding]
              ) -> list[Finding]:
    """Tick labels changed and no map tells which series changed (one series; a log scale
    bends every series; bars clipped at new limits): when the script sets that axis's limits,
    scale or ticks itself, that line is the cause, and every series moved with the axis."""
    lines = plot.anchor.props.get("set_lines") or {}
    # Numbers at the ticks, redrawn: categories renamed or swapped are no change of the
    # axis, and labels nudged a pixel by a longer name across the plot are none either.
    axes = [r[0] for r in ("yticklabel", "xticklabel")
            if sum(1 for f in ticks if f.anchor is not None and f.anchor.role == r
                   and numeric(f.anchor.text) and f.render_box is not None
                   and f.pixels >= REDRAWN * area(f.render_box)) >= 2]
    axis = next((x for x in axes if isinstance(lines, dict) and x in lines), None)
    if axis is None:
        return []
    for f in findings:
        own = f.anchor or f.ref_anchor
        if own is None or not (own.key.startswith(key) or own is plot.anchor):
            continue
        # Its series, the grid they now hide, the plot's ground they now fill (bars clipped
        # at the new limits cover it): all moved with the axis.
        if ((own.role in SERIES and f.nature not in ("missing", "extra"))
                or own.role == "grid" or (own is plot.anchor and f.nature == "background")):
            f.consequence = True
    return [Finding("limits", plot.anchor, None, plot.tight, plot.tight,
                    sum(f.pixels for f in ticks),
                    note=(f"{axis}-axis limits or scale differ from the reference: the tick "
                          "labels changed and every series moved with the axis"),
                    line=lines[axis])]


REDRAWN = 0.15  # of a tick label's box that differs when its number changed

SHIFT_SLACK = 3  # px an axis label shifted by its ticks may also move along them
RESAMPLED_RMS = 64.0  # grey RMS of a label's own words drawn at another resolution


def label_shifts(findings: list[Finding], cmp: Comparison) -> list[Finding]:
    """An axis label beside a rescaled axis's ticks shifts with their width ("17.5" → "30"):
    when its own ink is found in the reference across from where it is now (the y label in its
    rows, the x label in its columns) and its words do not read differently there, it is a
    consequence of the limits change, not a text change of its own. Run after the
    reference's words are read."""
    for limits in [f for f in findings if f.nature == "limits" and f.anchor is not None]:
        axis = (limits.note or "x")[0]
        label = f"{limits.anchor.key}/{axis}label"
        for f in findings:
            if (f.anchor is None or f.anchor.key != label or f.consequence
                    or f.render_box is None or f.nature not in ("text", "moved", "resized")
                    or (f.ref_text is not None and f.ref_text != f.render_text)):
                continue
            if f.nature == "moved" or _shifted_across(f, axis, cmp):
                f.consequence = True
    return findings


def _shifted_across(f: Finding, axis: str, cmp: Comparison) -> bool:
    """Is the finding's ink elsewhere in the reference along the other axis's direction?"""
    assert f.render_box is not None
    matcher = matcher_of(cmp)
    render = matcher.render
    box = int_box(f.render_box, cmp.frame)
    ink = ink_box(render, box)
    if ink is None:
        return False
    h, w = render.shape
    s = SHIFT_SLACK
    # Drawn at another resolution, a label's glyphs are hinted anew: far looser than a move.
    rms = LOSSY_RMS if cmp.frame.scale == 1.0 else RESAMPLED_RMS
    if axis == "y":  # the y label moves left or right, in its rows (give or take a pixel)
        found = matcher.locate(ink, rms, (0, max(0, ink[1] - s), w, min(h, ink[3] + s)))
        return found is not None and abs(found[1] - ink[1]) <= s
    found = matcher.locate(ink, rms)  # the x label moves up or down
    return found is not None and abs(found[0] - ink[0]) <= s


def _series(placed: list[Placed], key: str, plot: Placed, cmp: Comparison,
            sideways: bool = False) -> list[Series]:
    """The plot's series, each bar its own. ``sideways``: a horizontal bar is measured along
    its row (with ticks to read, the axis map comes from the columns, where the reference's
    bars may stand upright)."""
    groups: dict[tuple[int | None, tuple[int, int, int]], list[Placed]] = {}
    for p in placed:
        a = p.anchor
        if a.role not in SERIES or not a.key.startswith(key) or p.color is None:
            continue
        line = a.range.start.line if a.range is not None else None
        groups.setdefault((line, p.color), []).append(p)
    colors = [c for _, c in groups]
    legend = [p.box for p in placed if p.anchor.role == "legend" and p.anchor.key.startswith(key)]
    x0, y0, x1, y1 = int_box(plot.tight, cmp.frame)
    out = []
    for (_, color), members in groups.items():
        if all(m.anchor.role == "bar" for m in members):
            # Each bar is a point of the map: looked for in its own column of the plot (its
            # own row, drawn sideways).
            for m in members:
                bx0, by0, bx1, by1 = int_box(m.tight, cmp.frame)
                # Along a stacked row other bars' labels lie in the row: the bar's own run.
                along = sideways and bool(m.anchor.props.get("horizontal"))
                if along:
                    if by1 - by0 < 3:
                        continue
                    column = (x0, by0 + 1, x1, by1 - 1)
                elif bx1 - bx0 < 3:
                    continue
                else:
                    column = (bx0 + 1, y0, bx1 - 1, y1)
                ref = _span(cmp.ref, color, column, legend, solid=along)
                render = _span(cmp.render, color, column, legend, solid=along)
                if ref is not None and render is not None:
                    out.append(Series([m.anchor], ref, render))
            continue
        if sum(1 for c in colors if c == color) > 1:
            continue  # two series of one colour cannot be told apart by it
        ref = _span(cmp.ref, color, (x0, y0, x1, y1), legend)
        render = _span(cmp.render, color, (x0, y0, x1, y1), legend)
        if ref is None or render is None:
            continue
        out.append(Series([m.anchor for m in members], ref, render))
    return out


def _span(img: np.ndarray, color: tuple[int, int, int], box: tuple[int, int, int, int],
          holes: list[tuple[int, int, int, int]], *, solid: bool = False
          ) -> tuple[float, float, float, float] | None:
    """Bounding box of ``color``'s ink inside ``box``, outside the legend's boxes. ``solid``
    (a bar): its longest unbroken run of rows and of columns — a white label's anti-aliased
    rim on a neighbouring orange bar passes for light yellow, and is not the yellow bar."""
    x0, y0, x1, y1 = box
    mask = near_color(img[y0:y1, x0:x1], color, SERIES_COLOR)
    for hx0, hy0, hx1, hy1 in holes:
        mask[max(0, hy0 - y0):max(0, hy1 - y0), max(0, hx0 - x0):max(0, hx1 - x0)] = False
    if np.count_nonzero(mask) < MIN_INK:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if solid:
        rows, cols = _longest_run(rows), _longest_run(cols)
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1),
            float(y0 + rows[-1] + 1))


def _unmoved(scale: float, shift: float) -> bool:
    """An axis map that is the identity, within a few px over a plot."""
    return abs(scale - 1) * 100 <= TOLERANCE and abs(shift) <= TOLERANCE


def _longest_run(idx: np.ndarray) -> np.ndarray:
    """The longest stretch of consecutive indices in sorted ``idx`` (gaps of a pixel or two,
    a thin line crossing, bridged)."""
    breaks = np.flatnonzero(np.diff(idx) > 3)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [idx.size - 1]])
    i = int(np.argmax(idx[ends] - idx[starts]))
    return idx[starts[i]:ends[i] + 1]


def _follows(t: Series, scale: float, shift: float, lo: int, hi: int,
             edges: tuple[float, ...] | None) -> bool:
    """The series' span is the map of its reference span: each end where the map puts it, or
    — the map putting it past the plot's edge — drawn to that edge (a bar clipped by the new
    limits is no changed value)."""
    for i in (lo, hi):
        want, got = scale * t.ref[i] + shift, t.render[i]
        if abs(want - got) <= TOLERANCE:
            continue
        if edges is None:
            return False
        edge = edges[i]
        past = want < edge + TOLERANCE if i == lo else want > edge - TOLERANCE
        if not (past and abs(got - edge) <= TOLERANCE):
            return False
    return True


def _off_map(series: list[Series], edges: tuple[float, ...] | None = None
             ) -> list[Series] | None:
    """The series that do not follow the axis map most series follow, on the first axis (y,
    then x) whose map is not the identity; None when no axis moved or no map is supported by
    more than half of the series (nothing to conclude)."""
    for axis in (1, 0):  # y first: values are vertical in most charts
        fit = _best_map(series, axis, edges)
        if fit is None:
            continue
        (scale, shift), on = fit
        if _unmoved(scale, shift):
            continue  # this axis did not move
        if len(on) < max(2, len(series) // 2 + 1):
            return None
        return [t for t in series if t not in on]
    return None


def _off_tick_map(series: list[Series], ticks: list[Finding], cmp: Comparison,
                  edges: tuple[float, ...]) -> list[Series] | None:
    """The series off the y-axis map the tick labels draw, when too few series agree on one
    (two series, one changed: each is its own map). Each render tick label's words are
    looked for in the reference, up and down its own columns: the same number drawn
    elsewhere gives a point of the map. None when fewer than three labels are found apart,
    the labels disagree, the axis did not move, or every series is on the map (the limits
    alone changed). Only the vertical map is read: a bar's span is measured in its own
    column, which a horizontal shift would cut."""
    pairs = [p for f in ticks if f.anchor is not None and f.anchor.role == "yticklabel"
             and f.render_box is not None and numeric(f.anchor.text)
             and (p := _found_along(cmp, f.render_box)) is not None]
    # Three at least: two always fit a line, a third shows the axis is linear (a log scale
    # or a new formatter redraws its labels off any line).
    if len(pairs) < 3 or max(a for a, _ in pairs) - min(a for a, _ in pairs) < 10:
        return None
    ref = np.array([a for a, _ in pairs])
    ren = np.array([b for _, b in pairs])
    scale, shift = np.polyfit(ref, ren, 1)
    if np.abs(scale * ref + shift - ren).max() > TOLERANCE:
        return None
    if _unmoved(scale, shift):
        return None  # the axis did not move: it tells nothing
    off = [t for t in series if not _follows(t, scale, shift, 1, 3, edges)]
    return off if off and len(off) < len(series) else None


def _found_along(cmp: Comparison, box: tuple[float, float, float, float]
                 ) -> tuple[float, float] | None:
    """(reference, render) middle row of a tick label's words, found in the reference at one
    clear place up or down its own columns."""
    x0, y0, x1, y1 = int_box(box, cmp.frame)
    t = cmp.render[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    strip = cmp.ref[:, x0:x1].astype(np.float32).mean(axis=2)
    th = y1 - y0
    if th < 4 or x1 - x0 < 4 or float(t.std()) < 20 or strip.shape[0] <= th:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(strip, t.shape)[:, 0]
    ssd = ((windows - t) ** 2).mean(axis=(1, 2))
    best = int(np.argmin(ssd))
    if float(ssd[best]) > TICK_RMS ** 2:
        return None
    others = np.concatenate([ssd[:max(0, best - th)], ssd[best + th + 1:]])
    if others.size and float(others.min()) <= TICK_UNIQUE * float(ssd[best]) + 1:
        return None  # found at two places: not telling
    return best + th / 2, y0 + th / 2


def _best_map(series: list[Series], axis: int, edges: tuple[float, ...] | None = None
              ) -> tuple[tuple[float, float], list[Series]] | None:
    """The map (scale, shift) of one axis that most series' spans follow, and those series."""
    lo, hi = axis, axis + 2
    best: tuple[tuple[float, float], list[Series]] | None = None
    for s in series:
        a_ref, b_ref = s.ref[lo], s.ref[hi]
        if b_ref - a_ref < 2:
            continue
        scale = (s.render[hi] - s.render[lo]) / (b_ref - a_ref)
        shift = s.render[lo] - scale * a_ref
        on = [t for t in series if _follows(t, scale, shift, lo, hi, edges)]
        if best is None or len(on) > len(best[1]):
            best = ((scale, shift), on)
    return best


def _data_finding(s: Series) -> Finding:
    head = s.anchors[0]
    return Finding("data", head, None, s.render, s.ref, 0,
                   note=(f"drawn over {round(s.ref[3] - s.ref[1])} px of height in the "
                         f"reference, {round(s.render[3] - s.render[1])} px in the render, "
                         "while the other series only moved with the rescaled axis"))
