"""`verm check --report DIR`: the static HTML report, opened from the file system in headless
Chromium (Playwright) as a reviewer opens a CI artifact.

A real folder of all four kinds is checked — a chart whose title changed (its new title is
markup: the description and the source line carry it), a Markdown table with a changed cell,
an SVG whose *file name* is markup, an HTML page, and a chart script that fails to render —
with ``--jobs 2 --format json``. Asserted in the browser: every source listed with its reward;
the failing/passing filter and the reward sort; the failing chart's page shows the shared viewer,
whose modes switch and whose boxes lie where ``--format json`` puts the findings; the findings
show their source lines; the failed render shows its error and no pictures; no markup from the
workspace becomes an element; only ``file://`` is ever requested. Asserted on disk: nothing is
written outside DIR, DIR may not be a file, links already in DIR are replaced (never written
through), and a run where everything passes writes its report too.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from support import FIXTURES
from support import run_verm as verm
from verm.check import Checker
from verm.render.browser import find_chromium, launch_args
from verm.viewer.report_site import ReportError, read_site, safe_stem, write_report

HOSTILE_TITLE = "<i id=pwned-desc>Sales</i>"
HOSTILE_SVG = "<b id=pwned-name>icon.svg"
SAFE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def snapshot(folder: Path, skip: Path) -> dict[str, str]:
    """Every file below ``folder`` but those below ``skip``: its content hash (links: target)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path == skip or skip in path.parents or path.is_dir():
            continue
        out[str(path.relative_to(folder))] = (f"-> {path.readlink()}" if path.is_symlink()
                                              else hashlib.sha1(path.read_bytes()).hexdigest())
    return out


class Site:
    def __init__(self, root: Path, workspace: Path, folder: Path, results: list[dict[str, Any]],
                 stderr: str) -> None:
        self.root, self.workspace, self.folder = root, workspace, folder
        self.results = {r["source"]: r for r in results}
        self.order = [r["source"] for r in results]
        self.stderr = stderr

    @property
    def index(self) -> Path:
        return self.folder / "index.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("report")
    ws = root / "ws"
    ws.mkdir()
    (ws / ".git").mkdir()  # a project root
    for name in ("bars.py", "page.html", "stock.md"):
        shutil.copy(FIXTURES / name, ws / name)
    shutil.copy(FIXTURES / "icon.svg", ws / HOSTILE_SVG)
    for name in ("bars.py", "page.html", "stock.md", HOSTILE_SVG):
        pinned = verm("pin", name, cwd=ws)
        assert pinned.returncode == 0, pinned.stderr
    (ws / "broken.py").write_text("import matplotlib.pyplot as plt\n"
                                  "fig, ax = plt.subplots()\nax.plot([1, 2], [3])\n")
    shutil.copy(ws / "bars.ref.png", ws / "broken.ref.png")
    for name, old, new in (("bars.py", '"Sales per quarter"', f'"{HOSTILE_TITLE}"'),
                           ("stock.md", "|   7 |", "|   9 |")):
        path = ws / name
        assert path.read_text().count(old) == 1
        path.write_text(path.read_text().replace(old, new))
    folder = root / "artifacts" / "report"  # its parent does not exist either
    before = snapshot(root, folder)
    out = verm("check", ".", "--format", "json", "--jobs", "2", "--report", str(folder), cwd=ws)
    assert out.returncode == 1, out.stderr  # discrepancies, and the report besides
    assert snapshot(root, folder) == before, "the check wrote outside the report folder"
    plain = verm("check", ".", "--format", "json", "--jobs", "1", cwd=ws)
    assert out.stdout == plain.stdout, "--report changes nothing on stdout"
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == 5
    return Site(root, ws, folder, results, out.stderr)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=launch_args())
        yield b
        b.close()


class Opened:
    def __init__(self, page: Page, requests: list[str]) -> None:
        self.page, self.requests = page, requests


