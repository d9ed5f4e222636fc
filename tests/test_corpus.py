"""verm on real-world sources nobody here wrote (issue 12): a fixed sample of the corpus.

The corpus is fetched from the registries at test time into ``$VERM_CORPUS_CACHE`` (default
``~/.cache/verm-corpus``, shared across tests and runs) and checked against the sha256 pinned
in ``tests/corpus/manifest.json``; only the manifest is committed. The sample (the manifest's
``sample``: 60 matplotlib gallery scripts, 300 npm icons, 16 coverage.py HTML reports, 30
Markdown tables) goes through the real pipeline (``benchmarks/corpus.py``: one warm Checker,
real renderers and critic): render, pin, check against the pin (identity: no finding at all)
and against a designer's screenshot of the same render (JPEG q80, drawn at 2×, cropped: no
finding of severity ≥ 2; each source gets one of the three in turn, the benchmark runs all).

A failure that is the source's own (a data file, a program or module not installed, an API
removed since matplotlib 3.7.5, a GUI loop) must be classified as such, and the set of them
must be what the manifest records: a good script turning into a failure is caught. Findings
the critic is known to make on a source are listed in the manifest word for word
(``known_critic_findings``); any other finding fails the test.
"""

from __future__ import annotations

import hashlib
import sys
import time
import urllib.error
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import corpus as bench  # noqa: E402
import corpus_sources  # noqa: E402
from verm.types import Range, RenderFailure  # noqa: E402

MANIFEST = corpus_sources.load_manifest()


@pytest.fixture(scope="module")
def sample() -> list[corpus_sources.CorpusItem]:
    try:
        return bench.sample_items(MANIFEST)
    except (urllib.error.URLError, TimeoutError) as exc:  # offline and nothing cached yet
        pytest.fail(f"the corpus is not cached and the registries are unreachable: {exc}")


@pytest.fixture(scope="module")
def results(sample: list[corpus_sources.CorpusItem]) -> dict[str, bench.Result]:
    start = time.perf_counter()
    out = bench.run(sample, jobs=2, known=MANIFEST["known_critic_findings"], rotate=True)
    print(f"\ncorpus sample: {len(sample)} sources in {time.perf_counter() - start:.0f} s")
    return {r.key: r for r in out}


def test_the_manifest_pins_every_archive_and_the_cache_holds_exactly_them() -> None:
    packages = corpus_sources.packages(MANIFEST)
    assert {p.registry for p in packages} == {"pypi", "npm"}
    for p in packages:
        assert len(p.sha256) == 64 and int(p.sha256, 16) >= 0, p.name
        assert p.registry != "npm" or p.integrity.startswith("sha512-"), p.name
        cached = corpus_sources.cache_root() / "archives" / p.file
        if cached.is_file():
            assert hashlib.sha256(cached.read_bytes()).hexdigest() == p.sha256, cached


def test_a_download_whose_hash_differs_from_the_manifest_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = corpus_sources.packages(MANIFEST)[0]
    monkeypatch.setattr(corpus_sources, "archive_url", lambda p: "https://example.invalid/x")
    monkeypatch.setattr(corpus_sources, "_get", lambda url: b"not the archive")
    with pytest.raises(ValueError, match="sha256"):
        corpus_sources.fetch(pkg, tmp_path)
    assert not any((tmp_path / "archives").iterdir())


def test_the_sample_is_fixed_and_large_enough(sample: list[corpus_sources.CorpusItem]) -> None:
    counts = {d: sum(i.kind == d for i in sample) for d in corpus_sources.DOMAINS}
    assert counts["chart"] >= 60 and counts["svg"] >= 300 and counts["table"] >= 30
    assert counts["html"] >= 10
    assert len({i.package for i in sample if i.kind == "svg"}) == 4  # every icon package


def test_each_page_has_the_stylesheet_script_and_images_it_links_and_each_table_is_one(
        sample: list[corpus_sources.CorpusItem]) -> None:
    """coverage.py's gold pages link hashed asset names their folders lack: the corpus gives
    each the file coverage ships, so the page renders as coverage writes it (not unstyled)."""
    from markdown_it import MarkdownIt

    pages = [i for i in sample if i.kind == "html"]
    for page in pages:
        linked = corpus_sources.LINKED.findall(page.path.read_text(encoding="utf-8"))
        assert any(name.endswith(".css") for name in linked), page.key
        missing = [n for n in linked if not (page.path.parent / n).is_file()]
        assert not missing, (page.key, missing)
    md = MarkdownIt("commonmark").enable("table")
    for table in (i for i in sample if i.kind == "table"):
        tokens = md.parse(table.path.read_text(encoding="utf-8"))
        assert sum(t.type == "table_open" for t in tokens) == 1, table.key


