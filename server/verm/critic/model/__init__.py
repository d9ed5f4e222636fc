"""Model-backed critics: prompts, parsing, the worker, and local and remote model clients."""
