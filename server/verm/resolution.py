"""Meeting a reference captured at another resolution: draw the source at the reference's size.

A reference without a sidecar may be a HiDPI screenshot (2×, 1.25×) or a figure saved with
another ``dpi``. Resampling the render onto it (registration) works, but text is hinted and
lines are snapped anew at each resolution, so faint differences remain. Charts and SVGs can
simply be drawn again at the reference's size (``RenderOptions.scale``): then both pictures
come from the same rasteriser at the same resolution and compare pixel for pixel.

The re-draw also tells two causes apart that look alike at first sight: the same figure at
another resolution (drawn at the reference's size, it matches) and a figure whose *size*
changed (``figsize``: matplotlib keeps text at its point size, so drawn at the reference's
size its text is still too small or too large — nearly every label differs). The latter is
one discrepancy, the figure size, not one per label.
"""

from __future__ import annotations

from verm.critic.analytic import CANVAS_NAMES
from verm.critic.taxonomy import size_category
from verm.types import Box, Critique, Discrepancy, Render

RESCALABLE = frozenset({"chart", "svg", "html", "table"})  # honour RenderOptions.scale
SAME_ASPECT = 0.01  # relative difference of the two canvases' scale factors
SCALE_RANGE = (1 / 8, 8.0)
TEXT_ROLES = frozenset({"suptitle", "title", "xlabel", "ylabel", "xticklabel", "yticklabel",
                        "legend-text", "text"})
SATURATED = 0.6  # share of the render's text elements in discrepancies: the text did not scale
LABEL_ROLES = frozenset({"suptitle", "title", "xlabel", "ylabel"})
MIN_TEXTS = 3


def ratio(ref_size: tuple[int, int], render: Render) -> float | None:
    """The factor that draws ``render`` at the reference's size, when both canvases have the
    same shape and another size; None otherwise (same size, or another shape: a real change
    the critic reports as such).

    A chart's pixel size is its size in inches times its dpi, rounded down: the factor comes
    from the unrounded size, so that the figure is drawn at exactly the reference's dpi.
    """
    (wa, ha), (wb, hb) = ref_size, render.size
    if (wa, ha) == (wb, hb) or min(wa, ha, wb, hb) <= 0:
        return None
    exact_w, exact_h = float(wb), float(hb)
    inches, dpi = render.meta.get("inches"), render.meta.get("dpi")
    if inches and dpi:
        exact_w, exact_h = inches[0] * dpi, inches[1] * dpi
    sx, sy = wa / exact_w, ha / exact_h
    if abs(sx / sy - 1) > SAME_ASPECT:
        return None
    s = (sx + sy) / 2
    return s if SCALE_RANGE[0] <= s <= SCALE_RANGE[1] else None


def score(critique: Critique) -> tuple[int, int]:
    """Lower is better: total severity, then the number of discrepancies."""
    found = critique.discrepancies
    return sum(d.severity for d in found), len(found)


def text_saturated(critique: Critique, render: Render) -> bool:
    """Do the discrepancies touch nearly all of the render's text elements?"""
    texts = [a for a in render.anchors if a.role in TEXT_ROLES and not a.container]
    if len(texts) < MIN_TEXTS:
        return False
    shown = [r for d in critique.discrepancies for r in (d, *d.related)]
    # Words found elsewhere at their own size (moved) say the text did scale with the figure.
    boxes = [d.render_box for d in shown if d.render_box is not None
             and (d.fix or {}).get("kind") != "position"]
    hit = [a for a in texts if any(_overlap(a.box, b) for b in boxes)]
    # Text that did not scale with its figure is every text: the titles and axis labels too.
    # Tick labels alone (most of a chart's texts) change with an axis's limits or scale.
    labels = [a for a in texts if a.role in LABEL_ROLES]
    labels_hit = [a for a in hit if a.role in LABEL_ROLES]
    return (len(hit) >= SATURATED * len(texts)
            and (not labels or len(labels_hit) >= SATURATED * len(labels)))


def texts_at_scale(critique: Critique, times: float, slack: float = 0.15) -> bool:
    """Is some text found drawn ``times`` (or 1/``times``) as large as the reference's — the
    signature of a picture drawn at the wrong resolution (a 2× guess on a 1× screenshot)?"""
    for d in critique.discrepancies:
        fix = d.fix or {}
        if d.anchor is None or d.anchor.role not in TEXT_ROLES or fix.get("kind") != "size":
            continue
        expected, actual = fix.get("expected"), fix.get("actual")
        if isinstance(expected, list) and isinstance(actual, list) and expected and actual:
            expected, actual = expected[0], actual[0]
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and expected:
            ratio_ = actual / expected
            if any(abs(ratio_ - t) <= slack * t for t in (times, 1 / times)):
                return True
    return False


def figure_size_discrepancy(domain: str, ref_size: tuple[int, int],
                            render_size: tuple[int, int], drawn: float) -> Discrepancy:
    """One discrepancy for a figure of another size, whose text did not scale with it."""
    (wa, ha), (wb, hb) = ref_size, render_size
    name = CANVAS_NAMES.get(domain, "figure")
    how = "smaller" if drawn < 1 else "larger"
    return Discrepancy(
        category=size_category(domain),
        severity=2,
        location=name,
        description=(f"{name} size differs: reference {wa}×{ha} px, render {wb}×{hb} px (same "
                     f"aspect {wa / max(1, ha):.2f}); drawn at the reference's size its text "
                     f"is {how} than the reference's, so the {name} size changed (figsize), "
                     "not only the resolution"),
        ref_box=(0.0, 0.0, float(wa), float(ha)),
        render_box=(0.0, 0.0, float(wb), float(hb)),
        fix={"kind": "size", "expected": [wa, ha], "actual": [wb, hb]},
    )


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


