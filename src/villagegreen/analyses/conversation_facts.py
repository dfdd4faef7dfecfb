"""One row per conversation started in the window: who opened it, who replied, how fast.

Shared by the health and facilitation analyses so that "a reply", "someone else" and "a
question" mean the same thing in both. Replies are counted up to the window's end (a
conversation opened on the last day of the window may still be answered later: that is the
limit of any windowed reply measure, stated in the docs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from villagegreen.analyses.framework import Inputs
from villagegreen.analyses.inputs import contributions, json_int, shared_key

if TYPE_CHECKING:
    import ibis.expr.types as ir

CONVERSATION_FACTS = "conversation_facts"
# A root is a question when the platform says so (Stack Exchange), when its title or text has a
# question mark, or when it opens with an interrogative or a request for help.
QUESTION_PATTERN = (
    r"(?i)\?|^\s*(\[[^\]]*\]\s*)?(re:\s*)?(how|what|why|when|where|who|which|is|are|can|could|does|do|did|should|would|"
    r"will|has|have|anyone|any idea|help|need help|question)\b"
)


def is_facilitator(person: ir.StringValue, facilitators: frozenset[str]) -> ir.BooleanValue:
    if not facilitators:
        return ibis.literal(False)
    return person.isin(sorted(facilitators)).fill_null(False)


def conversation_facts(inputs: Inputs) -> ir.Table:
    """Per conversation opened in the window (computed once per run when the runner shares intermediates).

    Columns: conversation_id, space_id, opener, opener_is_facilitator, opened_at,
    is_question, first_other_at (first message by someone other than the opener),
    first_member_at (same, by a non-facilitator), participants, messages,
    facilitator_messages, top_author_share, last_is_facilitator, readers (platform
    read count where known, else NULL).
    """
    return inputs.shared.get(shared_key(CONVERSATION_FACTS, inputs), lambda: _conversation_facts(inputs))


def _conversation_facts(inputs: Inputs) -> ir.Table:
    window_messages = contributions(inputs)
    everything = contributions(inputs, windowed=False)
    roots = window_messages.filter(window_messages.is_root)
    conversations = inputs.tables["conversations"]
    titles = conversations.select(conv_key=conversations.id, title=conversations.title, conv_meta=conversations.meta)
    roots = roots.left_join(titles, roots.id == titles.conv_key)
    if "text" not in roots.columns:
        # Shared member messages carry no text (inputs._shared_history): look up the openers' alone.
        messages = inputs.tables["messages"]
        texts = messages.select(text_key=messages.id, text=messages.text)
        roots = roots.left_join(texts, roots.id == texts.text_key)
    roots = roots.select(
        conversation_id=roots.id,
        space_id=roots.space_id,
        opener=roots.person_id,
        opened_at=roots.sent_at,
        is_question=(roots.kind == "question") | roots.title.fill_null("").re_search(QUESTION_PATTERN) | roots.text.re_search(QUESTION_PATTERN),
        root_readers=_readers(roots),
    )
    facilitators = inputs.facilitators
    # Everything below is about authors, so the million messages are first reduced to one row
    # per (conversation, author); the facts are then aggregates of those rows. Grouping every
    # message by the six root columns (and a distinct count) cost more than all the rest.
    authors = everything.group_by(conv=everything.conversation_id, author=everything.person_id).agg(
        n=everything.count(),
        # The root itself is never a reply, even when its author is unknown.
        first_reply_at=everything.sent_at.min(where=~everything.is_root),
        last_at=everything.sent_at.max(),
    )
    joined = roots.inner_join(authors, roots.conversation_id == authors.conv)
    joined = joined.mutate(by_facilitator=is_facilitator(joined.author, facilitators))
    other = joined.author.notnull() & (joined.opener.isnull() | (joined.author != joined.opener))
    per_conversation = joined.group_by("conversation_id").agg(
        space_id=joined.space_id.arbitrary(),
        opener=joined.opener.arbitrary(),
        opened_at=joined.opened_at.arbitrary(),
        is_question=joined.is_question.arbitrary(),
        root_readers=joined.root_readers.arbitrary(),
        first_other_at=joined.first_reply_at.min(where=other),
        first_member_at=joined.first_reply_at.min(where=other & ~joined.by_facilitator),
        participants=joined.author.count(),
        messages=joined.n.sum(),
        facilitator_messages=(joined.n * joined.by_facilitator.cast("int64")).sum(),
        last_at=joined.last_at.max(),
        top_n=joined.n.max(),
    )
    chosen = _top_and_last_authors(joined, per_conversation, facilitators)
    facts = per_conversation.left_join(chosen, per_conversation.conversation_id == chosen.chosen_conv)
    return facts.select(
        "conversation_id",
        "space_id",
        "opener",
        "opened_at",
        "is_question",
        "first_other_at",
        "first_member_at",
        "participants",
        "messages",
        "facilitator_messages",
        "last_at",
        opener_is_facilitator=is_facilitator(facts.opener, facilitators),
        top_author_share=(facts.top_n / facts.messages).fill_null(1.0),
        top_author_is_facilitator=facts.top_author_is_facilitator.fill_null(False),
        last_is_facilitator=facts.last_is_facilitator.fill_null(False),
        readers=facts.root_readers,
    )


def _readers(roots: ir.Table) -> ir.IntegerValue:
    # Discourse records how many people read each post; Stack Exchange and Discourse record
    # topic views (views over-count readers: one person can view many times).
    return json_int(roots.conv_meta, "views").coalesce(json_int(roots.conv_meta, "view_count"))


def _top_and_last_authors(authors: ir.Table, per_conversation: ir.Table, facilitators: frozenset[str]) -> ir.Table:
    """Whether the conversation's most active author, and the author of its last message, is a facilitator.

    Ties go to the first author by id, an unknown author last (as a row_number over
    (n desc, author) or (at desc, author) would pick): min() skips NULL. An author wrote the
    most when their count is the conversation's largest, and wrote the last message when their
    own latest message is the conversation's latest. One join and one aggregate, instead of
    a window over every (conversation, author) row, which cost more than the rest together.
    """
    ends = per_conversation.select(end_conv=per_conversation.conversation_id, end_at=per_conversation.last_at, end_top=per_conversation.top_n)
    joined = authors.inner_join(ends, authors.conversation_id == ends.end_conv)
    chosen = joined.group_by(chosen_conv=joined.conversation_id).agg(
        top_author=joined.author.min(where=joined.n == joined.end_top),
        last_author=joined.author.min(where=joined.last_at == joined.end_at),
    )
    return chosen.select(
        chosen.chosen_conv,
        top_author_is_facilitator=is_facilitator(chosen.top_author, facilitators),
        last_is_facilitator=is_facilitator(chosen.last_author, facilitators),
    )
