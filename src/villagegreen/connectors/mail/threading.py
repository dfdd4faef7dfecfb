"""Thread reconstruction: parents from headers, a subject fallback, roots with cycle breaking.

The rules follow the idea of JWZ's algorithm without its container bookkeeping, because an
archive importer only needs each message's parent and root:

1. parent = the In-Reply-To id when that message is in the archive, else the last References id
   that is (References lists ancestors oldest first);
2. a message that still has no parent but looks like a reply (a ``Re:`` prefix, or link headers
   that point outside the archive) is attached to the earliest message with the same normalised
   subject in the same list, if that subject was active within the last 30 days;
3. the root is found by following parents up; a cycle (bad clients do produce them) is cut at
   the point where it closes, so every root has no parent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, Protocol

SUBJECT_WINDOW = timedelta(days=30)

# Reply and forward markers in the languages mail clients localise them into, with Outlook's
# counters (Re[2]:) and list tags ([R-pkg-devel]) that lists prepend.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|ref|rif|odp|ynt|fwd?|wg|tr|rv|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\[[^\]\n]{0,60}\])\s*",
    re.IGNORECASE,
)
_REPLY = re.compile(r"^\s*(?:\[[^\]\n]{0,60}\]\s*)*(?:re|aw|sv|vs|antw|antwort|ref|rif|odp|ynt)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.I)
_SPACES = re.compile(r"\s+")


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and list tags, whitespace collapsed."""
    text = subject
    if _PREFIX.match(text) is not None:  # most subjects have no prefix: one match rules that out
        previous = None
        while text != previous:
            previous = text
            text = _PREFIX.sub("", text, count=1)
    return _SPACES.sub(" ", text).strip()


# Cached: a thread's messages share a subject, so the first pass sees each one many times.
@lru_cache(maxsize=1 << 14)
def subject_key(subject: str) -> str:
    """The normalised subject used to group replies whose headers do not resolve."""
    return clean_subject(subject).casefold()


@lru_cache(maxsize=1 << 14)
def looks_like_reply(subject: str) -> bool:
    return _REPLY.match(subject) is not None


class ThreadInput(NamedTuple):
    native_id: str
    links: tuple[str, ...]  # candidate parent ids, best first (In-Reply-To, then References newest first)
    sent_at: datetime
    subject_key: str
    reply_hint: bool  # Re: prefix or link headers present: safe to attach by subject
    space: str
    has_in_reply_to: bool = False  # links[0] came from In-Reply-To


class Threadable(Protocol):
    """What threading reads of a message: a :class:`ThreadInput`, or a parsed header as it is."""

    @property
    def native_id(self) -> str: ...
    @property
    def links(self) -> tuple[str, ...]: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def subject_key(self) -> str: ...
    @property
    def reply_hint(self) -> bool: ...
    @property
    def has_in_reply_to(self) -> bool: ...


class Threads(NamedTuple):
    parent: list[int]  # index of the parent message, -1 for roots
    root: list[int]  # index of the conversation root (itself for roots)
    how: list[str]  # "in-reply-to", "references", "subject" or "" (root)


def reconstruct(messages: Sequence[Threadable], spaces: Sequence[str] | None = None) -> Threads:
    """Parents and roots for ``messages`` (indices into the sequence).

    ``spaces``: each message's list, where subjects are matched; by default each message's own
    ``space`` (a :class:`ThreadInput`'s). An archive's parsed headers are passed as they are,
    with their spaces beside them: building a tuple per message cost about as much as threading.
    """
    if spaces is None:
        spaces = [m.space if isinstance(m, ThreadInput) else "" for m in messages]
    n = len(messages)
    index = {m.native_id: i for i, m in enumerate(messages)}
    parent = [-1] * n
    how = [""] * n
    for i, message in enumerate(messages):
        for position, link in enumerate(message.links):
            j = index.get(link, -1)
            if j >= 0 and j != i:
                parent[i] = j
                how[i] = "in-reply-to" if position == 0 and message.has_in_reply_to else "references"
                break
    _subject_fallback(messages, spaces, parent, how)
    return Threads(parent, _roots(parent, how), how)


def _subject_fallback(messages: Sequence[Threadable], spaces: Sequence[str], parent: list[int], how: list[str]) -> None:
    # key -> (anchor index, time the subject was last seen); walked in time order so an anchor
    # is always earlier than the orphans attached to it, which keeps this step acyclic.
    active: dict[tuple[str, str], tuple[int, datetime]] = {}
    # Python's sort is stable, so sorting the indices by time alone orders ties by index.
    order = sorted(range(len(messages)), key=[m.sent_at for m in messages].__getitem__)
    for i in order:
        message = messages[i]
        if not message.subject_key:
            continue
        key = (spaces[i], message.subject_key)
        seen = active.get(key)
        recent = seen is not None and message.sent_at - seen[1] <= SUBJECT_WINDOW
        if parent[i] >= 0:
            active[key] = (seen[0], message.sent_at) if seen is not None and recent else (i, message.sent_at)
        elif message.reply_hint and seen is not None and recent:
            parent[i] = seen[0]
            how[i] = "subject"
            active[key] = (seen[0], message.sent_at)
        else:
            active[key] = (i, message.sent_at)


def _roots(parent: list[int], how: list[str]) -> list[int]:
    unknown = -2
    root = [unknown] * len(parent)
    for start in range(len(parent)):
        path: list[int] = []
        on_path: set[int] = set()
        j = start
        while root[j] == unknown:
            if j in on_path:
                # The walk came back to a message already on it: a cycle. Cutting it here makes
                # this message a root, so every chain ends at a message without a parent.
                parent[j] = -1
                how[j] = ""
                root[j] = j
                break
            on_path.add(j)
            path.append(j)
            if parent[j] < 0:
                root[j] = j
                break
            j = parent[j]
        top = root[j]
        for k in path:
            root[k] = top
    return root
