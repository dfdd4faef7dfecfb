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
from villagegreen.analyses.inputs import contributions_with_parents, float_literal, long_rows, people, period_of, shared_key, union_all

if TYPE_CHECKING:
    import ibis.expr.types as ir

WRITING_WPM = 19.0
READING_WPM = 238.0
# A reaction is a real but small act; a one-word message scores log2(2) = 1, a reaction a quarter.
REACTION_EFFORT = 0.25
# Each message's log2(1 + words) is rounded to a whole number of billionths before it is summed:
# integer sums do not depend on the order the engine adds rows in (DuckDB's parallel float sums
# did, so effort_index differed in its last bit between runs), and the index is then one exact
# division per row. The rounding moves a sum by at most half a billionth per message.
EFFORT_UNITS_PER_POINT = 1_000_000_000

SCOPES = (("person", "person_id"), ("space", "space_id"), ("community", None))
# The shared per-day table (see TimeAndEnergy.daily): its keys and its summable counts.
ACTIVITY_DAYS = "activity_days"
_DAY_KEYS = ("person_id", "space_id", "day")
_DAY_COUNTS = (
    "messages", "words", "conversations_started", "replies_given", "effort_units",
    "replies_received", "reactions_given", "reactions_received", "words_read",
)  # fmt: skip


