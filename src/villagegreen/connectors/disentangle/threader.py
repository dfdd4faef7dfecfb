"""Flat-channel disentanglement: pick each message's parent among the messages before it.

Input is a time-ordered list of :class:`ChatLine`. An explicit reply link wins. Otherwise every
recent message is a candidate parent and gets a linear score from cues (time gap and distance,
who the message addresses or names, the same author going on, the candidate having addressed
this author, TF-IDF word overlap, a question being answered); the best candidate becomes the
parent when it beats the "new conversation" threshold, else the message starts a conversation
(its parent is itself). Conversations are the connected components of these links, and each
one's root is its first message (see :func:`conversation_roots`).

Cost is linear in messages times the window (``Weights.window`` candidates at most), pure
Python, about 40,000 messages in under ten seconds on one core (measured; see
docs/disentanglement.md). The weights were tuned on the dev split of the Ubuntu IRC
disentanglement corpus (Kummerfeld et al. 2019) only; nothing from its test split was used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from villagegreen.connectors.disentangle import cues
from villagegreen.connectors.reply_roots import resolve_roots


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message of a flat channel. ``system`` lines (joins, renames) never join a conversation."""

    id: str
    author: str
    time: datetime
    text: str
    reply_to: str | None = None
    system: bool = False


@dataclass(frozen=True, slots=True)
class Weights:
    """The scoring model: each cue's weight, and how far back candidates are looked for.

    Defaults tuned by coordinate ascent on the dev split of the Ubuntu IRC corpus (maximising
    conversation F1 + link F1 / 4); ``continues_address`` did not help there and is off.
    """

    window: int = 160
    max_gap_minutes: float = 60.0
    gap: float = 0.2
    distance: float = 0.8
    addressed_author: float = 3.2
    latest_of_addressee: float = 0.5
    mentions_author: float = 2.7
    candidate_addressed_me: float = 2.0
    latest_addressing_me: float = 1.2
    same_author: float = 1.5
    latest_of_mine: float = 0.8
    continues_address: float = 0.0
    addressed_someone_else: float = 2.0
    candidate_for_someone_else: float = 0.8
    lexical: float = 3.75
    answers_question: float = 0.5
    new_threshold: float = -0.75
    question_starts_new: float = 1.5
    newcomer_starts_new: float = 1.5


DEFAULT_WEIGHTS = Weights()


class _Cues:
    """What the scorer reads of one line. ``vector`` (TF-IDF) is built by :func:`_choose` on the
    line's first comparison: a line whose neighbours are all more than ``max_gap_minutes`` away
    is never compared, and in a quiet channel that is most lines. The vector is the same
    whenever it is built, since the document frequencies are fixed before any line is scored.
    """

    __slots__ = ("addressee", "document", "mentions", "minutes", "name", "question", "tfidf", "vector")

    def __init__(
        self, name: str, addressee: str | None, mentions: frozenset[str], question: bool, minutes: float, document: list[str], tfidf: cues.TfIdf
    ) -> None:
        self.name, self.addressee, self.mentions, self.question, self.minutes = name, addressee, mentions, question, minutes
        self.document, self.tfidf = document, tfidf
        self.vector: dict[str, float] | None = None


def _prepare(lines: Sequence[ChatLine]) -> list[_Cues]:
    lowered = [line.text.lower() for line in lines]
    documents = [cues.lowered_words(text) for text in lowered]
    tfidf = cues.TfIdf(documents)
    start = lines[0].time if lines else None
    prepared = []
    names: dict[str, str] = {}  # few authors write many lines
    for line, text, document in zip(lines, lowered, documents, strict=True):
        minutes = (line.time - start).total_seconds() / 60 if start is not None else 0.0
        name = names.get(line.author)
        if name is None:
            name = names[line.author] = cues.normal_name(line.author)
        prepared.append(
            _Cues(
                name=name,
                addressee=cues.addressee(line.text),
                mentions=cues.lowered_name_tokens(text),
                question=cues.is_question(line.text),
                minutes=minutes,
                document=document,
                tfidf=tfidf,
            )
        )
    return prepared


