"""One module per LSP feature, each with a ``setup(server)`` that registers its handlers."""