class TimeAndEnergy(Analysis):
    name: ClassVar[str] = "activity"
    # 2 (session 6): words are split on Unicode whitespace (a no-break space separates words;
    # counted at import, store/word_count.py) and effort_index is summed in fixed point.
    version: ClassVar[str] = "2"
    title: ClassVar[str] = "Time and energy invested"
    summary: ClassVar[str] = "How much members write, read, reply and react, and an effort index that values thoughtful answers."
    needs: ClassVar[tuple[str, ...]] = ("messages", "identities", "spaces", "reactions")
    default_grain: ClassVar[Grain] = "week"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("messages", "messages", "count of member messages", "context", "Messages written (bots and platform notices excluded)."),
        Metric("words", "words", "sum of words per message (runs between Unicode whitespace)", "context", "Words written."),
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
        days = inputs.shared.get(shared_key(ACTIVITY_DAYS, inputs), lambda: self.daily(inputs))
        days = days.mutate(period=period_of(days.day, grain))
        return union_all([self._per_scope(days, scope_kind, column) for scope_kind, column in SCOPES])

    @classmethod
    def daily(cls, inputs: Inputs) -> ir.Table:
        """Every count of the analysis per (person, space, UTC day): one table for every grain.

        Weeks, months and the whole window are sums of days (plus distinct days and people),
        so the joins and word sums run once per run instead of once per grain. ``day`` is the
        start of the day (a timestamp): its week or month is the week or month of every
        moment in it. ``wrote`` marks the rows with a message, for the distinct counts.
        """
        # Same as with_parent_person on the rows with a person: a parent without one leaves
        # parent_person NULL either way.
        messages = contributions_with_parents(inputs).filter(lambda t: t.person_id.notnull())
        messages = messages.mutate(day=messages.sent_utc.truncate("D"))
        parts = [
            cls._written(messages),
            cls._replies_received(messages),
            *cls._reactions(inputs, messages),
            cls._reading(messages),
        ]
        rows = union_all(
            [part.select(*_DAY_KEYS, **{name: part[name] if name in part.columns else ibis.literal(0, type="int64") for name in _DAY_COUNTS}) for part in parts]
        )
        days = rows.group_by(list(_DAY_KEYS)).agg(**{name: rows[name].sum() for name in _DAY_COUNTS})
        return days.mutate(wrote=days.messages > 0)

    @staticmethod
    def _written(messages: ir.Table) -> ir.Table:
        """One row per message: not summed per day here, because nearly every message is its
        author's only one in that space that day (1M messages, 840k such days); the sums over
        all parts (daily) add them up once."""
        is_reply_to_other = messages.parent_person.notnull() & (messages.parent_person != messages.person_id)
        return messages.select(
            *_DAY_KEYS,
            messages=ibis.literal(1, type="int64"),
            words=messages.words,
            conversations_started=messages.is_root.cast("int64"),
            replies_given=is_reply_to_other.cast("int64"),
            effort_units=_effort_units(messages.words),
        )

    @staticmethod
    def _replies_received(messages: ir.Table) -> ir.Table:
        replies = messages.filter(messages.parent_person.notnull() & (messages.parent_person != messages.person_id))
        # Credited to the person replied to, in the space and day of the reply.
        credited = replies.select(person_id=replies.parent_person, space_id=replies.space_id, day=replies.day)
        return credited.group_by(list(_DAY_KEYS)).agg(replies_received=credited.count())

    @staticmethod
    def _reactions(inputs: Inputs, messages: ir.Table) -> tuple[ir.Table, ir.Table]:
        reactions = inputs.tables["reactions"]
        reactors = people(inputs)
        targets = messages.select(message_key=messages.id, author=messages.person_id, space_id=messages.space_id, sent_at=messages.sent_at)
        joined = reactions.inner_join(targets, reactions.message_id == targets.message_key).left_join(reactors, reactions.identity_id == reactors.identity_id)
        joined = joined.mutate(day=_day(joined.reacted_at.fill_null(joined.sent_at)))
        given = joined.filter(joined.person_id.notnull())
        given = given.group_by([given.person_id, given.space_id, given.day]).agg(reactions_given=given["count"].sum())
        by_others = joined.filter(joined.person_id.isnull() | (joined.person_id != joined.author))
        received = by_others.group_by([by_others.author.name("person_id"), by_others.space_id, by_others.day]).agg(reactions_received=by_others["count"].sum())
        return given, received

    @staticmethod
    def _reading(messages: ir.Table) -> ir.Table:
        # Plain UTC times (sent_utc): they order exactly as the TIMESTAMPTZ do, and the day of
        # the last message needs no per-row time zone conversion.
        last = messages.group_by(["person_id", "conversation_id"]).agg(last_at=messages.sent_utc.max(), space_id=messages.space_id.arbitrary())
        last = last.mutate(day=last.last_at.truncate("D"))
        others = messages.select(conv=messages.conversation_id, author=messages.person_id, at=messages.sent_utc, words=messages.words)
        joined = last.inner_join(others, (last.conversation_id == others.conv) & (others.at < last.last_at) & (others.author != last.person_id))
        # Straight to days: a day's words read are the sum over its conversations' words read,
        # and integer sums do not depend on grouping (one aggregate over the 2.26M joined rows
        # at 1M messages instead of two).
        return joined.group_by(list(_DAY_KEYS)).agg(words_read=joined.words.sum())

    @staticmethod
    def _per_scope(days: ir.Table, scope_kind: str, column: str | None) -> ir.Table:
        scope = days[column] if column else ibis.literal(scope_kind)
        combined = days.group_by([days.period.name("period"), scope.name("scope")]).agg(
            active_days=days.day.nunique(where=days.wrote),
            active_people=days.person_id.nunique(where=days.wrote),
            **{name: days[name].sum() for name in _DAY_COUNTS},
        )
        # Someone who only reacted in a week still has a row for that week, with zeros.
        combined = combined.mutate(**{name: combined[name].fill_null(0) for name in _DAY_COUNTS})
        combined = combined.mutate(
            minutes_writing=combined.words.cast("float64") / float_literal(WRITING_WPM),
            minutes_reading=combined.words_read.cast("float64") / float_literal(READING_WPM),
            effort_index=combined.effort_units.cast("float64") / float_literal(EFFORT_UNITS_PER_POINT)
            + float_literal(REACTION_EFFORT) * combined.reactions_given.cast("float64"),
        )
        metrics = [m.name for m in TimeAndEnergy.metrics if not (scope_kind == "person" and m.name == "active_people")]
        return long_rows(combined, scope_kind=scope_kind, scope=combined.scope, metrics=metrics)


def _effort_units(words: ir.IntegerValue) -> ir.IntegerValue:
    """A message's log2(1 + words) in whole billionths of a point (see EFFORT_UNITS_PER_POINT)."""
    return ((words + 1).log2() * float_literal(EFFORT_UNITS_PER_POINT)).round().cast("int64")


def _day(moment: ir.TimestampValue) -> ir.TimestampValue:
    """The start of the UTC day of ``moment``, without time zone.

    The store's sessions are UTC (store/database.py), so dropping the zone first changes no
    day; truncating a plain timestamp skips the calendar work a TIMESTAMPTZ needs in DuckDB.
    """
    return moment.cast("timestamp").truncate("D")
