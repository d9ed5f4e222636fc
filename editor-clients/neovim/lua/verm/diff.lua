-- :VermDiff — the judgement of the current buffer in a floating window: the reference and the
-- render (drawn in the float when the terminal can, see images.lua), then one line per
-- discrepancy (number, line, category, message). <CR> jumps to its line, `a` accepts the
-- render as the new reference, `o` opens the diff picture in the system viewer, `q` closes.
-- The data is the server's `verm/visualDiff` answer, the same the VS Code view draws.
local images = require("verm.images")

local M = {}

local SEVERITY = { [3] = "error", [2] = "warning", [1] = "info" }
local IMAGE_ROWS = 12

--- The float's text for a `verm/visualDiff` answer: its lines, and for each line the
--- discrepancy it lists (by line number) — pure, so the tests check it directly.
function M.lines(answer, image_rows)
  local lines, entries = {}, {}
  if type(answer) ~= "table" then
    return { "verm: no answer from the language server" }, entries
  end
  local view = answer.view
  if answer.state ~= "judged" or type(view) ~= "table" then
    local why = answer.message
    if why == nil or why == vim.NIL then
      why = answer.state == "pending" and "not judged yet: save the file" or tostring(answer.state)
    end
    return { "verm: " .. why }, entries
  end
  local found = view.discrepancies or {}
  local head = ("%s — reward %.2f of 2.00 against %s"):format(view.title, view.reward, view.reference)
  table.insert(lines, head)
  for _ = 1, image_rows or 0 do
    table.insert(lines, "")
  end
  if #found == 0 then
    table.insert(lines, "  matches the reference")
  end
  for _, d in ipairs(found) do
    local where = type(d.line) == "number" and ("L%d"):format(d.line + 1) or "L?"
    table.insert(lines, ("%2d  %-5s %s (%s): %s"):format(d.number, where, d.category,
      SEVERITY[d.severity] or tostring(d.severity), d.message))
    entries[#lines] = d
  end
  table.insert(lines, "")
  local keys = "<CR> go to line · o open picture · q close"
  if not view.readOnly then
    keys = "<CR> go to line · a accept (pin this render) · o open picture · q close"
  end
  table.insert(lines, keys)
  return lines, entries
end

local function request(client, bufnr, method, params, timeout)
  return require("verm").call(client, "request_sync", method, params, timeout, bufnr)
end

--- The server's answer for `bufnr` (nil and a reason when there is none).
function M.fetch(client, bufnr)
  local res, err = request(client, bufnr, "verm/visualDiff",
    { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }, 10000)
  if not res then
    return nil, err or "no answer"
  end
  if res.err then
    return nil, res.err.message or vim.inspect(res.err)
  end
  return res.result
end

--- Open the float for the current buffer. `opts.images`: setup()'s `images` option.
function M.open(client, opts)
  local source_win = vim.api.nvim_get_current_win()
  local bufnr = vim.api.nvim_get_current_buf()
  local answer, err = M.fetch(client, bufnr)
  if not answer then
    vim.notify("verm: visual diff unavailable: " .. tostring(err), vim.log.levels.WARN)
    return nil
  end
  local backend = answer.state == "judged" and images.backend(opts.images) or nil
  local image_rows = backend and IMAGE_ROWS or 0
  local lines, entries = M.lines(answer, image_rows)

  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "verm-diff"
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l) + 2)
  end
  width = math.min(width, math.max(40, vim.o.columns - 8))
  local height = math.min(#lines, math.max(3, vim.o.lines - 6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor", style = "minimal", border = "rounded",
    width = width, height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
  })
  vim.wo[win].cursorline = true
  vim.wo[win].wrap = false
  local first = next(entries) and math.min(unpack(vim.tbl_keys(entries))) or 1
  vim.api.nvim_win_set_cursor(win, { first, 0 })

  local clear
  if backend then
    local view = answer.view
    local w, h = view.images.width, view.images.height
    clear = images.draw(backend, win, {
      { path = view.images.reference, width = w, height = h },
      { path = view.images.render, width = w, height = h },
    }, image_rows)
  end

  local function close()
    if clear then
      pcall(clear)
    end
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
  end
  local function map(lhs, fn)
    vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true, silent = true })
  end
  map("q", close)
  map("<Esc>", close)
  map("<CR>", function()
    local d = entries[vim.api.nvim_win_get_cursor(win)[1]]
    if not d or type(d.line) ~= "number" then
      return
    end
    close()
    if vim.api.nvim_win_is_valid(source_win) then
      vim.api.nvim_set_current_win(source_win)
      local last = vim.api.nvim_buf_line_count(bufnr)
      vim.api.nvim_win_set_cursor(source_win, { math.min(d.line + 1, last), 0 })
    end
  end)
  map("o", function()
    close()
    require("verm").execute("verm.showDiff")
  end)
  if answer.view and not answer.view.readOnly then
    map("a", function()
      close()
      require("verm").execute("verm.pin")
    end)
  end
  return { win = win, buf = buf, entries = entries, answer = answer, backend = backend }
end

return M
