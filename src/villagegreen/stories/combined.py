"""The story of several conversations: ``villagegreen story C1 C2 …`` or ``story C1 --related K``.

One Story built with the single-conversation drafter's pieces (stories/draft.py), so quoting,
attribution, consent and redaction are exactly the same:

- the **context** names each conversation: who opened it, in which title, with its link (the
  opener's citation), and for an added one why it was included;
- the **narrative** follows time across the conversations: the replies are ranked per
  conversation as for one story, taken in turn from each (so every conversation is told) up to
  ``MAX_COMBINED_NARRATIVE``, then put in time order; a sentence says which conversation it is
  from when it differs from the previous sentence's;
- **takeaways** are the best answers of all (accepted first, then by approvals), **open points**
  those of each conversation, and **contributors** the union, counted across all;
- display names of everyone who refused ``quoting`` in *any* included conversation are removed
  from every quote.

Which conversations may be combined: any of one source (different spaces allowed); never two
sources (their members are different people to the reader); a private space's conversation only
with ``include_private``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage, load_thread
from villagegreen.errors import InputError
from villagegreen.store.consent import refused_people
from villagegreen.store.database import Store
from villagegreen.stories.draft import (
    MAX_NARRATIVE,
    MAX_TAKEAWAYS,
    MEMBER,
    Writer,
    contributors,
    merge_repeats,
    open_points,
    ranked_replies,
    takeaway,
    takeaway_candidates,
    verb,
)
from villagegreen.stories.model import ConversationRef, Statement, Story
from villagegreen.stories.permalinks import permalink
from villagegreen.stories.sentences import clip

# Two more sentences per added conversation, so a story of three stays readable.
MAX_COMBINED_NARRATIVE = MAX_NARRATIVE + 8
MAX_CONVERSATIONS = 11
TITLE_CHARS = 60


def load_threads(store: Store, conversations: Sequence[str], *, include_private: bool = False) -> list[Thread]:
    """The conversations' threads in the order given (repeats dropped), or one InputError line."""
    ids = list(dict.fromkeys(conversations))
    if len(ids) > MAX_CONVERSATIONS:
        raise InputError(f"{len(ids)} conversations: a story combines at most {MAX_CONVERSATIONS}")
    threads: list[Thread] = []
    sources: dict[str, str] = {}
    for cid in ids:
        thread = load_thread(store, cid)
        if thread is None:
            raise InputError(f"no conversation {cid!r} with member messages; `villagegreen threads ripe --json` lists ids")
        ((source_id, private),) = store.con.execute(
            "SELECT sp.source_id, sp.private FROM spaces sp WHERE sp.id = ?", [thread.space_id]).fetchall()  # fmt: skip
        if private and not include_private and len(ids) > 1:
            raise InputError(f"conversation {cid!r} is in the private space {thread.space_name!r}; add --include-private to combine it with others")
        sources.setdefault(str(source_id), cid)
        if len(sources) > 1:
            first = next(iter(sources.values()))
            raise InputError(f"conversations {first!r} and {cid!r} come from different sources; a story combines conversations of one source")
        threads.append(thread)
    return threads


def draft_combined(store: Store, conversations: Sequence[str], *, reasons: Mapping[str, str] | None = None, include_private: bool = False) -> Story:
    """The story of ``conversations`` (the first is the primary); ``reasons`` says why an added one is there."""
    threads = load_threads(store, conversations, include_private=include_private)
    return build_combined(threads, refused_people(store, "quoting"), reasons or {})


def _short(w: Writer) -> str:
    """The conversation's title as a sentence names it (its opener's words: hidden when they refused)."""
    if w.hidden(w.thread.opener) or not w.thread.title.strip():
        return f"a conversation in {w.thread.space_name}"
    title = w.scrub(" ".join(w.thread.title.split()))
    return f"“{title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS].rsplit(' ', 1)[0] + '…'}”"


def _in(where: str, s: Statement) -> Statement:
    text = s.text[0].lower() + s.text[1:] if s.text.startswith(MEMBER.capitalize()) or s.text.startswith("The ") else s.text
    return Statement(f"In {where}, {text}", s.citations, s.speaker, s.act)


