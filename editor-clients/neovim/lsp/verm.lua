-- Neovim 0.11+: `vim.lsp.enable("verm")` starts verm with this config, no setup() needed.
-- Override any field with vim.lsp.config("verm", { cmd = ..., settings = { verm = { ... } } }).
-- The :Verm* commands come from plugin/verm.lua; settings can change later with
-- require("verm").configure({ ... }) (sent as workspace/didChangeConfiguration).
return {
  cmd = { "verm", "serve" },
  filetypes = { "python", "html", "svg", "markdown" },
  root_markers = { "pyproject.toml", "verm.toml", ".git" },
  settings = { verm = {} },
  handlers = require("verm.progress").handlers(),
}
