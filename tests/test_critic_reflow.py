"""Layout against a designer's screenshot (no sidecar): one finding per cause, on its line.

Without a sidecar the critic sees boxes, not declarations. On a page, a heading drawn at another
font size reads as changed words and pushes everything below it down (a table under it: every row
looked changed, 15 findings for one edit); a margin pushes what follows; a box of another width
keeps its words. Each must be one diagnostic on the CSS declaration a fix edits, in the
taxonomy's category, with what moved folded into it. In a Markdown table, a realigned column
moves its words inside their cells (small digits drawn at another sub-pixel offset match no
crop pixel for pixel), and one longer cell widens its column and pushes every column after it:
one finding on the delimiter row, or on the cell. Each reference is the unedited source's real
render saved as a PNG with no ``<ref>.anchors.json`` beside it, judged by ``Checker.check``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import against_screenshot, screenshot_of
from verm.check import Checker

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "examples" / "pages" / "card.html").read_text()
ORDERS = (ROOT / "benchmarks" / "fixtures" / "bench_page.html").read_text()
NAV = (ROOT / "benchmarks" / "fixtures" / "quality" / "pages" / "nav.html").read_text()
PROFILE = (ROOT / "benchmarks" / "fixtures" / "quality" / "pages" / "profile.html").read_text()
INVOICE = (ROOT / "benchmarks" / "fixtures" / "quality" / "pages" / "invoice.html").read_text()
E2E_PAGE = (ROOT / "tests" / "fixtures" / "e2e" / "page.html").read_text()
INVENTORY = (ROOT / "benchmarks" / "fixtures" / "quality" / "tables" / "inventory.md").read_text()
SCHEDULE = (ROOT / "benchmarks" / "fixtures" / "quality" / "tables" / "schedule.md").read_text()


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def judged(checker: Checker, tmp_path: Path, text: str, edited: str, name: str = "page.html"
           ) -> list[tuple[str, int, int]]:
    """(category, 0-based line, severity) of each finding for ``edited`` against ``text``'s
    render saved as a plain screenshot."""
    assert edited != text
    return [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in against_screenshot(checker, tmp_path, name, text, edited)]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def test_a_heading_drawn_larger_is_its_font_size(checker: Checker, tmp_path: Path) -> None:
    edited = CARD.replace("font-size: 22px", "font-size: 44px")
    assert judged(checker, tmp_path, CARD, edited) == [
        ("style_error", line_of(CARD, ".card h1 {"), 1)]


def test_a_grown_heading_pushes_a_table_down_as_one_cause(checker: Checker,
                                                          tmp_path: Path) -> None:
    """Fourteen rows and a paragraph moved down 27 px: consequences of the heading."""
    edited = ORDERS.replace("font-size: 22px", "font-size: 33px")
    assert judged(checker, tmp_path, ORDERS, edited) == [
        ("style_error", line_of(ORDERS, "h1 {"), 1)]


def test_a_changed_cell_below_a_grown_heading_still_shows(checker: Checker,
                                                          tmp_path: Path) -> None:
    edited = ORDERS.replace("font-size: 22px", "font-size: 33px").replace(
        "<td>Item 5</td>", "<td>Item 9</td>")
    assert sorted(judged(checker, tmp_path, ORDERS, edited)) == sorted([
        ("style_error", line_of(ORDERS, "h1 {"), 1),
        ("text_error", line_of(ORDERS, "<td>Item 5</td>"), 2)])


def test_a_margin_that_pushes_the_content_is_that_margin(checker: Checker,
                                                         tmp_path: Path) -> None:
    edited = CARD.replace("margin: 0 0 8px 0", "margin: 16px 0 8px 0")
    assert judged(checker, tmp_path, CARD, edited) == [
        ("layout_error", line_of(CARD, ".card h1 {"), 2)]


def test_a_list_items_bottom_margin_is_blamed_for_the_items_below(checker: Checker,
                                                                  tmp_path: Path) -> None:
    edited = NAV.replace("margin-bottom: 4px", "margin-bottom: 10px")
    assert judged(checker, tmp_path, NAV, edited) == [
        ("layout_error", line_of(NAV, "li {"), 2)]


def test_a_wider_box_is_its_width_declaration(checker: Checker, tmp_path: Path) -> None:
    edited = PROFILE.replace("width: 72px", "width: 108px")
    assert judged(checker, tmp_path, PROFILE, edited) == [
        ("layout_error", line_of(PROFILE, ".avatar {"), 2)]


def test_a_realigned_column_is_one_cause_on_the_delimiter_row(checker: Checker,
                                                              tmp_path: Path) -> None:
    edited = INVENTORY.replace("|-----------:|----------:|", "|:-----------|----------:|")
    assert judged(checker, tmp_path, INVENTORY, edited, "t.md") == [
        ("layout_error", line_of(INVENTORY, "|------"), 1)]


def test_a_realigned_column_of_digits_is_one_cause(checker: Checker, tmp_path: Path) -> None:
    """One-digit weeks all move alike, as a pushed column would, but inside cells that stayed
    where they were."""
    edited = SCHEDULE.replace("|:----:|", "|-----:|")
    assert judged(checker, tmp_path, SCHEDULE, edited, "t.md") == [
        ("layout_error", line_of(SCHEDULE, "|:----:|"), 1)]


def test_a_column_with_one_word_to_move_realigned_is_one_cause(checker: Checker,
                                                              tmp_path: Path) -> None:
    """Right-aligning a column where only one cell's word is narrower than the column: that
    word moves inside a cell whose borders stayed put, which in Markdown only the delimiter
    row does (it was "moved by (+3, +0) px" on the cell's row)."""
    text = (Path(__file__).parent / "fixtures" / "table" / "stock.md").read_text()
    text = text.split("\n", 1)[1]  # its reference pragma names a file of the fixture's own
    edited = text.replace("|:-----|----:|------|", "|:-----|----:|-----:|")
    assert judged(checker, tmp_path, text, edited, "t.md") == [
        ("layout_error", line_of(text, "|:-----|"), 1)]


def test_a_digit_changed_in_a_realigned_column_still_shows(checker: Checker,
                                                           tmp_path: Path) -> None:
    edited = INVENTORY.replace("|-----------:|----------:|", "|:-----------|----------:|"
                               ).replace("1000 ", "1008 ")
    assert judged(checker, tmp_path, INVENTORY, edited, "t.md") == [
        ("layout_error", line_of(INVENTORY, "|------"), 1),
        ("numeric_error", line_of(INVENTORY, "1000"), 3)]


def test_a_longer_cell_that_widens_its_column_is_one_text_change(checker: Checker,
                                                                 tmp_path: Path) -> None:
    """Every cell of three columns after it moved right; the Product cells' borders moved."""
    edited = INVENTORY.replace("Steel bolts   ", "Steel bolts and screws")
    assert judged(checker, tmp_path, INVENTORY, edited, "t.md") == [
        ("text_error", line_of(INVENTORY, "Steel bolts"), 2)]


@pytest.mark.parametrize("value", ["108", "eight"])
def test_a_longer_cell_that_widens_a_page_tables_column_is_one_text_change(
        checker: Checker, tmp_path: Path, value: str) -> None:
    """An HTML table: the other cells of the widened column keep their words in place (their
    borders moved round them) and the next column's words are pushed along their rows by a
    fraction of a pixel more than a whole one — consequences of the one cell, not 27 findings."""
    edited = ORDERS.replace("<td>Item 3</td><td>8</td>", f"<td>Item 3</td><td>{value}</td>")
    assert judged(checker, tmp_path, ORDERS, edited) == [
        ("text_error", line_of(ORDERS, "<td>Item 3</td>"), 2)]


def test_a_cell_removed_from_a_page_tables_row_is_one_structure_change(
        checker: Checker, tmp_path: Path) -> None:
    """The row ends short of its table where the reference draws a cell; its last cell's
    words now sit one column over, and the column it emptied narrowed in every other row."""
    edited = ORDERS.replace("<td>Item 3</td><td>8</td>", "<td>Item 3</td>")
    assert judged(checker, tmp_path, ORDERS, edited) == [
        ("structure_error", line_of(ORDERS, "<td>Item 3</td>"), 3)]


def test_a_renamed_header_that_narrows_a_column_of_numbers_is_one_text_change(
        checker: Checker, tmp_path: Path) -> None:
    """The right-aligned numbers move left with their cells' edges: the header's consequence,
    and the header reads as other words, not another colour."""
    prices = (ROOT / "examples" / "tables" / "prices.md").read_text()
    edited = prices.replace("Price (€/month)", "Price Report")
    assert judged(checker, tmp_path, prices, edited, "t.md") == [
        ("text_error", line_of(prices, "Price (€/month)"), 2)]


def test_three_changes_in_a_table_with_a_realigned_column_are_three(checker: Checker,
                                                                    tmp_path: Path) -> None:
    """A week number changed inside the realigned column matches another number along its row
    ('0' in '40'): not where the column's other words went, so still a change."""
    edited = SCHEDULE.replace("|:----:|", "|:-----|").replace(
        "|  1   | Maria   |", "|  0   | Maria   |").replace("| Priya     |", "| Growth    |")
    assert sorted(judged(checker, tmp_path, SCHEDULE, edited, "t.md")) == sorted([
        ("layout_error", line_of(SCHEDULE, "|:----:|"), 1),
        ("numeric_error", line_of(SCHEDULE, "|  1   |"), 3),
        ("text_error", line_of(SCHEDULE, "| Priya     |"), 2)])


def test_two_columns_swapped_are_one_cause_on_the_header_row(checker: Checker,
                                                             tmp_path: Path) -> None:
    """Each column's words are found a neighbour's width away (digits too, once the column's
    longer words say where): one structural change, not a changed text per cell."""
    table = (ROOT / "benchmarks" / "fixtures" / "bench_table.md").read_text()
    rows = []
    for line in table.splitlines():
        if line.startswith("|"):
            cells = line.strip("|").split("|")
            cells[1], cells[2] = cells[2], cells[1]
            line = "|" + "|".join(cells) + "|"
        rows.append(line)
    edited = "\n".join(rows) + "\n"
    assert judged(checker, tmp_path, table, edited, "t.md") == [
        ("layout_error", line_of(table, "| Item | Qty | Price |"), 3)]


@pytest.mark.parametrize(("text", "removed", "after"), [
    ("invoice", '    <tr><td class="total">Total</td><td>42</td><td class="total">3360</td></tr>\n',
     "<tr><td>Build</td>"),
    ("page", '  <span class="badge">stable</span>\n', '<p class="note">'),
], ids=["last-table-row", "badge-after-paragraph"])
def test_a_removed_element_is_pointed_at_where_its_code_was(checker: Checker, tmp_path: Path,
                                                            text: str, removed: str,
                                                            after: str) -> None:
    """Its ink lay in the <table> (or <body>), drawn in a border colour a CSS rule declares:
    neither changed. The element drawn last above the missing ink was written just before it,
    so the finding covers the line after that one's (where the element's code goes back)."""
    source = INVOICE if text == "invoice" else E2E_PAGE
    edited = source.replace(removed, "")
    assert edited != source
    found = against_screenshot(checker, tmp_path, "page.html", source, edited)
    gap = line_of(source, after) + 1
    assert [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found] == [
        ("structure_error", gap, 3)]
    assert found[0].range is not None and found[0].range.end.line <= gap + 1


def test_columns_swapped_under_the_same_delimiter_row_are_one_cause(checker: Checker,
                                                                    tmp_path: Path) -> None:
    """The schedule's centred 'Week' column of digits and its 'Primary' column of names swap
    places, the delimiter row kept: the names are centred now, the digits left-aligned, so no
    one shift matches, and single digits match anywhere. The names (and the 'Week' header)
    were, in the reference, where the other column is drawn now: the swap, on the header row;
    the new alignments come with the places (the delimiter row did not change)."""
    lines = SCHEDULE.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and not line.startswith("|:"):
            cells = line.strip("|").split("|")
            cells[0], cells[1] = cells[1], cells[0]
            lines[i] = "|" + "|".join(cells) + "|"
    edited = "\n".join(lines) + "\n"
    assert judged(checker, tmp_path, SCHEDULE, edited, "t.md") == [
        ("layout_error", line_of(SCHEDULE, "| Week |"), 3)]


def test_a_row_repeated_is_one_added_row_on_the_copy(checker: Checker, tmp_path: Path) -> None:
    """Every row after the copy (and the list under the table) sits one row lower: the rows
    below only moved, and the last one's words are unread digits where the reference has
    none. The render draws two rows alike in a row: the later one was added."""
    stock = (ROOT / "tests" / "fixtures" / "table" / "stock.md").read_text()
    row = "| Pears \\| quinces | 12 | |\n"
    edited = stock.replace(row, row + row)
    assert judged(checker, tmp_path, stock, edited, "t.md") == [
        ("layout_error", line_of(stock, "| Pears") + 1, 2)]


def test_a_heading_drawn_smaller_is_its_font_size_not_a_margin(checker: Checker,
                                                               tmp_path: Path) -> None:
    """The first heading shrunk (and its em margins with it): everything below moved up by one
    offset, which the registration takes for a page margin, and the heading no longer matches
    anything. Judged in place, the same words are drawn 2.2× as large in the reference: the
    heading's font size, with what it pulled up folded in."""
    edited = ORDERS.replace("font-size: 22px", "font-size: 10px")
    assert judged(checker, tmp_path, ORDERS, edited) == [
        ("style_error", line_of(ORDERS, "h1 {"), 1)]


def test_a_first_heading_drawn_smaller_is_its_font_size_not_a_page_margin(
        checker: Checker, tmp_path: Path) -> None:
    """The report's heading comes first: drawn smaller, the whole content starts higher, so
    the registration finds one offset for all of it — what a changed page margin does (a
    layout error, and the heading "new"). Judged in place as well, the heading drawn 2.6× as
    small explains everything with one finding: the better verdict."""
    fixtures = ROOT / "tests" / "fixtures" / "html"
    for name in ("style.css", "dot.svg"):
        shutil.copy(fixtures / name, tmp_path / name)
    report = (fixtures / "report.html").read_text()
    edited = report.replace("font-size: 26px", "font-size: 10px")
    assert judged(checker, tmp_path, report, edited) == [
        ("style_error", line_of(report, "font-size: 26px"), 1)]


@pytest.mark.parametrize(("name", "row"), [
    ("tests/fixtures/e2e/stock.md", "| Plums  |  30 |  1.20 |\n"),
    ("benchmarks/fixtures/quality/tables/team.md", "| Alice   | Engineer  | Berlin   |  2019 |\n"),
], ids=["last-row", "first-row"])
def test_a_row_taken_out_of_a_table_is_one_missing_row_where_it_was(
        checker: Checker, tmp_path: Path, name: str, row: str) -> None:
    """The rows after it moved up, leaving the table's last band empty in the render: one
    missing row (layout, 3), not a recoloured border and cells that read differently. Its range
    covers where the row's line was: after the last row, or before the row now in its place."""
    text = (ROOT / name).read_text()
    edited = text.replace(row, "")
    assert edited != text
    found = against_screenshot(checker, tmp_path, "t.md", text, edited)
    at = text.splitlines().index(row.rstrip("\n"))
    assert [(d.category, d.severity) for d in found] == [("layout_error", 3)]
    rng = found[0].range
    assert rng is not None and rng.start.line <= at <= rng.end.line


@pytest.mark.parametrize(("word", "severity"), [("Hniges", 1), ("Doors", 2)])
def test_a_typo_in_a_cell_is_milder_than_another_word(checker: Checker, tmp_path: Path,
                                                      word: str, severity: int) -> None:
    """Two letters swapped still say what the reference says (severity 1); another word says
    something else (2). Both are the cell's text change."""
    edited = INVENTORY.replace("Hinges", word)
    assert judged(checker, tmp_path, INVENTORY, edited, "t.md") == [
        ("text_error", line_of(INVENTORY, "Hinges"), severity)]


ALERTS = (ROOT / "benchmarks" / "fixtures" / "quality" / "pages" / "alerts.html").read_text()


def test_a_padding_every_box_of_a_class_shares_is_one_cause(checker: Checker,
                                                            tmp_path: Path) -> None:
    """Each alert grew by the same padding: the first pushes the rest down; the last, grown
    too, draws its ground and border where the reference had the page, and its words lower
    than the rest moved — all the one declaration's doing."""
    edited = ALERTS.replace("padding: 10px 14px", "padding: 20px 14px")
    assert judged(checker, tmp_path, ALERTS, edited) == [
        ("layout_error", line_of(ALERTS, "padding: 10px 14px"), 2)]


@pytest.mark.parametrize("reworded", [True, False], ids=["reworded", "words-kept"])
def test_a_badge_made_block_under_a_smaller_heading_is_its_display(checker: Checker,
                                                                   tmp_path: Path,
                                                                   reworded: bool) -> None:
    """The heading drawn smaller pulls the page up; the badge under it no longer matches at
    that offset because it now fills its parent: its ground, that much higher in the
    reference, is narrower — its display, not a changed text. When its words changed too: a
    second finding, on its tag."""
    edited = (E2E_PAGE.replace("font-size: 24px", "font-size: 12px")
              .replace("display: inline-block", "display: block"))
    expected = [("style_error", line_of(E2E_PAGE, "h1 {"), 1),
                ("layout_error", line_of(E2E_PAGE, ".badge {"), 2)]
    if reworded:
        edited = edited.replace(">stable<", ">Growth<")
        expected.append(("text_error", line_of(E2E_PAGE, ">stable<"), 2))
    assert judged(checker, tmp_path, E2E_PAGE, edited) == expected


def test_a_flex_row_made_a_block_is_its_display(checker: Checker, tmp_path: Path) -> None:
    """The name beside the avatar now stands under it and the stats bar moved down: not the
    name's words changed, nor the profile box new — the row's display."""
    edited = PROFILE.replace("display: flex", "display: block")
    assert judged(checker, tmp_path, PROFILE, edited) == [
        ("layout_error", line_of(PROFILE, ".profile {"), 2)]


def test_a_flex_row_made_a_block_beside_two_other_edits_is_three(checker: Checker,
                                                                  tmp_path: Path) -> None:
    """The avatar, wider, stayed where it was (its own width); the stats bar moved down whole
    but for one reworded label (which pushed the label after it along its row)."""
    edited = (PROFILE.replace("display: flex", "display: block")
              .replace("width: 72px", "width: 108px")
              .replace("<span>Reviews 17</span>", "<span>Reviews Total</span>"))
    assert judged(checker, tmp_path, PROFILE, edited) == [
        ("layout_error", line_of(PROFILE, ".profile {"), 2),
        ("layout_error", line_of(PROFILE, ".avatar {"), 2),
        ("text_error", line_of(PROFILE, "Reviews 17"), 2)]


def test_a_block_made_a_flex_row_is_its_display(checker: Checker, tmp_path: Path) -> None:
    """The other way round: stacked in the reference, side by side in the render."""
    stacked = PROFILE.replace("display: flex", "display: block")
    assert judged(checker, tmp_path, stacked, PROFILE) == [
        ("layout_error", line_of(PROFILE, ".profile {"), 2)]


def judged_as(checker: Checker, tmp_path: Path, text: str, edited: str, *, scale: float = 1.0,
              jpeg: bool = False, crop: int = 0) -> list[tuple[str, int, int]]:
    """(category, line, severity) for ``edited`` against ``text``'s render drawn at
    ``scale``, cut by ``crop`` px on each side, saved as a PNG or a JPEG (quality 80)."""
    src, shot = screenshot_of(checker, tmp_path, "page.html", text, scale=scale, jpeg=jpeg,
                              crop=crop)
    return [(d.category, d.range.start.line if d.range else -1, d.severity)
            for d in checker.check(checker.load(src, edited), shot).discrepancies]


@pytest.mark.parametrize(("jpeg", "crop"), [(True, 0), (False, 4)], ids=["jpeg", "cropped"])
def test_a_renamed_header_on_its_ground_is_a_text_change(checker: Checker, tmp_path: Path,
                                                         jpeg: bool, crop: int) -> None:
    """The header's new word covers the grey ground the reference shows there: other words,
    not the header recoloured to its text's colour (a lossy or cropped reference cannot take
    the exact glyph-shades test)."""
    edited = INVOICE.replace("<th>Amount</th>", "<th>Revenue</th>")
    assert judged_as(checker, tmp_path, INVOICE, edited, jpeg=jpeg, crop=crop) == [
        ("text_error", line_of(INVOICE, "<th>Amount</th>"), 2)]


def test_a_heading_drawn_larger_against_a_2x_export_is_its_font_size(checker: Checker,
                                                                      tmp_path: Path) -> None:
    """Twice the size, the heading's capital starts a few px below its tallest letter's top:
    still the same words at another size."""
    edited = CARD.replace("font-size: 22px", "font-size: 44px")
    assert judged_as(checker, tmp_path, CARD, edited, scale=2.0) == [
        ("style_error", line_of(CARD, ".card h1 {"), 1)]


def test_a_reworded_label_on_its_parents_ground_against_a_jpeg_is_a_text_change(
        checker: Checker, tmp_path: Path) -> None:
    """The label has no ground of its own: it is written on the stats bar's grey."""
    edited = PROFILE.replace("<span>Reviews 17</span>", "<span>Reviews Total</span>")
    assert judged_as(checker, tmp_path, PROFILE, edited, jpeg=True) == [
        ("text_error", line_of(PROFILE, "Reviews 17"), 2)]


def test_a_digit_changed_into_one_of_the_same_shape_against_a_jpeg_is_found(
        checker: Checker, tmp_path: Path) -> None:
    """'3' made '5' in a table cell: the lossy comparison's slack hides it (three pixels
    differ); the render saved as the JPEG was differs from it by a glyph."""
    stock = (ROOT / "tests" / "fixtures" / "table" / "stock.md").read_text()
    cell = next(line for line in stock.splitlines() if line.startswith("|") and "3" in line
                and "Qty" not in line and "-" not in line)
    edited = stock.replace(cell, cell.replace("3", "5", 1))
    src, shot = screenshot_of(checker, tmp_path, "stock.md", stock, jpeg=True)
    found = checker.check(checker.load(src, edited), shot).discrepancies
    assert [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found] == [
        ("numeric_error", stock.splitlines().index(cell), 3)]


@pytest.mark.parametrize("scale", [1.0, 2.0], ids=["png", "2x"])
def test_a_cell_padding_shrunk_is_the_cells_own_padding(checker: Checker, tmp_path: Path,
                                                        scale: float) -> None:
    """Every row's words moved up, each row further than the one before, and nothing above
    them changed: no margin or parent spaces the first cell — its own padding moved its words
    within it. (At 2× each cell matched whole, moved; the moves were blamed on nothing and
    folded into the table's last border, "missing" on the page's closing line.)"""
    edited = INVOICE.replace("td { padding: 6px 8px;", "td { padding: 4px 8px;")
    assert judged_as(checker, tmp_path, INVOICE, edited, scale=scale) == [
        ("layout_error", line_of(INVOICE, "td { padding"), 2)]


@pytest.mark.parametrize(("scale", "jpeg", "crop"), [(1.0, False, 0), (1.0, True, 0),
                                                     (2.0, False, 0), (1.0, False, 4)],
                         ids=["png", "jpeg", "2x", "cropped"])
def test_words_changed_in_a_box_its_class_padded_are_still_found(
        checker: Checker, tmp_path: Path, scale: float, jpeg: bool, crop: int) -> None:
    """Every alert grew by the padding, each pushed by the ones above: the second one's words
    were also cut short and drawn in another colour. Its ground found where the reference
    paints it (as far again as the shared offset), its words compared as drawn on it: the
    padding, the colour on its rule, the words on their tag — not all of it the padding's."""
    edited = (ALERTS.replace("padding: 10px 14px", "padding: 20px 14px")
              .replace("color: #e67700", "color: #2ca02c")
              .replace("<strong>Heads up.</strong>", "<strong>Heads</strong>"))
    assert judged_as(checker, tmp_path, ALERTS, edited, scale=scale, jpeg=jpeg, crop=crop) == [
        ("layout_error", line_of(ALERTS, "padding: 10px 14px"), 2),
        ("style_error", line_of(ALERTS, "color: #e67700"), 1),
        ("text_error", line_of(ALERTS, "Heads up."), 2)]


@pytest.mark.parametrize(("scale", "jpeg", "crop"), [(1.0, True, 0), (2.0, False, 0),
                                                     (1.0, False, 4)],
                         ids=["jpeg", "2x", "cropped"])
def test_a_padding_alone_leaves_the_padded_boxes_words_unchanged(
        checker: Checker, tmp_path: Path, scale: float, jpeg: bool, crop: int) -> None:
    """The control: the boxes' words are read inside their grounds, a few px in from the
    edge (at 2× a border's anti-aliased inner rim and a rounded corner read as ink that
    filled the whole box: other words), in their colour with a JPEG's slack — the same words,
    one finding."""
    edited = ALERTS.replace("padding: 10px 14px", "padding: 20px 14px")
    assert judged_as(checker, tmp_path, ALERTS, edited, scale=scale, jpeg=jpeg, crop=crop) == [
        ("layout_error", line_of(ALERTS, "padding: 10px 14px"), 2)]
