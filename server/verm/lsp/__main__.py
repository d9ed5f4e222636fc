"""``python -m verm.lsp``: the language server over stdio (``verm serve`` does the same)."""

if __name__ == "__main__":
    from verm.lsp.warmup import early

    early()  # render workers start while the server imports

    from verm.lsp.server import create_server

    create_server().start_io()
