"""Roles: the evidence, per person and period, that somebody acted as expert, learner, challenger,
leader, connector or observer.

This analysis stores only evidence counts (one number per person, period and metric, in the
long layout); turning them into role scores, a dominant role per period and role flex is done
on read, on these small aggregates (analyses/roles_profiles.py), so the weights can be shown
next to the counts that feed them.

It reads the dialogue acts of ``message_acts`` (analyses/acts_store.py): label the store
first (``label_store``), and give this analysis the table with :func:`roles_inputs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from villagegreen.analyses.framework import Analysis, Grain, Inputs, Metric, Window
from villagegreen.analyses.inputs import CANONICAL_TABLES, contributions, long_rows, period_of, union_all
from villagegreen.analyses.roles_betweenness import UndirectedGraph, betweenness
from villagegreen.errors import ConfigError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from villagegreen.store.database import Store

# Reaction kinds that are bookkeeping or disapproval, not an asker or reader validating a post
# (Stack Exchange vote types); every other kind (like, upvote, accept, emoji) counts.
NOT_VALIDATION = ("downvote", "offensive", "spam", "close", "reopen", "deletion", "undeletion", "moderator_review",
                  "approve_edit_suggestion", "inform_moderator", "bounty_start", "bounty_close")  # fmt: skip
# Event kinds that record a person reading (where a platform exports them).
READ_EVENTS = ("read", "view", "seen")
# Exact betweenness is O(V*E); above this many people in a period it is estimated from a fixed
# sample of BETWEENNESS_EXACT_MAX // 3 = 100 sources (seeded, drawn from the people in sorted
# order, so runs repeat; see roles_betweenness.py). Measured with networkx on the
# largest monthly graph of a 100k-message synthetic Slack store (547 people, 1,443 pairs): the
# estimate's Spearman correlation with exact betweenness 0.988, top-20 overlap 17/20, at 1/7 of
# the CPU; roles on that store went from 50.3 to 22.7 CPU-s (threshold 1,500 before).
BETWEENNESS_EXACT_MAX = 300

_M = Metric
METRICS: tuple[Metric, ...] = (
    _M("messages", "messages", "member messages", "context", "Messages written in the period."),
    _M("questions_asked", "questions", "conversations opened with act question", "context", "Learner evidence: questions asked."),
    _M("follow_ups", "messages", "replies by the asker in their own question thread", "context", "Learner evidence: staying with one's question."),
    _M("thanks_given", "messages", "messages with act appreciation", "context", "Learner evidence: thanking others."),
    _M("answers_given", "messages", "messages with act answer", "context", "Expert evidence: answers written."),
    _M("answers_validated", "messages", "answers accepted, thanked by a reply or reacted to by others", "higher",
       "Expert evidence: answers that others validated."),
    _M("answers_accepted", "messages", "answers the platform marks accepted or solved", "higher", "Expert evidence: accepted answers."),
    _M("challenges", "messages", "messages with act challenge", "context", "Challenger evidence: disagreements voiced."),
    _M("challenges_answered", "messages", "challenges that drew a reply from someone else", "context",
       "Challenger evidence: disagreements that started a discussion (constructive)."),
    _M("conversations_started", "conversations", "conversations opened", "context", "Leader evidence: conversations started."),
    _M("conversations_joined", "conversations", "conversations opened that someone else replied to", "higher",
       "Leader evidence: conversations others joined."),
    _M("discussions_joined", "conversations", "conversations opened that are not questions and that someone else replied to", "higher",
       "Leader evidence: discussions (not help requests) that drew others in."),
    _M("summaries", "messages", "messages with act facilitation (summarising, inviting, redirecting)", "context", "Leader evidence: facilitation."),
    _M("spaces_bridged", "spaces", "spaces where the person both replied to others and was replied to", "context",
       "Connector evidence: spaces the person links."),
    _M("reply_betweenness", "share", "betweenness centrality on the undirected who-replies-to-whom graph (0-1)", "context",
       "Connector evidence: how often the person sits on the shortest path between two others."),
    _M("reads", "events", f"events of kind {', '.join(READ_EVENTS)}", "context", "Observer evidence: reads, where the platform exports them."),
)  # fmt: skip
_IBIS_METRICS = [m.name for m in METRICS if m.name != "reply_betweenness"]


class Roles(Analysis):
    name: ClassVar[str] = "roles"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "Roles and role flex"
    summary: ClassVar[str] = "Evidence per person and period of acting as expert, learner, challenger, leader, connector or observer."
    needs: ClassVar[tuple[str, ...]] = ("messages", "identities", "spaces", "reactions", "events", "message_acts")
    default_grain: ClassVar[Grain] = "month"
    metrics: ClassVar[tuple[Metric, ...]] = METRICS
    limits: ClassVar[tuple[str, ...]] = (
        "Acts come from rules over English text (see acts.md); a wrong act moves evidence between roles.",
        "Validation by reactions counts any positive reaction from anyone, not only the asker's.",
        "Observers are only visible where the platform exports per-person reads; none of the archives do.",
        "Betweenness is estimated from a sample of 100 people above 300 people per period.",
    )

    def compute(self, inputs: Inputs) -> ir.Table:
        if "message_acts" not in inputs.tables:
            raise ConfigError("the roles analysis needs dialogue acts: run `villagegreen people roles`, which labels them first")
        members = _members(inputs)
        evidence = _evidence(_with_acts(inputs, members, _with_parent_person(members)))
        # Readers who never wrote are people too (observers). Rows from both summed per person: a
        # GROUP BY treats the whole window's NULL period as one value, where an outer join on it
        # needs an OR that DuckDB runs as a nested loop.
        parts = [evidence, _reads(inputs)]
        widened = [part.select("period", "person_id", *(_as_count(part, name) for name in _IBIS_METRICS)) for part in parts]
        everything = union_all(widened)
        per_person = everything.group_by(["period", "person_id"]).agg(**{name: everything[name].sum() for name in _IBIS_METRICS})
        return long_rows(per_person, scope_kind="person", scope=per_person.person_id, metrics=_IBIS_METRICS)

    def python_rows(self, inputs: Inputs) -> list[dict[str, Any]]:
        return betweenness_rows(inputs)


def _as_count(part: ir.Table, name: str) -> ir.IntegerValue:
    return (part[name] if name in part.columns else ibis.literal(0)).cast("int64").name(name)


def roles_inputs(store: Store, window: Window, facilitators: frozenset[str] = frozenset(), *, include_private: bool = False) -> Inputs:
    """The canonical tables plus ``message_acts``, for :class:`Roles`."""
    backend = ibis.duckdb.from_connection(store.con)
    tables = {name: backend.table(name) for name in (*CANONICAL_TABLES, "message_acts")}
    return Inputs(tables, window, facilitators, include_private)


# A table used in two places is computed twice (ibis writes it out each time). So each step
# below starts from the narrow member messages, never from a table that already joined them to
# themselves: the query then grows with the number of steps instead of doubling at each.


def _members(inputs: Inputs) -> ir.Table:
    """Member messages in the window, only the columns roles need, with period and parent id."""
    messages = contributions(inputs).filter(lambda t: t.person_id.notnull())
    return messages.select(
        "id", "conversation_id", "space_id", "person_id", "is_root",
        period=period_of(messages.sent_at, inputs.window.grain),
        parent_id=ibis.ifelse(messages.is_root, ibis.null("string"), messages.reply_to_id.fill_null(messages.conversation_id)),
    )  # fmt: skip


def _with_parent_person(members: ir.Table) -> ir.Table:
    """Adds who wrote the parent (NULL when the parent is not a member message in the window)."""
    authors = members.select(author_key=members.id, parent_person=members.person_id)
    return members.left_join(authors, members.parent_id == authors.author_key).drop("author_key")


def _replies(authored: ir.Table) -> ir.Table:
    """Replies to somebody else: the edges of the reply graph."""
    return authored.filter(authored.parent_person.notnull() & (authored.parent_person != authored.person_id))


def _with_acts(inputs: Inputs, members: ir.Table, authored: ir.Table) -> ir.Table:
    """Member messages with act, root author, replies from others, thanks and validations."""
    acts = inputs.tables["message_acts"].select(act_key="message_id", act="act")
    posts = authored.left_join(acts, authored.id == acts.act_key).drop("act_key")
    roots = members.filter(members.is_root).select(root_key=members.id, root_person=members.person_id)
    posts = posts.left_join(roots, posts.conversation_id == roots.root_key).drop("root_key")
    # A reply by someone else to each message (replies after the window still show uptake).
    everyone = contributions(inputs, windowed=False).filter(lambda t: t.person_id.notnull())
    everyone = everyone.select("id", "person_id", parent_key=ibis.ifelse(everyone.id == everyone.conversation_id, ibis.null("string"),
                               everyone.reply_to_id.fill_null(everyone.conversation_id)))  # fmt: skip
    targets = members.select(target_id=members.id, target_person=members.person_id)
    replied = everyone.join(targets, everyone.parent_key == targets.target_id)
    replied = replied.filter(replied.person_id != replied.target_person)
    answered = replied.group_by(answered_key=replied.target_id).agg(replies_from_others=replied.count())
    thanks = _thanked_messages(inputs, everyone)
    posts = posts.left_join(answered, posts.id == answered.answered_key).drop("answered_key")
    posts = posts.left_join(thanks, posts.id == thanks.thanked_key).drop("thanked_key")
    validations = _validations(inputs)
    return posts.left_join(validations, posts.id == validations.validated_key).drop("validated_key")


def _thanked_messages(inputs: Inputs, everyone: ir.Table) -> ir.Table:
    acts = inputs.tables["message_acts"]
    appreciation = acts.filter(acts.act == "appreciation").message_id
    # A filter, not a join: the few thanks are found first, then their parents are looked up.
    thanking = everyone.filter(everyone.id.isin(appreciation))
    parents = everyone.select(target_key=everyone.id, target_person=everyone.person_id)
    thanking = thanking.join(parents, thanking.parent_key == parents.target_key)
    thanking = thanking.filter(thanking.person_id != thanking.target_person)
    return thanking.group_by(thanked_key=thanking.parent_key).agg(thanked_by_reply=thanking.count())


def _validations(inputs: Inputs) -> ir.Table:
    """Per answer: accepted (an accept vote, or the platform's accepted/solved mark in meta), reactions that approve.

    Only answers: validation is evidence for answers alone (``_evidence``), and the few answers
    make this a small table to join to every message.
    """
    reactions = inputs.tables["reactions"]
    approving = reactions.filter(~reactions.kind.isin(NOT_VALIDATION))
    per_message = approving.group_by(key=approving.message_id).agg(
        approvals=approving["count"].sum(), accept_votes=(approving.kind == "accept").cast("int64").sum()
    )
    acts = inputs.tables["message_acts"]
    messages = inputs.tables["messages"]
    answers = messages.filter(messages.id.isin(acts.filter(acts.act == "answer").message_id))
    meta = answers.meta.cast("string").fill_null("")
    marked = answers.select(mark_key=answers.id, marked=meta.contains('"accepted":true') | meta.contains('"accepted_answer":true'))
    joined = marked.left_join(per_message, marked.mark_key == per_message.key)
    return joined.select(
        validated_key=joined.mark_key,
        approvals=joined.approvals.fill_null(0),
        accepted=joined.marked | (joined.accept_votes.fill_null(0) > 0),
    )


def _evidence(posts: ir.Table) -> ir.Table:
    """The evidence counts per period and person, spaces bridged included, in one pass.

    Each reply to somebody else is counted twice: once for its author (who replied in that
    space) and once for the parent's author (who was replied to there). Summed per space, then
    per person; a space is bridged where both happened.
    """
    is_answer = posts.act == "answer"
    replied_by_others = posts.replies_from_others.fill_null(0) > 0
    to_other = posts.parent_person.notnull() & (posts.parent_person != posts.person_id)
    flags = {
        "questions_asked": posts.is_root & (posts.act == "question"),
        "follow_ups": ~posts.is_root & (posts.root_person == posts.person_id),
        "thanks_given": posts.act == "appreciation",
        "answers_given": is_answer,
        "answers_validated": is_answer & (posts.accepted.fill_null(False) | (posts.thanked_by_reply.fill_null(0) > 0) | (posts.approvals.fill_null(0) > 0)),
        "answers_accepted": is_answer & posts.accepted.fill_null(False),
        "challenges": posts.act == "challenge",
        "challenges_answered": (posts.act == "challenge") & replied_by_others,
        "conversations_started": posts.is_root,
        "conversations_joined": posts.is_root & replied_by_others,
        "discussions_joined": posts.is_root & (posts.act != "question") & replied_by_others,
        "summaries": posts.act == "facilitation",
        "gave": to_other,
    }
    other = ibis.ifelse(to_other.fill_null(False), posts.parent_person, ibis.null("string"))
    flagged = posts.select(
        "period",
        "space_id",
        "person_id",
        sides=ibis.array([posts.person_id, other]),
        **{name: flag.fill_null(False).cast("int64") for name, flag in flags.items()},  # 0/1, summed below
    )
    rows = flagged.mutate(who=flagged.sides.unnest()).drop("sides")
    rows = rows.filter(rows.who.notnull())
    own = (rows.who == rows.person_id).cast("int64")  # the row of the author's own message
    counted = [name for name in flags if name != "gave"]
    per_space = rows.group_by(["period", "who", "space_id"]).agg(
        messages=own.sum(), gave=(own * rows.gave).max(), got=(1 - own).max(), **{name: (own * rows[name]).sum() for name in counted}
    )
    per_person = per_space.group_by(["period", "who"]).agg(
        messages=per_space.messages.sum(), spaces_bridged=(per_space.gave * per_space.got).sum(), **{name: per_space[name].sum() for name in counted}
    )
    # Someone only replied to in a period, who wrote nothing in it, has no evidence there.
    return per_person.filter(per_person.messages > 0).rename(person_id="who")


def _reads(inputs: Inputs) -> ir.Table:
    events = inputs.tables["events"]
    identities = inputs.tables["identities"]
    reads = events.filter(events.kind.isin(READ_EVENTS))
    window = inputs.window
    if window.since is not None:
        reads = reads.filter(reads.occurred_at >= window.since)
    if window.until is not None:
        reads = reads.filter(reads.occurred_at < window.until)
    readers = identities.select(reader_key=identities.id, person_id=identities.person_id)
    joined = reads.join(readers, reads.identity_id == readers.reader_key)
    joined = joined.mutate(period=period_of(joined.occurred_at, window.grain))
    return joined.group_by(["period", "person_id"]).agg(reads=joined.count())


def betweenness_rows(inputs: Inputs) -> list[dict[str, Any]]:
    """Betweenness on the undirected reply graph of each period (roles_betweenness.py)."""
    replies = _replies(_with_parent_person(_members(inputs)))
    pairs = replies.select("period", "person_id", "parent_person").distinct().to_pyarrow()
    rows: list[dict[str, Any]] = []
    for period, left, right in _pairs_by_period(pairs):
        people, ends = np.unique(np.concatenate([left, right]), return_inverse=True)
        graph = UndirectedGraph(len(people), ends[: len(left)], ends[len(left) :])
        scores = betweenness(graph, exact_max=BETWEENNESS_EXACT_MAX)
        rows.extend(
            {"period_start": period, "scope_kind": "person", "scope_id": str(person), "metric": "reply_betweenness", "value": float(score)}
            for person, score in zip(people.tolist(), scores.tolist(), strict=True)
            if score > 0
        )
    return rows


def _pairs_by_period(pairs: pa.Table) -> Iterator[tuple[datetime | None, npt.NDArray[np.str_], npt.NDArray[np.str_]]]:
    """(period, authors, parents' authors) per period; one period (NULL) for the whole window."""
    periods = pairs.column("period")
    for period in pc.unique(periods).to_pylist():
        chosen = pairs.filter(pc.is_null(periods) if period is None else pc.equal(periods, pa.scalar(period, periods.type)))
        yield period, _strings(chosen.column("person_id")), _strings(chosen.column("parent_person"))


def _strings(column: pa.ChunkedArray) -> npt.NDArray[np.str_]:
    return np.asarray(column.to_pylist(), dtype=np.str_)
