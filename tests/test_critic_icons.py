"""SVG icons against a designer's screenshot (no sidecar): one finding per edit, on its line.

Without a sidecar the critic has the render's elements and two pictures. An icon is shapes
painted on shapes, and blamed pixel by pixel an edit reads as a change of whatever lies under
it: a deleted dot on a disc was the disc "resized", a deleted bar the backdrop "recoloured", a
moved group each of its members extra or recoloured where another now stands, a recoloured
backdrop every shape's anti-aliased rim. Each case below is the real render of an icon saved as
a PNG screenshot, judged by ``Checker.check`` against an edited source; each asserts the exact
(category, first line, last line, severity) list. A deleted element has no line of its own: it is
shown where its code would go back (between its neighbours).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import against_screenshot, screenshot_of
from verm.check import Checker

ROOT = Path(__file__).resolve().parent.parent
USER_TAG = (ROOT / "benchmarks" / "fixtures" / "quality" / "icons" / "user_tag.svg").read_text()
CHART_ICON = (ROOT / "benchmarks" / "fixtures" / "quality" / "icons" / "chart_icon.svg"
              ).read_text()
BADGE = (ROOT / "examples" / "icons" / "badge.svg").read_text()
GROUPED = (ROOT / "tests" / "fixtures" / "svg" / "badge.svg").read_text()
NESTED = (ROOT / "tests" / "fixtures" / "svg" / "transforms.svg").read_text()


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker(critic="analytic") as c:
        yield c


def judged(checker: Checker, tmp_path: Path, text: str, edited: str
           ) -> list[tuple[str, int, int, int]]:
    """(category, first line, last line, severity) of each finding for ``edited`` against
    ``text``'s render saved as a plain PNG screenshot (0-based lines, whole lines)."""
    assert edited != text
    found = against_screenshot(checker, tmp_path, "icon.svg", text, edited)
    out = []
    for d in found:
        assert d.range is not None
        end = d.range.end.line
        if end > d.range.start.line and d.range.end.character == 0:
            end -= 1  # a range to the start of a line covers the lines before it
        out.append((d.category, d.range.start.line, end, d.severity))
    return out


