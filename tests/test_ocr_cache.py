"""OCR of a designer's screenshot is paid once: the same crop is never read twice.

Against a reference without sidecar, every save used to OCR the reference's text again
(~100-200 ms a crop). The reader remembers what it read by the crop's pixels.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

from verm.critic.analytic.ocr import TextReader


class Counting:
    """The real pytesseract, counted (tesseract itself still reads)."""

    def __init__(self, real: Any, fail: bool = False) -> None:
        self.real, self.calls, self.fail = real, 0, fail

    def image_to_string(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.fail:
            raise RuntimeError("Tesseract process timeout")
        return self.real.image_to_string(*args, **kwargs)


def picture(text: str) -> Image.Image:
    image = Image.new("RGB", (320, 60), "white")
    ImageDraw.Draw(image).text((10, 20), text, fill="black", font_size=24)
    return image


def test_the_same_crop_is_read_once_and_a_changed_one_again():
    reader = TextReader()
    assert reader.available  # tesseract is installed by scripts/setup.sh
    counting = reader._tess = Counting(reader._tess)
    box = (5, 15, 300, 50)
    first = reader.read(picture("Sales per quarter"), box)
    assert first is not None and "Sales" in first
    assert reader.read(picture("Sales per quarter"), box) == first  # another image, same pixels
    assert counting.calls == 1
    assert reader.read(picture("Sales by quarter"), box) != first
    assert counting.calls == 2


def test_a_failed_read_is_not_remembered():
    reader = TextReader()
    reader._tess = Counting(reader._tess, fail=True)
    box = (5, 15, 300, 50)
    assert reader.read(picture("Revenue"), box) is None
    reader._tess.fail = False
    assert reader.read(picture("Revenue"), box) == "Revenue"
    assert reader._tess.calls == 2


def test_a_reading_is_shared_with_the_next_process_through_the_cache_folder(tmp_path):
    """`verm check` after `verm serve` (or the next CI run) reads nothing again."""
    first = TextReader(folder=tmp_path)
    first._tess = Counting(first._tess)
    box = (5, 15, 300, 50)
    text = first.read(picture("Revenue by region"), box)
    assert text is not None and "Revenue" in text
    later = TextReader(folder=tmp_path)  # a new process: nothing in memory
    counting = later._tess = Counting(later._tess)
    assert later.read(picture("Revenue by region"), box) == text
    assert counting.calls == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_an_unwritable_cache_folder_only_costs_a_reading(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    reader = TextReader(folder=blocked / "ocr")
    counting = reader._tess = Counting(reader._tess)
    box = (5, 15, 300, 50)
    assert reader.read(picture("Units sold"), box) is not None
    assert counting.calls == 1
