"""The HTML renderer with real Chromium: source and CSS lines, local files, no network, limits."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import ImageChops

from verm.render.base import RenderOptions
from verm.render.browser import (
    Browser,
    BrowserCrashed,
    BrowserPool,
    BrowserTimeout,
    ChromiumNotFound,
    Lease,
    Site,
    find_chromium,
)
from verm.render.html import HtmlRenderer, annotate_html, options_from_pragmas
from verm.source import Source
from verm.types import Anchor, Render

FIXTURES = Path(__file__).parent / "fixtures" / "html"
REPORT = FIXTURES / "report.html"
OPTIONS = RenderOptions(viewport=(800, 600), timeout_s=10.0)


@pytest.fixture(scope="module")
def html_browser() -> Iterator[Browser]:
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def html_renderer(html_browser: Browser) -> HtmlRenderer:
    return HtmlRenderer(html_browser)


@pytest.fixture(scope="module")
def report(html_renderer: HtmlRenderer) -> Render:
    render = html_renderer.render(Source.load(REPORT), OPTIONS)
    assert render.ok, render.failure
    return render


def line_of(path: Path, needle: str) -> int:
    """0-based line of the first line of ``path`` containing ``needle``."""
    for i, line in enumerate(path.read_text().splitlines()):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def one(render: Render, **match: object) -> Anchor:
    found = [a for a in render.anchors if all(getattr(a, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [a.name for a in render.anchors])
    return found[0]


def write(folder: Path, name: str, text: str) -> Source:
    path = folder / name
    path.write_text(text)
    return Source.load(path)


def pixel(render: Render, anchor: Anchor) -> tuple[int, int, int]:
    x0, y0, x1, y1 = anchor.box
    assert render.image is not None
    return render.image.getpixel((int((x0 + x1) / 2), int((y0 + y1) / 2)))  # type: ignore[return-value]


# ---- source lines ------------------------------------------------------------------------------


def test_h1_anchor_points_at_the_h1_line(report: Render) -> None:
    h1 = one(report, role="text", text="Quarterly revenue")
    line = line_of(REPORT, "<h1>")
    assert h1.range is not None and h1.range.start.line == line
    text = REPORT.read_text().splitlines()[line]
    assert text[h1.range.start.character:h1.range.end.character] == "<h1>"
    assert h1.name == "<h1> 'Quarterly revenue'"
    assert h1.key == "html>body>h1[0]"
    assert h1.color == "#1a5fb4"


def test_table_cell_maps_to_its_line_and_header(report: Render) -> None:
    cell = one(report, role="cell", text="95")
    line = line_of(REPORT, "<td>South</td>")
    assert cell.range is not None and cell.range.start.line == line
    source_line = REPORT.read_text().splitlines()[line]
    tag = source_line[cell.range.start.character:cell.range.end.character]
    assert tag == '<td class="num" style="color: #26a269">'
    assert cell.name == "row 2, column 'Qty'"
    header = one(report, role="header", text="Qty")
    assert header.name == "header 'Qty'"
    # tbody was inserted by the browser: it borrows the <table> line
    tbody = next(a for a in report.anchors if a.key.endswith(">tbody[0]"))
    assert tbody.props["line_from"] == "ancestor"
    assert tbody.range is not None and tbody.range.start.line == line_of(REPORT, "<table>")


def test_css_declarations_map_to_their_lines(report: Render) -> None:
    h1 = one(report, role="text", text="Quarterly revenue")
    color = h1.props["css"]["color"]
    assert color["line"] == line_of(REPORT, "h1 { color: #1a5fb4")  # not the commented-out rule
    assert color["value"] == "#1a5fb4"
    source_line = REPORT.read_text().splitlines()[color["line"]]
    assert source_line[color["start"]:color["end"]] == "color: #1a5fb4"
    assert h1.props["css"]["font-family"]["line"] == line_of(REPORT, "body { font-family")

    card = one(report, key="#summary")
    assert card.props["css"]["background-color"]["line"] == line_of(REPORT, ".card {")
    assert card.color == "#f6f5f4"


def test_css_cascade_specificity_inline_and_media(report: Render) -> None:
    note = one(report, role="text", text="Revenue grew in every region.")
    # '#summary p' (1,0,1) beats 'p.note' (0,1,1) although it comes later anyway;
    # the computed colour agrees with the declaration we point at
    assert note.props["css"]["color"]["line"] == line_of(REPORT, "#summary p {")
    assert note.color == "#c64600"
    north = one(report, role="cell", text="120")
    assert north.props["css"]["color"]["line"] == line_of(REPORT, "td.num {")  # inside @media
    south = one(report, role="cell", text="95")
    assert south.props["css"]["color"]["line"] == line_of(REPORT, "<td>South</td>")  # style=""
    assert south.color == "#26a269"


def test_linked_stylesheet_declarations_name_their_file(report: Render) -> None:
    swatch = next(a for a in report.anchors if a.props.get("class") == "swatch")
    entry = swatch.props["css"]["background-color"]
    assert Path(entry["file"]) == (FIXTURES / "style.css").resolve()
    assert entry["line"] == line_of(FIXTURES / "style.css", ".swatch")


def test_script_made_elements_borrow_the_nearest_tagged_line(report: Render) -> None:
    east = one(report, role="text", text="East")
    assert east.props["line_from"] == "ancestor"
    assert east.range is not None and east.range.start.line == line_of(REPORT, '<ul id="regions">')
    assert east.key == "#regions>li[0]"
    page = one(report, key="html>body")
    assert page.role == "page" and page.container


def test_annotation_only_adds_attributes() -> None:
    text = REPORT.read_text()
    doc = annotate_html(text)
    assert re.sub(r' data-verm="\d+"', "", doc.html) == text
    assert [t.name for t in doc.tags[:3]] == ["html", "head", "meta"]


# ---- local files, network ----------------------------------------------------------------------


def test_relative_stylesheet_and_image_next_to_the_source_load(report: Render) -> None:
    swatch = next(a for a in report.anchors if a.props.get("class") == "swatch")
    assert swatch.box[2] - swatch.box[0] == pytest.approx(60, abs=1)
    assert pixel(report, swatch) == (0, 128, 255)
    dot = one(report, role="image")
    assert pixel(report, dot) == (0, 192, 0)


def test_files_outside_the_source_folder_are_not_served(html_renderer: HtmlRenderer,
                                                        tmp_path: Path) -> None:
    (tmp_path / "secret.css").write_text("body { background: rgb(255, 0, 0); }")
    page = tmp_path / "site"
    page.mkdir()
    source = write(page, "index.html",
                   '<link rel="stylesheet" href="../secret.css"><p>hello</p>')
    render = html_renderer.render(source, OPTIONS)
    assert render.ok
    assert render.image is not None and render.image.getpixel((5, 5)) == (255, 255, 255)


def test_an_edited_stylesheet_is_not_served_from_a_cache(html_renderer: HtmlRenderer,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "my pages é"  # URL quoting of the folder round-trips
    folder.mkdir()
    css = folder / "look.css"
    source = write(folder, "index.html", '<link rel="stylesheet" href="look.css">')
    seen = []
    for colour in ("rgb(255, 0, 0)", "rgb(0, 0, 255)"):
        css.write_text(f"html {{ background: {colour}; }}")
        render = html_renderer.render(source, OPTIONS)
        assert render.image is not None
        seen.append(render.image.getpixel((10, 10)))
    assert seen == [(255, 0, 0), (0, 0, 255)]


class _Listener:
    """TCP and UDP sockets on 127.0.0.1 that record every connection / datagram."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp.settimeout(0.05)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.05)
        self.hits: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                self.hits.append("tcp")
                conn.close()
            except OSError:
                pass
            try:
                self.udp.recvfrom(2048)
                self.hits.append("udp")
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.tcp.close()
        self.udp.close()


