"""The analytic critic maps changes to each domain's taxonomy: svg, html and table pictures.

The pictures are drawn with PIL the way each renderer lays them out, with the anchors a
renderer would report (role, key, human name, text, colour, container).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from verm.critic import get_critic
from verm.types import TAXONOMY, Anchor, Reference, Render


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


@dataclass
class Canvas:
    """A picture and the anchors of what was drawn on it."""

    kind: str
    size: tuple[int, int]
    background: str = "#ffffff"
    anchors: list[Anchor] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.image = Image.new("RGB", self.size, self.background)
        self.draw = ImageDraw.Draw(self.image)
        root = {"svg": "svg", "html": "page", "table": "page"}[self.kind]
        self.anchors.append(Anchor((0, 0, *self.size), root, root, root, container=True))

    def rect(self, box, color, role, key, name, *, text=None, text_color="#000000",
             size=16, container=False, ellipse=False):
        (self.draw.ellipse if ellipse else self.draw.rectangle)(box, fill=color)
        self.anchors.append(Anchor(tuple(map(float, box)), role, key, name, color=color,
                                   container=container, text=text))
        if text:
            self.text_at(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, text_color,
                         f"{key}/text", f"{name} text", size=size, anchor="mm", add=False)

    def text_at(self, xy, text, color, key, name, *, role="text", size=16, anchor="la",
                add=True):
        f = font(size)
        self.draw.text(xy, text, fill=color, font=f, anchor=anchor)
        box = self.draw.textbbox(xy, text, font=f, anchor=anchor)
        if add:
            self.anchors.append(Anchor(tuple(map(float, box)), role, key, name, text=text,
                                       color=color))

    def render(self) -> Render:
        return Render(kind=self.kind, source=Path(f"x.{self.kind}"), image=self.image,
                      anchors=self.anchors)

    def reference(self, *, sidecar: bool = False) -> Reference:
        return Reference(Path("ref.png"), self.image,
                         anchors=list(self.anchors) if sidecar else None,
                         anchors_size=self.size if sidecar else None)


@pytest.fixture(scope="module")
def critic():
    return get_critic("analytic", ocr=False)


# Each domain's categories as DESIGN.md lists them, written out here rather than read from
# ``verm.types.TAXONOMY``: a category outside its picture's domain must fail.
CATEGORIES = {
    "svg": {"structure_error", "shape_error", "style_error", "text_symbol_error"},
    "html": {"structure_error", "layout_error", "text_error", "style_error"},
    "table": {"layout_error", "text_error", "numeric_error"},
}


def test_the_taxonomy_is_the_documented_one():
    assert {k: set(v) for k, v in TAXONOMY.items() if k != "chart"} == CATEGORIES


def only(domain: str, critique):
    """The one discrepancy of ``critique``, which must be a category of ``domain``."""
    assert len(critique.discrepancies) == 1, [
        (d.category, d.location, d.description) for d in critique.discrepancies
    ]
    d = critique.discrepancies[0]
    assert d.category in CATEGORIES[domain], (domain, d.category)
    return d


# -- svg ----------------------------------------------------------------------------------------


def badge(*, fill="#e74c3c", radius=70, label="OK", with_bar=True) -> Render:
    c = Canvas("svg", (256, 256))
    if with_bar:
        c.rect((28, 210, 228, 230), "#2c3e50", "shape", "svg>rect[1]", "rect 'bar'")
    cx, cy = 128, 110
    c.rect((cx - radius, cy - radius, cx + radius, cy + radius), fill, "shape", "svg>circle[1]",
           "circle 'badge'", ellipse=True)
    c.text_at((cx, cy), label, "#ffffff", "svg>text[1]", f"text '{label}'", size=40,
              anchor="mm")
    return c.render()


def svg_ref(**kw) -> Reference:
    r = badge(**kw)
    return Reference(Path("badge.ref.png"), r.image)  # type: ignore[arg-type]


def test_svg_identity(critic):
    assert critic.judge(svg_ref(), badge()).reward == 2.0


def test_svg_recolour_is_style_error(critic):
    d = only("svg", critic.judge(svg_ref(), badge(fill="#27ae60")))
    assert (d.category, d.location) == ("style_error", "circle 'badge'")
    assert d.fix == {"kind": "color", "expected": "#e74c3c", "actual": "#27ae60"}


def test_svg_bigger_circle_is_shape_error(critic):
    d = only("svg", critic.judge(svg_ref(), badge(radius=80)))
    assert (d.category, d.location) == ("shape_error", "circle 'badge'")


def test_svg_changed_label_is_text_symbol_error(critic):
    d = only("svg", critic.judge(svg_ref(), badge(label="NO")))
    assert (d.category, d.location) == ("text_symbol_error", "text 'NO'")


def test_svg_missing_element_is_structure_error(critic):
    d = only("svg", critic.judge(svg_ref(), badge(with_bar=False)))
    assert d.category == "structure_error"
    assert "missing" in d.description


# -- html ---------------------------------------------------------------------------------------


def page(*, heading="Welcome back", button="#2980b9", button_x=80, with_card=True) -> Render:
    c = Canvas("html", (800, 600))
    c.rect((0, 0, 800, 64), "#34495e", "element", "html>body>header", "header", container=True)
    c.text_at((40, 100), heading, "#222222", "html>body>h1", "h1", size=32)
    c.text_at((40, 160), "Your order has shipped.", "#444444", "html>body>p", "p", size=18)
    c.rect((button_x, 220, button_x + 160, 264), button, "element", "html>body>button",
           "button 'Track'", text="Track", text_color="#ffffff", size=18)
    if with_card:
        c.rect((420, 320, 760, 560), "#ecf0f1", "element", "html>body>div.card", "div.card")
    return c.render()


def html_ref(**kw) -> Reference:
    return Reference(Path("page.ref.png"), page(**kw).image)  # type: ignore[arg-type]


def test_html_identity(critic):
    assert critic.judge(html_ref(), page()).reward == 2.0


def test_html_heading_text_is_text_error(critic):
    d = only("html", critic.judge(html_ref(), page(heading="Welcome home")))
    assert (d.category, d.location) == ("text_error", "h1")


def test_html_button_colour_is_style_error(critic):
    d = only("html", critic.judge(html_ref(), page(button="#c0392b")))
    assert (d.category, d.location) == ("style_error", "button 'Track'")
    assert "#2980b9" in d.description and "#c0392b" in d.description


def test_html_moved_button_is_layout_error(critic):
    d = only("html", critic.judge(html_ref(), page(button_x=200)))
    assert (d.category, d.location) == ("layout_error", "button 'Track'")
    assert "+120" in d.description


def test_html_missing_card_is_structure_error(critic):
    d = only("html", critic.judge(html_ref(), page(with_card=False)))
    assert d.category == "structure_error"


def test_html_page_size_change_is_layout_error(critic):
    ref = page()
    wider = Canvas("html", (1000, 600))
    wider.rect((0, 0, 1000, 64), "#34495e", "element", "html>body>header", "header",
               container=True)
    wider.text_at((40, 100), "Welcome back", "#222222", "html>body>h1", "h1", size=32)
    assert ref.image is not None
    pinned = Reference(Path("r.png"), ref.image, anchors=ref.anchors, anchors_size=(800, 600))
    found = critic.judge(pinned, wider.render()).discrepancies
    # The wider page also lacks the paragraph and the button: each is its own finding.
    assert [(d.category, d.location) for d in found] == [
        ("layout_error", "page"), ("structure_error", "button 'Track'"),
        ("structure_error", "p")]
    assert "800×600" in found[0].description and "1000×600" in found[0].description


# -- table --------------------------------------------------------------------------------------

COLUMNS = ("Item", "Qty", "Price")


def table(rows: list[tuple[str, str, str]]) -> Render:
    c = Canvas("table", (480, 40 + 36 * (len(rows) + 1)))
    x0, y0, widths, h = 20, 20, (200, 100, 120), 36
    c.anchors.append(Anchor((x0, y0, x0 + sum(widths), y0 + h * (len(rows) + 1)), "table",
                            "table", "table", container=True))
    for r, row in enumerate([COLUMNS, *rows]):
        x = x0
        for col, (w, value) in enumerate(zip(widths, row, strict=True)):
            box = (x, y0 + r * h, x + w, y0 + (r + 1) * h)
            c.draw.rectangle(box, outline="#999999", fill="#f2f2f2" if r == 0 else "#ffffff")
            f = font(16)
            c.draw.text((x + 8, box[1] + 9), value, fill="#111111", font=f)
            tb = c.draw.textbbox((x + 8, box[1] + 9), value, font=f)
            role = "header" if r == 0 else "cell"
            name = f"column '{value}'" if r == 0 else f"row {r}, column '{COLUMNS[col]}'"
            c.anchors.append(Anchor(tuple(map(float, (box[0] + 1, box[1] + 1, box[2] - 1,
                                                      box[3] - 1))),
                                    role, f"table>tr[{r}]>td[{col}]", name, text=value))
            del tb
            x += w
    return c.render()


ROWS = [("Apples", "12", "3.40"), ("Pears", "7", "2.10"), ("Plums", "30", "5.00")]


def test_table_changed_number_is_numeric_error(critic):
    ref = Reference(Path("t.png"), table(ROWS).image)  # type: ignore[arg-type]
    rows = [ROWS[0], ("Pears", "9", "2.10"), ROWS[2]]
    d = only("table", critic.judge(ref, table(rows)))
    assert (d.category, d.location) == ("numeric_error", "row 2, column 'Qty'")


def test_table_changed_word_is_text_error(critic):
    ref = Reference(Path("t.png"), table(ROWS).image)  # type: ignore[arg-type]
    rows = [ROWS[0], ("Peaches", "7", "2.10"), ROWS[2]]
    d = only("table", critic.judge(ref, table(rows)))
    assert (d.category, d.location) == ("text_error", "row 2, column 'Item'")


def test_table_extra_row_is_layout_error(critic):
    ref = Reference(Path("t.png"), table(ROWS).image)  # type: ignore[arg-type]
    d = only("table", critic.judge(ref, table([*ROWS, ("Figs", "4", "9.99")])))
    assert (d.category, d.location) == ("layout_error", "row 4")


def test_table_missing_row_beyond_the_render_canvas_is_one_layout_error(critic):
    """The render is shorter than the reference: the frame still covers the reference's row."""
    ref = Reference(Path("t.png"), table(ROWS).image)  # type: ignore[arg-type]
    d = only("table", critic.judge(ref, table(ROWS[:2])))
    assert (d.category, d.location) == ("layout_error", "page")
    assert "missing from the render" in d.description
    assert d.ref_box is not None and d.ref_box[3] > 148  # below the render's canvas


