-- verm for Neovim: one verm language server per project root, attached to the buffers of the
-- configured filetypes. Works on Neovim 0.7 (start_client + buf_attach_client) and newer
-- (vim.lsp.start).
local M = {}

local uv = vim.uv or vim.loop

local defaults = {
  cmd = { "verm", "serve" },
  filetypes = { "python", "html", "svg", "markdown" },
  root_markers = { "pyproject.toml", "verm.toml", ".git" },
  init_options = {}, -- initializationOptions, e.g. { trusted = true, critic = "analytic" }
  -- the answer to workspace/configuration, e.g. { verm = { runOn = "change" } }; the user's
  -- own model settings (critic = "model", modelPath, endpoint, ...) go here too (see README)
  settings = {},
}

M.config = vim.deepcopy(defaults)

-- Both keyed by root, "" for files outside any project.
local clients = {} -- root -> client id (the Neovim 0.7 path; vim.lsp.start reuses by itself)
local failed = {} -- root -> true once starting there failed: say so once, not per buffer

local function notify(msg, level)
  vim.schedule(function()
    vim.notify("verm: " .. msg, level or vim.log.levels.ERROR)
  end)
end

--- The nearest ancestor of `path` holding a root marker, or nil: a file outside any project
--- gets no workspace root, so the server will not run it as a chart script unless trusted.
function M.root_dir(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while true do
    for _, marker in ipairs(M.config.root_markers) do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

local function client_config(root)
  local cfg, key = M.config, root or ""
  return {
    name = "verm",
    cmd = cfg.cmd,
    root_dir = root,
    workspace_folders = root and { { uri = vim.uri_from_fname(root), name = root } } or nil,
    -- nil, not {}: an empty Lua table would be sent as a JSON array
    init_options = next(cfg.init_options) and cfg.init_options or nil,
    settings = cfg.settings,
    on_init = function(client)
      -- Neovim 0.8+ sends the settings itself; 0.7 neither does nor offers workspace/configuration
      if not vim.lsp.start and next(cfg.settings) then
        client.notify("workspace/didChangeConfiguration", { settings = cfg.settings })
      end
    end,
    on_exit = function(code)
      clients[key] = nil
      if code ~= 0 then
        notify(("the language server `%s` stopped (exit code %d); its stderr is in %s")
          :format(table.concat(cfg.cmd, " "), code, vim.lsp.get_log_path()))
      end
    end,
  }
end

local function start(bufnr, root)
  local cmd = M.config.cmd
  if vim.fn.executable(cmd[1]) ~= 1 then
    error(("`%s` is not an executable"):format(cmd[1]), 0)
  end
  if vim.lsp.start then -- Neovim 0.8+: reuses a running client with the same name and root
    return vim.lsp.start(client_config(root), { bufnr = bufnr })
  end
  local key = root or ""
  local id = clients[key]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client(client_config(root))
    clients[key] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Attach verm to a buffer (0: the current one); returns the client id, or nil.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local root = M.root_dir(name)
  local key = root or ""
  if failed[key] then
    return nil
  end
  local ok, id = pcall(start, bufnr, root)
  if not ok or not id then
    failed[key] = true
    notify(("could not start the language server `%s`%s. Install verm (pip install verm) "
      .. "or set `cmd` in require(\"verm\").setup()")
      :format(table.concat(M.config.cmd, " "), ok and "" or ": " .. tostring(id)))
    return nil
  end
  return id
end

--- The verm client attached to a buffer, if any.
function M.client(bufnr)
  if vim.lsp.get_clients then -- 0.10+
    return vim.lsp.get_clients({ bufnr = bufnr, name = "verm" })[1]
  end
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == "verm" then
      return client
    end
  end
end

--- Run one of the server's commands (verm.pin, verm.showDiff) on the current buffer.
function M.execute(command)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    return notify("no verm language server is attached to this buffer", vim.log.levels.WARN)
  end
  local params = { command = command, arguments = { vim.uri_from_bufnr(bufnr) } }
  local function done(err, result)
    if err then
      notify(("%s failed: %s"):format(command, err.message or vim.inspect(err)))
    elseif type(result) == "table" and result.diff and not result.shown and vim.ui.open then
      vim.ui.open(result.diff)
    end
  end
  if vim.fn.has("nvim-0.11") == 1 then
    client:request("workspace/executeCommand", params, done, bufnr)
  else
    client.request("workspace/executeCommand", params, done, bufnr)
  end
end

function M.setup(opts)
  M.config = vim.tbl_extend("force", vim.deepcopy(defaults), opts or {})
  local cfg = M.config
  for key in pairs(defaults) do
    if type(cfg[key]) ~= "table" then
      error(("verm.setup: `%s` must be a table, got %s"):format(key, type(cfg[key])), 2)
    end
  end
  clients, failed = {}, {}

  local group = vim.api.nvim_create_augroup("verm", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = cfg.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do -- buffers opened before setup()
    local ft = vim.bo[bufnr].filetype
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(cfg.filetypes, ft) then
      M.attach(bufnr)
    end
  end

  vim.api.nvim_create_user_command("VermPin", function()
    M.execute("verm.pin")
  end, { desc = "verm: pin the current render as this file's reference" })
  vim.api.nvim_create_user_command("VermDiff", function()
    M.execute("verm.showDiff")
  end, { desc = "verm: open the visual diff (reference | render | difference)" })
end

return M