@pytest.fixture
def opened(browser: Any, site: Site) -> Iterator[Opened]:
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script("""
        window.violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
    """)
    page.goto(site.index.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    yield Opened(page, requests)
    page.close()


def visible_rows(page: Page) -> list[dict[str, str]]:
    return page.evaluate("""[...document.querySelectorAll('#verm-report-rows tr')]
        .filter((r) => !r.hidden && r.offsetParent !== null)
        .map((r) => ({source: r.querySelector('.verm-report-source').textContent,
                      reward: r.querySelector('.verm-report-reward').textContent,
                      status: r.dataset.status}))""")


def open_source(page: Page, source: str) -> None:
    page.locator("#verm-report-rows a", has_text=source).first.click()
    page.wait_for_selector("#verm-report-detail:not([hidden])")
    assert page.locator("#verm-report-title").text_content() == source
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")


def test_every_source_is_listed_with_its_reward_and_verdict(opened: Opened, site: Site):
    rows = visible_rows(opened.page)
    assert [r["source"] for r in rows] == site.order  # the check's order, every source
    for row in rows:
        result = site.results[row["source"]]
        assert row["reward"] == f"{result['reward']:.2f}"
        expected = ("not-rendered" if not result["rendered"]
                    else "pass" if not result["errors"] else "fail")
        assert row["status"] == expected, row
    assert {r["status"] for r in rows} == {"pass", "fail", "not-rendered"}
    assert "verm: report written to" in site.stderr


def test_filter_by_failing_or_passing_and_sort_by_reward(opened: Opened, site: Site):
    page = opened.page
    failing = [s for s in site.order if site.results[s]["errors"]]
    passing = [s for s in site.order if not site.results[s]["errors"]]
    assert len(failing) == 3 and len(passing) == 2
    page.click("button[data-filter=failing]")
    assert [r["source"] for r in visible_rows(page)] == failing
    page.click("button[data-filter=passing]")
    assert [r["source"] for r in visible_rows(page)] == passing
    page.click("button[data-filter=all]")
    assert len(visible_rows(page)) == 5

    page.select_option("#verm-report-sort", "reward-asc")
    ascending = [r["source"] for r in visible_rows(page)]
    rewards = [site.results[s]["reward"] for s in ascending]
    assert rewards == sorted(rewards) and rewards[0] == 0.0 and len(ascending) == 5
    page.select_option("#verm-report-sort", "reward-desc")
    rewards = [site.results[r["source"]]["reward"] for r in visible_rows(page)]
    assert rewards == sorted(rewards, reverse=True)
    page.click("button[data-filter=failing]")  # both at once
    shown = [r["source"] for r in visible_rows(page)]
    assert sorted(shown) == sorted(failing)
    assert [site.results[s]["reward"] for s in shown] == sorted(
        (site.results[s]["reward"] for s in failing), reverse=True)


def drawn_boxes(page: Page, pane: str) -> list[list[float]]:
    """The viewer's boxes in ``pane``, in picture pixels (zoom 1) from its canvas corner."""
    return page.evaluate(f"""(() => {{
        const c = document.querySelector('.verm-pane-{pane} .verm-canvas').getBoundingClientRect();
        return [...document.querySelectorAll('.verm-pane-{pane} .verm-box')]
            .map((b) => b.getBoundingClientRect())
            .map((r) => [r.left - c.left, r.top - c.top, r.right - c.left, r.bottom - c.top]);
    }})()""")


def overlay_pixels(page: Page) -> np.ndarray:
    page.evaluate("document.querySelectorAll('.verm-boxes, .verm-divider').forEach((b) => "
                  "b.style.visibility = 'hidden')")  # the pictures only
    rect = page.locator(".verm-pane-overlay .verm-canvas").bounding_box()
    assert rect is not None
    png = page.screenshot(clip=rect)
    page.evaluate("document.querySelectorAll('.verm-boxes, .verm-divider').forEach((b) => "
                  "b.style.visibility = 'visible')")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def set_slider(page: Page, value: float) -> None:
    page.evaluate(f"""(() => {{ const s = document.querySelector('.verm-slider-input');
        s.value = String({round(value * 1000)}); s.dispatchEvent(new Event('input')); }})()""")


def changed_inside(a: np.ndarray, b: np.ndarray, box: list[float], slack: int = 3) -> None:
    """``a`` and ``b`` differ, and only inside ``box`` (picture pixels at zoom 1)."""
    ys, xs = np.nonzero(np.abs(a - b).max(axis=2) > 40)
    assert xs.size > 20, "the two states show different pictures"
    x0, y0, x1, y1 = box
    assert ((xs >= x0 - slack) & (xs <= x1 + slack) & (ys >= y0 - slack)
            & (ys <= y1 + slack)).all(), (xs.min(), ys.min(), xs.max(), ys.max(), box)


def test_the_failing_source_opens_in_the_viewer_with_modes_and_boxes(opened: Opened,
                                                                     site: Site):
    page = opened.page
    result = site.results["bars.py"]
    assert [e["category"] for e in result["errors"]] == ["text_error"]
    bbox = result["errors"][0]["bbox"]
    open_source(page, "bars.py")
    page.wait_for_selector("#verm-report-viewer[data-ready=true]")
    page.click("button.verm-zoom-one")
    assert page.locator(".verm-stage").get_attribute("data-mode") == "side"
    # the reference pane's box is where --format json says the finding is (reference pixels)
    drawn = drawn_boxes(page, "reference")
    assert len(drawn) == 1 and drawn[0] == pytest.approx(bbox, abs=1.5), (drawn, bbox)
    in_render = drawn_boxes(page, "render")
    assert len(in_render) == 1
    both = [min(bbox[0], in_render[0][0]), min(bbox[1], in_render[0][1]),
            max(bbox[2], in_render[0][2]), max(bbox[3], in_render[0][3])]

    page.click("button.verm-mode[data-mode=swipe]")
    assert page.locator(".verm-stage").get_attribute("data-mode") == "swipe"
    assert page.locator(".verm-pane-overlay .verm-divider").count() == 1
    assert page.locator(".verm-slider").is_visible()
    set_slider(page, 1)
    all_reference = overlay_pixels(page)
    set_slider(page, 0)
    all_render = overlay_pixels(page)
    changed_inside(all_reference, all_render, both)  # swiping shows the other title only

    page.click("button.verm-mode[data-mode=onion]")
    assert page.locator(".verm-stage").get_attribute("data-mode") == "onion"
    assert page.locator(".verm-slider-label").text_content() == "Render opacity"
    set_slider(page, 0)
    reference = overlay_pixels(page)
    set_slider(page, 1)
    render = overlay_pixels(page)
    changed_inside(reference, render, both)
    assert np.abs(reference - all_reference).max() <= 8  # the same picture, either way
    overlay = drawn_boxes(page, "overlay")  # the render's box, and the reference's if it moved
    assert overlay[0] == pytest.approx(in_render[0], abs=0.5)
    assert all(b == pytest.approx(in_render[0], abs=0.5) or b == pytest.approx(drawn[0], abs=0.5)
               for b in overlay), overlay

    page.click("a.verm-report-next")
    following = site.order[site.order.index("bars.py") + 1]
    # The link routes through `hashchange`, dispatched after the click returns: wait for the
    # route (the detail pane is already open, so waiting for it proves nothing).
    page.wait_for_function("(want) => document.getElementById('verm-report-title')"
                           ".textContent === want", arg=following, timeout=5000)
    assert page.locator("#verm-report-title").text_content() == following
    page.click("a.verm-report-back")
    open_source(page, "stock.md")  # another source keeps the chosen mode
    page.wait_for_selector("#verm-report-viewer[data-ready=true]")
    assert page.locator(".verm-stage").get_attribute("data-mode") == "onion"
    assert page.locator(".verm-pane-overlay .verm-box").count() >= 1


def test_the_findings_show_their_source_lines(opened: Opened, site: Site):
    page = opened.page
    for source in ("bars.py", "stock.md"):
        open_source(page, source)
        errors = site.results[source]["errors"]
        lines = (site.workspace / source).read_text().splitlines()
        where = page.locator(".verm-entry .verm-entry-where").all_text_contents()
        code = page.locator(".verm-entry .verm-entry-source").all_text_contents()
        texts = page.locator(".verm-entry .verm-entry-text").all_text_contents()
        assert len(where) == len(code) == len(texts) == len(errors) >= 1
        for e, w, c, t in zip(errors, where, code, texts, strict=True):
            line = e["range"]["start"]["line"]
            assert w == f"{source}:{line + 1}"
            assert c == lines[line]
            assert e["category"] in t and e["description"] in t
        page.click("a.verm-report-back")
        page.wait_for_selector("#verm-report-index:not([hidden])")
    assert lines_of(site, "bars.py")[7] == f'ax.set_title("{HOSTILE_TITLE}")'


def lines_of(site: Site, source: str) -> list[str]:
    return (site.workspace / source).read_text().splitlines()


def test_a_failed_render_shows_its_error_and_no_pictures(opened: Opened, site: Site):
    page = opened.page
    result = site.results["broken.py"]
    assert result["rendered"] is False
    open_source(page, "broken.py")
    problem = page.locator("#verm-report-problem").text_content() or ""
    assert result["errors"][0]["description"] in problem
    assert "ValueError" in problem
    assert page.locator("#verm-report-detail img").count() == 0
    assert not page.locator("#verm-report-viewer").is_visible()
    line = result["errors"][0]["range"]["start"]["line"]
    assert page.locator(".verm-entry-where").text_content() == f"broken.py:{line + 1}"
    assert page.locator(".verm-entry-source").text_content() == lines_of(site, "broken.py")[line]
    assert page.locator("#verm-report-meta").text_content().startswith("not rendered")


def test_markup_from_the_workspace_stays_text_and_nothing_leaves_file_urls(
        opened: Opened, site: Site):
    page = opened.page
    assert HOSTILE_SVG in site.results
    for source in site.order:
        page.goto(site.index.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        open_source(page, source)
        for hostile in ("pwned-desc", "pwned-name"):
            assert page.evaluate(f"document.getElementById('{hostile}')") is None
        assert page.locator("#verm-report-detail i, #verm-report-detail b").count() == 0
    open_source_from_index(page, site)
    assert HOSTILE_TITLE in (page.locator(".verm-entry-text").text_content() or "")
    page.goto(site.index.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert HOSTILE_SVG in [r["source"] for r in visible_rows(page)]
    assert page.evaluate("document.querySelectorAll('i, b').length") == 0
    raw = site.index.read_text()
    assert "<i " not in raw and "<b " not in raw  # escaped in the embedded JSON too
    assert opened.requests and all(u.startswith("file://") for u in opened.requests), \
        [u for u in opened.requests if not u.startswith("file://")]
    pictures = {u.rsplit("/", 1)[1] for u in opened.requests if u.endswith(".png")}
    assert len(pictures) >= 6  # the pictures were loaded, from the report folder
    assert all((site.folder / "pictures" / p).is_file() for p in pictures)
    assert page.evaluate("window.violations") == []


def open_source_from_index(page: Page, site: Site) -> None:
    page.goto(site.index.as_uri() + f"#source-{site.order.index('bars.py') + 1}")  # a link
    page.wait_for_selector("#verm-report-detail:not([hidden])")
    assert page.locator("#verm-report-title").text_content() == "bars.py"


def test_the_report_folder_holds_only_safe_names(site: Site):
    files = [p for p in site.folder.rglob("*") if p.is_file()]
    assert {p.name for p in files if p.parent == site.folder} == {
        "index.html", "viewer.js", "viewer.css", "report.js", "report.css", "results.jsonl"}
    for p in files:
        assert p.parent in (site.folder, site.folder / "pictures"), p
        assert SAFE_FILE.fullmatch(p.name), p.name
    shots = [p for p in files if p.suffix == ".png"]
    # rendered sources only; a render identical to its reference is not written twice
    assert 8 <= len(shots) <= 12, sorted(p.name for p in shots)
    assert sum(p.stat().st_size for p in files) < 2_000_000
    assert safe_stem(Path("../../x")) == "x"
    assert safe_stem(Path(HOSTILE_SVG)) == "b-id-pwned-name-icon"
    assert safe_stem(Path("...")) == "source"


def test_a_report_path_that_is_a_file_is_refused(tmp_path: Path):
    shutil.copy(FIXTURES / "icon.svg", tmp_path / "icon.svg")
    assert verm("pin", "icon.svg", cwd=tmp_path).returncode == 0
    (tmp_path / "taken").write_text("mine")
    out = verm("check", "icon.svg", "--report", "taken", cwd=tmp_path)
    assert out.returncode == 2 and "not a folder" in out.stderr, out.stderr
    assert out.stdout == "" and (tmp_path / "taken").read_text() == "mine"


def test_the_report_is_written_when_every_source_passes(tmp_path: Path, browser: Any):
    shutil.copy(FIXTURES / "icon.svg", tmp_path / "icon.svg")
    assert verm("pin", "icon.svg", cwd=tmp_path).returncode == 0
    out = verm("check", "icon.svg", "--report", "report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "visually equivalent" in out.stdout and "report written" in out.stderr
    page = browser.new_page()
    try:
        page.goto((tmp_path / "report" / "index.html").as_uri() + "#source-1")
        page.wait_for_selector("#verm-report-viewer[data-ready=true]")
        assert page.locator("#verm-report-title").text_content() == "icon.svg"
        assert page.locator(".verm-report-meta").text_content().startswith("pass · reward 2.00")
        assert page.locator(".verm-box").count() == 0 and page.locator("img").count() == 2
    finally:
        page.close()


def test_links_in_the_report_folder_are_replaced_not_followed_and_old_pictures_go(
        tmp_path: Path):
    src = tmp_path / "ws" / "icon.svg"
    src.parent.mkdir()
    shutil.copy(FIXTURES / "icon.svg", src)
    assert verm("pin", "icon.svg", cwd=src.parent).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.html").write_text("keep me")
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "index.html").symlink_to(outside / "index.html")
    with Checker() as checker:
        results = [checker.check(checker.load(src))]
        page = write_report(folder, results, checker, src.parent)
        assert page == folder / "index.html" and not page.is_symlink()
        assert (outside / "index.html").read_text() == "keep me"
        assert len(list((folder / "pictures").glob("001-icon-*.png"))) == 2  # ref = render
        (folder / "pictures" / "notes.txt").write_text("not the report's")
        write_report(folder, [], checker, src.parent)  # a later run with fewer sources
        assert [p.name for p in (folder / "pictures").iterdir()] == ["notes.txt"]
        shutil.rmtree(folder / "pictures")
        (folder / "pictures").symlink_to(outside, target_is_directory=True)
        with pytest.raises(ReportError, match="pictures"):
            write_report(folder, results, checker, src.parent)
    assert sorted(p.name for p in outside.iterdir()) == ["index.html"]


def comparable(folder: Path) -> list[dict[str, Any]]:
    """The report's entries with each picture named by its content, without the numbering."""
    out = []
    for entry in read_site(folder):
        entry = {k: v for k, v in entry.items() if k != "id"}
        if entry["view"] is not None:
            images = {k: v if not isinstance(v, str) else hashlib.sha1(
                (folder / v).read_bytes()).hexdigest() for k, v in entry["view"]["images"].items()}
            entry["view"] = {**entry["view"], "images": images}
        out.append(entry)
    return out


def test_merged_shard_reports_are_the_unsharded_report(site: Site, browser: Any):
    """CI: each of 3 shards writes --report shard-I; `merge-reports --report` of the folders
    prints the unsharded run's output, exit status included, and writes the unsharded report
    (the same entries, in the same order, with the same pictures) that opens in the viewer."""
    shards = site.root / "shards"
    for i in (1, 2, 3):
        out = verm("check", ".", "--shard", f"{i}/3", "--format", "json", "--report",
                   str(shards / f"shard-{i}"), cwd=site.workspace)
        assert out.returncode in (0, 1), out.stderr
    merged = site.root / "merged"
    out = verm("merge-reports", "--format", "json", "--report", str(merged),
               *[str(shards / f"shard-{i}") for i in (1, 2, 3)], cwd=site.workspace)
    assert out.returncode == 1, out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {**site.results[s], "seconds": json.loads(line)["seconds"]}
        for s, line in zip(site.order, out.stdout.splitlines(), strict=True)]
    assert "report written to" in out.stderr
    assert comparable(merged) == comparable(site.folder)
    lines = (merged / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["source"] for line in lines] == site.order
    assert sorted(p.name for p in (merged / "pictures").iterdir()) == sorted(
        p.name for p in (site.folder / "pictures").iterdir())

    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto((merged / "index.html").as_uri())
        page.wait_for_selector("body[data-ready=true]")
        assert [r["source"] for r in visible_rows(page)] == site.order
        open_source(page, "bars.py")
        page.wait_for_selector("#verm-report-viewer[data-ready=true]")
        page.click("button.verm-zoom-one")
        drawn = drawn_boxes(page, "reference")
        bbox = site.results["bars.py"]["errors"][0]["bbox"]
        assert len(drawn) == 1 and drawn[0] == pytest.approx(bbox, abs=1.5)
        page.click("button.verm-mode[data-mode=swipe]")
        assert page.locator(".verm-stage").get_attribute("data-mode") == "swipe"
    finally:
        page.close()
    assert requests and all(u.startswith("file://") for u in requests)
    again = verm("merge-reports", "--report", str(merged / "inner"), str(merged),
                 cwd=site.workspace)  # a merged report is a report folder too
    assert again.returncode == 1 and comparable(merged / "inner") == comparable(site.folder)


def test_a_source_that_could_not_be_checked_is_in_the_report_and_the_merged_one(
        tmp_path: Path, browser: Any):
    """A source verm cannot judge (exit status 2: here its reference is no image) is listed,
    as not checked, with the message verm printed; merging the shards keeps it; merge-reports
    --report takes only report folders, and never writes into one of them."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in ("icon.svg", "bars.py"):
        shutil.copy(FIXTURES / name, ws / name)
        assert verm("pin", name, cwd=ws).returncode == 0
    shutil.copy(FIXTURES / "icon.svg", ws / "unreadable.svg")
    (ws / "unreadable.ref.png").write_bytes(b"not a picture")
    out = verm("check", ".", "--report", str(tmp_path / "report"), cwd=ws)
    assert out.returncode == 2, out.stderr
    message = next(line for line in out.stderr.splitlines() if "unreadable" in line)
    message = message.removeprefix("verm: ")
    for i in (1, 2):
        verm("check", ".", "--shard", f"{i}/2", "--report", str(tmp_path / f"shard-{i}"),
             cwd=ws)
    merged = verm("merge-reports", "--report", str(tmp_path / "merged"),
                  str(tmp_path / "shard-1"), str(tmp_path / "shard-2"), cwd=ws)
    assert merged.returncode == 2 and message in merged.stderr, merged.stderr
    assert comparable(tmp_path / "merged") == comparable(tmp_path / "report")
    for folder in ("report", "merged"):
        page = browser.new_page()
        try:
            page.goto((tmp_path / folder / "index.html").as_uri())
            page.wait_for_selector("body[data-ready=true]")
            rows = {r["source"]: r for r in visible_rows(page)}
            assert list(rows) == ["bars.py", "icon.svg", "unreadable.svg"]
            assert rows["unreadable.svg"]["status"] == "error"
            assert rows["unreadable.svg"]["reward"] == "—"
            assert "1 not checked" in (page.locator("#verm-report-totals").text_content() or "")
            page.click("button[data-filter=failing]")
            assert [r["source"] for r in visible_rows(page)] == ["unreadable.svg"]
            page.select_option("#verm-report-sort", "reward-asc")
            page.click("button[data-filter=all]")
            assert visible_rows(page)[0]["source"] == "unreadable.svg"
            open_source(page, "unreadable.svg")
            assert page.locator("#verm-report-problem").text_content() == message
            assert (page.locator("#verm-report-meta").text_content() or "").startswith(
                "not checked · svg")
            assert not page.locator("#verm-report-viewer").is_visible()
        finally:
            page.close()
    json_report = tmp_path / "shard.json"
    verm("check", ".", "--shard", "1/2", "--json-report", str(json_report), cwd=ws)
    refused = verm("merge-reports", "--report", str(tmp_path / "x"), str(json_report), cwd=ws)
    assert refused.returncode == 2 and "report folders" in refused.stderr
    assert not (tmp_path / "x").exists()
    into = verm("merge-reports", "--report", str(tmp_path / "shard-1"),
                str(tmp_path / "shard-1"), str(tmp_path / "shard-2"), cwd=ws)
    assert into.returncode == 2 and "one of the reports" in into.stderr