def _score(me: _Cues, other: _Cues, addressee: str | None, latest: bool, latest_to_me: bool, distance: int, similarity: float, w: Weights) -> float:
    """How likely ``other`` is the message ``me`` responds to (higher is likelier).

    ``latest`` says ``other`` is its author's latest message; ``latest_to_me`` that it is the
    latest one addressing ``me``'s author; ``similarity`` is the cosine of their TF-IDF vectors.
    """
    gap = max(me.minutes - other.minutes, 0.0)
    score = -w.gap * math.log1p(gap) - w.distance * math.log1p(distance)
    same = other.name == me.name
    if latest_to_me:
        score += w.latest_addressing_me
    if same and latest:
        score += w.latest_of_mine
    if same and addressee is not None and other.addressee == addressee:
        score += w.continues_address
    if addressee is not None and addressee == other.name:
        score += w.addressed_author + (w.latest_of_addressee if latest else 0.0)
    elif other.name in me.mentions and not same:
        score += w.mentions_author
    if addressee is not None and addressee != other.name and not same:
        score -= w.addressed_someone_else
    if other.addressee == me.name or me.name in other.mentions:
        score += w.candidate_addressed_me
    elif other.addressee is not None and not same:
        score -= w.candidate_for_someone_else
    if same:
        score += w.same_author
    elif other.question:
        score += w.answers_question
    return score + w.lexical * similarity


def disentangle(lines: Sequence[ChatLine], weights: Weights = DEFAULT_WEIGHTS) -> dict[str, str]:
    """Each message's parent id; a message that starts a conversation is its own parent.

    An explicit ``reply_to`` is kept as given, even when it points outside ``lines`` (a reply
    to an older message the export does not hold); every inferred parent is an earlier line.
    """
    prepared = _prepare(lines)
    parents: dict[str, str] = {}
    recent: list[int] = []
    latest_by_name: dict[str, int] = {}
    # The latest message that addressed each name, for the reply that answers it.
    latest_to_name: dict[str, int] = {}
    for index, (line, me) in enumerate(zip(lines, prepared, strict=True)):
        if line.system:
            parents[line.id] = line.id
            continue
        if line.reply_to:
            parents[line.id] = line.reply_to
        else:
            parents[line.id] = _choose(index, me, lines, prepared, recent, latest_by_name, latest_to_name, weights)
        recent.append(index)
        if len(recent) > weights.window:
            del recent[0]
        latest_by_name[me.name] = index
        # The names this line addresses or mentions, among those who have spoken (a line names
        # few of them, so intersecting from the mentions' side does little work).
        for name in me.mentions & latest_by_name.keys():
            if name != me.name:
                latest_to_name[name] = index
        if me.addressee is not None and me.addressee != me.name and me.addressee in latest_by_name:
            latest_to_name[me.addressee] = index
    return parents


def _choose(
    index: int,
    me: _Cues,
    lines: Sequence[ChatLine],
    prepared: Sequence[_Cues],
    recent: list[int],
    latest_by_name: dict[str, int],
    latest_to_name: dict[str, int],
    w: Weights,
) -> str:
    # An opening word counts as an address only when it is someone who has spoken.
    addressee = me.addressee if me.addressee in latest_by_name and me.addressee != me.name else None
    best_score, best = -math.inf, index
    count = len(recent)
    to_me = latest_to_name.get(me.name)
    newcomer = True
    mine = me.vector
    for position, candidate in enumerate(recent):
        other = prepared[candidate]
        if me.minutes - other.minutes > w.max_gap_minutes:
            continue
        if mine is None:
            mine = me.vector = me.tfidf.vector(me.document)
        theirs = other.vector
        if theirs is None:
            theirs = other.vector = other.tfidf.vector(other.document)
        newcomer = newcomer and other.name != me.name
        latest = latest_by_name.get(other.name) == candidate
        score = _score(me, other, addressee, latest, to_me == candidate, count - position - 1, cues.cosine(mine, theirs), w)
        if score > best_score:
            best_score, best = score, candidate
    # Someone who has not spoken lately and addresses nobody is usually opening a topic.
    threshold = w.new_threshold
    if addressee is None:
        threshold += (w.question_starts_new if me.question else 0.0) + (w.newcomer_starts_new if newcomer and to_me is None else 0.0)
    return lines[best].id if best != index and best_score > threshold else lines[index].id


def time_gap_baseline(lines: Sequence[ChatLine], max_gap_minutes: float = 1.0) -> dict[str, str]:
    """The simple baseline: link to the previous message when it is recent enough, else start anew."""
    parents: dict[str, str] = {}
    previous: ChatLine | None = None
    for line in lines:
        if line.system:
            parents[line.id] = line.id
            continue
        recent_enough = previous is not None and (line.time - previous.time).total_seconds() <= max_gap_minutes * 60
        parents[line.id] = previous.id if recent_enough and previous is not None else line.id
        previous = line
    return parents


def conversation_roots(parents: dict[str, str]) -> dict[str, str]:
    """Each message's conversation root (the first message of its connected component).

    Parent links point backwards in time, so following them ends at the component's first
    message; an explicit reply to a message outside the input is rooted at that message.
    """
    return resolve_roots({child: (None if parent == child else parent) for child, parent in parents.items()})
