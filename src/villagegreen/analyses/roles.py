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

from typing import TYPE_CHECKING, Any, ClassVar

import ibis

from villagegreen.analyses.framework import Analysis, Grain, Inputs, Metric, Shared, Window
from villagegreen.analyses.inputs import CANONICAL_TABLES, contributions, long_rows, period_of, shared_key, union_all
from villagegreen.analyses.roles_betweenness import UndirectedGraph, betweenness, periods_graphs
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
# The metrics that are a count of flagged messages (see _flags).
_FLAGS = tuple(name for name in _IBIS_METRICS if name not in ("messages", "spaces_bridged", "reads"))
# Inputs.shared key of the per-message evidence flags (_posts).
ROLES_POSTS = "roles_posts"


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
        posts = _dated(_posts(inputs), inputs.window.grain)
        # Readers who never wrote are people too (observers). Rows of all parts summed per person:
        # a GROUP BY treats the whole window's NULL period as one value, where an outer join on it
        # needs an OR that DuckDB runs as a nested loop.
        parts = [_evidence(posts), _spaces_bridged(posts), _reads(inputs)]
        widened = [part.select("period", "person_id", *(_as_count(part, name) for name in _IBIS_METRICS)) for part in parts]
        everything = union_all(widened)
        per_person = everything.group_by(["period", "person_id"]).agg(**{name: everything[name].sum() for name in _IBIS_METRICS})
        return long_rows(per_person, scope_kind="person", scope=per_person.person_id, metrics=_IBIS_METRICS)

    def python_rows(self, inputs: Inputs) -> list[dict[str, Any]]:
        return betweenness_rows(inputs)


def _as_count(part: ir.Table, name: str) -> ir.IntegerValue:
    return (part[name] if name in part.columns else ibis.literal(0)).cast("int64").name(name)


def roles_inputs(
    store: Store, window: Window, facilitators: frozenset[str] = frozenset(), *, include_private: bool = False, shared: Shared | None = None
) -> Inputs:
    """The canonical tables plus ``message_acts``, for :class:`Roles`.

    Pass one materialising ``shared`` to the runs of both grains so that the per-message flags
    are computed once (without it each query recomputes them, twice per grain).
    """
    backend = ibis.duckdb.from_connection(store.con)
    tables = {name: backend.table(name) for name in (*CANONICAL_TABLES, "message_acts")}
    return Inputs(tables, window, facilitators, include_private, shared or Shared())


# A table used in two places is computed twice (ibis writes it out each time). So each step
# below starts from the narrow member messages, never from a table that already joined them to
# themselves: the query then grows with the number of steps instead of doubling at each.


def _posts(inputs: Inputs) -> ir.Table:
    """One row per member message in the window: ``sent_at``, ``space_id``, ``person_id``,
    ``other`` (the author of the parent when that is somebody else, else NULL) and one boolean
    per evidence flag (:data:`_FLAGS`).

    The joins that find parents, roots, acts, replies and validations are the costly part of
    roles and do not depend on the grain: the runner keeps this table once per run
    (``Inputs.shared``) for both grains and the betweenness pairs.
    """

    def build() -> ir.Table:
        members = _members(inputs)
        return _flags(_with_acts(inputs, members, _with_parent_person(members)))

    return inputs.shared.get(shared_key(ROLES_POSTS, inputs), build)


def _dated(posts: ir.Table, grain: Grain) -> ir.Table:
    return posts.mutate(period=period_of(posts.sent_at, grain))


def _members(inputs: Inputs) -> ir.Table:
    """Member messages in the window, only the columns roles need, with the parent id."""
    messages = contributions(inputs).filter(lambda t: t.person_id.notnull())
    return messages.select(
        "id", "conversation_id", "space_id", "person_id", "is_root", "sent_utc",
        parent_id=ibis.ifelse(messages.is_root, ibis.null("string"), messages.reply_to_id.fill_null(messages.conversation_id)),
    )  # fmt: skip


def _with_parent_person(members: ir.Table) -> ir.Table:
    """Adds who wrote the parent (NULL when the parent is not a member message in the window)."""
    authors = members.select(author_key=members.id, parent_person=members.person_id)
    return members.left_join(authors, members.parent_id == authors.author_key).drop("author_key")


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


def _flags(posts: ir.Table) -> ir.Table:
    """Per message, which evidence it is (see :func:`_posts`)."""
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
    }
    return posts.select(
        # Without the time zone (the store's sessions are UTC, see store/database.py): truncating
        # a plain timestamp to the month is a fraction of the calendar work a TIMESTAMPTZ needs
        # (at 1M messages 4 of the 6 CPU-s of the monthly sums went to that), same periods. The
        # shared member messages carry it converted once (inputs.contribution_history).
        sent_at=posts.sent_utc,
        space_id=posts.space_id,
        person_id=posts.person_id,
        other=ibis.ifelse(to_other.fill_null(False), posts.parent_person, ibis.null("string")),
        **{name: flag.fill_null(False) for name, flag in flags.items()},
    )


def _evidence(posts: ir.Table) -> ir.Table:
    """The evidence counts per period and person: messages and the sum of each flag."""
    return posts.group_by(["period", "person_id"]).agg(messages=posts.count(), **{name: posts[name].cast("int64").sum() for name in _FLAGS})


def _spaces_bridged(posts: ir.Table) -> ir.Table:
    """Spaces where the person both replied to somebody else and was replied to, per period.

    Each reply to somebody else is one side for its author (gave) and one for the parent's
    author (got); a space with both sides for a person is bridged. A union and GROUP BY, not a
    join, so that the whole window's NULL period matches itself.
    """
    replies = posts.filter(posts.other.notnull())
    gave = replies.select("period", "space_id", who=replies.person_id, side=ibis.literal(1)).distinct()
    got = replies.select("period", "space_id", who=replies.other, side=ibis.literal(2)).distinct()
    sides = gave.union(got, distinct=False)
    per_space = sides.group_by(["period", "who", "space_id"]).agg(sides=sides.count())
    both = per_space.filter(per_space.sides == 2)
    return both.group_by(["period", "who"]).agg(spaces_bridged=both.count()).rename(person_id="who")


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
    posts = _dated(_posts(inputs), inputs.window.grain)
    replies = posts.filter(posts.other.notnull())
    pairs = replies.select("period", "person_id", parent_person=replies.other).distinct().to_pyarrow()
    rows: list[dict[str, Any]] = []
    for period, people, left, right in periods_graphs(pairs):
        graph = UndirectedGraph(len(people), left, right)
        scores = betweenness(graph, exact_max=BETWEENNESS_EXACT_MAX)
        rows.extend(
            {"period_start": period, "scope_kind": "person", "scope_id": person, "metric": "reply_betweenness", "value": score}
            for person, score in zip(people, scores.tolist(), strict=True)
            if score > 0
        )
    return rows
