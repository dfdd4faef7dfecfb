"""Community health and ghost-town signals, per space and for the whole community, per period.

Conversation measures (coverage, time to first reply, solo threads, unanswered questions)
belong to the period in which the conversation was opened. People measures (new, returning,
reactivated, lost regulars, retention, concentration) belong to the period in which people
wrote. Alerts and network measures are in :mod:`villagegreen.analyses.health_findings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import ibis

from villagegreen.analyses.conversation_facts import conversation_facts
from villagegreen.analyses.framework import Analysis, Finding, Grain, Inputs, Metric
from villagegreen.analyses.health_findings import health_findings
from villagegreen.analyses.inputs import contributions, float_literal, long_rows, period_of, union_all, whole_seconds
from villagegreen.analyses.reply_graph import reply_graph_rows

if TYPE_CHECKING:
    import ibis.expr.types as ir

REPLY_WINDOW_DAYS = 7
REACTIVATION_DAYS = 90
REGULAR_LOOKBACK_DAYS = 90
REGULAR_MIN_POSTS = 4
TOP_N = 10
# Share of messages written by the 10 most active people. Participation in online communities
# is heavy-tailed (Nielsen's "90-9-1", 2006; van Mierlo, "The 1% rule in four digital health
# social networks", JMIR 2014, where the top 1% wrote 47-73% of posts). We read 30-55% as a
# healthy spread for a community of 50+ active people, and above 70% as fragile: losing a
# handful of people would silence it. These are judgement calls from those studies, not laws.
TOP10_BAND = (0.30, 0.55)
TOP10_FRAGILE = 0.70

SCOPES: tuple[tuple[str, str | None], ...] = (("space", "space_id"), ("community", None))
_STEP = {"week": ibis.interval(days=7), "month": ibis.interval(months=1)}


class Health(Analysis):
    name: ClassVar[str] = "health"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "Health and ghost-town signals"
    summary: ClassVar[str] = "Are questions answered, by whom and how fast; are people arriving, returning and staying; is the talk spread or concentrated."
    needs: ClassVar[tuple[str, ...]] = ("messages", "identities", "spaces", "conversations")
    default_grain: ClassVar[Grain] = "month"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric("conversations", "conversations", "conversations opened in the period", "context", "How many conversations started."),
        Metric(
            "reply_coverage_7d",
            "share",
            f"conversations with a reply from someone other than the opener within {REPLY_WINDOW_DAYS} days / conversations",
            "higher",
            "Does someone answer when a member speaks up?",
        ),
        Metric(
            "first_reply_median_hours",
            "hours",
            "median hours from opening to the first message by someone else (answered conversations)",
            "lower",
            "How long people wait for a first answer.",
        ),
        Metric("first_reply_p90_hours", "hours", "90th percentile of the same", "lower", "The slow tail: one in ten waits longer than this."),
        Metric(
            "member_first_reply_median_hours",
            "hours",
            "median hours to the first reply by someone who is neither the opener nor a facilitator",
            "lower",
            "Do members answer each other, or only the facilitators?",
        ),
        Metric("member_first_reply_p90_hours", "hours", "90th percentile of the same", "lower", "The slow tail of member answers."),
        Metric(
            "member_reply_coverage_7d",
            "share",
            f"conversations answered by a member (not a facilitator) within {REPLY_WINDOW_DAYS} days / conversations",
            "higher",
            "Members carrying the conversation.",
        ),
        Metric("solo_thread_rate", "share", "conversations with a single participant / conversations", "lower", "Monologues: nobody joined in."),
        Metric(
            "questions", "conversations", "conversations opened by a question (platform type, '?', or an interrogative opening)", "context", "Questions asked."
        ),
        Metric(
            "unanswered_questions",
            "conversations",
            "questions with no message by anyone but the asker (up to the window's end)",
            "lower",
            "Questions nobody answered.",
        ),
        Metric("active_people", "people", "distinct authors in the period", "higher", "People who wrote."),
        Metric("new_people", "people", "authors whose first message in this scope is in the period", "higher", "Newcomers."),
        Metric("returning_people", "people", "authors in the period who had written in this scope before it", "higher", "People who came back."),
        Metric(
            "reactivated_people",
            "people",
            f"authors whose previous message was {REACTIVATION_DAYS}+ days before their first message in the period",
            "higher",
            "People who came back after a long silence.",
        ),
        Metric(
            "lost_regulars",
            "people",
            f"people with {REGULAR_MIN_POSTS}+ messages in the {REGULAR_LOOKBACK_DAYS} days before the period and none in it",
            "lower",
            "Regulars who went quiet.",
        ),
        Metric(
            "retention_next_period",
            "share",
            "newcomers of this period who write again in the next period / newcomers",
            "higher",
            "Do newcomers stay (cohort of first post)?",
        ),
        Metric(
            "top10_share",
            "share",
            f"messages by the {TOP_N} most active authors / messages",
            "band",
            "How concentrated the talk is.",
            band=TOP10_BAND,
            source="Nielsen 2006 (90-9-1); van Mierlo 2014 (JMIR 16(2):e33); fragile above 0.70",
        ),
        Metric("messages", "messages", "member messages in the period", "context", "Volume."),
        Metric(
            "views_per_conversation",
            "views",
            "platform view count of conversations opened in the period / those conversations (where the platform records views)",
            "context",
            "Passive reach: how many look without writing.",
        ),
        Metric(
            "posters_per_100_views", "people", "100 x participants / views, over conversations with views", "higher", "Active versus passive participation."
        ),
        Metric(
            "reply_reciprocity",
            "share",
            "share of reply-graph edges (A replied to B) that are returned (B replied to A)",
            "higher",
            "Conversation, not broadcast.",
        ),
        Metric(
            "reply_centralisation",
            "share",
            "Freeman degree centralisation of the undirected reply graph (0: evenly spread, 1: a star)",
            "lower",
            "Does everything go through one person?",
        ),
    )
    limits: ClassVar[tuple[str, ...]] = (
        "Question detection is a rule (platform type, question mark, interrogative opening): "
        "rhetorical questions count and questions phrased as statements are missed.",
        "Replies are counted up to the window's end, so the newest conversations look less answered than they will be.",
        "Time to first reply counts any message by someone else, including 'me too'.",
        "Views over-count readers (one person can view many times) and exist only on Discourse and Stack Exchange.",
        "New and returning are relative to what was imported: a partial export makes early members look new.",
    )

    def compute(self, inputs: Inputs) -> ir.Table:
        grain = inputs.window.grain
        facts = conversation_facts(inputs)
        facts = facts.mutate(period=period_of(facts.opened_at, grain))
        space_buckets = self._space_buckets(inputs)
        parts = []
        for scope_kind, column in SCOPES:
            parts.append(self._conversation_measures(facts, scope_kind, column))
            parts.append(self._people_measures(self._scope_buckets(space_buckets, scope_kind, column), scope_kind, grain))
        return union_all(parts)

    def python_rows(self, inputs: Inputs) -> list[dict[str, Any]]:
        return reply_graph_rows(inputs)

    def findings(self, inputs: Inputs, rows: list[dict[str, Any]]) -> list[Finding]:
        return health_findings(self, inputs, rows)

    @staticmethod
    def _conversation_measures(facts: ir.Table, scope_kind: str, column: str | None) -> ir.Table:
        scope = facts[column] if column else ibis.literal(scope_kind)
        hours = (whole_seconds(facts.first_other_at) - whole_seconds(facts.opened_at)).cast("float64") / float_literal(3600.0)
        member_hours = (whole_seconds(facts.first_member_at) - whole_seconds(facts.opened_at)).cast("float64") / float_literal(3600.0)
        within = REPLY_WINDOW_DAYS * 24
        t = facts.mutate(scope=scope, hours=hours, member_hours=member_hours)
        agg = t.group_by(["period", "scope"]).agg(
            conversations=t.count(),
            reply_coverage_7d=(t.hours <= within).fill_null(False).cast("float64").mean(),
            member_reply_coverage_7d=(t.member_hours <= within).fill_null(False).cast("float64").mean(),
            first_reply_median_hours=t.hours.quantile(0.5),
            first_reply_p90_hours=t.hours.quantile(0.9),
            member_first_reply_median_hours=t.member_hours.quantile(0.5),
            member_first_reply_p90_hours=t.member_hours.quantile(0.9),
            solo_thread_rate=(t.participants == 1).cast("float64").mean(),
            questions=t.is_question.cast("int64").sum(),
            unanswered_questions=(t.is_question & t.first_other_at.isnull()).cast("int64").sum(),
            views=t.readers.sum(),
            viewed_conversations=t.readers.notnull().cast("int64").sum(),
            viewed_participants=t.participants.sum(where=t.readers.notnull()),
        )
        agg = agg.mutate(
            views_per_conversation=ibis.ifelse(agg.viewed_conversations > 0, agg.views / agg.viewed_conversations, ibis.null("float64")),
            posters_per_100_views=ibis.ifelse(agg.views > 0, float_literal(100.0) * agg.viewed_participants.cast("float64") / agg.views, ibis.null("float64")),
        )
        metrics = [
            "conversations", "reply_coverage_7d", "member_reply_coverage_7d", "first_reply_median_hours", "first_reply_p90_hours",
            "member_first_reply_median_hours", "member_first_reply_p90_hours", "solo_thread_rate", "questions",
            "unanswered_questions", "views_per_conversation", "posters_per_100_views",
        ]  # fmt: skip
        return long_rows(agg, scope_kind=scope_kind, scope=agg.scope, metrics=metrics)

    @staticmethod
    def _space_buckets(inputs: Inputs) -> ir.Table:
        """Per (space as ``scope``, person, in_window, period): n, first_in_period, last_in_period.

        Messages are aggregated per person and period (plus one bucket per period for the
        history before ``since``) before any window function runs (see _person_periods). The
        community's buckets are these summed over spaces (_scope_buckets), so the million
        messages are grouped once, not once per scope.
        """
        since = inputs.window.since
        messages = contributions(inputs, windowed=False)
        messages = messages.filter(messages.person_id.notnull())
        in_window = messages.sent_at >= since if since is not None else ibis.literal(True)
        # Periods of the UTC time without its zone: the same periods, with less calendar work (see roles._flags).
        scoped = messages.mutate(scope=messages.space_id, in_window=in_window, period=period_of(messages.sent_utc, inputs.window.grain))
        return scoped.group_by(["scope", "person_id", "in_window", "period"]).agg(
            n=scoped.count(), first_in_period=scoped.sent_at.min(), last_in_period=scoped.sent_at.max()
        )

    @staticmethod
    def _scope_buckets(space_buckets: ir.Table, scope_kind: str, column: str | None) -> ir.Table:
        """The buckets of a scope: a space's as they are; the community's merged over spaces
        (counts add up, a period's first and last message are the earliest and latest of its spaces')."""
        if column == "space_id":
            return space_buckets
        if column is not None:  # a new scope needs its own buckets: don't merge it as the community's
            raise ValueError(f"health has no person buckets for scope column {column!r}")
        b = space_buckets
        merged = b.group_by(["person_id", "in_window", "period"]).agg(
            n=b.n.sum().cast("int64"), first_in_period=b.first_in_period.min(), last_in_period=b.last_in_period.max()
        )
        return merged.select("person_id", "in_window", "period", "n", "first_in_period", "last_in_period", scope=ibis.literal(scope_kind))

    @staticmethod
    def _people_measures(buckets: ir.Table, scope_kind: str, grain: Grain) -> ir.Table:
        per_person = Health._person_periods(buckets)
        is_new = per_person.first_ever == per_person.first_in_period
        reactivated = (whole_seconds(per_person.first_in_period) - whole_seconds(per_person.gap_before)) >= REACTIVATION_DAYS * 86400
        # Ordered by count alone: people tied at the tenth place have the same count, so the top
        # ten's sum is the same whichever of them is ranked first, and the sort compares no ids.
        ranked = per_person.mutate(
            rank=ibis.row_number().over(group_by=[per_person.period, per_person.scope], order_by=per_person.n.desc()),
            is_new=is_new,
            reactivated=reactivated.fill_null(False),
        )
        agg = ranked.group_by(["period", "scope"]).agg(
            active_people=ranked.count(),
            new_people=ranked.is_new.cast("int64").sum(),
            returning_people=(~ranked.is_new).cast("int64").sum(),
            reactivated_people=ranked.reactivated.cast("int64").sum(),
            messages=ranked.n.sum(),
            top10_messages=ranked.n.sum(where=ranked["rank"] < TOP_N),
        )
        agg = agg.mutate(top10_share=agg.top10_messages / agg.messages)
        metrics = ["active_people", "new_people", "returning_people", "reactivated_people", "messages", "top10_share"]
        parts = [long_rows(agg, scope_kind=scope_kind, scope=agg.scope, metrics=metrics)]
        if grain != "all":
            parts.append(Health._lost_and_retained(ranked, scope_kind, grain))
        return union_all(parts)

    @staticmethod
    def _person_periods(buckets: ir.Table) -> ir.Table:
        """Per (period, scope, person) in the window: n, first_in_period, first_ever, gap_before.

        gap_before is the person's last message in this scope before their first one in the
        period (NULL if none). The window functions run over the buckets of _space_buckets, not
        over every message: buckets of one person are disjoint stretches of time, so the
        previous bucket's last message is the last message before this one's first.
        """
        person = [buckets.scope, buckets.person_id]
        buckets = buckets.mutate(
            first_ever=buckets.first_in_period.min().over(group_by=person),
            gap_before=buckets.last_in_period.lag().over(group_by=person, order_by=buckets.first_in_period),
        )
        windowed = buckets.filter(buckets.in_window)
        return windowed.select("period", "scope", "person_id", "n", "first_in_period", "first_ever", "gap_before")

    @staticmethod
    def _lost_and_retained(per_person: ir.Table, scope_kind: str, grain: Grain) -> ir.Table:
        step = _STEP[grain]
        periods = per_person.select("period", "scope").distinct()
        activity = per_person.select(p=per_person.period, s=per_person.scope, person_id=per_person.person_id, n=per_person.n, is_new=per_person.is_new)
        lookback = ibis.interval(days=REGULAR_LOOKBACK_DAYS)
        # Regulars before the period: per (period, person), messages in the lookback window.
        before = periods.inner_join(activity, (periods.scope == activity.s) & (activity.p < periods.period) & (activity.p >= periods.period - lookback))
        regulars = before.group_by(["period", "scope", "person_id"]).agg(n=before.n.sum())
        regulars = regulars.filter(regulars.n >= REGULAR_MIN_POSTS)
        present = activity.select(pp=activity.p, ps=activity.s, pid=activity.person_id)
        lost = regulars.anti_join(present, (regulars.period == present.pp) & (regulars.scope == present.ps) & (regulars.person_id == present.pid))
        lost_counts = lost.group_by(["period", "scope"]).agg(lost_regulars=lost.count())
        lost_all = periods.left_join(lost_counts, (periods.period == lost_counts.period) & (periods.scope == lost_counts.scope))
        lost_all = lost_all.select(period=lost_all.period, scope=lost_all.scope, lost_regulars=lost_all.lost_regulars.fill_null(0))
        newcomers = activity.filter(activity.is_new)
        stayed = newcomers.left_join(present, (present.pp == newcomers.p + step) & (present.ps == newcomers.s) & (present.pid == newcomers.person_id))
        retention = stayed.group_by(period=stayed.p, scope=stayed.s).agg(retention_next_period=stayed.pid.notnull().cast("float64").mean())
        # The last period has no "next" yet: leave its retention out rather than report 0.
        last_period = periods.period.max().as_scalar()
        retention = retention.filter(retention.period < last_period)
        return union_all(
            [
                long_rows(lost_all, scope_kind=scope_kind, scope=lost_all.scope, metrics=["lost_regulars"]),
                long_rows(retention, scope_kind=scope_kind, scope=retention.scope, metrics=["retention_next_period"]),
            ]
        )
