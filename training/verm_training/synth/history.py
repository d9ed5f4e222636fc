"""``--from-git``: pairs from a repository's history — real edits, weakly labelled.

For every pinned source, each older version (``git show REV:path``) is judged against today's
reference by the configured critic, as ``verm check`` would judge it; its findings become the
labels. The old text is rendered *as* the source file (the renderer is given the text with the
file's own path), so relative data files, stylesheets and the source's folder resolve as they
do today, and nothing is written into the user's working tree.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from verm.source import kind_of
from verm_training.data import Label, make_row
from verm_training.synth.core import DOMAINS, Outcome, Unit, same_pixels


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, encoding="utf-8", errors="replace").stdout


def git_units(repo: Path, domains: Iterable[str] | None = None) -> list[Unit]:
    """The tracked sources of ``repo`` that have a reference pinned today."""
    from verm.check import Checker
    from verm.render import Renderers

    repo = repo.absolute()
    if not repo.is_dir():
        raise NotADirectoryError(f"{repo}: no such folder")
    try:
        root = Path(_git(repo, "rev-parse", "--show-toplevel").strip())
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        raise ValueError(f"{repo}: not a git repository ({exc})") from None
    wanted = set(domains or DOMAINS)
    units: list[Unit] = []
    with Checker(critic="analytic", renderers=Renderers(batch=True)) as checker:
        for rel in sorted(_git(root, "ls-files", "-z").split("\0")):
            path = root / rel
            kind = kind_of(path)
            if not rel or kind is None or kind not in wanted or not path.is_file():
                continue
            try:
                pin = checker.pin_of(checker.load(path))
            except Exception:
                continue  # unreadable or a bad pragma: not a pinned source
            if pin is not None and pin.path.is_file():
                units.append(Unit(path, rel, kind))
    return units


def history_source(checker: Any, unit: Unit, repo: str, max_commits: int,
                   image_size: int) -> Outcome:
    """Rows for one pinned source: each distinct older version against today's reference."""
    import time

    outcome = Outcome(unit.key, unit.kind)
    root = Path(_git(Path(repo), "rev-parse", "--show-toplevel").strip())
    try:
        today = checker.load(unit.path)
        pin = checker.pin_of(today)
        reference = checker.reference(pin).image
    except Exception as exc:
        outcome.failure = f"no usable reference: {exc}"
        return outcome
    revs = _git(root, "log", f"--max-count={max_commits + 1}", "--format=%H", "--",
                unit.key).split()
    texts = {today.text}
    shown: list[Image.Image] = []
    for rev in revs:
        try:
            text = _git(root, "show", f"{rev}:{unit.key}")
        except subprocess.CalledProcessError:
            continue
        if text in texts or outcome.tried >= max_commits:
            continue
        texts.add(text)
        outcome.tried += 1
        t = time.perf_counter()
        result = checker.check(checker.load(unit.path, text), reference=pin.path)
        outcome.judge_s += time.perf_counter() - t
        render = result.render
        if not render.ok:
            outcome.failed += 1
        elif same_pixels(render.image, reference):
            outcome.noop += 1
        elif any(same_pixels(render.image, other) for other in shown):
            outcome.duplicate += 1
        else:
            shown.append(render.image)
            labels = [Label(category=d.category, severity=d.severity, location=d.location,
                            description=d.description,
                            line=d.range.start.line if d.range is not None else None)
                      for d in result.discrepancies]
            outcome.rows.append(make_row(unit.kind, reference, render.image, labels,
                                         source=unit.key, mutation=f"git {rev[:12]}",
                                         longest=image_size))
    return outcome
