"""Time and energy invested: what members put into the community, per person, space and week.

Writing and reading time are estimates from word counts at published speeds:

- writing: 19 words per minute, the keyboard *composition* rate measured by Karat et al.,
  "A comparative study of speech recognition and keyboard" (CHI 1999, table 2: composing
  text ran at 19.0 wpm against 32.5 wpm for transcription); composing a reply is composition.
- reading: 238 words per minute, silent reading of English non-fiction in Brysbaert's
  meta-analysis, "How many words do we read per minute?" (J. Memory and Language, 2019).

Reading time is a lower bound: a member is credited only with the words others wrote in a
conversation *before the member's last message in it* (they had to read them to reply). Lurking
is invisible here; the health analysis reports platform read counts where they exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import ibis

from villagegreen.analyses.framework import Analysis, Grain, Inputs, Metric
from villagegreen.analyses.inputs import contributions_with_parents, float_literal, long_rows, people, period_of, union_all

if TYPE_CHECKING:
    import ibis.expr.types as ir

WRITING_WPM = 19.0
READING_WPM = 238.0
# A reaction is a real but small act; a one-word message scores log2(2) = 1, a reaction a quarter.
REACTION_EFFORT = 0.25

SCOPES = (("person", "person_id"), ("space", "space_id"), ("community", None))


class TimeAndEnergy(Analysis):
    name: ClassVar[str] = "activity"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "Time and energy invested"
    summary: ClassVar[str] = "How much members write, read, reply and react, and an effort index that values thoughtful answers."
    needs: ClassVar[tuple[str, ...]] = ("messages", "identities", "spaces", "reactions")
    default_grain: ClassVar[Grain] = "week"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("messages", "messages", "count of member messages", "context", "Messages written (bots and platform notices excluded)."),
        Metric("words", "words", "sum of whitespace-separated tokens", "context", "Words written."),
        Metric("active_days", "days", "distinct UTC dates with a message", "higher", "Days on which the member (or anyone, for a space) wrote."),
        Metric("active_people", "people", "distinct authors", "higher", "People who wrote at least once (spaces and community only)."),
        Metric("conversations_started", "conversations", "messages that open a conversation", "context", "Conversations started."),
        Metric("replies_given", "replies", "replies to someone else's message", "higher", "Replies to other people (answering oneself does not count)."),
        Metric("replies_received", "replies", "replies by others to this member's messages", "higher", "How often others answered this member."),
        Metric("reactions_given", "reactions", "reactions by this member", "context", "Likes, votes and emoji given."),
        Metric("reactions_received", "reactions", "reactions by others to this member's messages", "higher", "Likes, votes and emoji received from others."),
        Metric("minutes_writing", "minutes", f"words / {WRITING_WPM:g} wpm (composition speed, Karat et al. 1999)", "context", "Estimated time spent writing."),
        Metric(
            "minutes_reading",
            "minutes",
            f"words by others before the member's last message in each conversation they joined / {READING_WPM:g} wpm (Brysbaert 2019)",
            "context",
            "Estimated time spent reading what they replied to: a lower bound.",
        ),
        Metric(
            "effort_index",
            "points",
            f"sum over messages of log2(1 + words) + {REACTION_EFFORT} x reactions given",
            "higher",
            "Effort that values a thoughtful 100-word answer (6.7 points) far above a '+1' (1 point), "
            "with diminishing returns so that walls of text do not dominate.",
        ),
    )
    limits: ClassVar[tuple[str, ...]] = (
        "Word counts treat scripts without spaces (Japanese, Chinese) as one word per run of text.",
        "Reading time only counts what was read before replying; lurkers and readers after the last reply are invisible.",
        "Reactions without a known reactor (aggregated counts from some platforms) count as received but not given.",
        "Speeds are population averages; individuals differ by a factor of two or more.",
    )

    def compute(self, inputs: Inputs) -> ir.Table:
        grain = inputs.window.grain
        # Same as with_parent_person on the rows with a person: a parent without one leaves
        # parent_person NULL either way.
        messages = contributions_with_parents(inputs).filter(lambda t: t.person_id.notnull())
        messages = messages.mutate(period=period_of(messages.sent_at, grain))
        written = self._written(messages)
        received = self._replies_received(messages)
        reactions_given, reactions_received = self._reactions(inputs, messages, grain)
        reading = self._reading(messages, grain)
        parts: list[ir.Table] = []
        for scope_kind, column in SCOPES:
            parts.append(self._per_scope(written, received, reactions_given, reactions_received, reading, scope_kind, column))
        return union_all(parts)

    @staticmethod
    def _written(messages: ir.Table) -> ir.Table:
        return messages.mutate(
            is_reply_to_other=(messages.parent_person.notnull() & (messages.parent_person != messages.person_id)).cast("int64"),
            effort=(messages.words + 1).log2(),
            day=messages.sent_at.date(),
        )

    @staticmethod
    def _replies_received(messages: ir.Table) -> ir.Table:
        replies = messages.filter(messages.parent_person.notnull() & (messages.parent_person != messages.person_id))
        # Credited to the person replied to, in the space and period of the reply.
        return replies.select(person_id=replies.parent_person, space_id=replies.space_id, period=replies.period)

    @staticmethod
    def _reactions(inputs: Inputs, messages: ir.Table, grain: Grain) -> tuple[ir.Table, ir.Table]:
        reactions = inputs.tables["reactions"]
        reactors = people(inputs)
        targets = messages.select(message_key=messages.id, author=messages.person_id, space_id=messages.space_id, sent_at=messages.sent_at)
        joined = reactions.inner_join(targets, reactions.message_id == targets.message_key).left_join(reactors, reactions.identity_id == reactors.identity_id)
        joined = joined.mutate(period=period_of(joined.reacted_at.fill_null(joined.sent_at), grain))
        given = joined.filter(joined.person_id.notnull()).select(
            person_id=joined.person_id, space_id=joined.space_id, period=joined.period, count=joined["count"]
        )
        by_others = joined.filter(joined.person_id.isnull() | (joined.person_id != joined.author))
        received = by_others.select(person_id=by_others.author, space_id=by_others.space_id, period=by_others.period, count=by_others["count"])
        return given, received

    @staticmethod
    def _reading(messages: ir.Table, grain: Grain) -> ir.Table:
        last = messages.group_by(["person_id", "conversation_id"]).agg(last_at=messages.sent_at.max(), space_id=messages.space_id.arbitrary())
        others = messages.select(conv=messages.conversation_id, author=messages.person_id, at=messages.sent_at, words=messages.words)
        joined = last.inner_join(others, (last.conversation_id == others.conv) & (others.at < last.last_at) & (others.author != last.person_id))
        per = joined.group_by(["person_id", "conversation_id", "space_id", "last_at"]).agg(words=joined.words.sum())
        return per.select(person_id=per.person_id, space_id=per.space_id, period=period_of(per.last_at, grain), words=per.words)

    @staticmethod
    def _per_scope(
        written: ir.Table,
        received: ir.Table,
        reactions_given: ir.Table,
        reactions_received: ir.Table,
        reading: ir.Table,
        scope_kind: str,
        column: str | None,
    ) -> ir.Table:
        def keys(table: ir.Table) -> list[ir.Value]:
            scope = table[column] if column else ibis.literal(scope_kind)
            return [table.period.name("period"), scope.name("scope")]

        wrote = written.group_by(keys(written)).agg(
            messages=written.count(),
            words=written.words.sum(),
            active_days=written.day.nunique(),
            active_people=written.person_id.nunique(),
            conversations_started=written.is_root.cast("int64").sum(),
            replies_given=written.is_reply_to_other.sum(),
            effort_messages=written.effort.sum(),
        )
        got = received.group_by(keys(received)).agg(replies_received=received.count())
        gave_r = reactions_given.group_by(keys(reactions_given)).agg(reactions_given=reactions_given["count"].sum())
        got_r = reactions_received.group_by(keys(reactions_received)).agg(reactions_received=reactions_received["count"].sum())
        read = reading.group_by(keys(reading)).agg(words_read=reading.words.sum())
        combined = wrote
        for other in (got, gave_r, got_r, read):
            # Outer joins: someone who only reacted in a week still has a row for that week.
            joined = combined.outer_join(other, [combined.period.identical_to(other.period), combined.scope == other.scope])
            combined = joined.mutate(period=joined.period.fill_null(joined.period_right), scope=joined.scope.fill_null(joined.scope_right)).drop(
                "period_right", "scope_right"
            )
        counts = (
            "messages", "words", "active_days", "active_people", "conversations_started", "replies_given", "effort_messages",
            "replies_received", "reactions_given", "reactions_received", "words_read",
        )  # fmt: skip
        combined = combined.mutate(**{name: combined[name].fill_null(0) for name in counts})
        combined = combined.mutate(
            minutes_writing=combined.words.cast("float64") / float_literal(WRITING_WPM),
            minutes_reading=combined.words_read.cast("float64") / float_literal(READING_WPM),
            effort_index=combined.effort_messages + float_literal(REACTION_EFFORT) * combined.reactions_given.cast("float64"),
        )
        metrics = [m.name for m in TimeAndEnergy.metrics if not (scope_kind == "person" and m.name == "active_people")]
        return long_rows(combined, scope_kind=scope_kind, scope=combined.scope, metrics=metrics)
