-- Pandoc filter for the HTML of the pandoc + typst path: in table cells, a long identifier
-- (colour_aug@cheater_cnn, a,b,c, key=value) may break after "@", "_", "," and "=", so that a
-- wide table narrows to the page instead of running past it. The break is a <wbr>, which adds
-- no character to the text (copying an identifier copies it whole). The PDF gets the same
-- break points from typst-header.typ, which Quarto's typst format includes too.

local SEPARATOR = "[@_,=]"

local function html_escape(text)
  return (text:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- The text cut after each separator but the last character (byte-wise: every separator is
-- ASCII, so no cut falls inside a multi-byte character).
local function pieces(text)
  local out, start = {}, 1
  for index = 1, #text - 1 do
    if text:sub(index, index):match(SEPARATOR) then
      table.insert(out, text:sub(start, index))
      start = index + 1
    end
  end
  table.insert(out, text:sub(start))
  return out
end

local breakable = {
  Str = function(str)
    local parts = pieces(str.text)
    if #parts == 1 then
      return nil
    end
    local inlines = pandoc.List()
    for index, part in ipairs(parts) do
      if index > 1 then
        inlines:insert(pandoc.RawInline("html", "<wbr>"))
      end
      inlines:insert(pandoc.Str(part))
    end
    return inlines
  end,
  -- A code span is one element, so it is written out as HTML with the breaks inside.
  Code = function(code)
    local parts = pieces(code.text)
    if #parts == 1 then
      return nil
    end
    for index, part in ipairs(parts) do
      parts[index] = html_escape(part)
    end
    return pandoc.RawInline("html", "<code>" .. table.concat(parts, "<wbr>") .. "</code>")
  end,
}

local function in_rows(rows)
  for _, row in ipairs(rows) do
    for _, cell in ipairs(row.cells) do
      cell.contents = cell.contents:walk(breakable)
    end
  end
end

function Table(tbl)
  if not FORMAT:match("html") then
    return nil
  end
  -- Cells only: the caption is prose, which wraps at its spaces.
  in_rows(tbl.head.rows)
  for _, body in ipairs(tbl.bodies) do
    in_rows(body.head)
    in_rows(body.body)
  end
  in_rows(tbl.foot.rows)
  return tbl
end
