"""Assembly helpers: the reading order of sections and table column widths."""

from lazy_artist.builder.assemble import markdown_table, reading_key


def test_sections_follow_the_study_numbering_not_the_build_order():
    build_order = ["t0", "t1", "t4", "t2", "t3", "t10", "t5"]
    assert sorted(build_order, key=reading_key) == ["t0", "t1", "t2", "t3", "t4", "t5", "t10"]


def test_column_widths_follow_what_the_reader_sees():
    table = {
        "columns": ["Task", "Notebook", "Runtime (s)"],
        "rows": [["T1: the cheater", "[t1.ipynb](notebooks/a/very/long/path/t1.ipynb)", 52.2]],
        "caption": "Status",
    }
    lines = markdown_table(table, "status").splitlines()
    separators = lines[1].strip("|").split("|")
    # A link counts by its text; every column gets room for its longest cell plus padding.
    assert [len(cell.strip(":")) for cell in separators] == [17, 10, 13]
    assert separators[2].endswith(":"), "numeric columns are right-aligned"
    assert lines[-1] == ": Status {#tbl-status}"
