"""The published tables the notebooks quote: well formed, and printed with their source."""

import pytest

from course_utils.reference import published

TABLES = [v for v in vars(published).values() if isinstance(v, published.Published)]


def test_there_are_tables():
    assert len(TABLES) >= 3


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.source[:30])
def test_every_row_fills_every_column(table):
    assert table.rows and all(len(v) == len(table.columns) for v in table.rows.values())


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.source[:30])
def test_lines_give_each_value_and_the_source(table):
    lines = table.lines()
    assert lines[-2] == f"source: {table.source}"
    assert lines[-1] == f"measured on: {table.measured_on}"
    for (name, values), line in zip(table.rows.items(), lines[1:-2], strict=True):
        assert line.startswith(name)
        assert [float(x) for x in line[len(name):].split()] == pytest.approx(list(values))


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.source[:30])
def test_values_print_with_the_sources_decimals_and_lose_nothing(table):
    for line in table.lines()[1:-2]:
        for token in line.split()[-len(table.columns):]:
            assert len(token.split(".")[1]) == table.decimals
    for values in table.rows.values():
        assert all(float(f"{v:.{table.decimals}f}") == v for v in values)
