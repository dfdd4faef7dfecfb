"""Facilitation balance: do members carry the conversation, or do facilitators steer it?

Good direction throughout: members carry the conversation. A facilitator who answers every
question first, opens most conversations and has the last word is running a lecture, however
well meant. Facilitators come from configuration (see villagegreen.config); without any, the
facilitator shares are not reported and a hint says how to declare them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import ibis

from villagegreen.analyses.conversation_facts import conversation_facts, is_facilitator
from villagegreen.analyses.framework import Analysis, Finding, Grain, Inputs, Metric
from villagegreen.analyses.inputs import MODERATION_KINDS, contributions, float_literal, long_rows, period_of, union_all

if TYPE_CHECKING:
    import ibis.expr.types as ir

LECTURE_MIN_MESSAGES = 5
LECTURE_TOP_SHARE = 0.70
SCOPES: tuple[tuple[str, str | None], ...] = (("space", "space_id"), ("community", None))
FACILITATOR_METRICS = (
    "facilitator_message_share",
    "facilitator_reply_share",
    "facilitator_started_share",
    "facilitator_first_reply_share",
    "facilitator_last_word_share",
    "facilitator_lectures",
)


class Facilitation(Analysis):
    name: ClassVar[str] = "facilitation"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "Facilitation balance"
    summary: ClassVar[str] = (
        "How much of the talk comes from facilitators: pull (members start) versus push (facilitators start), first and last words, lectures."
    )
    needs: ClassVar[tuple[str, ...]] = ("messages", "identities", "spaces", "conversations")
    default_grain: ClassVar[Grain] = "month"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("facilitator_message_share", "share", "messages by facilitators / messages", "lower", "How much of the talk is the facilitators'."),
        Metric("facilitator_reply_share", "share", "replies by facilitators / replies", "lower", "Who answers: facilitators or members."),
        Metric(
            "facilitator_started_share",
            "share",
            "conversations opened by facilitators / conversations (push; the rest is pull)",
            "lower",
            "Push (facilitators start) versus pull (members start).",
        ),
        Metric(
            "facilitator_first_reply_share",
            "share",
            "member-opened conversations whose first reply is a facilitator's / member-opened conversations with a reply",
            "lower",
            "Facilitators jumping in before members can.",
        ),
        Metric(
            "facilitator_last_word_share",
            "share",
            "conversations with replies whose last message is a facilitator's / those conversations",
            "lower",
            "Facilitators closing conversations.",
        ),
        Metric(
            "lecture_conversations",
            "conversations",
            f"conversations with {LECTURE_MIN_MESSAGES}+ messages, 2+ participants and one author writing {LECTURE_TOP_SHARE:.0%}+ of them",
            "lower",
            "One voice dominates, the others barely reply.",
        ),
        Metric("facilitator_lectures", "conversations", "lecture conversations whose dominant voice is a facilitator", "lower", "Facilitators lecturing."),
        Metric(
            "moderator_actions_per_1000",
            "actions",
            "platform-recorded moderator actions x 1000 / member messages",
            "context",
            "How heavy-handed moderation is (where the platform records it).",
        ),
    )
    limits: ClassVar[tuple[str, ...]] = (
        "Facilitators must be declared; platform staff flags are only a hint.",
        "A long answer split over several messages looks like a lecture.",
        "Moderator actions exist only where the platform records them (Discourse).",
    )

    def compute(self, inputs: Inputs) -> ir.Table:
        grain = inputs.window.grain
        facts = conversation_facts(inputs)
        facts = facts.mutate(period=period_of(facts.opened_at, grain))
        messages = contributions(inputs)
        messages = messages.mutate(period=period_of(messages.sent_utc, grain), by_facilitator=is_facilitator(messages.person_id, inputs.facilitators))
        moderation = self._moderation(inputs, grain)
        declared = bool(inputs.facilitators)
        parts = []
        for scope_kind, column in SCOPES:
            parts.append(self._per_scope(facts, messages, moderation, scope_kind, column, declared))
        return union_all(parts)

    def findings(self, inputs: Inputs, rows: list[dict[str, Any]]) -> list[Finding]:
        if inputs.facilitators:
            return []
        return [
            Finding(
                "hint", "community", "community", "info",
                "no facilitators are declared, so facilitator shares are not measured; "
                "list them under [[facilitators]] in villagegreen.toml (see docs/analyses/facilitation.md)",
            )
        ]  # fmt: skip

    @staticmethod
    def _moderation(inputs: Inputs, grain: Grain) -> ir.Table:
        messages = inputs.tables["messages"]
        spaces = inputs.tables["spaces"]
        joined = messages.inner_join(spaces.select(space_key=spaces.id, private=spaces.private), messages.space_id == spaces.id)
        keep = joined.kind.isin(MODERATION_KINDS)
        if not inputs.include_private:
            keep &= ~joined.private
        if inputs.window.since is not None:
            keep &= joined.sent_at >= inputs.window.since
        if inputs.window.until is not None:
            keep &= joined.sent_at < inputs.window.until
        actions = joined.filter(keep)
        return actions.select(space_id=actions.space_id, period=period_of(actions.sent_at, grain))

    @staticmethod
    def _per_scope(facts: ir.Table, messages: ir.Table, moderation: ir.Table, scope_kind: str, column: str | None, declared: bool) -> ir.Table:
        def scoped(table: ir.Table) -> ir.Table:
            return table.mutate(scope=table[column] if column else ibis.literal(scope_kind))

        f = scoped(facts)
        lecture = (f.messages >= LECTURE_MIN_MESSAGES) & (f.participants >= 2) & (f.top_author_share >= LECTURE_TOP_SHARE)
        member_opened_answered = ~f.opener_is_facilitator & f.first_other_at.notnull()
        facilitator_first = f.first_other_at.notnull() & (f.first_member_at.isnull() | (f.first_other_at < f.first_member_at))
        has_replies = f.messages > 1
        conversations = f.group_by(["period", "scope"]).agg(
            facilitator_started_share=f.opener_is_facilitator.cast("float64").mean(),
            facilitator_first_reply_share=(facilitator_first & member_opened_answered).cast("float64").sum()
            / member_opened_answered.cast("float64").sum().nullif(0),
            facilitator_last_word_share=(f.last_is_facilitator & has_replies).cast("float64").sum() / has_replies.cast("float64").sum().nullif(0),
            lecture_conversations=lecture.cast("int64").sum(),
            facilitator_lectures=(lecture & f.top_author_is_facilitator).cast("int64").sum(),
        )
        m = scoped(messages)
        written = m.group_by(["period", "scope"]).agg(
            member_messages=m.count(),
            facilitator_message_share=m.by_facilitator.cast("float64").mean(),
            facilitator_reply_share=(m.by_facilitator & ~m.is_root).cast("float64").sum() / (~m.is_root).cast("float64").sum().nullif(0),
        )
        mod = scoped(moderation)
        actions = mod.group_by(["period", "scope"]).agg(actions=mod.count())
        joined = written.left_join(actions, [written.period.identical_to(actions.period), written.scope == actions.scope])
        written = joined.select(
            "period", "scope", "facilitator_message_share", "facilitator_reply_share",
            moderator_actions_per_1000=float_literal(1000.0) * joined.actions.fill_null(0).cast("float64") / joined.member_messages,
        )  # fmt: skip
        share_metrics = ["facilitator_message_share", "facilitator_reply_share"] if declared else []
        conversation_metrics = ["lecture_conversations"]
        if declared:
            conversation_metrics += [name for name in FACILITATOR_METRICS if name in conversations.columns]
        return union_all(
            [
                long_rows(written, scope_kind=scope_kind, scope=written.scope, metrics=[*share_metrics, "moderator_actions_per_1000"]),
                long_rows(conversations, scope_kind=scope_kind, scope=conversations.scope, metrics=conversation_metrics),
            ]
        )
