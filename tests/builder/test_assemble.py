"""Assembly helpers: the reading order of sections, table column widths, and markdown escaping
(text from a run reaches the report as text, never as markup)."""

import re

import jinja2
import pytest

from lazy_artist.builder.assemble import (
    fmt,
    markdown_figure,
    markdown_table,
    num,
    pct,
    reading_key,
    template_environment,
)
from lazy_artist.builder.markdown import Markdown, code, code_block, escape, yaml_string

from .conftest import REPO

PAYLOAD = "<script>alert(1)</script> --no-deps *bold* [x](http://e) $x$ @fig-a | `t` #"


def unescaped_markup(text: str) -> list[str]:
    """Markup characters not preceded by a backslash (the payloads hold no backslash)."""
    return re.findall(r"(?<!\\)[<>*\[\]$@`|#_~^&'\"]|(?<!\\)--", text)


def test_sections_follow_the_study_numbering_not_the_build_order():
    build_order = ["t0", "t1", "t4", "t2", "t3", "t10", "t5"]
    assert sorted(build_order, key=reading_key) == ["t0", "t1", "t2", "t3", "t4", "t5", "t10"]


def test_column_widths_follow_what_the_reader_sees():
    table = {
        "columns": ["Task", "Notebook", "Runtime (s)"],
        "rows": [
            [
                "T1: the cheater",
                Markdown("[t1.ipynb](notebooks/a/very/long/path/t1.ipynb)"),
                52.2,
            ]
        ],
        "caption": "Status",
    }
    lines = markdown_table(table, "status").splitlines()
    separators = lines[1].strip("|").split("|")
    # A link counts by its text, an escaped character as one; every column gets room for its
    # longest cell plus padding.
    assert [len(cell.strip(":")) for cell in separators] == [17, 10, 13]
    assert separators[2].endswith(":"), "numeric columns are right-aligned"
    assert lines[-1] == ": Status {#tbl-status}"
    assert "[t1.ipynb](notebooks/a/very/long/path/t1.ipynb)" in lines[2], "builder links stay"


def test_escape_backslashes_every_markup_character():
    escaped = escape(PAYLOAD)
    assert isinstance(escaped, Markdown)
    assert unescaped_markup(escaped) == []
    assert escaped.startswith("\\<script\\>alert(1)\\</script\\> \\-\\-no-deps \\*bold")
    # Removing the backslashes gives back the text exactly.
    assert escaped.replace("\\", "") == PAYLOAD.replace("\\", "")
    assert escape("a, b; c/d? 5%") == "a, b; c/d? 5%", "harmless punctuation stays readable"


def test_multi_line_text_cannot_open_a_block():
    escaped = escape("first\n\n    # heading\n1. list\n> quote\n===")
    assert escaped.splitlines() == [
        "first\\",
        "\\# heading\\",
        "1\\. list\\",
        "\\> quote\\",
        "\\=\\=\\=",
    ]
    assert escape("a\nb", newlines="space") == "a b"
    assert escape("bell\x07 and \x1b[31mred") == "bell and \\[31mred"


def test_code_spans_and_blocks_outlast_backticks_inside():
    assert code("plain") == "`plain`"
    assert code("a ``b`` c") == "```a ``b`` c```"
    assert code("`x") == "`` `x ``"
    block = code_block("line\n```\n<script>x</script>\n````")
    fence = block.splitlines()[0]
    assert fence == "`````" and block.endswith("\n`````")
    assert "<script>x</script>" in block, "code is shown verbatim, pandoc escapes it as code"


def test_yaml_values_are_valid_and_escaped():
    import yaml

    assert yaml_string("2026-12-01T23:00:00+00:00") == '"2026-12-01T23:00:00+00:00"'
    assert yaml.safe_load(f"v: {yaml_string(PAYLOAD)}")["v"] == str(escape(PAYLOAD, "space"))


def test_number_filters_are_markdown_and_text_is_not():
    assert isinstance(pct(0.5), Markdown) and pct(0.5) == "50.0%"
    assert isinstance(num(None), Markdown) and isinstance(fmt(3, ".1f"), Markdown)
    assert not isinstance(fmt("<b>", ""), Markdown)


