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
    roots = roots.select(
        conversation_id=roots.id,
        space_id=roots.space_id,
        opener=roots.person_id,
        opened_at=roots.sent_at,
        is_question=(roots.kind == "question") | roots.title.fill_null("").re_search(QUESTION_PATTERN) | roots.text.re_search(QUESTION_PATTERN),
        root_readers=_readers(roots),
    )
    facilitators = inputs.facilitators
    replies = everything.select(
        conv=everything.conversation_id,
        author=everything.person_id,
        at=everything.sent_at,
        is_root=everything.is_root,
        by_facilitator=is_facilitator(everything.person_id, facilitators),
    )
    joined = roots.inner_join(replies, roots.conversation_id == replies.conv)
    other = joined.author.notnull() & (joined.opener.isnull() | (joined.author != joined.opener)) & ~joined.is_root
    per_conversation = joined.group_by(["conversation_id", "space_id", "opener", "opened_at", "is_question", "root_readers"]).agg(
        first_other_at=joined.at.min(where=other),
        first_member_at=joined.at.min(where=other & ~joined.by_facilitator),
        participants=joined.author.nunique(),
        messages=joined.count(),
        facilitator_messages=joined.by_facilitator.cast("int64").sum(),
        last_at=joined.at.max(),
    )
    top = _top_author_share(joined)
    last = _last_author_is_facilitator(joined, per_conversation, facilitators)
    facts = per_conversation.left_join(top, per_conversation.conversation_id == top.top_conv).left_join(
        last, per_conversation.conversation_id == last.last_conv
    )
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
        top_author_share=facts.top_author_share.fill_null(1.0),
        top_author_is_facilitator=facts.top_author_is_facilitator.fill_null(False),
        last_is_facilitator=facts.last_is_facilitator.fill_null(False),
        readers=facts.root_readers,
    )


def _readers(roots: ir.Table) -> ir.IntegerValue:
    # Discourse records how many people read each post; Stack Exchange and Discourse record
    # topic views (views over-count readers: one person can view many times).
    return json_int(roots.conv_meta, "views").coalesce(json_int(roots.conv_meta, "view_count"))


def _top_author_share(joined: ir.Table) -> ir.Table:
    per_author = joined.group_by(["conversation_id", "author"]).agg(n=joined.count(), by_facilitator=joined.by_facilitator.max())
    ranked = per_author.mutate(
        rank=ibis.row_number().over(group_by=per_author.conversation_id, order_by=[per_author.n.desc(), per_author.author]),
        total=per_author.n.sum().over(group_by=per_author.conversation_id),
    )
    top = ranked.filter(ranked["rank"] == 0)
    return top.select(top_conv=top.conversation_id, top_author_share=top.n / top.total, top_author_is_facilitator=top.by_facilitator)


def _last_author_is_facilitator(joined: ir.Table, per_conversation: ir.Table, facilitators: frozenset[str]) -> ir.Table:
    # The last message is the latest one; among messages at that same moment, the author first
    # in order (NULL authors last), as a row_number over (at desc, author) would pick. A join on
    # the latest moment and a min() do that without sorting every message of every conversation.
    ends = per_conversation.select(end_conv=per_conversation.conversation_id, end_at=per_conversation.last_at)
    at_end = joined.inner_join(ends, (joined.conversation_id == ends.end_conv) & (joined.at == ends.end_at))
    last = at_end.group_by(last_conv=at_end.conversation_id).agg(author=at_end.author.min())
    return last.select(last.last_conv, last_is_facilitator=is_facilitator(last.author, facilitators))
