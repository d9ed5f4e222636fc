"""The viewer's data (the contract in ``verm.viewer``) from one judgement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verm.check import CheckResult
from verm.types import Box
from verm.viewer.pictures import Pictures


def _box(box: Box | None) -> list[float] | None:
    return None if box is None else [round(float(v), 1) for v in box]


def view_data(result: CheckResult, pictures: Pictures, images: dict[str, str], *,
              fix_title: Callable[[int], str | None] = lambda _: None,
              read_only: bool = False) -> dict[str, Any]:
    """The view data for ``result``: ``images`` maps reference/render/diff to URLs (or paths,
    which the host turns into URLs); ``fix_title(index)`` names a discrepancy's quick fix."""
    width, height = pictures.size
    found = []
    for i, d in enumerate(result.discrepancies):
        found.append({
            "number": i + 1, "index": i, "category": d.category, "severity": d.severity,
            "location": d.location, "message": d.description,
            "line": d.range.start.line if d.range is not None else None,
            "refBox": _box(pictures.ref_boxes[i]), "renderBox": _box(pictures.render_boxes[i]),
            "fix": fix_title(i),
        })
    return {
        "title": result.source.path.name,
        "reference": result.pin.path.name,
        "images": {**images, "width": width, "height": height},
        "reward": round(result.reward, 4),
        "equivalent": result.equivalent,
        "rendered": result.rendered,
        "discrepancies": found,
        "readOnly": read_only,
    }
