"""``python -m verm.lsp``: the language server over stdio (``verm serve`` does the same)."""

from verm.lsp.server import create_server

if __name__ == "__main__":
    create_server().start_io()
