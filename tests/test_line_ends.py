"""Lines are counted as LSP counts them (\\n, \\r\\n, \\r), never as ``str.splitlines`` does
(form feeds, U+2028...): otherwise pragmas and anchors below such a character land a line off."""

from __future__ import annotations

from pathlib import Path

from verm.check import Checker
from verm.source import Source


def test_pragma_line_after_a_line_separator_in_a_string(tmp_path: Path) -> None:
    src = tmp_path / "page.html"
    src.write_text("<p title='a\u2028b\x0cc'>x</p>\n<!-- verm: reference=p.png -->\n")
    source = Source.load(src)
    assert source.pragmas["reference"] == ("p.png", 1)


def test_chart_anchor_lines_after_a_line_separator_in_a_string(tmp_path: Path) -> None:
    src = tmp_path / "chart.py"
    src.write_text("import matplotlib.pyplot as plt\n"
                   "note = 'a\u2028b\x0cc'\n"
                   "fig, ax = plt.subplots()\n"
                   "ax.plot([1, 2, 3])\n"
                   "ax.set_title('Sales')\n")
    with Checker() as checker:
        render = checker.render(Source.load(src))
    assert render.ok, render.failure
    title = [a for a in render.anchors if a.text == "Sales"]
    assert title and title[0].range is not None
    assert title[0].range.start.line == 4
    assert title[0].range.end.character == len("ax.set_title('Sales')")


def test_page_anchor_lines_with_lone_carriage_returns(tmp_path: Path) -> None:
    """Classic Mac line ends: html.parser counts only \\n, LSP counts \\r too."""
    src = tmp_path / "page.html"
    src.write_bytes(b"<!doctype html>\r<html><body>\r<p>one</p>\r\n<h1>Title</h1>\r"
                    b"</body></html>\r")
    with Checker() as checker:
        render = checker.render(Source.load(src))
    assert render.ok, render.failure
    h1 = [a for a in render.anchors if a.text == "Title"]
    assert h1 and h1[0].range is not None and h1[0].range.start.line == 3, h1