def test_verm_neither_crashes_nor_reports_what_did_not_change(
        results: dict[str, bench.Result]) -> None:
    """No render crash, no critic crash, no hang, no finding against the source's own pin,
    no finding of severity ≥ 2 against its screenshot (beyond the manifest's known ones)."""
    failures = [r for r in results.values() if r.status == "verm"]
    listing = []
    for r in failures:
        listing.append(f"{r.key}: {r.klass} ({bench.VERM_CLASSES[r.klass]}) {r.reason}")
        listing += [f"    {f}" for f in r.identity]
        listing += [f"    {f}" for v in r.screenshot.values() for f in v]
    assert not failures, "verm failed on real-world sources:\n" + "\n".join(listing)


def test_the_sources_own_failures_are_classified_and_as_recorded(
        results: dict[str, bench.Result]) -> None:
    own = {k: r.klass for k, r in results.items() if r.status == "script"}
    assert set(own.values()) <= set(bench.SCRIPT_CLASSES)
    expected = MANIFEST["script_failures"]
    changed = {k: (expected.get(k), own.get(k)) for k in expected.keys() | own.keys()
               if expected.get(k) != own.get(k)}
    assert not changed, ("sources whose own failure changed (manifest, now): "
                         + ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in sorted(changed.items())))
    ok = sum(r.status == "ok" for r in results.values())
    assert ok >= 0.8 * len(results)


@pytest.mark.parametrize(("failure", "expected"), [
    (RenderFailure("exception", "drawing the figure failed: AttributeError: 'Patch3D' object "
                   "has no attribute 'get_x'"), ("verm", "render_crash")),
    (RenderFailure("exception", "ValueError: boom", detail='File "/x/verm/render/chart_job.py"'),
     ("verm", "render_crash")),
    (RenderFailure("exception", "ModuleNotFoundError: No module named 'wx'"),
     ("script", "missing_module")),
    (RenderFailure("exception", "ModuleNotFoundError: No module named 'matplotlib.foo'"),
     ("verm", "render_failure")),
    (RenderFailure("exception", "FileNotFoundError: [Errno 2] No such file or directory: "
                   "'ffmpeg'"), ("script", "missing_program")),
    (RenderFailure("exception", "FileNotFoundError: /x/mpl-data/sample_data/a.csv not found."),
     ("script", "data_file")),
    (RenderFailure("exception", "AttributeError: 'QuadContourSet' object has no attribute "
                   "'collections'"), ("script", "removed_api")),
    (RenderFailure("timeout", "timed out after 10 s at line 39"), ("script", "slow")),
    (RenderFailure("exception", "AttributeError: 'NoneType' object has no attribute "
                   "'add_tool'"), ("script", "interactive")),
    (RenderFailure("exception", "drawing the figure failed: RuntimeError: Failed to process "
                   "string with tex because latex could not be found"),
     ("script", "missing_program")),
    (RenderFailure("exception", "TclError: no display name and no $DISPLAY environment "
                   "variable"), ("script", "interactive")),
    (RenderFailure("crash", "the script crashed (SIGSEGV)"), ("verm", "render_failure")),
    (RenderFailure("exception", "KeyError: 'x'"), ("verm", "render_failure")),
    (RenderFailure("exception", "TypeError: get_sample_data() got an unexpected keyword "
                   "argument 'np_load'"), ("script", "removed_api")),
])
def test_a_failure_is_the_sources_own_only_when_its_message_says_so(
        failure: RenderFailure, expected: tuple[str, str]) -> None:
    failure = RenderFailure(failure.reason, failure.message, Range.span(0, 0, 0), failure.detail)
    assert bench.classify_failure(failure, "") == expected


def test_a_timeout_is_interactive_when_the_script_waits_on_the_user_else_slow() -> None:
    late = RenderFailure("timeout", "timed out after 10 s at line 39", Range.span(0, 0, 0))
    assert bench.classify_failure(late, "pts = plt.ginput(3, timeout=-1)\n") == (
        "script", "interactive")
    assert bench.classify_failure(late, "for style in styles:\n    draw(style)\n") == (
        "script", "slow")
