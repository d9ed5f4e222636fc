"""initialize / initialized / configuration changes / shutdown."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types as lsp

from verm.lsp.server import VermServer, uri_to_path
from verm.lsp.warmup import for_roots

log = logging.getLogger("verm.lsp")


def setup(server: VermServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: VermServer, params: lsp.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        options = params.initialization_options
        ls.init_settings = options.get("verm", options) if isinstance(options, dict) else {}
        roots = [uri_to_path(f.uri) for f in params.workspace_folders or []]
        if not roots and params.root_uri:
            roots = [uri_to_path(params.root_uri)]
        ls.roots = roots
        ls.apply_settings()
        # The workers the workspace's pinned sources need start now, not on the first open
        for_roots(roots, ls.checker.prestart)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: VermServer, params: lsp.InitializedParams) -> None:
        await pull_configuration(ls)
        await ls.run_hooks(ls.on_initialized, "initialized")

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: VermServer,
                                       params: lsp.DidChangeConfigurationParams) -> None:
        before = ls.settings
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("verm"), dict):
            ls.workspace_settings = settings["verm"]
            ls.apply_settings()
        else:
            await pull_configuration(ls)
        if ls.settings != before:  # only what verm itself reads is worth a re-judgement
            for uri in list(ls.outcomes):
                ls.schedule(uri, "config")

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: VermServer, params: None) -> None:
        await ls.run_hooks(ls.on_shutdown, "shutdown")
        ls.close()


async def pull_configuration(ls: VermServer) -> None:
    """``workspace/configuration`` (section ``verm``), when the client offers it."""
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(
            lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="verm")])), 5.0)
    except Exception as exc:
        log.warning("verm: workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.workspace_settings = result[0]
        ls.apply_settings()
