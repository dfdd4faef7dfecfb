"""Has this conversation run its course? Explained signals, a state and a suggested action.

Per conversation (``Thread`` from analyses/lifecycle_threads.py) the signals are:

- length: messages, words, and minutes a newcomer needs to read it all (238 wpm, as activity);
- participants and saturation: people, and how many of them first spoke in the last
  ``recent`` messages (none new in a long thread: the circle has closed);
- activity: days since the last message (measured from ``as_of``), and whether the gaps grow
  (median of the last gaps over the median of the earlier ones);
- novelty: how new the last messages are, 1 - their best cosine similarity to any earlier message;
- drift: cosine similarity of the last messages to the opening post;
- resolution: an accepted answer (platform mark or ``accept`` reaction), thanks acts and "that
  worked"/"solved" from the asker;
- stalled: a question nobody else has replied to.

States, first match wins: ``nudge`` (stalled and unresolved question), ``close`` (resolved and quiet),
``split`` (long and drifting), ``wrap_up`` (substantial and resolved, saturated, decaying or
quiet), ``keep_going``. Thresholds are ``Thresholds`` below, with where each comes from; they
are stated defaults, not fitted values. Novelty and drift need an embedder; without one those
two signals are None and never decide a state.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from villagegreen.analyses.activity import READING_WPM
from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage

if TYPE_CHECKING:
    from villagegreen.analyses.embeddings import Embedder, Vectors

State = Literal["keep_going", "nudge", "wrap_up", "split", "close"]
STATES: tuple[State, ...] = ("keep_going", "nudge", "wrap_up", "split", "close")
ACTIONS: dict[State, str] = {
    "keep_going": "keep going: nothing to do yet",
    "nudge": "nudge: ask someone who knows to answer",
    "wrap_up": "wrap up: write the story of what the group learned",
    "split": "split: move the side conversation into its own thread",
    "close": "close: it is resolved and quiet",
}
# The order a facilitator acts in: unanswered people first, then stories to write.
PRIORITY: dict[State, int] = {"nudge": 0, "wrap_up": 1, "split": 2, "close": 3, "keep_going": 4}
_RESOLVED = re.compile(r"\b(that (?:worked|works|did it|fixed it)|solved|works now|working now|fixed it|problem solved)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where each default comes from (see docs/analyses/lifecycle.md)."""

    # Last messages compared with the rest (novelty, drift, saturation): about one screen.
    recent: int = 5
    # Ten minutes of reading (about 2,400 words at 238 wpm) is where newcomers give up on a
    # thread; it is also the length of the longest 5% of urho3d topics (measured, see docs).
    long_minutes: float = 10.0
    long_messages: int = 30
    # Two weeks without a message: a forum thread that quiet rarely revives.
    quiet_days: float = 14.0
    # Last gaps twice as long as the earlier ones: activity decaying.
    decay_ratio: float = 2.0
    # Mean cosine similarity (static embedder) of the recent messages to the opening post below
    # this: drifting. It is about the 5th percentile on both urho3d (0.46) and conlang (0.53):
    # the static model rates most on-topic replies 0.55-0.85.
    drift_below: float = 0.45
    # Best similarity of recent messages to earlier ones above this: nothing new is being said.
    repeat_above: float = 0.85
    # Worth a story: at least this many messages from at least two people.
    substantial_messages: int = 4


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    value: float | int | bool | None
    explanation: str


