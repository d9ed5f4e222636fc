"""A workspace as CI sees it, for the sharding, JUnit and pinning tests: all four kinds pinned,
two of them edited since (a chart's title, an icon's colour), a script that no longer renders,
two sources that still match, one of them in a sub-folder."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from support import pinned_copy
from verm.check import Checker

BROKEN = ("import matplotlib.pyplot as plt\n"
          "fig, ax = plt.subplots()\nax.plot([1, 2], [3])\n")
FAILING = {"bars.py", "icon.svg"}  # rendered, with discrepancies
NOT_RENDERED = {"broken.py"}
EQUIVALENT = {"page.html", "tables/stock.md"}


def mixed_workspace(checker: Checker, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir()  # a project root: references are written inside it
    for name in ("bars.py", "icon.svg", "page.html", "stock.md"):
        pinned_copy(checker, root, name)
    (root / "tables").mkdir()
    for name in ("stock.md", "stock.ref.png", "stock.ref.png.anchors.json"):
        (root / name).rename(root / "tables" / name)
    (root / "broken.py").write_text(BROKEN)
    shutil.copy(root / "bars.ref.png", root / "broken.ref.png")
    for name, old, new in (("bars.py", '"Sales per quarter"', '"Sales per year"'),
                           ("icon.svg", "#5E81AC", "#D08770")):
        path = root / name
        text = path.read_text()
        assert text.count(old) == 1
        path.write_text(text.replace(old, new))
    return root


def fingerprints(root: Path) -> dict[str, tuple[str, int]]:
    """Every reference and sidecar below ``root``: its content hash and modification time."""
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                             p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()
            and (p.name.endswith(".png") or p.name.endswith(".anchors.json"))}
