-- What the verm server is doing, for :VermStatus and the echo area: its `verm/status`
-- notifications (judgements in flight, the model's loading) and its `$/progress` (revise,
-- model loading) echoed as they come. Installed as the verm client's own handlers.
local M = {}

M.state = {} -- client id -> { judging = n, model = {...} | nil }
M.last = {} -- client id -> the last progress line echoed (":VermStatus" repeats it)

--- Echo without the hit-enter prompt; `keep` puts it in :messages too.
function M.echo(text, keep, hl)
  vim.api.nvim_echo({ { text, hl or "None" } }, keep or false, {})
end

local titles = {} -- progress token -> title (begin carries it; report and end do not)

--- The line for one `$/progress` value, or nil for a kind we do not show.
function M.format(token, value)
  if type(value) ~= "table" then
    return nil
  end
  if value.kind == "begin" then
    titles[token] = value.title
  end
  local title = titles[token] or "verm"
  if value.kind == "end" then
    titles[token] = nil
  end
  local parts = { title }
  if value.percentage then
    table.insert(parts, ("%d%%"):format(value.percentage))
  end
  if value.message and value.message ~= "" then
    table.insert(parts, value.message)
  end
  if value.kind == "end" then
    table.insert(parts, "(done)")
  end
  return table.concat(parts, " ")
end

local function with_default(method, ours)
  return function(err, result, ctx, config)
    ours(err, result, ctx)
    local default = vim.lsp.handlers[method]
    if default then
      return default(err, result, ctx, config)
    end
  end
end

--- The handlers a verm client is started with (setup() and lsp/verm.lua both use them).
function M.handlers()
  return {
    ["$/progress"] = with_default("$/progress", function(_, result, ctx)
      local line = result and M.format(result.token, result.value)
      if line then
        M.last[ctx.client_id] = line
        local kind = result.value.kind
        vim.schedule(function()
          M.echo(line, kind ~= "report") -- begin and end stay in :messages
        end)
      end
    end),
    ["verm/status"] = function(_, result, ctx)
      if type(result) == "table" then
        M.state[ctx.client_id] = result
      end
    end,
  }
end

return M