def test_table_cells_captions_and_labels_are_escaped():
    table = {
        "columns": ["Name <i>", "Value"],
        "rows": [[PAYLOAD, 1.5], ["two\nlines", None]],
        "caption": "caption *x* <b>",
    }
    text = markdown_table(table, "a b<c>")
    lines = text.splitlines()
    assert len(lines) == 6, "one line per row: newlines in cells become spaces"
    assert unescaped_markup("\n".join(lines[2:4])) == ["|"] * 6, "only the column bars"
    assert "two lines" in lines[3] and "{#tbl-a-b-c}" in lines[-1]
    assert lines[2].count(" | ") == 1, "the payload's | is escaped, not a column"
    assert lines[-1] == ": caption \\*x\\* \\<b\\> {#tbl-a-b-c}"


def test_figure_caption_width_and_label_are_safe():
    figure = {"caption": 'Squares <img src=x onerror="alert(1)">', "width": '50%" onload="x'}
    text = markdown_figure(figure, "figures/t/squares.png", "t-sq<", "analyses/`t`.py @ abc")
    assert text.startswith('![Squares \\<img src=x onerror=\\"alert(1)\\"\\>')
    assert 'width="100%"' in text and "onload" not in text
    assert "{#fig-t-sq " in text and "``analyses/`t`.py @ abc``" in text


def _render(source: str, **context) -> str:
    env = template_environment(REPO / "templates")
    return env.from_string(source).render(**context)


def test_templates_escape_every_expression_but_builder_markdown():
    out = _render(
        "{{ text }} | {{ safe }} | {{ n }} | {{ x | pct }} | {{ text | code }}",
        text="<b>--</b>",
        safe=Markdown("**bold**"),
        n=3,
        x=0.25,
    )
    assert out == "\\<b\\>\\-\\-\\</b\\> | **bold** | 3 | 25.0% | `<b>--</b>`"


@pytest.mark.parametrize("name", ["report.qmd.j2", "sections/unavailable.md.j2"])
def test_real_templates_parse(name):
    env = template_environment(REPO / "templates")
    try:
        env.get_template(name)
    except jinja2.TemplateError as error:  # pragma: no cover - the assertion says which
        pytest.fail(f"{name}: {error}")


NASTY = [
    PAYLOAD,
    "--no-deps and --- and ... and 'quoted' \"double\"",
    "1. not a list",
    "iv) nor this",
    "(1) nor this",
    "(@) nor an example",
    "- nor a bullet",
    "+ nor this",
    "* nor this",
    "# not a heading",
    "> not a quote",
    ": not a definition",
    "::: not a div",
    "| not | a | table |",
    "+---+ not a grid",
    "    not code",
    "~~~ not a fence",
    "```not a fence",
    "line\n===\nnot a setext heading",
    "line\n---\nnor this",
    "a\n\n\nb\n    c\n# d\n1. e",
    "<!-- not a comment -->",
    "&amp; &lt;b&gt; &#60;",
    "[^1] [@cite] @cite {.class} [span]{.x} `code` $math$ x^2^ H~2~O",
    "http://example.com/a_b_c javascript:alert(1) <http://x>",
    "back\\slash\\ and trailing \\",
    "T0: the biased canvas, 95.0% (n = 2000); +1 -0.5 e.g. done!",
    "==highlight== and **bold** __also__ _em_ *em*",
    "\\* already escaped \\<",
]


def _pandoc_text(markdown: str) -> tuple[list[str], set[str]]:
    """Pandoc's HTML of ``markdown`` (as the renderer reads it): text of each block, tags."""
    import html
    import subprocess

    import pypandoc

    completed = subprocess.run(
        [pypandoc.get_pandoc_path(), "--from", "markdown", "--to", "html5"],
        input=markdown,
        capture_output=True,
        text=True,
        check=True,
    )
    blocks = re.findall(r"<(p|td)(?: [^>]*)?>(.*?)</\1>", completed.stdout, re.S)
    tags = set(re.findall(r"<([a-z0-9]+)", completed.stdout))
    texts = [html.unescape(re.sub(r"<br />", "\n", block)) for _, block in blocks]
    return [" ".join(text.split()) for text in texts], tags


def test_pandoc_reads_every_escaped_text_back_as_the_text():
    expected = [" ".join(text.split()) for text in NASTY]
    paragraphs, tags = _pandoc_text("\n\n".join(escape(text) for text in NASTY) + "\n")
    assert paragraphs == expected
    assert tags <= {"p", "br"}, "only paragraphs and line breaks: no other element"


def test_pandoc_reads_every_escaped_cell_back_as_the_text():
    table = {"columns": ["text"], "rows": [[text] for text in NASTY], "caption": "c"}
    cells, tags = _pandoc_text(markdown_table(table, "nasty"))
    assert cells == [" ".join(text.split()) for text in NASTY]
    assert "code" not in tags and "a" not in tags and "em" not in tags
