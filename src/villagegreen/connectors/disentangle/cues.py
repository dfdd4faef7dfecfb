"""Text cues the threader scores: who a message addresses, whom it names, and its words.

Pure functions over one message's text; nothing here knows about other messages except the
document frequencies handed to :class:`TfIdf`. Names are compared normalised (lower case,
Discord's ``#1234`` discriminator and a leading ``@`` dropped), because people type a nick the
way they see it, not the way the platform stores it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, filterfalse, repeat

# "nick: text", "nick, text", "@nick text": the IRC and chat conventions for addressing someone.
_ADDRESS = re.compile(r"^\s*@?([^\s:,;@]{2,40})\s*[:,]\s")
_AT_START = re.compile(r"^\s*@([^\s:,;@]{2,40})")
_DISCRIMINATOR = re.compile(r"#\d{4}$")
_NAME_TOKEN = re.compile(r"[^\s:,;!?.()\"<>@#]{2,}")
# Two characters or more: one-letter tokens say nothing. Where this fails to match, findall
# moves on one character, just as a one-letter match would have.
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-.']*[a-z0-9]")

# Words too common in chat to say anything about which conversation a message belongs to.
_STOPWORD_TEXT = """
a about all also am an and any are as at be because been but by can could did do does doing
don dont for from get got had has have he her here him his how i if im in is it its just
know like me my no not now of ok okay on or so some that thats the their them then there
they this to too u up us was we well were what when where which who why will with would yes
yeah you your ive id ill thanks thank thx hi hello hey lol please pls
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# The regular expressions above define the tokens. Most chat text is ASCII, and for it the same
# tokens come two to three times cheaper from bytes.translate and str.split (C loops over the
# text instead of the regex engine's per-character matching): separators become spaces, the
# pieces are split out, and what the regex leaves out is filtered by set lookups.
# tests/connectors/test_disentangle_tokens.py checks both paths agree on every ASCII character.
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.'")
_NAME_SEPARATORS = bytes(b" "[0] if chr(code) in ':,;!?.()"<>@#' else code for code in range(256))
_WORD_SEPARATORS = bytes(code if chr(code) in _WORD_CHARS else b" "[0] for code in range(256))
_ASCII_SINGLES = frozenset(map(chr, range(128)))  # names are two characters or more
_WORD_EDGES = "_-.'"  # a word starts and ends with a letter or digit
# Stripping can leave "" (a run of edge characters only) or one character: never words.
_NOT_WORDS = STOPWORDS | _WORD_CHARS | {""}

# 1 + log(n) for the term counts a chat message has (index 0 unused).
_LOG_TABLE = 256
_ONE_PLUS_LOG = [0.0, *(1 + math.log(n) for n in range(1, _LOG_TABLE))]


def normal_name(author: str) -> str:
    """The form of a display name people type: lower case, no ``#1234``, no leading ``@``."""
    name = author.strip()
    if "#" in name:
        name = _DISCRIMINATOR.sub("", name)
    return name.lstrip("@").lower()


def addressee(text: str) -> str | None:
    """The normalised name a message opens by addressing (``nick:``, ``nick,``, ``@nick``), if any.

    The caller checks it against the names actually seen: "Note: ..." also matches the pattern.
    """
    match = _ADDRESS.match(text) or _AT_START.match(text)
    return normal_name(match.group(1)) if match else None


def name_tokens(text: str) -> frozenset[str]:
    """Every token as a possible name, lower case (``@``, a ``#1234`` tag and punctuation split off)."""
    return lowered_name_tokens(text.lower())


def lowered_name_tokens(lowered: str) -> frozenset[str]:
    """:func:`name_tokens` of text already lower-cased (the threader lowers each text once)."""
    if lowered.isascii():
        # re's \s and str.split's whitespace are the same six ASCII characters plus \x1c-\x1f.
        return frozenset(lowered.encode().translate(_NAME_SEPARATORS).decode().split()).difference(_ASCII_SINGLES)
    return frozenset(_NAME_TOKEN.findall(lowered))


def words(text: str) -> list[str]:
    """Content words for lexical similarity: lower case, stopwords and one-letter tokens out."""
    return lowered_words(text.lower())


def lowered_words(lowered: str) -> list[str]:
    """:func:`words` of text already lower-cased."""
    if lowered.isascii():
        # Runs of word characters, less their edge punctuation: exactly _WORD's matches.
        runs = lowered.encode().translate(_WORD_SEPARATORS).decode().split()
        if "." in lowered or "'" in lowered or "-" in lowered or "_" in lowered:
            runs = list(map(str.strip, runs, repeat(_WORD_EDGES)))
        return list(filterfalse(_NOT_WORDS.__contains__, runs))
    return [w for w in _WORD.findall(lowered) if w not in STOPWORDS]


def is_question(text: str) -> bool:
    return "?" in text


class TfIdf:
    """Sparse, unit-length TF-IDF vectors built from the stream's own document frequencies.

    Fitting on the stream being threaded needs no training data and adapts to each community's
    vocabulary; a word in more than half the messages carries little and is weighted near zero.
    """

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        # One Counter pass over every document's distinct words (not one update per document).
        frequencies: Counter[str] = Counter(chain.from_iterable(map(set, documents)))
        total = max(len(documents), 1)
        self.idf = {word: math.log((1 + total) / (1 + count)) for word, count in frequencies.items()}

    def vector(self, document: Iterable[str]) -> dict[str, float]:
        # Once per message on import, so kept lean: table lookups for 1 + log(n), locals, a
        # list (not a generator) to sum; the arithmetic and its order are unchanged.
        idf = self.idf
        weights = {word: (_ONE_PLUS_LOG[n] if n < _LOG_TABLE else 1 + math.log(n)) * idf.get(word, 0.0) for word, n in Counter(document).items()}
        norm = math.sqrt(sum([v * v for v in weights.values()]))
        return {word: v / norm for word, v in weights.items()} if norm > 0 else {}


def cosine(left: dict[str, float], right: dict[str, float]) -> float:
    """Cosine of two unit vectors: the dot product over the words they share."""
    shared = left.keys() & right.keys()
    return sum(left[word] * right[word] for word in shared) if shared else 0.0
