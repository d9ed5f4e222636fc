"""Where verm keeps what it can compute again: the user's cache folder (XDG), never a workspace.

Diff pictures for the editor, the visual-diff view's pictures and OCR readings of references
live under ``$XDG_CACHE_HOME/verm`` (``~/.cache/verm``), shared by ``verm check`` and
``verm serve``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "verm"
