-- :checkhealth verm — the server, Chromium, the model settings, pictures in the terminal.
local M = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local err = health.error or health.report_error
local info = health.info or health.report_info

local function first_line(cmd)
  local out = vim.fn.system(cmd)
  if vim.v.shell_error ~= 0 then
    return nil, out
  end
  return (out:gsub("%s+$", ""):match("[^\n]*$"))
end

local function check_server(cfg)
  local cmd = cfg.cmd
  if vim.fn.executable(cmd[1]) ~= 1 then
    err(("server command `%s` is not an executable"):format(table.concat(cmd, " ")),
      { "pip install verm, or set `cmd` in require(\"verm\").setup()" })
    return
  end
  -- `verm serve` → `verm --version`; `python -m verm.cli serve` → `python -m verm.cli --version`
  local version_cmd = {}
  for _, word in ipairs(cmd) do
    if word == "serve" then
      break
    end
    table.insert(version_cmd, word)
  end
  if version_cmd[#version_cmd] == "verm.lsp" then
    version_cmd[#version_cmd] = "verm.cli"
  end
  table.insert(version_cmd, "--version")
  local version, out = first_line(version_cmd)
  if version then
    ok(("server found: `%s` (%s)"):format(table.concat(cmd, " "), version))
  else
    err(("`%s` failed: %s"):format(table.concat(version_cmd, " "), out or ""))
  end
  for _, client in ipairs(require("verm").clients()) do
    info(("running: client %d, root %s"):format(client.id, tostring(client.config.root_dir)))
  end
end

local function check_chromium(settings)
  local explicit = settings.chromium or vim.env.VERM_CHROMIUM
  if explicit and explicit ~= "" then
    if vim.fn.executable(explicit) == 1 then
      ok("Chromium: " .. explicit)
    else
      err("Chromium set to `" .. explicit .. "`, which is not an executable")
    end
    return
  end
  for _, name in ipairs({ "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }) do
    if vim.fn.executable(name) == 1 then
      ok("Chromium: " .. vim.fn.exepath(name) .. " (renders HTML and Markdown)")
      return
    end
  end
  warn("no Chromium found: HTML and Markdown sources cannot be judged",
    { "install chromium, or set $VERM_CHROMIUM or settings.verm.chromium" })
end

local function check_model(settings)
  local critic = settings.critic or "analytic (or the project's [tool.verm] critic)"
  info("critic: " .. tostring(critic))
  local needs_model = settings.critic == "model" or settings.critic == "ensemble"
  local path = settings.modelPath or settings.model
  if path then
    if vim.fn.isdirectory(vim.fn.expand(path)) == 1 then
      ok("modelPath: " .. path)
    else
      err("modelPath `" .. path .. "` is not a folder")
    end
  elseif needs_model and not settings.endpoint then
    warn("critic `" .. settings.critic .. "` without modelPath: ~/.config/verm/config.toml must name one")
  end
  local endpoints = settings.endpoint
  if type(endpoints) == "string" then
    endpoints = { endpoints }
  end
  for _, url in ipairs(endpoints or {}) do
    if url:match("^https?://") then
      ok("endpoint: " .. url)
    else
      err("endpoint `" .. url .. "` is not an http(s) URL")
    end
  end
  if settings.critic == "remote" and not endpoints then
    warn("critic `remote` without endpoint: ~/.config/verm/config.toml must name one")
  end
  for _, key in ipairs({ "apiKeyEnv", "policyApiKeyEnv" }) do
    local name = settings[key]
    if name then
      if vim.env[name] and vim.env[name] ~= "" then
        ok(("%s: $%s is set"):format(key, name))
      else
        warn(("%s: $%s is not set in Neovim's environment (the server inherits it)"):format(key, name))
      end
    end
  end
end

function M.check()
  local verm = require("verm")
  local cfg = verm.config
  local settings = (cfg.settings and cfg.settings.verm) or {}
  start("verm: language server")
  if vim.fn.has("nvim-0.7") ~= 1 then
    err("Neovim 0.7 or newer is needed")
  end
  check_server(cfg)
  start("verm: rendering")
  check_chromium(settings)
  start("verm: model settings")
  check_model(settings)
  start("verm: pictures in Neovim")
  local backend = require("verm.images").backend(cfg.images)
  if backend then
    ok(":VermDiff draws the reference and the render with " .. backend)
  else
    info(":VermDiff lists the discrepancies; pictures need image.nvim or a kitty-graphics terminal")
  end
end

return M
