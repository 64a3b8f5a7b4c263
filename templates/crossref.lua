-- Pandoc filter for the pandoc + typst path (Quarto does all of this itself).
--
-- HTML: numbers every figure labelled {#fig-...} and every table labelled {#tbl-...} in
-- document order, puts "Figure N:" / "Table N:" in front of its caption, and turns Quarto
-- cross-references (@fig-x, @tbl-x) into links reading "Figure N" / "Table N".
-- Typst numbers figures and tables itself; there the filter only turns the cross-references
-- into typst references (@fig-x), which typst resolves against the figures' labels.

local NAMES = { fig = "Figure", tbl = "Table" }

local function kind_of(identifier)
  local prefix = identifier and identifier:match("^(%a+)%-")
  return NAMES[prefix] and prefix or nil
end

local function label_caption(caption, text)
  local label = pandoc.Strong({ pandoc.Str(text) })
  local long = caption.long
  if #long == 0 then
    long:insert(pandoc.Plain({ label }))
  else
    local first = long[1]
    if first.t == "Plain" or first.t == "Para" then
      first.content:insert(1, pandoc.Space())
      first.content:insert(1, label)
    else
      long:insert(1, pandoc.Plain({ label }))
    end
  end
  caption.long = long
  return caption
end

local function number_html(doc)
  local counts, numbers = { fig = 0, tbl = 0 }, {}
  local function number(el)
    local kind = kind_of(el.identifier)
    if not kind then
      return nil
    end
    counts[kind] = counts[kind] + 1
    numbers[el.identifier] = NAMES[kind] .. "\u{a0}" .. counts[kind]
    el.caption = label_caption(el.caption, numbers[el.identifier] .. ":")
    return el
  end
  doc = doc:walk({ Figure = number, Table = number })
  return doc:walk({
    Cite = function(cite)
      local id = cite.citations[1].id
      if #cite.citations == 1 and numbers[id] then
        return pandoc.Link({ pandoc.Str(numbers[id]) }, "#" .. id)
      end
    end,
  })
end

local function refer_typst(doc)
  return doc:walk({
    Cite = function(cite)
      local id = cite.citations[1].id
      if #cite.citations == 1 and kind_of(id) then
        return pandoc.RawInline("typst", "@" .. id)
      end
    end,
  })
end

function Pandoc(doc)
  if FORMAT:match("html") then
    return number_html(doc)
  elseif FORMAT:match("typst") then
    return refer_typst(doc)
  end
  return doc
end
