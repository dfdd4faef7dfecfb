"""How each formal key message was taken up in the conversations.

For a key message, every message of the window is compared with it (cosine of the stored
vectors, centred as in Corpus.centred); a message at or above :data:`UPTAKE_THRESHOLD` is about it. Its conversation's
similarity is the best of its messages. Each matching message is read as one of:

- ``challenge``: pushes back ("but", "however", "disagree", "doesn't work", "not convinced");
- ``question``: asks about it (a question mark);
- ``story``: tells of applying it (first person past tense: "I tried", "we used", "last week");
- ``mention``: none of those.

checked in that order (a challenge phrased as a question is a challenge). These are English cue
words, a first reading for a facilitator, not a classifier; the quote is given so a person can
judge. A key message with no matching message is reported as ``silence``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import numpy as np

from villagegreen.analyses.embeddings import Embedder
from villagegreen.analyses.programme import KeyMessage
from villagegreen.analyses.programme_mapping import quote
from villagegreen.analyses.topics_corpus import Corpus, MessageRef

UPTAKE_THRESHOLD = 0.4
_CHALLENGE = re.compile(
    r"\b(but|however|disagree|not convinced|doesn'?t work|don'?t think|won'?t work|not sure|in practice|unrealistic|myth|overrated)\b", re.IGNORECASE
)
_STORY = re.compile(
    r"\b(I|we)\s+(tried|used|applied|did|had|started|found|ran|changed|asked|learned|learnt)\b"
    r"|\b(last|this)\s+(week|month|time)\b|\byesterday\b|\bin my experience\b",
    re.IGNORECASE,
)


def uptake_kind(text: str) -> str:
    if _CHALLENGE.search(text):
        return "challenge"
    if "?" in text:
        return "question"
    if _STORY.search(text):
        return "story"
    return "mention"


@dataclass(slots=True)
class Uptake:
    key_message: KeyMessage
    conversations: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    monthly: dict[str, int] = field(default_factory=dict)
    total_conversations: int = 0

    @property
    def verdict(self) -> str:
        return "silence" if not self.total_conversations else "taken up"

    def to_dict(self) -> dict[str, Any]:
        km = self.key_message
        return {"id": km.id, "text": km.text, "source": km.source, "verdict": self.verdict, "conversations_count": self.total_conversations,
                "kinds": self.kinds, "monthly_messages": self.monthly, "conversations": self.conversations}  # fmt: skip


# (similarity, conversation row, message)
Match = tuple[float, int, MessageRef]


def _examples(matches: list[Match], top: int) -> list[Match]:
    """One message per conversation, at most ``top``: the closest message of each kind first (a
    lone challenge matters more than a fifth mention), then each remaining conversation's
    closest message; returned in order of similarity."""
    ranked = sorted(matches, key=lambda match: -match[0])
    chosen: list[Match] = []
    for kind in ("challenge", "story", "question"):
        first = next((m for m in ranked if uptake_kind(m[2].text) == kind and all(m[1] != c[1] for c in chosen)), None)
        if first is not None and len(chosen) < top:
            chosen.append(first)
    for match in ranked:
        if len(chosen) >= top:
            break
        if all(match[1] != c[1] for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda match: -match[0])


def key_message_uptake(corpus: Corpus, key_messages: tuple[KeyMessage, ...], embedder: Embedder, *, top: int = 5) -> list[Uptake]:
    if not key_messages:
        return []
    targets = corpus.centred(embedder.encode([km.text for km in key_messages]))
    refs = [(row, message) for row, messages in enumerate(corpus.messages) for message in messages if message.id in corpus.message_vectors]
    matrix = corpus.centred(np.stack([corpus.message_vectors[m.id] for _, m in refs])) if refs else np.zeros((0, targets.shape[1]), dtype=np.float32)
    similarity = matrix @ targets.T
    result = []
    for column, key_message in enumerate(key_messages):
        uptake = Uptake(key_message)
        matches: list[Match] = []
        kinds: Counter[str] = Counter()
        monthly: Counter[str] = Counter()
        for index in np.flatnonzero(similarity[:, column] >= UPTAKE_THRESHOLD):
            row, message = refs[index]
            matches.append((float(similarity[index, column]), row, message))
            kinds[uptake_kind(message.text)] += 1
            monthly[message.sent_at.astimezone(UTC).strftime("%Y-%m")] += 1
        uptake.conversations = [
            {"conversation_id": corpus.ids[row], "title": corpus.titles[row], "similarity": round(score, 4), "message_id": message.id,
             "kind": uptake_kind(message.text), "quote": quote(message.text), "sent_at": message.sent_at.isoformat()}
            for score, row, message in _examples(matches, top)
        ]  # fmt: skip
        uptake.total_conversations = len({row for _, row, _ in matches})
        uptake.kinds = dict(kinds.most_common())
        uptake.monthly = dict(sorted(monthly.items()))
        result.append(uptake)
    return result
