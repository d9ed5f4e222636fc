-- The :Verm* commands, for users who start verm with lsp/verm.lua (vim.lsp.enable) rather
-- than require("verm").setup(), which creates them too.
if vim.g.loaded_verm then
  return
end
vim.g.loaded_verm = true
require("verm").commands()
