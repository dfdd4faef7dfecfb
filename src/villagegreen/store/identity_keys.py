"""Comparable forms of what identities say about a person: addresses, names, usernames.

Pure string functions used by :mod:`villagegreen.store.merge_suggestions`. Addresses are
lowercased and de-obfuscated (``x at y dot org``), names folded to ASCII-ish words with titles,
relay suffixes and embedded addresses removed. Nothing here reads or guesses demographic
attributes; a name is only ever compared with another name.
"""

from __future__ import annotations

import re
import unicodedata

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Relay and no-reply addresses stand for many senders, never for one person.
_SHARED_LOCAL = re.compile(r"^(no-?reply|do-?not-?reply|notifications?|mailer-daemon|bounces?)$|-(bounces|request|owner)$")

_AT = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}|\sat\s)\s*", re.IGNORECASE)
_DOT = re.compile(r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*", re.IGNORECASE)
_LOSSY_AT = re.compile(r"\s+(?:@ending from|@end\|ng \|rom|m@ili@g off|m@iii@g oii|@ending \|rom)\s+", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+'&-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_VIA = re.compile(r"\s+via\s+\S.*$", re.IGNORECASE)
_TITLES = frozenset({"dr", "prof", "professor", "mr", "mrs", "ms", "phd", "jr", "sr", "rer", "nat", "med", "ing", "dipl", "msc", "md"})
_FOLD = str.maketrans({"ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


def deobfuscate(text: str) -> str:
    """``x at y dot org``, ``x [at] y``, ``x (at) y`` written back as ``x@y.org``."""
    return _DOT.sub(".", _AT.sub("@", text))


def normalise_email(value: str | None) -> str | None:
    """The comparable form of an address, or None when it is not one a single person owns.

    Lowercased and de-obfuscated; ``+tag`` subaddresses removed; Gmail's ignored dots removed;
    relay, list and no-reply addresses (``noreply@``, ``*-bounces@``) give None.
    """
    if not value:
        return None
    text = deobfuscate(value.strip().strip("<>").removeprefix("mailto:")).replace(" ", "").lower()
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    local = local.split("+", 1)[0]
    if not local or "." not in domain or _SHARED_LOCAL.search(local):
        return None
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def fold(text: str) -> str:
    """Lowercase with accents and special letters folded to ASCII-ish: "Sjørup" -> "sjorup"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def addresses_in(text: str) -> list[str]:
    """Clean addresses written inside a display name ("Ann Lee <ann at example.org>")."""
    found = (normalise_email(a) for a in _ADDRESS.findall(deobfuscate(text)))
    return [a for a in found if a]


def name_tokens(display_name: str) -> tuple[str, ...]:
    """Folded name words, given name first, or () when the display name is an address.

    Removes "via List" relay suffixes, addresses written inside the name and titles, and turns
    "Surname, Given" around.
    """
    text = _VIA.sub("", display_name)
    text = _ADDRESS.sub(" ", deobfuscate(text))
    if "@" in text or _LOSSY_AT.search(display_name):
        return ()
    if text.count(",") == 1:
        surname, given = text.split(",")
        text = f"{given} {surname}"
    words = re.findall(r"[^\W\d_]+", fold(text))
    return tuple(w for w in words if w not in _TITLES)


def handle_key(handle: str | None) -> str | None:
    if not handle:
        return None
    key = fold(handle.strip().lstrip("@"))
    return key if key and "@" not in key and "|" not in key else None


def letters_of(text: str) -> str:
    """A username or address local part reduced to its letters: "ana.lopez42" -> "analopez"."""
    return re.sub(r"[^a-z]", "", fold(text))


def name_spellings(tokens: tuple[str, ...]) -> dict[str, str]:
    """Usernames a person with these name words often picks, each with how it is formed."""
    if len(tokens) < 2:
        return {}
    given, surname = tokens[0], tokens[-1]
    forms = {
        given + surname: "given name + surname",
        surname + given: "surname + given name",
        given[0] + surname: "initial + surname",
        surname + given[0]: "surname + initial",
        "".join(tokens): "full name",
    }
    return {form: how for form, how in forms.items() if len(form) >= 5}


def collapse(word: str) -> str:
    # "ö" folds to "o" while German writes "oe" without the umlaut; collapse both spellings.
    return word.replace("ae", "a").replace("oe", "o").replace("ue", "u")