def build_combined(threads: Sequence[Thread], refused: set[str], reasons: Mapping[str, str]) -> Story:
    hidden = {m.author for t in threads for m in t.messages if m.person_id in refused}
    writers = [Writer(t, refused, hidden) for t in threads]
    primary = writers[0]
    messages = sorted((m for t in threads for m in t.messages), key=lambda m: (m.sent_at, m.id))
    people = {m.person_id for m in messages if m.person_id}
    spaces = list(dict.fromkeys(t.space_name for t in threads))
    base = (
        primary.scrub(primary.thread.title)
        if primary.thread.title and not primary.hidden(primary.thread.opener)
        else f"A conversation in {primary.thread.space_name}"
    )
    more = len(threads) - 1
    title = f"{clip(base)}, and {more} more conversation{'s' if more != 1 else ''}"
    by_message = {m.id: w for w in writers for m in w.thread.messages}
    return Story(
        conversation_id=primary.thread.id, title=title, space=", ".join(spaces),
        context=(*(_context(w, reasons) for w in writers), _totals(messages, people, len(threads), by_message)),
        narrative=tuple(_narrative(writers)), takeaways=tuple(_takeaways(writers)),
        open_points=tuple(s for w in writers for s in (_in(_short(w), p) for p in open_points(w))),
        contributors=contributors(*writers), unnamed_contributors=len({p for p in people if p in refused}),
        notes=("Members who asked not to be quoted appear as 'a member', without their words.",) if people & refused else (),
        conversations=tuple(_ref(w, reasons) for w in writers),
    )  # fmt: skip


def _reason(w: Writer, reasons: Mapping[str, str]) -> str:
    return w.scrub(reasons.get(w.thread.id, "asked for by the editor"))


def _ref(w: Writer, reasons: Mapping[str, str]) -> ConversationRef:
    opener = w.thread.opener
    return ConversationRef(w.thread.id, _short(w).strip("“”"), w.thread.space_name, permalink(w.thread, opener), _reason(w, reasons))


def _context(w: Writer, reasons: Mapping[str, str]) -> Statement:
    opener = w.thread.opener
    s = w.says(opener, "asked" if opener.act == "question" else "opened the conversation")
    why = f" ({_reason(w, reasons)})" if w.thread.id in reasons else ""
    return _in(f"{_short(w)}{why}", s)


def _totals(messages: list[ThreadMessage], people: set[str], n: int, by_message: Mapping[str, Writer]) -> Statement:
    first, last = messages[0], messages[-1]
    text = f"{len(messages)} messages from {len(people)} people in {n} conversations between {first.sent_at:%Y-%m-%d} and {last.sent_at:%Y-%m-%d}."
    return Statement(text, (*by_message[first.id].cite(first), *by_message[last.id].cite(last)))


def _narrative(writers: Sequence[Writer]) -> list[Statement]:
    """Taken in turn from each conversation's ranking, then told in time order."""
    queues = [[(m, w) for m in ranked_replies(w)] for w in writers]
    chosen: list[tuple[ThreadMessage, Writer]] = []
    while len(chosen) < MAX_COMBINED_NARRATIVE and any(queues):
        for queue in queues:
            if queue and len(chosen) < MAX_COMBINED_NARRATIVE:
                chosen.append(queue.pop(0))
    chosen.sort(key=lambda pair: (pair[0].sent_at, pair[0].id))
    out: list[Statement] = []
    previous: Writer | None = None
    for m, w in chosen:
        s = w.says(m, verb(w, m))
        out.append(s if w is previous else _in(_short(w), s))
        previous = w
    return merge_repeats(out)


def _takeaways(writers: Sequence[Writer]) -> list[Statement]:
    candidates = [(m, w) for w in writers for m in takeaway_candidates(w)]
    candidates.sort(key=lambda pair: (not pair[0].accepted, -pair[0].approvals, pair[0].sent_at))
    limit = MAX_TAKEAWAYS + len(writers) - 1
    return [takeaway(w, m, f" in {_short(w)}") for m, w in candidates[:limit]]