@dataclass(frozen=True, slots=True)
class Part:
    """A sub-conversation of a drifting thread: where it starts and its most frequent words."""

    first_message_id: str
    messages: int
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ripeness:
    """A conversation's state, the suggested action, the reason, and every signal behind it."""

    conversation_id: str
    title: str
    space: str
    state: State
    action: str
    reason: str
    signals: tuple[Signal, ...] = field(default=())
    parts: tuple[Part, ...] = field(default=())  # for ``split``: the sub-conversations found

    def signal(self, name: str) -> float | int | bool | None:
        return next((s.value for s in self.signals if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "title": self.title, "space": self.space, "state": self.state,
                "action": self.action, "reason": self.reason, "signals": [asdict(s) for s in self.signals],
                "parts": [asdict(p) for p in self.parts]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ThreadFacts:
    """What the state of one conversation is decided from: counts and flags, no text.

    Built from a ``Thread`` by :func:`assess`, or for every conversation at once by SQL
    (analyses/lifecycle_signals.py); both go through :func:`decide` and :func:`signals_of`, so
    the two cannot disagree on a rule. ``newcomers`` is None for threads of ``recent`` messages
    or fewer; ``accepted_id`` is the first accepted message; novelty and drift need an embedder.
    """

    messages: int
    words: int
    people: int
    newcomers: int | None
    last_at: datetime
    decay: float | None
    is_question: bool
    answered: bool
    accepted_id: str | None
    asker_marks: int
    novelty: float | None = None
    drift: float | None = None


def assess(
    thread: Thread, as_of: datetime, *, embedder: Embedder | None = None, thresholds: Thresholds | None = None,
    stored: Mapping[str, Vectors] | None = None,
) -> Ripeness:  # fmt: skip
    """The ripeness of one thread at ``as_of`` (UTC).

    ``stored`` maps message ids to vectors already in the store for ``embedder``'s model (see
    analyses/embedding_store.py); a thread with every vector stored is not re-encoded.
    """
    t = thresholds or Thresholds()
    messages = thread.messages
    opener = thread.opener
    recent = messages[-t.recent :] if len(messages) > t.recent else ()
    earlier_people = {m.person_id for m in messages[: -t.recent]} if recent else set()
    newcomers = len({m.person_id for m in recent if m.person_id and m.person_id not in earlier_people})
    others = [m for m in messages[1:] if m.person_id != opener.person_id or opener.person_id is None]
    accepted = [m for m in messages if m.accepted]
    asker_marks = [m for m in messages[1:] if m.person_id == opener.person_id and resolved_by_asker(m.act, m.text)]
    said = [m for m in messages if m.text.strip()]
    vectors = _vectors(said, t.recent, embedder, stored or {})
    novelty, drift = _novelty_and_drift(vectors, t.recent)
    facts = ThreadFacts(
        messages=len(messages), words=sum(len(m.text.split()) for m in messages), people=len({m.person_id for m in messages if m.person_id}),
        newcomers=newcomers if recent else None, last_at=messages[-1].sent_at, decay=_decay_ratio(thread),
        is_question=opener.act == "question", answered=bool(others), accepted_id=accepted[0].id if accepted else None,
        asker_marks=len(asker_marks), novelty=novelty, drift=drift,
    )  # fmt: skip
    state, reason = decide(facts, as_of, t)
    parts = _parts(said, vectors) if state == "split" and vectors is not None else ()
    if parts:
        reason += "; parts: " + " | ".join(", ".join(p.keywords) for p in parts)
    return Ripeness(thread.id, thread.title, thread.space_name, state, ACTIONS[state], reason, signals_of(facts, as_of, t), parts)


def resolved_by_asker(act: str, text: str) -> bool:
    """A follow-up by the asker that says the question is solved: thanks, or "that worked"."""
    return act == "appreciation" or _RESOLVED.search(text) is not None


def decide(facts: ThreadFacts, as_of: datetime, t: Thresholds) -> tuple[State, str]:
    """The state and its reason (first match wins, see the module docstring)."""
    f = facts
    days_quiet = (as_of - f.last_at).total_seconds() / 86400
    minutes = f.words / READING_WPM
    long = minutes >= t.long_minutes or f.messages >= t.long_messages
    return _decide(
        t, f.messages, f.people, is_question=f.is_question, answered=f.answered, resolved=f.accepted_id is not None or f.asker_marks > 0,
        quiet=days_quiet >= t.quiet_days, days_quiet=days_quiet, long=long, drifting=f.drift is not None and f.drift < t.drift_below and long,
        saturated=f.newcomers == 0 and f.messages >= 2 * t.recent, repeating=f.novelty is not None and (1 - f.novelty) > t.repeat_above,
        decaying=f.decay is not None and f.decay >= t.decay_ratio, minutes=minutes,
    )  # fmt: skip


def signals_of(facts: ThreadFacts, as_of: datetime, t: Thresholds) -> tuple[Signal, ...]:
    """Every signal with its value and a sentence, for the CLI's JSON and the conversation page."""
    f = facts
    days_quiet = (as_of - f.last_at).total_seconds() / 86400
    minutes = f.words / READING_WPM
    novelty, drift, decay, newcomers = f.novelty, f.drift, f.decay, f.newcomers
    stalled = f.is_question and not f.answered
    return (
        Signal("messages", f.messages, f"{f.messages} messages"),
        Signal("reading_minutes", round(minutes, 1), f"{f.words} words: {minutes:.0f} min for a newcomer at {READING_WPM:g} wpm"),
        Signal("participants", f.people, f"{f.people} people took part"),
        Signal("new_in_recent", newcomers,
               f"{newcomers} new voices in the last {t.recent} messages" if newcomers is not None else "too short to tell"),
        Signal("days_since_last", round(days_quiet, 1), f"last message {days_quiet:.0f} days before {as_of:%Y-%m-%d}"),
        Signal("gap_growth", None if decay is None else round(decay, 2),
               "too few gaps to tell" if decay is None else f"recent gaps {decay:.1f}x the earlier ones"),
        Signal("novelty", None if novelty is None else round(novelty, 3),
               "no embedder or too short" if novelty is None else f"recent messages {1 - novelty:.0%} similar to what was said before"),
        Signal("similarity_to_opening", None if drift is None else round(drift, 3),
               "no embedder or too short" if drift is None else f"recent messages {drift:.0%} similar to the opening post"),
        Signal("accepted_answer", f.accepted_id is not None, f"accepted answer: {f.accepted_id}" if f.accepted_id is not None else "no accepted answer"),
        Signal("asker_thanks_or_solved", f.asker_marks, f"{f.asker_marks} thanks or 'solved' from the asker"),
        Signal("stalled", stalled, "a question nobody else replied to" if stalled else "not stalled"),
    )  # fmt: skip


def _decide(t: Thresholds, messages: int, people: int, *, is_question: bool, answered: bool, resolved: bool, quiet: bool,
            days_quiet: float, long: bool, drifting: bool, saturated: bool, repeating: bool, decaying: bool,
            minutes: float) -> tuple[State, str]:  # fmt: skip
    if is_question and not answered and not resolved:  # the asker may have solved it alone
        return "nudge", f"a question with no reply from anyone else for {days_quiet:.0f} days"
    if resolved and quiet:
        return "close", f"resolved and quiet for {days_quiet:.0f} days"
    if drifting:
        return "split", f"{minutes:.0f} min to read and the recent messages have drifted from the opening post"
    substantial = messages >= t.substantial_messages and people >= 2
    if substantial:
        why = [w for w, on in (("resolved", resolved), ("too long to join", long), ("no new voices", saturated),
                               ("repeating itself", repeating), ("activity decaying", decaying),
                               (f"quiet for {days_quiet:.0f} days", quiet)) if on]  # fmt: skip
        if why:
            return "wrap_up", ", ".join(why)
    if quiet and not resolved:
        return "keep_going", f"quiet for {days_quiet:.0f} days but too short for a story ({messages} messages, {people} people)"
    return "keep_going", "still developing"


def _decay_ratio(thread: Thread) -> float | None:
    times = [m.sent_at for m in thread.messages]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    if len(gaps) < 4:
        return None
    cut = max(1, len(gaps) // 3)
    earlier, last = statistics.median(gaps[:-cut]), statistics.median(gaps[-cut:])
    return last / max(earlier, 60.0)  # a minute floor: bursts of instant replies are not a baseline


def _vectors(said: list[ThreadMessage], recent: int, embedder: Embedder | None, stored: Mapping[str, Vectors]) -> Vectors | None:
    if embedder is None or len(said) <= recent:
        return None
    if all(m.id in stored for m in said):
        return np.stack([stored[m.id] for m in said]).astype(np.float32)
    return np.asarray(embedder.encode([m.text for m in said]), dtype=np.float32)


def _novelty_and_drift(vectors: Vectors | None, recent: int) -> tuple[float | None, float | None]:
    if vectors is None:
        return None, None
    last, earlier = vectors[-recent:], vectors[:-recent]
    best_earlier = (last @ earlier.T).max(axis=1)
    return float(1 - best_earlier.mean()), float((last @ vectors[0]).mean())


_WORD = re.compile(r"[a-z][a-z0-9_+#-]{3,}")
# Words too common in any thread to name a part of it.
_COMMON_WORDS = (
    "this that with have what there about would could should which their they them then than just like also "
    "more some when will from your been were think know here does into only really thanks https http www com"
)
_COMMON = frozenset(_COMMON_WORDS.split())


def _parts(said: list[ThreadMessage], vectors: Vectors) -> tuple[Part, ...]:
    """Topic segments of the thread (analyses/topics_segmentation.py), each named by its top words."""
    from villagegreen.analyses.topics_segmentation import segment

    parts, start = [], 0
    for length in segment(vectors):
        chunk = said[start : start + length]
        words = Counter(w for m in chunk for w in _WORD.findall(m.text.lower()) if w not in _COMMON)
        parts.append(Part(chunk[0].id, len(chunk), tuple(w for w, _ in words.most_common(3))))
        start += length
    return tuple(parts) if len(parts) > 1 else ()
