"""Real-world sources from the package registries, fetched once and cached (never committed).

What is fetched is pinned in ``tests/corpus/manifest.json``: each package's registry, name,
version, archive file name and sha256 (npm's ``integrity`` too). An archive is downloaded from
the registry (PyPI's JSON API names the sdist's URL; npm's registry names the tarball), its
sha256 checked against the manifest before it is kept, then the members the corpus uses are
extracted next to it. The corpus is then four lists of sources, each keyed by package and path:

- charts: every ``examples/**/*.py`` of matplotlib's sdist (3.7.5, the last setuptools-era
  sdist pip can fetch here, see NOTES.md), run with the installed matplotlib;
- icons: the SVG icons of the npm icon packages;
- pages: the HTML reports in coverage.py's sdist (``tests/gold/html``), each folder given the
  stylesheet, script and images coverage ships (``coverage/htmlfiles``) under the hashed names
  its pages link, so they render offline as coverage writes them;
- tables: every GFM table of the Markdown files of the packages, one file per table.

The cache is ``$VERM_CORPUS_CACHE`` or ``~/.cache/verm-corpus`` (the real home's, so tests that
give each test its own ``XDG_CACHE_HOME`` still share one download).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "corpus" / "manifest.json"
DOMAINS = ("chart", "svg", "html", "table")
TIMEOUT_S = 120  # per HTTP request
LAYOUT = 2  # bump when what ``extract``/``materialize`` writes changes: old folders are redone


@dataclass(frozen=True)
class Package:
    """One pinned archive of the manifest and which of its members the corpus uses."""

    registry: str  # "pypi" or "npm"
    name: str
    version: str
    file: str
    sha256: str
    domains: tuple[str, ...]
    include: tuple[str, ...]  # member prefixes (below the archive's top folder) to extract
    suffixes: tuple[str, ...]  # ... ending in one of these
    integrity: str = ""

    @property
    def slug(self) -> str:
        return self.name.replace("/", "+").lstrip("@")


@dataclass(frozen=True)
class CorpusItem:
    """One real-world source: its key (``package/path[#n]``), domain and file on disk."""

    key: str
    kind: str
    path: Path
    package: str


def cache_root() -> Path:
    env = os.environ.get("VERM_CORPUS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "verm-corpus"


def load_manifest(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def packages(manifest: dict | None = None) -> list[Package]:
    manifest = manifest or load_manifest()
    return [Package(p["registry"], p["name"], p["version"], p["file"], p["sha256"],
                    tuple(p["domains"]), tuple(p["include"]), tuple(p["suffixes"]),
                    p.get("integrity", "")) for p in manifest["packages"]]


# ---- download --------------------------------------------------------------------------------

def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "verm-corpus",
                                                   "Accept": "application/json, */*"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return response.read()


def archive_url(pkg: Package) -> str:
    """Where the registry serves the pinned archive (asked of the registry, not guessed)."""
    if pkg.registry == "npm":
        meta_url = f"https://registry.npmjs.org/{pkg.name.replace('/', '%2F')}/{pkg.version}"
        meta = json.loads(_get(meta_url))
        return meta["dist"]["tarball"]
    meta_url = f"https://pypi.org/pypi/{pkg.name}/json"  # (the per-version URL is not
    meta = json.loads(_get(meta_url))                   # served by every mirror)
    for entry in meta["releases"].get(pkg.version, []):
        if entry["filename"] == pkg.file:
            return urllib.parse.urljoin(meta_url, entry["url"])
    raise LookupError(f"PyPI lists no {pkg.file} for {pkg.name} {pkg.version}")


def fetch(pkg: Package, cache: Path | None = None) -> Path:
    """The pinned archive in the cache, downloaded once; raises ``ValueError`` on a hash that
    does not match the manifest (nothing is kept then)."""
    folder = (cache or cache_root()) / "archives"
    target = folder / pkg.file
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    print(f"fetching {pkg.name} {pkg.version} from {pkg.registry} ...", file=sys.stderr)
    data = _get(archive_url(pkg))
    digest = hashlib.sha256(data).hexdigest()
    if digest != pkg.sha256:
        raise ValueError(f"{pkg.file}: sha256 {digest}, the manifest pins {pkg.sha256}")
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def extract(pkg: Package, cache: Path | None = None) -> Path:
    """The used members of the package, extracted once: ``<cache>/src/<slug>-<version>/``
    holds them by their path below the archive's top folder."""
    cache = cache or cache_root()
    dest = cache / "src" / f"{pkg.slug}-{pkg.version}"
    done = dest / f".extracted-{LAYOUT}"
    if done.is_file():
        return dest
    archive = fetch(pkg, cache)
    if sha256_of(archive) != pkg.sha256:  # a cached file changed since: fetch it again
        archive.unlink()
        archive = fetch(pkg, cache)
    shutil.rmtree(dest, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.is_dir() else _mk(dest.parent)))
    with tarfile.open(archive) as tar:
        members = []
        for m in tar.getmembers():
            _top, _, rel = m.name.partition("/")
            if m.isfile() and rel.startswith(pkg.include) and rel.endswith(pkg.suffixes):
                m.name = rel
                members.append(m)
        tar.extractall(tmp, members=members, filter="data")
    (tmp / done.name).write_text(pkg.sha256 + "\n")
    os.replace(tmp, dest)
    return dest


def _mk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def matplotlib_examples(cache: Path | None = None) -> Path:
    """matplotlib's sdist ``examples/`` folder (the critic-quality benchmark's gallery too)."""
    pkg = next(p for p in packages() if p.name == "matplotlib")
    return extract(pkg, cache) / "examples"


# ---- the corpus ------------------------------------------------------------------------------

def items(domains: tuple[str, ...] = DOMAINS, cache: Path | None = None) -> list[CorpusItem]:
    """Every source of the corpus in the given domains, in a fixed order (fetching what is
    missing)."""
    cache = cache or cache_root()
    out: list[CorpusItem] = []
    for pkg in packages():
        wanted = [d for d in pkg.domains if d in domains]
        if not wanted:
            continue
        root = extract(pkg, cache)
        for domain in wanted:
            out += list(_items_of(pkg, root, domain, cache))
    return out


def _items_of(pkg: Package, root: Path, domain: str, cache: Path) -> Iterator[CorpusItem]:
    if domain == "chart":
        for path in sorted(root.rglob("*.py")):
            yield CorpusItem(f"{pkg.name}/{path.relative_to(root).as_posix()}", "chart", path,
                             pkg.name)
    elif domain == "svg":
        for path in sorted(root.rglob("*.svg")):
            yield CorpusItem(f"{pkg.name}/{path.relative_to(root).as_posix()}", "svg", path,
                             pkg.name)
    elif domain == "html":
        yield from coverage_pages(pkg, root, cache)
    elif domain == "table":
        yield from markdown_tables(pkg, root, cache)


HASHED = re.compile(r"^(?P<stem>.+)_cb_[0-9a-f]{8}(?P<ext>\.[a-z0-9]+)$")
LINKED = re.compile(r"""(?:href|src)\s*=\s*["']([^"'/:#?]+)["']""")  # a local file beside the page


def coverage_pages(pkg: Package, root: Path, cache: Path) -> Iterator[CorpusItem]:
    """coverage.py's gold HTML reports, each folder copied with the assets its pages link:
    coverage writes ``style.css`` as ``style_cb_<hash>.css`` (and so on) beside the pages; the
    gold folders hold only the pages, so each linked name gets the file coverage ships."""
    gold = root / "tests" / "gold" / "html"
    shipped = root / "coverage" / "htmlfiles"
    dest = cache / "pages" / f"{pkg.slug}-{pkg.version}"
    done = dest / f".made-{LAYOUT}"
    if not done.is_file():
        shutil.rmtree(dest, ignore_errors=True)
        for folder in sorted(p for p in gold.iterdir() if p.is_dir()):
            out = _mk(dest / folder.name)
            for page in sorted(folder.glob("*.html")):
                shutil.copy(page, out / page.name)
                text = page.read_text(encoding="utf-8", errors="replace")
                for name in sorted(set(LINKED.findall(text))):
                    _provide(name, folder, shipped, out)
        done.write_text("")
    for page in sorted(dest.glob("*/*.html")):
        key = f"{pkg.name}/tests/gold/html/{page.parent.name}/{page.name}"
        yield CorpusItem(key, "html", page, pkg.name)


def _provide(name: str, folder: Path, shipped: Path, out: Path) -> None:
    """Put the asset a page links as ``name`` into ``out``: the gold folder's own file of that
    name (or its unhashed stem), else the one coverage ships; pages stay as they are."""
    if name.endswith(".html") or (out / name).exists():
        return
    m = HASHED.match(name)
    plain = m.group("stem") + m.group("ext") if m else name
    for candidate in (folder / name, folder / plain, shipped / name, shipped / plain):
        if candidate.is_file():
            shutil.copy(candidate, out / name)
            return


def markdown_tables(pkg: Package, root: Path, cache: Path) -> Iterator[CorpusItem]:
    """Every GFM table of the package's Markdown files, each written to a file of its own
    (the table's lines exactly as in the file) under ``<cache>/tables/``."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    dest = cache / "tables" / f"{pkg.slug}-{pkg.version}"
    done = dest / f".made-{LAYOUT}"
    made: list[tuple[str, Path]] = []
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        tables = [t.map for t in md.parse("".join(lines)) if t.type == "table_open" and t.map]
        for n, (start, end) in enumerate(tables):
            out = dest / f"{rel.replace('/', '__')[:-3]}__{n}.md"
            if not done.is_file():
                _mk(out.parent)
                out.write_text(_dedent("".join(lines[start:end])), encoding="utf-8")
            made.append((f"{pkg.name}/{rel}#{n}", out))
    if not done.is_file():
        _mk(dest)
        done.write_text("")
    for key, out in made:
        yield CorpusItem(key, "table", out, pkg.name)


def _dedent(text: str) -> str:
    """A table nested in a list item keeps its indentation in the file: drop the common one
    (at most 3 spaces are allowed before a table's rows in a file of its own)."""
    rows = text.splitlines(keepends=True)
    indent = min((len(r) - len(r.lstrip(" ")) for r in rows if r.strip()), default=0)
    return "".join(r[indent:] if r.strip() else r for r in rows)
