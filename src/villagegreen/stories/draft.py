"""Extractive story drafts: who asked what, how the group built its answer, what stays open.

No language model: the narrative is one attributed sentence per important message, chosen by
dialogue act (accepted answer, disagreements, answers by approval, follow-up questions), each
quoting that message's most on-topic sentence and citing it. People who refused ``quoting``
consent are written as "a member", their words are never quoted, and their display name is
removed from everybody else's quoted sentences too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage, load_thread
from villagegreen.errors import InputError
from villagegreen.store.consent import refused_people
from villagegreen.store.database import Store
from villagegreen.stories.model import Citation, Contributor, Statement, Story
from villagegreen.stories.permalinks import permalink
from villagegreen.stories.sentences import best_sentence, clip, content_words, prose

# Beyond about a dozen sentences a draft stops being a story and becomes a transcript.
MAX_NARRATIVE = 12
MAX_TAKEAWAYS = 3
MEMBER = "a member"
# Narrative priority by act: lower first. The accepted answer always makes it (priority -1).
_PRIORITY = {"challenge": 0, "answer": 1, "question": 2, "facilitation": 3, "appreciation": 4, "elaboration": 5}


def draft_story(store: Store, conversation: str) -> Story:
    """The story of one conversation (its id), within the store's quoting consent."""
    thread = load_thread(store, conversation)
    if thread is None:
        raise InputError(f"no conversation {conversation!r} with member messages; `villagegreen threads ripe --json` lists ids")
    return build_story(thread, refused_people(store, "quoting"))


def refused_names(store: Store, conversation: str, *others: str) -> set[str]:
    """Display names of the conversations' members who refused ``quoting`` (for the llm writer's check)."""
    refused = refused_people(store, "quoting")
    names: set[str] = set()
    for cid in (conversation, *others):
        thread = load_thread(store, cid)
        names |= {m.author for m in thread.messages if m.person_id in refused} if thread is not None else set()
    return names


class Writer:
    """Names, quotes and citations for one thread under one consent set.

    ``hidden_names`` (default: the thread's own members who refused) are the display names
    scrubbed from quotes; a story of several conversations passes those of all of them.
    """

    def __init__(self, thread: Thread, refused: set[str], hidden_names: Iterable[str] | None = None) -> None:
        self.thread = thread
        self.refused = refused
        self.by_id = thread.by_id()
        names = hidden_names if hidden_names is not None else (m.author for m in thread.messages if m.person_id in refused)
        hidden = sorted({n for n in names if n}, key=len, reverse=True)
        self._hidden = re.compile("|".join(rf"(?<!\w)@?{re.escape(n)}(?!\w)" for n in hidden), re.IGNORECASE) if hidden else None
        self.topic = content_words(f"{thread.title} {prose(thread.opener.text)[:2000]}")

    def hidden(self, m: ThreadMessage) -> bool:
        return m.person_id in self.refused

    def name(self, m: ThreadMessage) -> str:
        return MEMBER if self.hidden(m) else m.author

    def scrub(self, text: str) -> str:
        return self._hidden.sub(MEMBER, text) if self._hidden is not None else text

    def quote(self, m: ThreadMessage, *, statement: bool = False) -> str | None:
        if self.hidden(m):
            return None
        found = best_sentence(m.text, self.topic, statement=statement)
        return self.scrub(found[0]) if found else None

    def cite(self, *messages: ThreadMessage) -> tuple[Citation, ...]:
        return tuple(Citation(m.id, permalink(self.thread, m)) for m in messages)

    def says(self, m: ThreadMessage, verb: str, *, also: Iterable[ThreadMessage] = ()) -> Statement:
        quoted = self.quote(m)
        who = self.name(m)
        text = f"{who} {verb}: “{quoted}”" if quoted else f"{who} {verb}" + (" (not quoted at their request)." if self.hidden(m) else ".")
        text = text[0].upper() + text[1:] if text.startswith(MEMBER) else text  # never re-case a real name
        return Statement(text, self.cite(m, *also), None if self.hidden(m) else m.author, m.act)


def build_story(thread: Thread, refused: set[str]) -> Story:
    w = Writer(thread, refused)
    opener, messages = thread.opener, thread.messages
    title = w.scrub(thread.title) if thread.title and not w.hidden(opener) else f"A conversation in {thread.space_name}"
    people = {m.person_id for m in messages if m.person_id}
    context = (
        w.says(opener, "asked" if opener.act == "question" else "opened the conversation"),
        Statement(f"{len(messages)} messages from {len(people)} people between {messages[0].sent_at:%Y-%m-%d} and "
                  f"{messages[-1].sent_at:%Y-%m-%d}.", w.cite(messages[0], messages[-1])),
    )  # fmt: skip
    return Story(
        conversation_id=thread.id, title=clip(title), space=thread.space_name, context=context,
        narrative=tuple(_narrative(w)), takeaways=tuple(_takeaways(w)), open_points=tuple(open_points(w)),
        contributors=contributors(w), unnamed_contributors=len({p for p in people if p in refused}),
        notes=("Members who asked not to be quoted appear as 'a member', without their words.",) if people & refused else (),
    )  # fmt: skip


