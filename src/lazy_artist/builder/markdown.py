"""Markdown that the report source can trust: run text escaped, the builder's own markup marked.

Every text that comes from a run (error messages, tracebacks, parameter values, headlines,
check details, table cells, captions, file names) is data, not markup. :func:`escape`
backslash-escapes each ASCII punctuation character where pandoc's (and Quarto's) markdown
would read it as markup, and a backslash-escaped character reads as itself: no raw HTML
(``<script>``), no emphasis, links, math, spans or citations, no block (list, heading,
quote, table) opened by a line of the text, and no typography either (``--no-deps`` stays
two hyphens, not an en dash; quotes stay straight). Markdown the builder writes itself
(tables, figures, links, code spans) is a :class:`Markdown` string, which the templates'
finalizer passes through untouched.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

# Markup wherever it stands: escapes, code, emphasis, spans and attributes, links, raw HTML
# and autolinks, math, citations, super/subscript, entities, table bars, smart quotes.
_ALWAYS = frozenset("\\`*_{}[]<>$@^~|&#\"'")
# Markup as a run only: -- and --- (dashes), ... (ellipsis), == (highlighting).
_RUNS = frozenset("-.=")
# What can open a block as a line's first character: every punctuation but these.
_LINE_START = frozenset(string.punctuation) - set(",;?/%!.)")
# An ordered-list marker at a line's start: 1. 2) a. iv) ...
_LIST_MARKER = re.compile(r"(\w{1,10})([.)])(?=\s|$)")
_BACKTICKS = re.compile(r"`+")
# C0 controls but tab and newline, and DEL: invisible, and invalid in HTML or typst.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Markdown(str):
    """Markdown written by the builder itself: inserted into the report as it is."""

    __slots__ = ()


def _escape_line(line: str, line_start: bool) -> str:
    chars = []
    for index, char in enumerate(line):
        run = (
            char in _RUNS and char in line[max(index - 1, 0) : index] + line[index + 1 : index + 2]
        )
        # "scheme:rest" could be a bare link where that extension is on; "T0: x" is prose.
        colon = char == ":" and line[index + 1 : index + 2] not in ("", " ")
        chars.append("\\" + char if char in _ALWAYS or run or colon else char)
    text = "".join(chars)
    if not line_start:
        return text
    body = text.lstrip()
    lead = " " if len(body) < len(text) else ""  # four spaces would open a code block
    if body[:1] in _LINE_START and not body.startswith("\\"):  # (not escaped yet)
        body = "\\" + body
    elif marker := _LIST_MARKER.match(body):
        body = f"{marker.group(1)}\\{marker.group(2)}{body[marker.end() :]}"
    return lead + body


def escape(text: Any, newlines: str = "break", line_start: bool = True) -> Markdown:
    """``text`` as markdown that reads back as exactly that text.

    ``newlines="break"`` keeps the lines as hard line breaks inside one paragraph (so a
    multi-line message cannot open a heading, a list or a code block); ``"space"`` joins
    them with spaces (table cells and captions are one line). ``line_start=False`` where the
    text can never begin a line (a table cell, a caption), which leaves ``+1`` as it is.
    """
    if isinstance(text, Markdown):
        return text
    lines = _CONTROL.sub("", str(text)).splitlines() or [""]
    # Blank lines go and later lines lose their indentation: no new paragraph, no code block.
    rest = [line.strip() for line in lines[1:] if line.strip()]
    if not rest:
        return Markdown(_escape_line(lines[0], line_start))
    later_start = line_start and newlines == "break"
    parts = [_escape_line(lines[0].rstrip(), line_start)] if lines[0].strip() else []
    parts += [_escape_line(line, later_start) for line in rest]
    return Markdown((" " if newlines == "space" else "\\\n").join(parts))


def code(text: Any) -> Markdown:
    """An inline code span showing ``text`` verbatim (one line), whatever backticks it holds."""
    content = " ".join(_CONTROL.sub("", str(text)).split())
    if not content:
        return Markdown("")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(content)), default=0) + 1)
    # A span that starts or ends with a backtick needs a space between it and the fence.
    pad = " " if content.startswith("`") or content.endswith("`") else ""
    return Markdown(f"{fence}{pad}{content}{pad}{fence}")


def code_block(text: Any) -> Markdown:
    """A fenced code block of ``text``: the fence is longer than any backtick run inside, so
    nothing in the text can close it early and turn the rest into markdown."""
    content = _CONTROL.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markdown(f"{fence}\n{content}\n{fence}")


# Words, numbers and ISO dates: text pandoc reads literally however it is placed.
_LITERAL = re.compile(r"(?!.*--)(?!.*\.\.)[0-9A-Za-z :+.-]*")


def yaml_string(text: Any) -> Markdown:
    """A YAML front-matter value (pandoc parses it as markdown): escaped, then JSON-quoted,
    which is a valid YAML double-quoted scalar. Plain words and dates stay unescaped, so that
    Quarto still reads a ``date`` as a date."""
    value = str(text) if _LITERAL.fullmatch(str(text)) else str(escape(text, newlines="space"))
    return Markdown(json.dumps(value, ensure_ascii=False))


def identifier(text: Any) -> str:
    """A safe cross-reference label / file-name part: letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def finalize(value: Any) -> Any:
    """Jinja ``finalize``: each ``{{ expr }}`` of a template goes through here.

    The builder's own markdown passes; numbers are printed as they are (digits cannot be
    markup); everything else is text and is escaped.
    """
    if isinstance(value, Markdown):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    return escape(value)
