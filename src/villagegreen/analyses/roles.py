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

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import ibis
import networkx as nx

from villagegreen.analyses.framework import Analysis, Grain, Inputs, Metric, Window
from villagegreen.analyses.inputs import CANONICAL_TABLES, contributions, long_rows, period_of
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
# sample of BETWEENNESS_EXACT_MAX // 3 = 100 sources (seeded, so runs repeat). Measured on the
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
        "Betweenness is estimated from a sample of people above 1,500 people per period.",
    )

    def compute(self, inputs: Inputs) -> ir.Table:
        if "message_acts" not in inputs.tables:
            raise ConfigError("the roles analysis needs dialogue acts: run `villagegreen people roles`, which labels them first")
        posts = _with_acts(inputs)
        evidence = _message_evidence(posts)
        bridged = _spaces_bridged(posts).rename(bridge_period="period", bridge_person="person_id")
        evidence = evidence.left_join(bridged, _same_period(evidence.period, bridged.bridge_period) & (evidence.person_id == bridged.bridge_person))
        evidence = evidence.drop("bridge_period", "bridge_person")
        # Readers who never wrote are people too (observers): an outer join keeps them.
        reads = _reads(inputs).rename(read_period="period", read_person="person_id")
        joined = evidence.outer_join(reads, _same_period(evidence.period, reads.read_period) & (evidence.person_id == reads.read_person))
        per_person = joined.mutate(period=joined.period.fill_null(joined.read_period), person_id=joined.person_id.fill_null(joined.read_person))
        per_person = per_person.drop("read_period", "read_person")
        filled = per_person.mutate(**{name: per_person[name].fill_null(0) for name in _IBIS_METRICS})
        return long_rows(filled, scope_kind="person", scope=filled.person_id, metrics=_IBIS_METRICS)

    def python_rows(self, inputs: Inputs) -> list[dict[str, Any]]:
        return betweenness_rows(inputs)


def _same_period(left: ir.Value, right: ir.Value) -> ir.BooleanValue:
    # Whole-window rows have a NULL period, and NULL never equals NULL in a join.
    return (left == right) | (left.isnull() & right.isnull())


def roles_inputs(store: Store, window: Window, facilitators: frozenset[str] = frozenset(), *, include_private: bool = False) -> Inputs:
    """The canonical tables plus ``message_acts``, for :class:`Roles`."""
    backend = ibis.duckdb.from_connection(store.con)
    tables = {name: backend.table(name) for name in (*CANONICAL_TABLES, "message_acts")}
    return Inputs(tables, window, facilitators, include_private)


def _with_acts(inputs: Inputs) -> ir.Table:
    """Member messages with act, parent and root authors, and whether others replied."""
    messages = contributions(inputs).filter(lambda t: t.person_id.notnull())
    acts = inputs.tables["message_acts"].select(act_key="message_id", act="act")
    posts = messages.left_join(acts, messages.id == acts.act_key).drop("act_key")
    posts = posts.mutate(period=period_of(posts.sent_at, inputs.window.grain), parent_id=ibis.ifelse(posts.is_root, ibis.null("string"),
                         posts.reply_to_id.fill_null(posts.conversation_id)))  # fmt: skip
    authors = posts.select(author_key=posts.id, parent_person=posts.person_id)
    posts = posts.left_join(authors, posts.parent_id == authors.author_key).drop("author_key")
    roots = posts.filter(posts.is_root).select(root_key=posts.id, root_person=posts.person_id)
    posts = posts.left_join(roots, posts.conversation_id == roots.root_key).drop("root_key")
    # A reply by someone else to each message (replies after the window still show uptake).
    everyone = contributions(inputs, windowed=False).filter(lambda t: t.person_id.notnull())
    everyone = everyone.mutate(parent_key=ibis.ifelse(everyone.id == everyone.conversation_id, ibis.null("string"),
                               everyone.reply_to_id.fill_null(everyone.conversation_id)))  # fmt: skip
    replied = posts.join(everyone.select("parent_key", replier=everyone.person_id), posts.id == everyone.parent_key)
    replied = replied.filter(replied.replier != replied.person_id)
    answered = replied.group_by(answered_key=replied.id).agg(replies_from_others=replied.count())
    thanks = _thanked_messages(inputs, everyone)
    posts = posts.left_join(answered.select("answered_key", "replies_from_others"), posts.id == answered.answered_key).drop("answered_key")
    posts = posts.left_join(thanks, posts.id == thanks.thanked_key).drop("thanked_key")
    validations = _validations(inputs)
    return posts.left_join(validations, posts.id == validations.validated_key).drop("validated_key")


