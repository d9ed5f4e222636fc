"""verm: judge code by its picture."""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _drop_working_directory() -> None:
    """``python -m verm...`` puts the working directory first on ``sys.path``.

    That directory is usually the workspace being judged: a ``numpy.py`` or ``lxml.py`` in it
    would be imported by verm itself, outside any sandbox, even for an untrusted workspace.
    verm never imports from there (chart scripts still import their own helpers: the render
    worker puts the script's folder on its path, inside the sandbox). Python's ``-P`` does the
    same; this covers the launches that forget it.
    """
    if _sys.flags.safe_path or not _sys.argv or _sys.argv[0] != "-m" or not _sys.path:
        return  # not being run with -m (argv[0] is "-m" while the module is located)
    first = _sys.path[0]
    try:
        here = _os.getcwd()
    except OSError:
        here = None
    if first in ("", ".") or (here is not None and _os.path.abspath(first) == here):
        del _sys.path[0]


_drop_working_directory()


def _one_blas_thread() -> None:
    """numpy's OpenBLAS runs a product big enough (a picture times a colour vector) on a thread
    per core, then spins those threads: verm already judges a source per core (``--jobs``) and
    renders in workers of their own, so the extra threads only take CPU from the other jobs
    (200 sources with --jobs 2: 1 s of 12 s CPU). Set before numpy loads; a user's own setting
    wins. Render workers inherit it (a chart renders on one core, as it has one)."""
    _os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


_one_blas_thread()
