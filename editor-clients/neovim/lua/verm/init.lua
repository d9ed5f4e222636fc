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
  -- own model settings (critic = "model", modelPath, endpoint, ...) go here too (see README);
  -- change them later with require("verm").configure({ ... }), no restart
  settings = {},
  -- pictures in :VermDiff: "auto" (image.nvim, else a kitty-graphics terminal), "image.nvim",
  -- "kitty" or false
  images = "auto",
}

local TABLES = { "cmd", "filetypes", "root_markers", "init_options", "settings" }

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
    -- started in the project, verm starts the render workers its pinned sources need at once
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = root and { { uri = vim.uri_from_fname(root), name = root } } or nil,
    -- nil, not {}: an empty Lua table would be sent as a JSON array
    init_options = next(cfg.init_options) and cfg.init_options or nil,
    settings = cfg.settings,
    handlers = require("verm.progress").handlers(),
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

--- A client method: `client:m(...)` on 0.11+, `client.m(...)` before (where they are closures).
function M.call(client, method, ...)
  if vim.fn.has("nvim-0.11") == 1 then
    return client[method](client, ...)
  end
  return client[method](...)
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
    elseif type(result) == "table" and result.diff and not result.shown then
      M.open_file(result.diff)
    elseif command == "verm.revise" and type(result) == "table" then
      M.revised = result
      local text
      if result.applied then
        text = ("verm: revised: reward %.2f → %.2f (%d renders); save to judge again")
          :format(result.reward_before, result.reward_after, result.renders or 0)
      elseif result.reward_before then
        text = ("verm: nothing improved the reward (%.2f); %s"):format(result.reward_before,
          result.reason or result.stopped or "")
      else
        text = "verm: not revised: " .. tostring(result.reason)
      end
      vim.schedule(function()
        require("verm.progress").echo(text, true)
      end)
    end
  end
  M.call(client, "request", "workspace/executeCommand", params, done, bufnr)
end

--- Open a file in the system viewer (vim.ui.open on 0.10+, xdg-open/open before).
function M.open_file(path)
  if vim.ui.open then
    return vim.ui.open(path)
  end
  local opener = vim.fn.has("mac") == 1 and "open" or "xdg-open"
  if vim.fn.executable(opener) == 1 then
    vim.fn.jobstart({ opener, path }, { detach = true })
  else
    notify("visual diff at " .. path, vim.log.levels.INFO)
  end
end

--- Every running verm client (any buffer).
function M.clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = "verm" })
  end
  return vim.tbl_filter(function(c) return c.name == "verm" end, vim.lsp.get_active_clients())
end

--- Change settings without a restart: merged into `settings.verm`, sent to every verm server
--- (workspace/didChangeConfiguration; its workspace/configuration answers them too).
function M.configure(verm_settings)
  M.config.settings = vim.tbl_deep_extend("force", M.config.settings or {},
    { verm = verm_settings or {} })
  for _, client in ipairs(M.clients()) do
    client.config.settings = M.config.settings
    if client.settings ~= nil then -- 0.11+ reads this one
      client.settings = M.config.settings
    end
    M.call(client, "notify", "workspace/didChangeConfiguration", { settings = M.config.settings })
  end
end

--- :VermDiff — the float (and pictures, when the terminal can) for the current buffer.
function M.diff()
  local client = M.client(vim.api.nvim_get_current_buf())
  if not client then
    return notify("no verm language server is attached to this buffer", vim.log.levels.WARN)
  end
  return require("verm.diff").open(client, M.config)
end

--- :VermStatus — the lines it echoes (returned too, for tests and statuslines).
function M.status()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local lines = {}
  if not client then
    table.insert(lines, ("verm: not attached to this buffer (%d verm servers running)")
      :format(#M.clients()))
  else
    local state = require("verm.progress").state[client.id] or {}
    local stopped = M.call(client, "is_stopped")
    table.insert(lines, ("verm: %s (client %d) `%s`, root %s"):format(
      stopped and "stopped" or "running", client.id, table.concat(client.config.cmd, " "),
      tostring(client.config.root_dir)))
    local model = state.model
    local busy = ("judging %d file(s)"):format(state.judging or 0)
    if type(model) == "table" then
      busy = busy .. (", model %s%s"):format(model.state,
        type(model.percentage) == "number" and (" %d%%"):format(model.percentage) or "")
    end
    table.insert(lines, "  " .. busy)
    local answer = require("verm.diff").fetch(client, bufnr)
    if type(answer) == "table" and answer.state == "judged" then
      local view = answer.view
      table.insert(lines, ("  this file: reward %.2f of 2.00, %d discrepancies against %s")
        :format(view.reward, #view.discrepancies, view.reference))
    elseif type(answer) == "table" then
      table.insert(lines, "  this file: " .. tostring(answer.message ~= vim.NIL and answer.message
        or answer.state))
    end
    local last = require("verm.progress").last[client.id]
    if last then
      table.insert(lines, "  last progress: " .. last)
    end
  end
  require("verm.progress").echo(table.concat(lines, "\n"), true)
  return lines
end

--- :VermRestart — stop every verm server and attach the open buffers again.
function M.restart()
  local old = M.clients()
  local ids = vim.tbl_map(function(c) return c.id end, old)
  vim.lsp.stop_client(ids)
  vim.wait(5000, function()
    for _, id in ipairs(ids) do
      if vim.lsp.get_client_by_id(id) then
        return false
      end
    end
    return true
  end, 20)
  -- Neovim 0.7 keeps a stopped client's diagnostics: what the old server said must not stay.
  for _, id in ipairs(ids) do
    vim.diagnostic.reset(vim.lsp.diagnostic.get_namespace(id))
  end
  clients, failed = {}, {}
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      if M.configured then
        M.attach(bufnr)
      elseif vim.lsp.config and vim.lsp.config.verm then -- lsp/verm.lua users
        vim.lsp.start(vim.lsp.config.verm, { bufnr = bufnr })
      end
    end
  end
end

--- The user commands (setup() creates them; plugin/verm.lua too, for lsp/verm.lua users).
function M.commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("VermPin", function() M.execute("verm.pin") end,
    { desc = "verm: pin the current render as this file's reference" })
  cmd("VermDiff", function() M.diff() end,
    { desc = "verm: the visual diff of this file (discrepancies, and pictures when the terminal can)" })
  cmd("VermRevise", function() M.execute("verm.revise") end,
    { desc = "verm: revise this file until its render matches the reference (progress echoed)" })
  cmd("VermStatus", function() M.status() end, { desc = "verm: what the server is doing" })
  cmd("VermRestart", function() M.restart() end, { desc = "verm: restart the language server" })
end

function M.setup(opts)
  M.config = vim.tbl_extend("force", vim.deepcopy(defaults), opts or {})
  M.configured = true
  local cfg = M.config
  for _, key in ipairs(TABLES) do
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

  M.commands()
end

return M