def cropped_and_whole(checker: Checker, tmp_path: Path, name: str, text: str, edited: str
                      ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(category, line) of each finding for ``edited`` against ``text``'s render cropped by
    4 px each side, then against the whole render (both PNGs, no sidecar)."""
    out = []
    for crop in (4, 0):
        folder = tmp_path / f"crop{crop}"
        folder.mkdir()
        src, shot = screenshot_of(checker, folder, name, text, crop=crop)
        found = checker.check(checker.load(src, edited), shot).discrepancies
        out.append([(d.category, d.range.start.line if d.range else -1) for d in found])
    return out[0], out[1]


def without(text: str, needle: str) -> str:
    """``text`` with the one line holding ``needle`` deleted."""
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if needle in line]
    assert len(hits) == 1, needle
    return "".join(lines[: hits[0]] + lines[hits[0] + 1:])


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def test_a_dot_deleted_from_a_disc_is_one_missing_shape_where_it_was_written(
        checker: Checker, tmp_path: Path) -> None:
    edited = without(USER_TAG, 'cy="32" r="9"')
    disc, ellipse = line_of(edited, 'r="26"'), line_of(edited, "<ellipse")
    # Not the disc resized, nor the white ellipse beside it grown.
    assert judged(checker, tmp_path, USER_TAG, edited) == [
        ("structure_error", disc, ellipse, 3)]


def test_a_deleted_line_left_blank_is_shown_on_the_blank_line(checker: Checker,
                                                              tmp_path: Path) -> None:
    edited = USER_TAG.replace('  <circle cx="40" cy="32" r="9" fill="#ffffff"/>', "")
    gap = line_of(USER_TAG, 'cy="32" r="9"')
    assert judged(checker, tmp_path, USER_TAG, edited) == [("structure_error", gap, gap, 3)]


def test_a_bar_deleted_from_a_series_goes_between_its_neighbours(checker: Checker,
                                                               tmp_path: Path) -> None:
    # The second blue bar: on the white backdrop, with the red line drawn across it.
    edited = without(CHART_ICON, 'x="58" y="40"')
    before, after = line_of(edited, 'x="30" y="60"'), line_of(edited, 'x="86" y="70"')
    assert judged(checker, tmp_path, CHART_ICON, edited) == [
        ("structure_error", before, after, 3)]


def test_a_deleted_backdrop_goes_before_what_was_drawn_on_it(checker: Checker,
                                                            tmp_path: Path) -> None:
    # Most of the canvas changes: the registration must not scale the disc onto the old
    # backdrop, nor nudge everything by the profile of what remains.
    edited = without(BADGE, "<rect")
    disc = line_of(edited, "<circle")
    assert judged(checker, tmp_path, BADGE, edited) == [
        ("structure_error", disc - 1, disc - 1, 3)]


def test_a_dot_recoloured_on_a_disc_is_a_recolour_on_its_line(checker: Checker,
                                                            tmp_path: Path) -> None:
    # White on blue turned brown: no "ink" against the white canvas, and its rim on the disc
    # is the same change.
    edited = USER_TAG.replace('r="9" fill="#ffffff"', 'r="9" fill="#8c564b"')
    dot = line_of(USER_TAG, 'r="9"')
    assert judged(checker, tmp_path, USER_TAG, edited) == [("style_error", dot, dot, 1)]


def test_a_recoloured_backdrop_is_one_finding_not_every_rim_on_it(checker: Checker,
                                                                 tmp_path: Path) -> None:
    edited = CHART_ICON.replace('fill="#ffffff" stroke="#adb5bd"',
                                'fill="#e377c2" stroke="#adb5bd"')
    backdrop = line_of(CHART_ICON, 'width="160" height="120" rx')
    assert judged(checker, tmp_path, CHART_ICON, edited) == [
        ("style_error", backdrop, backdrop, 1)]


def test_a_bar_deleted_under_a_recoloured_backdrop_is_both_changes(checker: Checker,
                                                                   tmp_path: Path) -> None:
    """The backdrop's new colour makes the whole canvas one differing region: the bar lost
    inside it (the new backdrop where the reference drew blue) is still a shape of its own,
    not a part of the recolour."""
    edited = without(CHART_ICON, 'x="58" y="40"').replace('fill="#ffffff" stroke="#adb5bd"',
                                                          'fill="#7f7f7f" stroke="#adb5bd"')
    backdrop = line_of(CHART_ICON, 'width="160" height="120" rx')
    before, after = line_of(edited, 'x="30" y="60"'), line_of(edited, 'x="86" y="70"')
    assert judged(checker, tmp_path, CHART_ICON, edited) == [
        ("style_error", backdrop, backdrop, 1), ("structure_error", before, after, 3)]


def test_a_group_moved_by_its_transform_is_one_move_on_the_group(checker: Checker,
                                                                tmp_path: Path) -> None:
    # Its second bar now stands where its first was: not extra + recoloured + backdrop.
    edited = GROUPED.replace("translate(70 5)", "translate(28 5)")
    group = line_of(GROUPED, '<g id="bars"')
    assert judged(checker, tmp_path, GROUPED, edited) == [("shape_error", group, group, 2)]


def test_a_shape_recoloured_in_a_nested_viewport_is_the_shape_not_the_viewport(
        checker: Checker, tmp_path: Path) -> None:
    edited = NESTED.replace('r="4" fill="#ff00ff"', 'r="4" fill="#9467bd"')
    circle = line_of(NESTED, 'id="inner"')
    assert judged(checker, tmp_path, NESTED, edited) == [("style_error", circle, circle, 1)]


def test_a_use_moved_is_a_move_not_a_copy_of_the_shape_it_shows(checker: Checker,
                                                                tmp_path: Path) -> None:
    """The ``<use>`` and the ``<defs>`` circle it shows are one drawing at one place: the
    circle is not a twin the moved ``<use>`` would be an extra copy of."""
    edited = NESTED.replace('href="#dotdef" x="40"', 'href="#dotdef" x="68"')
    use = line_of(NESTED, 'id="u1"')
    assert judged(checker, tmp_path, NESTED, edited) == [("shape_error", use, use, 2)]


def test_a_square_recoloured_whole_is_a_recolour_not_a_blank_render(checker: Checker,
                                                                    tmp_path: Path) -> None:
    """One rect fills the icon: recoloured, the render is one colour throughout — as the
    reference is — drawn, not blank (a blank render scores 0 as a structure error)."""
    square = (ROOT / "tests" / "fixtures" / "html" / "dot.svg").read_text()
    edited = square.replace('fill="#00c000"', 'fill="#1f77b4"')
    assert judged(checker, tmp_path, square, edited) == [("style_error", 0, 0, 1)]


def test_a_bar_grown_under_a_line_is_its_height_alone(checker: Checker,
                                                     tmp_path: Path) -> None:
    # A same-coloured element that changed shape is that element, not a lost one; its new
    # part shows the backdrop in the reference (not a recolour, not a new element), and the
    # red line across it anti-aliases with the change (its rim is not a change of its own).
    edited = CHART_ICON.replace('x="58" y="40" width="18" height="60"',
                                'x="58" y="20" width="18" height="80"')
    bar = line_of(CHART_ICON, 'x="58" y="40"')
    assert judged(checker, tmp_path, CHART_ICON, edited) == [("shape_error", bar, bar, 2)]


def test_a_shape_drawn_twice_is_one_extra_copy(checker: Checker, tmp_path: Path) -> None:
    # The copy overlaps its twin: not the twin moved or resized.
    twin = '  <ellipse cx="40" cy="54" rx="15" ry="9" fill="#ffffff"/>\n'
    copy = '  <ellipse cx="52" cy="58" rx="15" ry="9" fill="#ffffff"/>\n'
    edited = USER_TAG.replace(twin, twin + copy)
    line = line_of(edited, 'cx="52"')
    assert judged(checker, tmp_path, USER_TAG, edited) == [("structure_error", line, line, 2)]


ICON = (ROOT / "tests" / "fixtures" / "e2e" / "icon.svg").read_text()
DOT = (ROOT / "examples" / "icons" / "dot.svg").read_text()


ALERT = (ROOT / "benchmarks" / "fixtures" / "quality" / "icons" / "alert.svg").read_text()


@pytest.mark.parametrize("icon", ["e2e", "alert"])
def test_a_copy_drawn_over_much_of_its_twin_is_one_extra_copy(checker: Checker, tmp_path: Path,
                                                               icon: str) -> None:
    """The copy, shifted by a sixth of its size, adds a crescent of new ink (a fifth of its
    box): drawn over its twin, it is a copy, not the twin resized. Its ring crosses the box of
    the triangle drawn over it (alert): neither picture shows the triangle's colours there,
    so that is not the triangle reshaped."""
    text = ICON if icon == "e2e" else ALERT
    at = line_of(text, "<circle")
    disc = text.splitlines()[at]
    edited = text.replace(disc, disc + disc.strip().replace("/>", ' transform="translate(12 8)"/>'))
    assert judged(checker, tmp_path, text, edited) == [("structure_error", at, at, 2)]


def test_a_copy_clipped_by_the_canvas_is_an_extra_element(checker: Checker,
                                                          tmp_path: Path) -> None:
    """The copy overlaps its twin and runs off the canvas: its new ink is a fifth of its box
    (not a rim), and the white dot drawn over it keeps its colour but for its rim."""
    line = '  <circle cx="32" cy="32" r="24" fill="#5E81AC"/>'
    edited = DOT.replace(line, line + line.strip().replace("/>", ' transform="translate(12 8)"/>'))
    at = line_of(DOT, 'r="24"')
    assert judged(checker, tmp_path, DOT, edited) == [("structure_error", at, at, 2)]


def test_a_disc_drawn_smaller_is_its_geometry(checker: Checker, tmp_path: Path) -> None:
    """The ring the reference's larger disc leaves is not a lost shape of the disc's colour:
    the render draws that colour, centred in it, over the smaller disc's own box."""
    edited = ICON.replace('r="36"', 'r="22"')
    at = line_of(ICON, 'r="36"')
    assert judged(checker, tmp_path, ICON, edited) == [("shape_error", at, at, 2)]


def test_three_edits_against_a_cropped_screenshot_are_judged_in_place(
        checker: Checker, tmp_path: Path) -> None:
    """Too much differs for any place of the 152 px crop in the 160 px render to fit clearly;
    the search still puts it, unscaled, where a crop would be: the same canvas cropped (not
    "canvas size differs"), judged in place — the circle's colour and the moved bar, each on
    its line. (The backdrop's copy, cut by the canvas, is not found: no unchanged twin of its
    size is drawn to tell it from the backdrop, against the PNG either.)"""
    src = tmp_path / "icon.svg"
    src.write_text(ICON)
    render = checker.render(checker.load(src))
    assert render.ok and render.image is not None
    shot = tmp_path / "screenshot.png"
    render.image.convert("RGB").crop((4, 4, 156, 156)).save(shot)
    first = '<rect x="10" y="10" width="140" height="140" rx="16" fill="#ECEFF4"/>'
    edited = ICON.replace(first, first + first.replace("/>", ' transform="translate(12 8)"/>')
                          ).replace('fill="#5E81AC"', 'fill="#8c564b"').replace(
                              'x="40" y="120"', 'x="60" y="120"')
    found = checker.check(checker.load(src, edited), shot).discrepancies
    assert [(d.category, d.range.start.line if d.range else -1) for d in found] == [
        ("style_error", line_of(ICON, "<circle")), ("shape_error", line_of(ICON, 'x="40" y="120"'))]


def test_a_badge_with_three_edits_against_its_crop_is_three_findings_in_place(
        checker: Checker, tmp_path: Path) -> None:
    """8 px cut off a 240×120 badge (more than a page's share of its size, a few px of an
    icon's), three edits inside: not "canvas size differs" alone but the verdict the uncropped
    screenshot gets, each edit on its line."""
    edited = without(GROUPED.replace("translate(70 5)", "translate(35 5)").replace(
        ">OK<", ">Items<"), 'x="25" y="0"')
    cropped, whole = cropped_and_whole(checker, tmp_path, "badge.svg", GROUPED, edited)
    assert cropped == whole
    assert {line_of(GROUPED, '<g id="bars"'), line_of(GROUPED, 'x="25" y="0"'),
            line_of(GROUPED, "<text")} <= {line for _, line in cropped}


def test_a_shape_moved_half_off_a_small_icons_crop_is_judged_in_place(
        checker: Checker, tmp_path: Path) -> None:
    """A 64 px dot cut by 4 px each side (more than a page's share of its size): its disc moved
    half off the canvas. No place fits the crop, and a search "found" the picture at 1.5×:
    "canvas size differs" alone. The crop's place is where its ink and all its pixels differ
    least together (its ink differs alike at many places), and the verdict is the uncropped
    screenshot's: the disc on its line."""
    dot = (ROOT / "examples" / "icons" / "dot.svg").read_text()
    edited = dot.replace('cy="32" r="24"', 'cy="54" r="24"')
    cropped, whole = cropped_and_whole(checker, tmp_path, "dot.svg", dot, edited)
    assert cropped == whole
    assert cropped[0] == ("shape_error", line_of(dot, 'r="24"'))


ALERT = (ROOT / "benchmarks" / "fixtures" / "quality" / "icons" / "alert.svg").read_text()


@pytest.mark.parametrize("jpeg", [False, True], ids=["png", "jpeg"])
def test_a_copy_beside_its_twin_on_a_recoloured_shape_is_an_extra_copy(
        checker: Checker, tmp_path: Path, jpeg: bool) -> None:
    """The warning sign's bar copied 12 px right of itself, over the triangle recoloured red:
    the copy stands beside its twin (the bar is 8 px wide), in its own colour where the
    reference shows the triangle's yellow. Not a rim of the triangle's recolour (against the
    JPEG, yellow all but its noise passed for a mix with the bar's colour), nor the bar
    "recoloured": an extra copy, on its line, beside the triangle's recolour. The dot's rim
    on the triangle, mixed with red now, is the recolour's too (not the dot "drawn
    differently")."""
    src, shot = screenshot_of(checker, tmp_path, "alert.svg", ALERT, jpeg=jpeg)
    bar = '<rect x="60" y="46" width="8" height="30" rx="3" fill="#212529"/>'
    edited = ALERT.replace('fill="#ffc107"', 'fill="#d62728"').replace(
        bar, bar + bar.replace("/>", ' transform="translate(12 8)"/>'))
    found = checker.check(checker.load(src, edited), shot).discrepancies
    assert [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found] == [
        ("style_error", line_of(ALERT, "<path"), 1),
        ("structure_error", line_of(ALERT, "<rect"), 2)]


HOME = (ROOT / "benchmarks" / "fixtures" / "quality" / "icons" / "home.svg").read_text()


def test_a_window_deleted_while_its_twin_is_widened_is_both(checker: Checker,
                                                           tmp_path: Path) -> None:
    """The other window, of the deleted one's colour, changed too (wider, where it stands):
    it cannot have left the deleted one's patch, so that patch is still a lost shape."""
    left = '  <rect x="34" y="70" width="14" height="14" fill="#81b29a"/>\n'
    edited = HOME.replace(left, "").replace('x="80" y="70" width="14"', 'x="80" y="70" width="28"')
    door, right = line_of(edited, 'fill="#f2cc8f"'), line_of(edited, 'x="80" y="70"')
    assert judged(checker, tmp_path, HOME, edited) == [
        ("structure_error", door, right, 3), ("shape_error", right, right, 2)]


def test_a_dot_deleted_beside_a_retyped_label_is_two_findings(checker: Checker,
                                                              tmp_path: Path) -> None:
    """A lost shape put where its code was is a cause of its own, not a stray fragment
    folded into the other edit."""
    edited = without(USER_TAG, 'cy="32" r="9"').replace(">Admin<", ">Owner<")
    disc, ellipse = line_of(edited, 'r="26"'), line_of(edited, "<ellipse")
    text = line_of(edited, "Owner")
    assert judged(checker, tmp_path, USER_TAG, edited) == [
        ("structure_error", disc, ellipse, 3), ("text_symbol_error", text, text, 2)]


def test_a_bar_moved_over_the_backdrop_is_its_move_alone(checker: Checker,
                                                        tmp_path: Path) -> None:
    """The bar moved right: beyond its old end the reference shows the backdrop along its
    whole right side — the bar's own move, not a backdrop-coloured shape lost on it; with the
    disc recoloured, two findings."""
    edited = ICON.replace('x="40" y="120"', 'x="60" y="120"').replace(
        'fill="#5E81AC"', 'fill="#8c564b"')
    disc, bar = line_of(ICON, "<circle"), line_of(ICON, 'x="40" y="120"')
    assert judged(checker, tmp_path, ICON, edited) == [
        ("style_error", disc, disc, 1), ("shape_error", bar, bar, 2)]


def judged_against(checker: Checker, tmp_path: Path, text: str, edited: str, *,
                   scale: float = 1.0, jpeg: bool = False) -> list[tuple[str, int, int]]:
    """(category, first line, severity) for ``edited`` against ``text`` drawn at ``scale`` and
    saved as a PNG or a JPEG (quality 80): a designer's 2× export, a lossy screenshot."""
    src = tmp_path / "icon.svg"
    src.write_text(text)
    render = checker.render(checker.load(src), scale=scale)
    assert render.ok and render.image is not None
    shot = tmp_path / ("shot.jpg" if jpeg else "shot.png")
    render.image.convert("RGB").save(shot, quality=80) if jpeg else render.image.save(shot)
    found = checker.check(checker.load(src, edited), shot).discrepancies
    return [(d.category, d.range.start.line if d.range else -1, d.severity) for d in found]


def test_a_longer_label_against_a_2x_export_is_its_text_alone(checker: Checker,
                                                               tmp_path: Path) -> None:
    """Where the longer word covers the backdrop the reference shows, that is the text's own
    change, not a backdrop-coloured shape lost on top of it (a second save, the export's
    scale known from the first)."""
    src = tmp_path / "icon.svg"
    src.write_text(GROUPED)
    render = checker.render(checker.load(src), scale=2.0)
    assert render.ok and render.image is not None
    shot = tmp_path / "shot.png"
    render.image.save(shot)
    first = checker.check(checker.load(src, GROUPED.replace('"#d62728"', '"#1f77b4"')), shot)
    assert [d.category for d in first.discrepancies] == ["style_error"]
    found = checker.check(checker.load(src, GROUPED.replace(">OK<", ">Items<")),
                          shot).discrepancies
    text = line_of(GROUPED, ">OK<")
    assert [(d.category, d.range.start.line if d.range else -1) for d in found] == [
        ("text_symbol_error", text)]


def test_a_label_run_past_the_badge_rim_is_its_text_alone(checker: Checker,
                                                          tmp_path: Path) -> None:
    """The longer word crosses the badge's blue rim: its ink there is the text's, not the
    rim recoloured."""
    edited = USER_TAG.replace(">Admin<", ">Administrator<")
    text = line_of(USER_TAG, ">Admin<")
    assert judged(checker, tmp_path, USER_TAG, edited) == [("text_symbol_error", text, text, 2)]


def test_a_bar_deleted_against_a_jpeg_is_one_lost_shape(checker: Checker,
                                                        tmp_path: Path) -> None:
    """JPEG's ringing leaves a rim the lost bar does not explain pixel by pixel; blamed on the
    backdrop beneath, it is what showed through the lost bar, not a change of the backdrop."""
    edited = GROUPED.replace(
        '    <rect x="25" y="0" width="20" height="10" style="stroke: none; fill: #ff7f0e"/>\n',
        "")
    end = line_of(edited, "</g>")  # after the group's first bar, where the second was
    assert judged_against(checker, tmp_path, GROUPED, edited, jpeg=True) == [
        ("structure_error", end, 3)]
