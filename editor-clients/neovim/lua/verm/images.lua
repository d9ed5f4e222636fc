-- Pictures inside Neovim, when the terminal can show them: image.nvim if it is installed, else
-- the kitty graphics protocol (kitty, WezTerm, Ghostty) written straight to the terminal.
-- Elsewhere nothing is drawn and :VermDiff lists the discrepancies only.
local M = {}

local KITTY_TERMS = { "kitty", "ghostty", "wezterm" }

--- Which way pictures can be shown: "image.nvim", "kitty" or nil. `choice` is the setup()
--- option `images`: "auto" (default), "image.nvim", "kitty" or false.
function M.backend(choice)
  if choice == false or choice == "none" then
    return nil
  end
  if choice == "image.nvim" or choice == "kitty" then
    return choice
  end
  if pcall(require, "image") then
    return "image.nvim"
  end
  local env = vim.env
  local term = ((env.TERM or "") .. " " .. (env.TERM_PROGRAM or "")):lower()
  if env.KITTY_WINDOW_ID then
    return "kitty"
  end
  for _, name in ipairs(KITTY_TERMS) do
    if term:find(name, 1, true) then
      return "kitty"
    end
  end
  return nil
end

local function b64(s)
  if vim.base64 then -- 0.10+
    return vim.base64.encode(s)
  end
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do
      r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then
      return ""
    end
    local c = 0
    for i = 1, 6 do
      c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0)
    end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end
M.b64 = b64

--- The kitty graphics escape that draws the PNG at `path` in a `cols`×`rows` cell area whose
--- top left is screen cell (`row`, `col`) (1-based), the cursor left where it was.
function M.kitty_sequence(path, row, col, cols, rows)
  return ("\0277\027[%d;%dH\027_Ga=T,f=100,t=f,q=2,C=1,c=%d,r=%d;%s\027\\\0278")
    :format(row, col, cols, rows, b64(path))
end

--- How many cells a `width`×`height` picture takes within `max_cols`×`max_rows` (a cell is
--- about twice as tall as it is wide).
function M.cells(width, height, max_cols, max_rows)
  if not (width and height and width > 0 and height > 0) then
    return 0, 0
  end
  local cols = math.min(max_cols, math.floor(max_rows * 2 * width / height))
  local rows = math.max(1, math.floor(cols * height / width / 2 + 0.5))
  return cols, math.min(rows, max_rows)
end

--- Draw `pictures` ({ {path=, width=, height=}, ... }) side by side in window `win`, starting
--- at its first line, `rows` tall. Returns a function that clears them (or nil: not drawn).
function M.draw(backend, win, pictures, rows)
  local width = vim.api.nvim_win_get_width(win)
  local each = math.floor((width - #pictures - 1) / #pictures)
  if backend == "image.nvim" then
    local ok, api = pcall(require, "image")
    if not ok then
      return nil
    end
    local shown = {}
    local x = 1
    for _, p in ipairs(pictures) do
      local img = api.from_file(p.path, { window = win, buffer = vim.api.nvim_win_get_buf(win),
        x = x, y = 0, width = each, height = rows, with_virtual_padding = false })
      if img then
        img:render()
        table.insert(shown, img)
      end
      x = x + each + 1
    end
    return function()
      for _, img in ipairs(shown) do
        pcall(img.clear, img)
      end
    end
  elseif backend == "kitty" then
    local pos = vim.api.nvim_win_get_position(win) -- 0-based, inside any border
    local out = {}
    local col = pos[2] + 2
    for _, p in ipairs(pictures) do
      local cols, r = M.cells(p.width, p.height, each, rows)
      if cols > 0 then
        table.insert(out, M.kitty_sequence(p.path, pos[1] + 1, col, cols, r))
      end
      col = col + each + 1
    end
    vim.fn.chansend(vim.v.stderr, table.concat(out))
    return function()
      vim.fn.chansend(vim.v.stderr, "\027_Ga=d,d=A,q=2\027\\")
    end
  end
  return nil
end

return M