def test_network_attempts_are_blocked(html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    listener = _Listener()
    try:
        # the listener works: a plain connection from this process is seen
        socket.create_connection(("127.0.0.1", listener.port)).close()
        deadline = time.monotonic() + 2
        while not listener.hits and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.hits == ["tcp"]
        listener.hits.clear()

        base = f"127.0.0.1:{listener.port}"
        stun = f"stun:127.0.0.1:{listener.udp_port}"
        source = write(tmp_path, "leak.html", f"""<!DOCTYPE html>
<link rel="stylesheet" href="http://{base}/style.css">
<img src="http://{base}/pixel.png"><img src="http://localhost:{listener.port}/p.png">
<iframe src="http://{base}/frame"></iframe>
<p id="out">rendered</p>
<script>
  fetch("http://{base}/fetch").catch(() => {{}});
  try {{ new WebSocket("ws://{base}/ws"); }} catch (e) {{}}
  try {{ navigator.sendBeacon("http://{base}/beacon", "x"); }} catch (e) {{}}
  try {{ new EventSource("http://{base}/events"); }} catch (e) {{}}
  try {{
    const pc = new RTCPeerConnection({{iceServers: [{{urls: "{stun}"}}]}});
    pc.createDataChannel("x");
    pc.createOffer().then(o => pc.setLocalDescription(o));
  }} catch (e) {{}}
  location.href = "http://{base}/away";
</script>""")
        render = html_renderer.render(source, OPTIONS)
        time.sleep(1.0)  # late attempts (WebSocket retries, ICE gathering) would show up here
        assert render.ok, render.failure
        assert listener.hits == []
        assert any(a.text == "rendered" for a in render.anchors)
    finally:
        listener.close()


# ---- limits and failures -----------------------------------------------------------------------


def test_endless_loop_times_out_then_the_next_render_works(html_renderer: HtmlRenderer,
                                                           tmp_path: Path) -> None:
    source = write(tmp_path, "loop.html", "<p>spin</p><script>while (true) {}</script>")
    render = html_renderer.render(source, RenderOptions(timeout_s=1.0))
    assert not render.ok and render.failure is not None
    assert render.failure.reason == "timeout"
    assert render.failure.message.startswith("timed out after 1 s")
    assert html_renderer.render(Source.load(REPORT), OPTIONS).ok


def renderer_cpu_s(browser: Browser) -> float:
    """CPU seconds the browser's page processes have used so far (Linux /proc)."""
    from verm.render.processes import descendants

    total = 0.0
    for pid in descendants(browser._pid or 0):
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def test_a_page_hung_after_load_is_stopped_and_the_browser_lives_on(
        html_browser: Browser, html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    """The page loads fine, then hangs inside the measuring script (a call with no timeout of
    its own): at its time limit its process is crashed — nothing is left spinning — while
    Chromium, and any other page in flight, go on."""
    source = write(tmp_path, "late.html",
                   "<p>late</p><script>window.scrollTo = () => { while (true) {} };</script>")
    assert html_renderer.render(Source.load(REPORT), OPTIONS).ok
    launches = html_browser.launches
    render = html_renderer.render(source, RenderOptions(timeout_s=1.0))
    assert render.failure is not None and render.failure.reason == "timeout"
    assert "measuring" in render.failure.message
    before = renderer_cpu_s(html_browser)
    time.sleep(1.0)
    assert renderer_cpu_s(html_browser) - before < 0.3  # an endless loop would use ~1 s
    after = html_renderer.render(Source.load(REPORT), OPTIONS)
    assert after.ok
    assert html_browser.launches == launches  # the page went, not Chromium


def test_a_job_that_stalls_the_browser_thread_is_ended_by_the_watchdog(
        tmp_path: Path) -> None:
    """Should a job hold the browser's event loop itself past its deadline (no timeout can fire
    there), the watchdog kills Chromium: the job is a timeout and the next one relaunches it."""
    page = tmp_path / "p.html"
    page.write_text("<p>after</p>")
    with Browser(idle_close_s=0) as browser:
        renderer = HtmlRenderer(browser)
        assert renderer.render(Source.load(page), RenderOptions(viewport=(200, 100))).ok
        started = time.monotonic()
        with pytest.raises(BrowserTimeout, match=r"timed out after 0\.5 s"):
            browser.run(lambda lease: time.sleep(3), site=Site(tmp_path), viewport=(200, 100),
                        timeout_s=0.5)
        assert time.monotonic() - started < 60
        assert renderer.render(Source.load(page), RenderOptions(viewport=(200, 100))).ok
        assert browser.launches == 2  # the watchdog killed the stalled Chromium


def test_script_errors_still_render(html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    source = write(tmp_path, "oops.html", "<h2>still here</h2><script>undefinedThing();</script>")
    render = html_renderer.render(source, OPTIONS)
    assert render.ok
    assert any("undefinedThing" in e for e in render.meta["console_errors"])
    assert any(a.text == "still here" for a in render.anchors)


def test_garbage_and_empty_pages_render(html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    garbage = write(tmp_path, "garbage.html", '<div><p>one<b>two<table><td>x</div"><<>>&&&<span'
                    '<p id="twin">a</p><p id="twin">b</p>')
    render = html_renderer.render(garbage, OPTIONS)
    assert render.ok and not render.meta["blank"]
    assert any(a.text == "one" for a in render.anchors)
    keys = [a.key for a in render.anchors]
    assert len(keys) == len(set(keys))  # a duplicated id does not make duplicate keys
    unsaved = Source(path=tmp_path / "unsaved.html", text="<p>a\ud800b</p>", kind="html")
    assert html_renderer.render(unsaved, OPTIONS).ok  # a lone surrogate from an editor buffer
    for text in ("", "  \n\t\n"):
        empty = write(tmp_path, "empty.html", text)
        render = html_renderer.render(empty, OPTIONS)
        assert render.ok and render.meta["blank"] is True
        assert render.size == (800, 600)


def test_missing_chromium_is_a_clear_error(html_renderer: HtmlRenderer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ChromiumNotFound) as err:
        find_chromium("/no/such/chromium")
    assert "VERM_CHROMIUM" in str(err.value) and "apt-get install chromium" in str(err.value)
    monkeypatch.setenv("VERM_CHROMIUM", "/no/such/chromium")
    with pytest.raises(ChromiumNotFound, match="VERM_CHROMIUM"):
        find_chromium(None)
    monkeypatch.delenv("VERM_CHROMIUM")
    render = html_renderer.render(Source.load(REPORT),
                                  RenderOptions(chromium_path="/no/such/chromium"))
    assert render.failure is not None and render.failure.reason == "config"
    assert "/no/such/chromium" in render.failure.message


def test_the_headless_shell_is_preferred(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Of the Chromiums on PATH verm takes the headless shell (half the CPU per page)."""
    for name in ("chromium", "chromium-headless-shell", "google-chrome"):
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("VERM_CHROMIUM", raising=False)
    assert find_chromium(None) == str(tmp_path / "chromium-headless-shell")
    (tmp_path / "chromium-headless-shell").unlink()
    assert find_chromium(None) == str(tmp_path / "chromium")


_WIDGETS = """<!doctype html>
<html><head><style>
body { font-family: serif; margin: 10px; background: linear-gradient(135deg, #fafafa, #dde); }
.card { box-shadow: 0 4px 12px rgba(0,0,0,.3); border-radius: 12px; padding: 16px;
        transform: rotate(-2deg); background: white; }
h1 { font: bold 28px "DejaVu Sans"; text-shadow: 1px 1px 2px #888; }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }
.grid div { background: hsl(200, 60%, 70%); opacity: .8; filter: blur(0.5px); height: 40px }
</style></head><body>
<div class="card"><h1>Quarterly ✓ résumé</h1><p>Lorem <em>ipsum</em> <code>dolor</code>,
<a href="#">a link</a>.</p></div>
<div class="grid"><div></div><div></div><div></div></div>
<svg width="200" height="80"><circle cx="40" cy="40" r="30" fill="tomato" stroke="#333"
 stroke-width="3"/><path d="M80 70 Q 120 0 160 70" fill="none" stroke="navy"/></svg>
<canvas id="c" width="120" height="60"></canvas>
<input value="text field"><button>Button</button><select><option>One</option></select>
<input type="checkbox" checked><input type="range">
<div style="overflow:scroll;height:50px;width:200px"><p>a<br>b<br>c<br>d</p></div>
<script>const c = document.getElementById('c').getContext('2d'); c.fillStyle = 'green';
c.fillRect(5, 5, 50, 30); c.font = '16px sans-serif'; c.fillText('canvas', 60, 30);</script>
</body></html>
"""


def test_the_headless_shell_draws_what_chromium_draws(tmp_path: Path) -> None:
    """Preferring the headless shell changes no one's pins: the same pixels and element boxes
    as the full Chromium, for text, shadows, transforms, filters, SVG, canvas, form controls
    and scrollbars, at 1× and 2×. Both are installed by scripts/setup.sh."""
    shell, full = shutil.which("chromium-headless-shell"), shutil.which("chromium")
    assert shell and full, "scripts/setup.sh installs chromium and chromium-headless-shell"
    sources = [write(tmp_path, "widgets.html", _WIDGETS), Source.load(REPORT)]
    shots = {}
    for exe in (shell, full):
        with Browser(exe) as browser:
            renderer = HtmlRenderer(browser)
            shots[exe] = [renderer.render(s, RenderOptions(viewport=(640, 480), scale=scale))
                          for s in sources for scale in (1.0, 2.0)]
    for a, b in zip(shots[shell], shots[full], strict=True):
        assert a.ok and b.ok and not a.meta["blank"]
        assert a.size == b.size
        assert ImageChops.difference(a.image.convert("RGB"), b.image.convert("RGB")).getbbox() \
            is None
        assert [(x.name, x.box) for x in a.anchors] == [(x.name, x.box) for x in b.anchors]


def test_a_program_that_is_not_chromium_is_a_config_failure(tmp_path: Path) -> None:
    with Browser("/bin/true") as browser:
        render = HtmlRenderer(browser).render(Source.load(REPORT), OPTIONS)
    assert render.failure is not None and render.failure.reason == "config"
    assert "could not start Chromium at '/bin/true'" in render.failure.message


def test_a_crashed_page_is_replaced(html_browser: Browser, html_renderer: HtmlRenderer) -> None:
    started = time.monotonic()
    with pytest.raises(BrowserCrashed, match="crashed"):
        html_browser.run(lambda lease: lease.slot.cdp.send("Page.crash"), site=Site(FIXTURES),
                         viewport=(800, 600), timeout_s=300.0)
    # noticed at once, not at the time limit: far below 300 s, whatever the machine's load
    assert time.monotonic() - started < 100
    assert html_renderer.render(Source.load(REPORT), OPTIONS).ok


# ---- options, determinism, storage, threads ----------------------------------------------------


def test_pragmas_set_viewport_and_full_page(html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    assert options_from_pragmas(Source.load(REPORT), RenderOptions()).viewport == (800, 600)
    tall = write(tmp_path, "tall.html", """<!-- verm: viewport=400x300 full-page=true -->
<body style="margin:0"><div style="height:900px">top</div><p id="end">bottom</p></body>""")
    options = options_from_pragmas(tall, RenderOptions())
    assert options.viewport == (400, 300) and options.full_page
    render = html_renderer.render(tall, options)
    assert render.ok and render.image is not None
    assert render.size[0] == 400 and render.size[1] > 900
    bottom = one(render, key="#end")
    assert bottom.box[1] >= 900 and bottom.box[3] <= render.size[1]
    assert html_renderer.render(tall, RenderOptions(viewport=(400, 300))).size == (400, 300)


def test_full_page_is_cut_at_max_pixels(html_renderer: HtmlRenderer, tmp_path: Path) -> None:
    huge = write(tmp_path, "huge.html", '<div style="height:20000px">very tall</div>')
    render = html_renderer.render(huge, RenderOptions(viewport=(300, 200), full_page=True,
                                                      max_pixels=1000))
    assert render.ok and render.size == (300, 1000) and render.meta["clipped"] is True


def test_two_renders_are_pixel_identical(html_renderer: HtmlRenderer, report: Render) -> None:
    again = html_renderer.render(Source.load(REPORT), OPTIONS)
    assert report.image is not None and again.image is not None
    assert ImageChops.difference(report.image, again.image).getbbox() is None
    assert [a.to_json() for a in again.anchors] == [a.to_json() for a in report.anchors]


def test_storage_does_not_leak_between_renders(html_renderer: HtmlRenderer,
                                               tmp_path: Path) -> None:
    source = write(tmp_path, "visits.html", """<p id="n"></p><script>
const n = (+localStorage.getItem("n") || 0) + 1; localStorage.setItem("n", n);
document.cookie = "seen=" + n + "; path=/";
document.getElementById("n").textContent = n + " " + document.cookie;
</script>""")
    texts = [one(html_renderer.render(source, OPTIONS), key="#n").text for _ in range(2)]
    assert texts == ["1 seen=1", "1 seen=1"]


def test_renders_from_many_threads(html_renderer: HtmlRenderer) -> None:
    source = Source.load(REPORT)
    with ThreadPoolExecutor(max_workers=4) as pool:
        renders = list(pool.map(lambda _: html_renderer.render(source, OPTIONS), range(6)))
    assert all(r.ok for r in renders)
    assert len({len(r.anchors) for r in renders}) == 1


def test_idle_browser_is_closed_and_relaunched_on_demand(tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture):
    """An idle Chromium gives its memory back; the next render starts it again."""
    caplog.set_level(logging.INFO, logger="verm.render.browser")
    page = tmp_path / "idle.html"
    page.write_text("<p style='color:#cf222e'>idle</p>")
    with Browser(idle_close_s=0.5) as browser:
        renderer = HtmlRenderer(browser)
        first = renderer.render(Source.load(page), RenderOptions(viewport=(200, 100)))
        assert first.ok and browser.launches == 1
        deadline = time.monotonic() + 60  # the worker says it closes Chromium: wait for that
        while not any("closing Chromium" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "Chromium was not closed when idle"
            time.sleep(0.01)
        second = renderer.render(Source.load(page), RenderOptions(viewport=(200, 100)))
        assert second.ok and browser.launches == 2
        assert second.image.tobytes() == first.image.tobytes()


HOLD = """<p>hold</p><script>
const keep = [];
for (let i = 0; i < 6; i++) { const c = new Uint8Array(16 << 20); c.fill(7); keep.push(c); }
const t0 = Date.now(); while (Date.now() - t0 < 1500) {}
</script>"""
GROW = """<p>grow</p><script>
const keep = [];
const t0 = Date.now();
while (Date.now() - t0 < 8000 && keep.length < 120) {
  const c = new Uint8Array(16 << 20); c.fill(7); keep.push(c);
}
</script>"""


def test_a_pool_renders_pages_at_once_each_in_a_chromium_of_its_own(tmp_path: Path) -> None:
    """`verm check --jobs 2`: two jobs run at the same time on two Chromiums, never more than
    the pool's size however many wait, and a job goes to an idle browser first."""
    spans: list[tuple[int, float, float]] = []

    def hold(lease: object) -> None:
        start = time.monotonic()
        time.sleep(0.6)
        spans.append((threading.get_ident(), start, time.monotonic()))

    site = Site(root=tmp_path)
    with BrowserPool(size=2, idle_close_s=0) as pool:
        launched = [pool.submit(lambda lease: None, site=site, viewport=(200, 100),
                                timeout_s=60) for _ in range(2)]  # both Chromiums started
        for future in launched:
            future.result()
        spans.clear()
        futures = [pool.submit(hold, site=site, viewport=(200, 100), timeout_s=30)
                   for _ in range(5)]
        for future in futures:
            future.result()
        assert pool.browsers == 2 and pool.launches == 2
        assert len({thread for thread, _, _ in spans}) == 2  # one thread per Chromium
        first, second = sorted(spans, key=lambda s: s[1])[:2]
        assert first[0] != second[0] and second[1] < first[2]  # the first two at once
        page = tmp_path / "p.html"
        page.write_text("<p style='color:#cf222e'>pooled</p>")
        renderer = HtmlRenderer(pool)
        with ThreadPoolExecutor(max_workers=4) as threads:
            renders = list(threads.map(lambda _: renderer.render(
                Source.load(page), RenderOptions(viewport=(200, 100))), range(6)))
        assert all(r.ok for r in renders) and pool.browsers == 2
        assert len({r.image.tobytes() for r in renders}) == 1
    one_browser = BrowserPool(size=1, idle_close_s=0)
    with one_browser, ThreadPoolExecutor(max_workers=3) as threads:
        renderer = HtmlRenderer(one_browser)
        assert all(threads.map(lambda _: renderer.render(
            Source.load(page), RenderOptions(viewport=(200, 100))).ok, range(3)))
        assert one_browser.browsers == 1 and one_browser.launches == 1


@pytest.mark.parametrize("chromiums, pages_each", [(2, 1), (1, 2)])
def test_each_page_in_flight_has_the_whole_memory_cap_of_its_own(
        tmp_path: Path, chromiums: int, pages_each: int) -> None:
    """Pages rendered at once do not share one cap, on two Chromiums or on one: a page holding
    96 MB renders beside one that grows past the cap, which alone is stopped."""
    hold = tmp_path / "hold.html"
    hold.write_text(HOLD)
    grow = tmp_path / "grow.html"
    grow.write_text(GROW)
    fine = tmp_path / "fine.html"
    fine.write_text("<p>fine</p>")
    options = RenderOptions(memory_mb=300, timeout_s=60, viewport=(200, 100))
    with (BrowserPool(size=chromiums, concurrency=pages_each, idle_close_s=0) as pool,
          ThreadPoolExecutor(2) as threads):
        renderer = HtmlRenderer(pool)
        warm = list(threads.map(lambda p: renderer.render(Source.load(p), options),
                                [fine, fine]))
        assert all(r.ok for r in warm) and pool.launches == chromiums
        held, grown = threads.map(lambda p: renderer.render(Source.load(p), options),
                                  [hold, grow])
        assert held.ok, held.failure
        assert grown.failure is not None and grown.failure.reason == "memory"
        assert "more than 300 MB" in grown.failure.message
        assert renderer.render(Source.load(fine), options).ok
        assert pool.launches == chromiums  # the page's process went, not its Chromium


def test_one_chromium_renders_pages_at_once_each_on_a_page_of_its_own(tmp_path: Path) -> None:
    """`verm check --jobs 2`: one Chromium with room for two pages runs two jobs at once,
    never more however many wait, on one launch; and what they draw is what one at a time
    draws."""
    spans: list[tuple[float, float]] = []

    async def hold(lease: Lease) -> None:
        start = time.monotonic()
        await asyncio.sleep(0.6)
        spans.append((start, time.monotonic()))

    page = tmp_path / "p.html"
    page.write_text("<p style='color:#cf222e'>pooled</p>")
    site = Site(root=tmp_path)
    with Browser(concurrency=2, idle_close_s=0) as browser:
        alone = HtmlRenderer(browser).render(Source.load(page), RenderOptions(viewport=(200, 100)))
        assert alone.ok
        futures = [browser.submit(hold, site=site, viewport=(200, 100), timeout_s=30)
                   for _ in range(5)]
        for future in futures:
            future.result()
        spans.sort()
        assert spans[1][0] < spans[0][1]  # the first two at once
        for i, (start, _) in enumerate(spans):  # never three at once
            assert sum(s <= start < e for s, e in spans[:i]) <= 1
        renderer = HtmlRenderer(browser)
        with ThreadPoolExecutor(max_workers=4) as threads:
            renders = list(threads.map(lambda _: renderer.render(
                Source.load(page), RenderOptions(viewport=(200, 100))), range(6)))
        assert all(r.ok for r in renders) and browser.launches == 1
        assert {r.image.tobytes() for r in renders} == {alone.image.tobytes()}


def test_a_hung_page_does_not_hold_up_the_page_beside_it(tmp_path: Path) -> None:
    """Two pages in flight on one Chromium: one spins forever, the other renders at once; the
    spinning one alone times out, and the Chromium is still the first one."""
    loop = tmp_path / "loop.html"
    loop.write_text("<p>spin</p><script>while (true) {}</script>")
    fine = tmp_path / "fine.html"
    fine.write_text("<p style='color:#1a7f37'>fine</p>")
    with Browser(concurrency=2, idle_close_s=0) as browser, ThreadPoolExecutor(2) as threads:
        renderer = HtmlRenderer(browser)
        assert renderer.render(Source.load(fine), RenderOptions(viewport=(200, 100))).ok
        hung = threads.submit(renderer.render, Source.load(loop),
                              RenderOptions(viewport=(200, 100), timeout_s=20))
        time.sleep(0.5)  # the spinning page is in flight
        started = time.monotonic()
        beside = renderer.render(Source.load(fine), RenderOptions(viewport=(200, 100)))
        assert beside.ok and time.monotonic() - started < 10
        assert not hung.done()
        failed = hung.result()
        assert failed.failure is not None and failed.failure.reason == "timeout"
        assert browser.launches == 1


def test_a_worker_stopped_by_an_error_answers_its_jobs_and_starts_again(tmp_path: Path) -> None:
    """Should the browser's event loop itself stop on an error (injected here: its main
    coroutine raises), the jobs queued on it fail at once instead of waiting for ever, and the
    next job starts a new worker that renders."""
    page = tmp_path / "p.html"
    page.write_text("<p style='color:#1a7f37'>again</p>")
    browser = Browser(idle_close_s=0)
    real = browser._main

    async def broken(inbox: object) -> None:
        await asyncio.sleep(0.2)  # the job below is queued by then
        raise RuntimeError("injected")

    browser._main = broken  # type: ignore[method-assign]
    try:
        queued = browser.submit(lambda lease: None, site=Site(tmp_path), viewport=(200, 100),
                                timeout_s=30)
        with pytest.raises(BrowserCrashed, match="worker stopped"):
            queued.result(timeout=60)
        browser._main = real  # type: ignore[method-assign]
        render = HtmlRenderer(browser).render(Source.load(page), RenderOptions(viewport=(200, 100)))
        assert render.ok and browser.launches == 1
    finally:
        browser.close()
