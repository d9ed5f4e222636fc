"""Bars turned on their side (``bar`` made ``barh``), judged against a screenshot: one chart
type change on the plotting call, not every bar, tick and axis in the plot.

Without a sidecar the turned bars read as wrong data (every bar another size), the category
names as changed tick texts, the value axis as rescaled. The shapes tell: a series' vertical
bars share one width, horizontal ones one height. When the render's bars of a series lie one
way and the reference's bars of that colour the other, the plotting call drew another type.
"""

from __future__ import annotations

from verm.critic.analytic.compare import Comparison
from verm.critic.analytic.components import label
from verm.critic.analytic.findings import WORDS, Color, Finding, Placed, grow, inside, only_words
from verm.critic.analytic.pixels import near_color
from verm.types import Box

SAME_SIDE = 1.5  # px two bars' widths (heights) may differ and still be one series' bars
LOSSY_SIDE = 2.0  # px more they may differ, read from a JPEG
MIN_BARS = 2
BAR_COLOR = 30.0  # RGB distance that is still the bars' colour
MIN_AREA = 20  # px: smaller blobs of the colour are legend handles' rims, not bars


def turned_bars(findings: list[Finding], placed: list[Placed], cmp: Comparison
                ) -> list[Finding]:
    """One ``retyped`` finding per plotting call whose bars lie the other way in the
    reference; everything found in that plot becomes its consequence."""
    if only_words(findings):
        return findings  # no bar turned
    plots = {p.anchor.key: p for p in placed if p.anchor.role == "axes"}
    legends = [p.tight for p in placed if p.anchor.role == "legend"]
    # One plotting call's bars, whatever their colours (``color=[...]`` gives each its own).
    series: dict[tuple[str, int | None], list[Placed]] = {}
    for p in placed:
        a = p.anchor
        if a.role != "bar" or p.color is None or "/" not in a.key:
            continue
        line = a.range.start.line if a.range is not None else None
        series.setdefault((a.key.split("/", 1)[0], line), []).append(p)
    out = list(findings)
    turned: set[str] = set()
    for (plot_key, _), bars in series.items():
        plot = plots.get(plot_key)
        if plot is None or plot_key in turned or len(bars) < MIN_BARS:
            continue
        now = _lying([b.tight for b in bars])
        if now is None:
            continue
        shapes = _reference_shapes(cmp, plot.box, {b.color for b in bars if b.color}, legends)
        # A JPEG's soft edges leave a blob of the bar's colour a px or two short each side.
        was = _lying(shapes, SAME_SIDE * cmp.frame.px_per_render_px
                     + (LOSSY_SIDE if cmp.lossy else 0.0))
        if was is None or was == now:
            continue
        turned.add(plot_key)
        for f in out:
            own = f.anchor or f.ref_anchor
            if own is None or not (own.key == plot_key or own.key.startswith(plot_key + "/")):
                continue
            # A title or label whose words changed did so on its own: it does not turn.
            if f.nature == "text" and own.role in WORDS:
                continue
            f.consequence = True
        head = bars[0]
        out.append(Finding(
            "retyped", head.anchor, None, plot.tight, plot.tight,
            sum(f.pixels for f in out if f.consequence),
            note=(f"the chart type differs: the bars are drawn {now}, in the reference "
                  f"{was}")))
    return out


def _reference_shapes(cmp: Comparison, box: tuple[int, int, int, int], colors: set[Color],
                      legends: list[Box]) -> list[Box]:
    """The reference's blobs of the bars' colours inside the plot (frame px), legend handles
    (inside the render's legend boxes) and anti-aliased rims left out."""
    x0, y0, x1, y1 = box
    shapes: list[Box] = []
    for color in colors:
        _, boxes = label(near_color(cmp.ref[y0:y1, x0:x1], color, BAR_COLOR))
        for ys, xs in boxes:
            if (ys.stop - ys.start) * (xs.stop - xs.start) < MIN_AREA:
                continue
            shape = (float(x0 + xs.start), float(y0 + ys.start), float(x0 + xs.stop),
                     float(y0 + ys.stop))
            if not any(inside(shape, grow(legend, 1), 1.0) for legend in legends):
                shapes.append(shape)
    return shapes


def _lying(boxes: list[Box], side: float = SAME_SIDE) -> str | None:
    """"vertical" when the bars share one width (and not one height: within ``side`` px),
    "horizontal" the other way round; None when there are too few bars or they do not
    tell."""
    if len(boxes) < MIN_BARS:
        return None
    widths = [b[2] - b[0] for b in boxes]
    heights = [b[3] - b[1] for b in boxes]
    one_width = max(widths) - min(widths) <= side
    one_height = max(heights) - min(heights) <= side
    if one_width and not one_height:
        return "vertical"
    if one_height and not one_width:
        return "horizontal"
    return None

