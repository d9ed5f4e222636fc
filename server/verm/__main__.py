"""The ``verm`` command (also ``python -m verm``).

``verm serve`` starts its render workers before importing the rest of verm: they are separate
processes, so their imports overlap the server's own (see ``verm.lsp.warmup``).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        from verm.lsp.warmup import early

        early()
    from verm.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
