"""The threader's ASCII tokenising (bytes.translate + split) against the regular expressions that define the tokens.

The fast path in :mod:`villagegreen.connectors.disentangle.cues` must give exactly what the
regexes give, or disentangling (and every imported store) would change. Each check computes the
regex's answer independently here and compares.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.disentangle import cues

# The definitions, restated: a name token is two or more characters that are not whitespace or
# one of :,;!?.()"<>@#; a word is [a-z0-9], then [a-z0-9_-.']*, then [a-z0-9], or one [a-z0-9].
NAME = re.compile(r"[^\s:,;!?.()\"<>@#]{2,}")
WORD = re.compile(r"[a-z0-9][a-z0-9_\-.']*[a-z0-9]|[a-z0-9]")
ASCII = "".join(map(chr, range(128)))


def regex_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if len(w) > 1 and w not in cues.STOPWORDS]


def regex_names(text: str) -> frozenset[str]:
    return frozenset(NAME.findall(text))


def test_every_ascii_character_alone_and_between_letters() -> None:
    for char in ASCII:
        for text in (char, f"ab{char}cd", f"{char}{char}x{char}y{char}", f"a{char}", f"{char}zz{char}"):
            assert cues.lowered_words(text) == regex_words(text), repr(text)
            assert cues.lowered_name_tokens(text) == regex_names(text), repr(text)


def test_edge_punctuation_is_stripped_from_words_not_from_names() -> None:
    text = "'quoted' _under_ a.b.c -- trailing... v1.2-rc x"
    assert cues.lowered_words(text) == ["quoted", "under", "a.b.c", "trailing", "v1.2-rc"]
    assert cues.lowered_words(text) == regex_words(text)
    assert "'quoted'" in cues.lowered_name_tokens(text)
    assert cues.lowered_name_tokens(text) == regex_names(text)


def test_non_ascii_text_takes_the_regex_path() -> None:
    text = "café naïve über-cool x"
    assert cues.lowered_words(text) == regex_words(text) == ["caf", "na", "ve", "ber-cool"]
    assert cues.lowered_name_tokens(text) == regex_names(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from([*ASCII, "é", "İ", "K"]), max_size=40))
def test_random_text_matches_the_regexes(text: str) -> None:
    for variant in (text, text.lower()):
        assert cues.lowered_words(variant) == regex_words(variant)
        assert cues.lowered_name_tokens(variant) == regex_names(variant)
        assert cues.words(text) == regex_words(text.lower())
        assert cues.name_tokens(text) == regex_names(text.lower())