def _thanked_messages(inputs: Inputs, everyone: ir.Table) -> ir.Table:
    acts = inputs.tables["message_acts"]
    appreciation = acts.filter(acts.act == "appreciation").select(thanks_key="message_id")
    thanking = everyone.join(appreciation, everyone.id == appreciation.thanks_key)
    parents = everyone.select(target_key=everyone.id, target_person=everyone.person_id)
    thanking = thanking.join(parents, thanking.parent_key == parents.target_key)
    thanking = thanking.filter(thanking.person_id != thanking.target_person)
    return thanking.group_by(thanked_key=thanking.parent_key).agg(thanked_by_reply=thanking.count())


def _validations(inputs: Inputs) -> ir.Table:
    """Per message: accepted (an accept vote, or the platform's accepted/solved mark in meta), reactions that approve."""
    reactions = inputs.tables["reactions"]
    approving = reactions.filter(~reactions.kind.isin(NOT_VALIDATION))
    per_message = approving.group_by(key=approving.message_id).agg(
        approvals=approving["count"].sum(), accept_votes=(approving.kind == "accept").cast("int64").sum()
    )
    messages = inputs.tables["messages"]
    meta = messages.meta.cast("string").fill_null("")
    marked = messages.select(mark_key=messages.id, marked=meta.contains('"accepted":true') | meta.contains('"accepted_answer":true'))
    joined = marked.left_join(per_message, marked.mark_key == per_message.key)
    return joined.select(
        validated_key=joined.mark_key,
        approvals=joined.approvals.fill_null(0),
        accepted=joined.marked | (joined.accept_votes.fill_null(0) > 0),
    )


def _message_evidence(posts: ir.Table) -> ir.Table:
    is_answer = posts.act == "answer"
    validated = is_answer & (posts.accepted.fill_null(False) | (posts.thanked_by_reply.fill_null(0) > 0) | (posts.approvals.fill_null(0) > 0))
    replied_by_others = posts.replies_from_others.fill_null(0) > 0

    def count(condition: ir.BooleanValue) -> ir.IntegerValue:
        return condition.fill_null(False).cast("int64").sum()

    return posts.group_by(["period", "person_id"]).agg(
        messages=posts.count(),
        questions_asked=count(posts.is_root & (posts.act == "question")),
        follow_ups=count(~posts.is_root & (posts.root_person == posts.person_id)),
        thanks_given=count(posts.act == "appreciation"),
        answers_given=count(is_answer),
        answers_validated=count(validated),
        answers_accepted=count(is_answer & posts.accepted.fill_null(False)),
        challenges=count(posts.act == "challenge"),
        challenges_answered=count((posts.act == "challenge") & replied_by_others),
        conversations_started=count(posts.is_root),
        conversations_joined=count(posts.is_root & replied_by_others),
        discussions_joined=count(posts.is_root & (posts.act != "question") & replied_by_others),
        summaries=count(posts.act == "facilitation"),
    )


def _spaces_bridged(posts: ir.Table) -> ir.Table:
    replies = posts.filter(posts.parent_person.notnull() & (posts.parent_person != posts.person_id))
    given = replies.select("period", "space_id", person_id=replies.person_id).distinct()
    received = replies.select(got_period=replies.period, got_space=replies.space_id, got_person=replies.parent_person).distinct()
    both = given.join(
        received, _same_period(given.period, received.got_period) & (given.space_id == received.got_space) & (given.person_id == received.got_person)
    )
    return both.group_by(["period", "person_id"]).agg(spaces_bridged=both.space_id.nunique())


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
    """Betweenness on the undirected reply graph of each period (Python: a network measure)."""
    posts = _with_acts(inputs)
    replies = posts.filter(posts.parent_person.notnull() & (posts.parent_person != posts.person_id))
    edges = replies.group_by(["period", "person_id", "parent_person"]).agg(n=replies.count())
    graphs: dict[datetime | None, nx.Graph[str]] = defaultdict(nx.Graph)
    for edge in edges.to_pyarrow().to_pylist():
        graphs[edge["period"]].add_edge(edge["person_id"], edge["parent_person"])
    rows: list[dict[str, Any]] = []
    for period, graph in graphs.items():
        sample = None if graph.number_of_nodes() <= BETWEENNESS_EXACT_MAX else BETWEENNESS_EXACT_MAX // 3
        scores = nx.betweenness_centrality(graph, k=sample, normalized=True, seed=0)
        rows.extend(
            {"period_start": period, "scope_kind": "person", "scope_id": person, "metric": "reply_betweenness", "value": float(score)}
            for person, score in scores.items()
            if score > 0
        )
    return rows
