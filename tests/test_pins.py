"""Reference resolution order, safe reading, atomic pinning and the anchors sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

from verm.config import load_config
from verm.pins import (
    BadReferenceError,
    PinExistsError,
    decode_image,
    default_pin_target,
    load_reference,
    pin_render,
    resolve_pin,
    sidecar_path,
)
from verm.source import Source
from verm.types import JPEG_INFO, LOSSY_INFO, Anchor, Range, Render


def _source(folder: Path, name: str, text: str) -> Source:
    path = folder / name
    path.write_text(text)
    return Source.load(path)


def _png(path: Path, color=(200, 30, 30), size=(40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def test_resolution_order_flag_pragma_config_sibling(tmp_path: Path):
    (tmp_path / "verm.toml").write_text('[references]\n"*.py" = "design/{stem}.png"\n')
    _png(tmp_path / "chart.ref.png")
    config = load_config(tmp_path)

    plain = _source(tmp_path, "chart.py", "x = 1\n")
    assert resolve_pin(plain, config).how == "config"
    assert resolve_pin(plain, config).path == (tmp_path / "design" / "chart.png").absolute()

    pragma = _source(tmp_path, "chart.py", "import os\n# verm: reference=mock.png\n")
    pin = resolve_pin(pragma, config)
    assert (pin.how, pin.path.name, pin.range.start.line) == ("pragma", "mock.png", 1)

    flagged = resolve_pin(pragma, config, tmp_path / "other.png")
    assert flagged.how == "flag"


def test_sibling_only_when_it_exists(tmp_path: Path):
    sub = tmp_path / "no-config"
    sub.mkdir()
    src = _source(sub, "icon.svg", "<svg/>")
    config = load_config(sub)
    assert resolve_pin(src, config) is None
    assert default_pin_target(src, config).path == sub / "icon.ref.png"
    _png(sub / "icon.ref.png")
    assert resolve_pin(src, config).how == "sibling"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"this is not a png at all", "not an image verm can read"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
         "corrupt or truncated|not an image"),
    ],
)
def test_bad_references_get_clear_messages(tmp_path: Path, content: bytes | None, message: str):
    ref = tmp_path / "ref.png"
    if content is not None:
        ref.write_bytes(content)
    src = _source(tmp_path, "a.py", "# verm: reference=ref.png\n")
    pin = resolve_pin(src, load_config(tmp_path))
    with pytest.raises(BadReferenceError, match=message):
        load_reference(pin)


def test_jpeg_and_transparent_references_load_as_rgb_on_white(tmp_path: Path):
    Image.new("RGB", (10, 10), (0, 0, 255)).save(tmp_path / "shot.jpg", quality=90)
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    src = _source(tmp_path, "a.py", "# verm: reference=shot.jpg\n")
    ref = load_reference(resolve_pin(src, load_config(tmp_path)))
    assert ref.image.mode == "RGB" and ref.anchors is None
    src = _source(tmp_path, "a.py", "# verm: reference=clear.png\n")
    ref = load_reference(resolve_pin(src, load_config(tmp_path)))
    assert ref.image.getpixel((5, 5)) == (255, 255, 255)


def _render(tmp_path: Path) -> Render:
    anchor = Anchor(box=(1, 2, 10, 12), role="title", key="ax0/title", name="title",
                    range=Range.of_line(3), text="Sales", color="#000000")
    return Render(kind="chart", source=tmp_path / "a.py", image=Image.new("RGB", (20, 16), "white"),
                  anchors=[anchor])


def test_pin_writes_png_and_sidecar_and_refuses_to_overwrite(tmp_path: Path):
    target = tmp_path / "refs" / "a.ref.png"
    pin_render(_render(tmp_path), target)
    assert Image.open(target).size == (20, 16)
    side = json.loads(sidecar_path(target).read_text())
    assert side["anchors"][0]["key"] == "ax0/title"
    before = target.read_bytes()
    with pytest.raises(PinExistsError, match="--force"):
        pin_render(_render(tmp_path), target)
    assert target.read_bytes() == before
    pin_render(_render(tmp_path), target, force=True)
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_sidecar_is_used_only_while_the_png_is_the_one_pinned(tmp_path: Path):
    target = tmp_path / "a.ref.png"
    pin_render(_render(tmp_path), target)
    src = _source(tmp_path, "a.py", "# verm: reference=a.ref.png\n")
    pin = resolve_pin(src, load_config(tmp_path))
    ref = load_reference(pin)
    assert ref.anchors is not None and ref.anchors[0].text == "Sales"
    assert ref.anchors_size == (20, 16)
    _png(target, size=(20, 16))  # a designer drops a new screenshot over it
    assert load_reference(pin).anchors is None


def test_failed_atomic_write_leaves_no_temp_file_and_nothing_replaced(tmp_path: Path):
    target = tmp_path / "a.ref.png"
    target.mkdir()  # something that a rename cannot replace
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OSError):
        pin_render(_render(tmp_path), target, force=True)
    assert (target / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.ref.png"]


def test_a_jpeg_reference_keeps_how_it_was_compressed(tmp_path: Path) -> None:
    """The critic saves a render as the screenshot was saved (its tables, its sampling): they
    come with the decoded picture; a PNG has none."""
    picture = Image.new("RGB", (64, 48), (200, 30, 40))
    picture.save(tmp_path / "shot.jpg", quality=70)
    picture.save(tmp_path / "shot.png")
    expected = Image.open(tmp_path / "shot.jpg")
    jpeg = decode_image((tmp_path / "shot.jpg").read_bytes(), tmp_path / "shot.jpg")
    png = decode_image((tmp_path / "shot.png").read_bytes(), tmp_path / "shot.png")
    assert jpeg.info[JPEG_INFO]["qtables"] == expected.quantization
    assert jpeg.info[JPEG_INFO]["subsampling"] == JpegImagePlugin.get_sampling(expected)
    assert jpeg.info[LOSSY_INFO] is True
    assert JPEG_INFO not in png.info and png.info[LOSSY_INFO] is False