def test_table_sidecar_names_the_extra_row(critic):
    pinned = table(ROWS)
    assert pinned.image is not None
    ref = Reference(Path("t.png"), pinned.image, anchors=pinned.anchors,
                    anchors_size=pinned.image.size)
    d = only("table", critic.judge(ref, table([*ROWS, ("Figs", "4", "9.99")])))
    assert (d.category, d.location) == ("layout_error", "row 4")
    assert "'Figs | 4 | 9.99'" in d.description


def test_html_sidecar_move(critic):
    pinned = page()
    assert pinned.image is not None
    ref = Reference(Path("p.png"), pinned.image, anchors=pinned.anchors,
                    anchors_size=pinned.image.size)
    d = only("html", critic.judge(ref, page(button_x=200)))
    assert (d.category, d.location) == ("layout_error", "button 'Track'")
    assert "moved by (+120, +0)" in d.description


def lossy_hidpi(render: Render) -> Reference:
    """A 2× screenshot, cropped to content, padded and saved as JPEG (quality 85)."""
    import io

    import numpy as np

    assert render.image is not None
    big = render.image.resize((render.image.width * 2, render.image.height * 2),
                              Image.Resampling.LANCZOS)
    a = np.asarray(big).astype(np.int16)
    ys, xs = np.nonzero((np.abs(a - 255) > 8).any(axis=2))
    big = big.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    canvas = Image.new("RGB", (big.width + 20, big.height + 20), "white")
    canvas.paste(big, (10, 10))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=85)
    return Reference(Path("shot.jpg"), Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.mark.parametrize(
    ("domain", "pinned", "current", "expected"),
    [
        ("svg", badge, badge, None),
        ("html", page, page, None),
        ("table", lambda: table(ROWS), lambda: table(ROWS), None),
        ("html", page, lambda: page(with_card=False), ("structure_error", "page")),
        ("html", page, lambda: page(button_x=200), ("layout_error", "button 'Track'")),
        ("svg", badge, lambda: badge(radius=80), ("shape_error", "circle 'badge'")),
        ("svg", badge, lambda: badge(fill="#27ae60"), ("style_error", "circle 'badge'")),
        ("html", page, lambda: page(heading="Welcome home"), ("text_error", "h1")),
        ("table", lambda: table(ROWS), lambda: table([ROWS[0], ("Pears", "9", "2.10"), ROWS[2]]),
         ("numeric_error", "row 2, column 'Qty'")),
    ],
)
def test_lossy_hidpi_references_in_every_domain(critic, domain, pinned, current, expected):
    critique = critic.judge(lossy_hidpi(pinned()), current())
    if expected is None:
        assert critique.discrepancies == []
    else:
        d = only(domain, critique)
        assert (d.category, d.location) == expected
