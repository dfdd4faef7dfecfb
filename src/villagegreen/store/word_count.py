"""Words per message: counted once when a message is written, read by every analysis.

A word is a maximal run of characters that are not whitespace, where whitespace is Unicode's
(what Python's ``str.isspace`` says: tab, line feed, vertical tab, form feed, carriage return,
the four information separators U+001C–U+001F, space, NEL, no-break space, the Unicode space
separators and the line and paragraph separators). So ``len(text.split())``, and "caf\u00e9\u00a0au
lait" is three words.

Why stored, not computed per run: a regular-expression split of every message cost 8–11
CPU-seconds of each analysis run at a million messages, while ``str.split`` at import costs
about 0.3 s once (BENCHMARKS.md, session 6). The same count in SQL (:data:`WORD_COUNT_SQL`)
fills the column for stores written before it existed (migration 12); a test checks that the
two agree on every whitespace character.

Limits: scripts written without spaces (Chinese, Japanese, Thai) count a whole sentence as one
word; code blocks count their tokens like prose.
"""

from __future__ import annotations

# Every code point Python's str.split() treats as a separator (str.isspace), as ranges; a test
# checks the list against all of Unicode, so a new Python's Unicode tables cannot drift silently.
SEPARATOR_RANGES: tuple[tuple[int, int], ...] = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
_SEPARATORS = "".join(f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in SEPARATOR_RANGES)


def count_words(text: str) -> int:
    """The number of whitespace-separated words in ``text`` (0 for empty or blank text)."""
    return len(text.split())


def word_count_sql(column: str) -> str:
    """A DuckDB expression counting the words of the VARCHAR ``column`` exactly as :func:`count_words`."""
    return f"len(regexp_extract_all({column}, '[^{_SEPARATORS}]+'))"
