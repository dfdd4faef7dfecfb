"""Conversations related to one conversation, for a story of several (``story C --related K``).

No similarity of its own: the conversation's title and opening post are the query of the
community-memory search (stories/memory.py: BM25 and static-model embeddings fused by
reciprocal rank), restricted to the conversation's own space, so related conversations are the
ones a member searching for that question would find. Each comes with the reason it was
included: its rank in that search and the content words it shares with the conversation.

Limits: the query is the opening post cut at ``QUERY_CHARS``; a conversation whose words differ
entirely (a synonym-only match) is found only through the embeddings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from villagegreen.analyses.lifecycle_threads import Thread, load_thread
from villagegreen.errors import InputError
from villagegreen.store.database import Store
from villagegreen.stories.memory import search
from villagegreen.stories.sentences import content_words, prose

if TYPE_CHECKING:
    from villagegreen.analyses.embeddings import Embedder

MAX_RELATED = 10
QUERY_CHARS = 1500
SHARED_WORDS = 5
_WORD = re.compile(r"[a-z][a-z0-9'-]+")  # as stories/sentences.py's content words


@dataclass(frozen=True, slots=True)
class Related:
    conversation_id: str
    title: str
    rank: int
    shared_words: tuple[str, ...]
    reason: str


def _text(thread: Thread) -> str:
    return f"{thread.title} {prose(thread.opener.text)[:QUERY_CHARS]}"


def related_conversations(store: Store, conversation: str, k: int = 3, *, include_private: bool = False, embedder: Embedder | None = None) -> list[Related]:
    """Up to ``k`` conversations of ``conversation``'s space most similar to its title and opening post.

    A private space needs ``include_private`` (as every search). Conversations without member
    messages are skipped. The reason never quotes the conversations: only the space, the rank
    and up to five shared content words (the drafter still removes names of members who refused
    quoting from it).
    """
    if not 1 <= k <= MAX_RELATED:
        raise InputError(f"--related {k}: ask for between 1 and {MAX_RELATED} related conversations")
    thread = load_thread(store, conversation)
    if thread is None:
        raise InputError(f"no conversation {conversation!r} with member messages; `villagegreen threads ripe --json` lists ids")
    ((private,),) = store.con.execute("SELECT private FROM spaces WHERE id = ?", [thread.space_id]).fetchall()
    if private and not include_private:
        raise InputError(f"conversation {conversation!r} is in the private space {thread.space_name!r}; add --include-private to look for related ones")
    mine = content_words(_text(thread))
    report = search(store, _text(thread), k=min(k + 1, 100), space=thread.space_id, include_private=include_private, embedder=embedder)
    found: list[Related] = []
    for result in report.results:
        other = load_thread(store, result["conversation_id"]) if result["conversation_id"] != conversation else None
        if other is None:
            continue
        counts = Counter(w for w in _WORD.findall(_text(other).lower()) if w in mine)
        shared = tuple(w for w, _ in counts.most_common(SHARED_WORDS))
        words = f"; shared words: {', '.join(shared)}" if shared else ""
        # The space is named: the search was confined to it.
        reason = f"related: #{len(found) + 1} in a memory search of {thread.space_name} for the first conversation's title and opening post{words}"
        found.append(Related(other.id, other.title, len(found) + 1, shared, reason))
        if len(found) == k:
            break
    return found
