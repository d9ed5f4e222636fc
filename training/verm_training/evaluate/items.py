"""The pairs a critic is scored on: a synth test set saved by ``datasets``, or VC-RewardBench's
JSONL. Both become ``Pair``s — two images, the domain, the known errors and the reference they
share — so the scoring never knows where a pair came from.

Images are opened lazily, one pair at a time: VC-RewardBench is 1,335 pairs of screenshots and
a synth set can be larger; holding them all decoded would cost gigabytes for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from verm.types import TAXONOMY
from verm_training.evaluate.metrics import Error


class DataError(ValueError):
    """A data set verm cannot read; the message names the file (and line) and what is wrong."""


@dataclass
class Pair:
    id: str
    domain: str  # a TAXONOMY key
    group: str  # the reference (pairs of one group are ranked against each other)
    reference_path: Path
    gold: list[Error]
    images: Callable[[], tuple[Image.Image, Image.Image]]  # (reference, render), RGB


def _rgb(image: Image.Image) -> Image.Image:
    """RGB on white: a transparent PNG (SVG renders) must not judge as black."""
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return _rgb(image)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image ({exc})") from None


def read_vc_rewardbench(path: Path, limit: int | None = None) -> list[Pair]:
    """VC-RewardBench's JSONL: ``id, idx, category ∈ {table, chart, svg}, gt_img_path,
    pred_img_path, human_errors`` (errors keyed ``type`` or ``category``); image paths relative
    to the file's folder."""
    base = path.parent
    pairs: list[Pair] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        at = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{at}: not JSON ({exc.msg})") from None
        domain = str(row.get("category") or row.get("domain") or "").lower()
        if domain not in TAXONOMY:
            raise DataError(f"{at}: category {domain!r} is not one of {', '.join(TAXONOMY)}")
        try:
            ref, pred = base / row["gt_img_path"], base / row["pred_img_path"]
        except KeyError as exc:
            raise DataError(f"{at}: missing field {exc}") from None
        errors = row.get("human_errors") or []
        if isinstance(errors, str):
            errors = json.loads(errors)
        if isinstance(errors, dict):  # a whole critique object: {"errors": [...]}
            errors = errors.get("errors") or []
        gold = [Error.from_json(e) for e in errors if isinstance(e, dict)]
        ident = str(row.get("id", row.get("idx", n)))
        pairs.append(Pair(id=ident, domain=domain, group=str(row["gt_img_path"]),
                          reference_path=ref, gold=gold,
                          images=lambda ref=ref, pred=pred: (_open(ref), _open(pred))))
        if limit is not None and len(pairs) >= limit:
            break
    return pairs


def read_synth(folder: Path, split: str = "test", limit: int | None = None) -> list[Pair]:
    """A data set saved by ``synth`` (``datasets.save_to_disk``): its ``split`` of a
    DatasetDict, or the dataset itself. Rows as in ``verm_training.data``."""
    import datasets

    try:
        data: Any = datasets.load_from_disk(str(folder))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{folder}: not a data set saved by `verm train synth` ({exc})") from None
    if isinstance(data, datasets.DatasetDict):
        if split not in data:
            raise DataError(f"{folder}: no {split!r} split (it has {', '.join(data)})")
        data = data[split]
    missing = {"images", "domain", "labels"} - set(data.column_names)
    if missing:
        raise DataError(f"{folder}: rows lack {', '.join(sorted(missing))}")
    pairs: list[Pair] = []
    sources = data["source"] if "source" in data.column_names else [None] * len(data)
    for i, (domain, labels, source) in enumerate(zip(data["domain"], data["labels"], sources,
                                                     strict=True)):
        if limit is not None and i >= limit:
            break
        gold = [Error.from_json(e) for e in json.loads(labels)]
        group = str(source) if source else f"row-{i}"

        def images(i: int = i) -> tuple[Image.Image, Image.Image]:
            ref, render = data[i]["images"]
            return _rgb(ref), _rgb(render)

        pairs.append(Pair(id=f"{group}#{i}", domain=str(domain), group=group,
                          reference_path=folder / f"row-{i}.reference.png", gold=gold,
                          images=images))
    return pairs


def iter_images(pairs: list[Pair]) -> Iterator[tuple[Pair, Image.Image, Image.Image]]:
    for pair in pairs:
        reference, render = pair.images()
        yield pair, reference, render
