"""Word counts: the writer's Python count and the migration's SQL count are one definition."""

from __future__ import annotations

import sys

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from villagegreen.store.word_count import SEPARATOR_RANGES, count_words, word_count_sql

SEPARATORS = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]


def test_the_separator_ranges_are_exactly_what_python_splits_on() -> None:
    listed = {chr(code) for low, high in SEPARATOR_RANGES for code in range(low, high + 1)}
    assert listed == set(SEPARATORS)
    assert count_words("a\u00a0b\u3000c\u2028d") == 4


def sql_count(con: duckdb.DuckDBPyConnection, text: str) -> int:
    ((count,),) = con.execute(f"SELECT {word_count_sql('?')}", [text]).fetchall()
    return int(count)


def test_sql_and_python_agree_on_every_separator_and_its_neighbours() -> None:
    con = duckdb.connect()
    # Every separator between, around and doubled; and the characters right next to each one,
    # which must not separate (an off-by-one in a range would show here).
    for separator in SEPARATORS:
        text = f"{separator}a{separator}b{separator}{separator}c{separator}"
        assert sql_count(con, text) == count_words(text) == 3, hex(ord(separator))
    for neighbour in {chr(ord(s) + step) for s in SEPARATORS for step in (-1, 1)} - set(SEPARATORS):
        text = f"a{neighbour}b"
        assert sql_count(con, text) == count_words(text) == 1, hex(ord(neighbour))


@given(st.text(alphabet=st.sampled_from([*SEPARATORS, "a", "é", "字", "\u200b", "-"]), max_size=40) | st.text(max_size=40))
def test_sql_and_python_agree_on_any_text(text: str) -> None:
    assert sql_count(duckdb.connect(), text) == count_words(text)
