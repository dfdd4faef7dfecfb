"""Plain sentences out of forum text: quotes, code and markup removed, then split and scored.

Quoted blocks go first because they repeat (and name) somebody else; code blocks because a
story quotes prose. Scoring is extractive and offline: a sentence earns points for sharing
content words with the question, and for coming early in its message (answers lead with the
answer). Limits: English stop words; sentences split on ``.!?`` followed by a space.
"""

from __future__ import annotations

import re

_QUOTE_BLOCK = re.compile(r"\[quote[^\]]*\].*?\[/quote\]", re.IGNORECASE | re.DOTALL)
_CODE_BLOCK = re.compile(r"```.*?(```|$)|\[code\].*?(\[/code\]|$)", re.IGNORECASE | re.DOTALL)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_IMAGE = re.compile(r"\[image:[^\]]*\]|!\[[^\]]*\]\([^)]*\)", re.IGNORECASE)
_TAGS = re.compile(r"\[/?[a-z]+(=[^\]]*)?\]|<[^>]+>", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")
_WORD = re.compile(r"[a-z][a-z0-9'-]+")
_STOP_WORDS = (
    "a an the and or but if of to in on at for with by from as is are was were be been being it its this that "
    "these those i you he she we they me my your our their them his her not no do does did have has had can could "
    "should would will there here what which who whom how why when where so than then too very just also about "
    "into over any some all more most other such only own same up out get got one like use using used want need "
    "know think"
)
_STOP = frozenset(_STOP_WORDS.split())
MAX_QUOTE_CHARS = 240
# How much coming early in the message counts against sharing words with the question: mail
# replies lead with their point (tuned on the first half of ConvoSumm-email validation, 1 -> 2).
POSITION_WEIGHT = 2.0
# Longer sentences score half: run-ons that the quote would cut at 240 characters. (30 words
# won +0.3 ROUGE-1 on the tuning half but lost on the held-out half, so it stays 40.)
LONG_SENTENCE_WORDS = 40
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone-like: optional +country code, then digit groups separated by spaces, dashes or
# parentheses; dots are left alone (version numbers), and fewer than 9 digits or an ISO date is
# not a phone number.
_PHONE = re.compile(r"(?<![\w/.#+-])\+?\(?\d{1,4}\)?(?:[ -]\(?\d{1,4}\)?){2,5}(?![\w/-]|\.\d)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Mail: a greeting opening the message ("Hi Blake,", "Hello all,") says nothing about the topic;
# a sign-off line ("Kind regards,", "Cheers") starts the signature; a quoted original that the
# mail splitter missed ("____ Original message ____", header lines) repeats somebody else.
_GREETING = re.compile(r"^\W*(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening)|all|folks|everyone)\b[^,.!:;\n]{0,40}[,!:;]\s*", re.I)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:(?:kind|best|warm|warmest|many)?[ \t]*regards|cheers|thanks(?: again| in advance)?|thank you|many thanks|best(?: wishes)?|"
    r"sincerely|yours(?: truly| sincerely)?|ta|hth)\b[ \t]*[,.!]?[ \t]*$",
    re.I | re.M,
)
_ORIGINAL = re.compile(
    r"[_-]{3,}\s*original message\s*[_-]{3,}|^\s*(?:sender|subject|date|from|sent|in-reply-to)\s*:.*(?:\n\s*\w[\w-]*\s*:.*){1,}", re.I | re.M
)
_SIGN_OFF_TAIL = 400


def _phone(match: re.Match[str]) -> bool:
    found = match.group(0)
    return sum(c.isdigit() for c in found) >= 9 and not _DATE.match(found)


def has_personal_data(text: str) -> bool:
    return bool(_EMAIL.search(text)) or any(_phone(m) for m in _PHONE.finditer(text))


def redact_personal(text: str) -> str:
    """E-mail addresses and phone numbers replaced by ``[redacted]``."""
    text = _EMAIL.sub("[redacted]", text)
    return _PHONE.sub(lambda m: "[redacted]" if _phone(m) else m.group(0), text)


def _without_mail_wrapping(text: str) -> str:
    """The text before a missed quoted original and before a sign-off near the end."""
    original = _ORIGINAL.search(text)
    if original is not None:
        text = text[: original.start()]
    for sign_off in _SIGN_OFF.finditer(text):
        if len(text) - sign_off.start() <= _SIGN_OFF_TAIL:
            text = text[: sign_off.start()]
            break
    return _GREETING.sub("", text.lstrip(), count=1)


def prose(text: str) -> str:
    """The message's own prose: no quoted blocks, code, markup, links' targets, greeting or sign-off."""
    text = _without_mail_wrapping(_QUOTE_LINE.sub(" ", text))
    text = _QUOTE_BLOCK.sub(" ", text)
    text = _CODE_BLOCK.sub(" ", text)
    text = _QUOTE_LINE.sub(" ", text)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _TAGS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(prose(text)) if len(s.split()) >= 3]


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def clip(sentence: str) -> str:
    """At most ``MAX_QUOTE_CHARS``, cut at a word boundary with an ellipsis."""
    sentence = redact_personal(sentence)
    if len(sentence) <= MAX_QUOTE_CHARS:
        return sentence
    return sentence[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + "…"


def best_sentence(text: str, topic: set[str], *, statement: bool = False) -> tuple[str, float] | None:
    """The message's most on-topic sentence and its score, or None when it has no prose.

    ``statement`` keeps only sentences that state something (6+ words, not a question): a
    takeaway is an answer, not "Have you tried X?".
    """
    found = sentences(text)
    if statement:
        found = [s for s in found if len(s.split()) >= 6 and not s.rstrip().endswith("?")]
    if not found:
        return None
    scored = [(_score(s, i, topic), s) for i, s in enumerate(found)]
    score, sentence = max(scored, key=lambda pair: pair[0])
    return clip(sentence), score


def _score(sentence: str, position: int, topic: set[str]) -> float:
    words = content_words(sentence)
    overlap = len(words & topic) / (len(topic) ** 0.5 or 1.0)
    length = len(sentence.split())
    shape = 1.0 if 6 <= length <= LONG_SENTENCE_WORDS else 0.5
    return (overlap + POSITION_WEIGHT / (1 + position)) * shape
