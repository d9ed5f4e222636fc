"""Load Qwen-VL processors where torchvision is missing (CPU machines; see NOTES).

verm judges images, never videos, but transformers' Qwen-VL processors insist on a video
processor, and the only video processors it ships need torchvision. Without torchvision,
point transformers at a plain ``BaseVideoProcessor``: the image path is unchanged.
"""

from __future__ import annotations

import importlib


def torchvision_usable() -> bool:
    try:
        importlib.import_module("torchvision")
    except Exception:  # missing, or a CUDA build that fails to import on CPU
        return False
    return True


def allow_missing_torchvision() -> bool:
    """Make Qwen-VL processors load without torchvision; True when the fallback was applied."""
    if torchvision_usable():
        return False
    processing = importlib.import_module("transformers.processing_utils")
    videos = importlib.import_module("transformers.video_processing_utils")
    auto = importlib.import_module("transformers.models.auto.video_processing_auto")
    root = processing.transformers_module  # the real module, not the lazy proxy
    setattr(root, "VideoProcessorMixin", videos.VideoProcessorMixin)  # noqa: B010

    def plain(*_args: object, **_kwargs: object) -> object:
        return videos.BaseVideoProcessor()

    auto.AutoVideoProcessor.from_pretrained = plain
    return True