def verb(w: Writer, m: ThreadMessage) -> str:
    parent = w.by_id.get(m.reply_to_id or "")
    target = f" {w.name(parent)}" if parent is not None and parent.person_id != m.person_id else ""
    by_asker = m.person_id is not None and m.person_id == w.thread.opener.person_id
    if m.accepted:
        return "gave the accepted answer"
    return {
        "answer": "replied",
        "challenge": f"disagreed{' with' + target if target else ''}",
        "question": "asked a follow-up question" if by_asker else "asked for clarification",
        "facilitation": "steered the conversation",
        "appreciation": f"thanked{target or ' the group'}",
        "social": "chimed in",
    }.get(m.act, "added")


def narrative_rank(w: Writer, m: ThreadMessage) -> tuple[int, int]:
    """Lower first: the accepted answer, then by act (``_PRIORITY``), then by approvals."""
    if m.accepted:
        return (-1, 0)
    if m.act == "appreciation" and m.person_id != w.thread.opener.person_id:
        return (9, 0)  # thanks from bystanders tells the reader nothing
    return (_PRIORITY.get(m.act, 6), -m.approvals)


def ranked_replies(w: Writer) -> list[ThreadMessage]:
    """The replies worth a narrative sentence, most important first."""
    return sorted((m for m in w.thread.messages[1:] if m.act != "social"), key=lambda m: narrative_rank(w, m))


def _narrative(w: Writer) -> list[Statement]:
    chosen = sorted(ranked_replies(w)[:MAX_NARRATIVE], key=lambda m: (m.sent_at, m.id))
    return merge_repeats(w.says(m, verb(w, m)) for m in chosen)


def merge_repeats(statements: Iterable[Statement]) -> list[Statement]:
    """One statement for a sentence said twice (a pasted comment): cited to every copy."""
    out: list[Statement] = []
    for s in statements:
        twin = next((i for i, o in enumerate(out) if o.text == s.text), None)
        if twin is None:
            out.append(s)
        else:
            out[twin] = Statement(s.text, (*out[twin].citations, *s.citations), s.speaker, s.act)
    return out


def takeaway_candidates(w: Writer) -> list[ThreadMessage]:
    """Answers that can be a takeaway, best first (accepted, then by approvals, then earliest)."""
    answers = [m for m in w.thread.messages[1:] if m.accepted or m.act == "answer"]
    answers.sort(key=lambda m: (not m.accepted, -m.approvals, m.sent_at))
    # An answer with nothing stated ("Have you tried X?") gives no takeaway, unless accepted.
    return [m for m in answers if m.accepted or w.hidden(m) or w.quote(m, statement=True) is not None]


def takeaway(w: Writer, m: ThreadMessage, where: str = "") -> Statement:
    """``where`` (e.g. ' in “Title”') says which conversation, in a story of several."""
    approvals = f"{m.approvals} approval{'s' if m.approvals != 1 else ''}"
    label = "the accepted answer" if m.accepted else f"an answer with {approvals}" if m.approvals else "an answer"
    label += where
    quoted = w.quote(m, statement=True) or w.quote(m)
    if quoted is None:
        text = f"See {label} by {MEMBER} (not quoted at their request)." if w.hidden(m) else f"See {label} by {m.author} (no prose to quote)."
    else:
        text = f"“{quoted}” ({m.author}, {label})"
    return Statement(text, w.cite(m), None if w.hidden(m) else m.author, m.act)


def _takeaways(w: Writer) -> list[Statement]:
    return [takeaway(w, m) for m in takeaway_candidates(w)[:MAX_TAKEAWAYS]]


def open_points(w: Writer) -> list[Statement]:
    messages = w.thread.messages
    answered_to = {m.reply_to_id for m in messages if m.reply_to_id}
    out: list[Statement] = []
    for i, m in enumerate(messages[1:], start=1):
        later = messages[i + 1 :]
        settled = any(x.accepted or (x.act == "appreciation" and x.person_id != m.person_id) for x in later)
        if m.act == "challenge" and m.id not in answered_to and not settled:
            out.append(w.says(m, "disagreed and nobody took it up"))
        elif m.act == "question" and m.id not in answered_to and not any(x.act == "answer" and x.person_id != m.person_id for x in later):
            out.append(w.says(m, "asked, still unanswered"))
    out = merge_repeats(out)
    opener = w.thread.opener
    if opener.act == "question" and not any(m.accepted for m in messages):
        out.append(Statement("The question has no accepted answer.", w.cite(opener)))
    return out


def contributors(*writers: Writer) -> tuple[Contributor, ...]:
    """Everyone named, across the writers' threads: most messages first, up to three citations each."""
    grouped: dict[str, list[tuple[ThreadMessage, Writer]]] = {}
    for w in writers:
        for m in w.thread.messages:
            if m.person_id and not w.hidden(m):
                grouped.setdefault(m.person_id, []).append((m, w))
    groups = list(grouped.values())
    if len(writers) > 1:  # across conversations, a person's messages in time order (one thread keeps its own order)
        groups = [sorted(ms, key=lambda pair: (pair[0].sent_at, pair[0].id)) for ms in groups]
    ranked = sorted(groups, key=lambda ms: (-len(ms), ms[0][0].sent_at))
    return tuple(Contributor(ms[0][0].author, len(ms), dict(Counter(m.act for m, _ in ms)), tuple(c for m, w in ms[:3] for c in w.cite(m))) for ms in ranked)


def story_summary(story: Story) -> str:
    """The story as one paragraph of plain text: who asked what, then the narrative (no citations)."""
    return " ".join(s.text for s in (*story.context[:1], *story.narrative))
