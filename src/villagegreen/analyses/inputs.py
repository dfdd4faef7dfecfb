"""The shared starting points of every analysis, as ibis expressions.

``contributions`` is the one definition of "a message somebody wrote" that every analysis
counts: bots, platform bookkeeping (Discourse small actions and moderator actions, system
lines) and private spaces (unless imported and analysed on purpose) are left out here, once,
so that no analysis counts them by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from villagegreen.analyses.framework import RESULT_COLUMNS, Grain, Inputs

if TYPE_CHECKING:
    import ibis.expr.types as ir

# Message kinds that are the platform talking, not a member: never counted as contributions.
# "erased": the empty placeholder `people forget` leaves where others' replies still point.
NON_CONTRIBUTION_KINDS = ("moderator_action", "small_action", "whisper", "system", "erased")
# Kinds a moderator records; counted separately by the facilitation analysis.
MODERATION_KINDS = ("moderator_action",)

CANONICAL_TABLES = ("messages", "identities", "spaces", "conversations", "reactions", "events")
# What analyses may read: the canonical model plus derived per-message labels (dialogue acts).
ANALYSIS_TABLES = (*CANONICAL_TABLES, "message_acts")

_GRAIN_UNITS = {"week": "W", "month": "M"}
# Names of the intermediates the runner shares between analyses (see shared_key).
CONTRIBUTIONS = "contributions"


def period_of(timestamp: ir.TimestampValue, grain: Grain) -> ir.TimestampValue:
    """The start of the period ``timestamp`` falls in (weeks start on Monday); NULL for "all"."""
    if grain == "all":
        return ibis.null("timestamp")
    return timestamp.truncate(_GRAIN_UNITS[grain]).cast("timestamp")


def float_literal(value: float) -> ir.FloatingValue:
    """A double-precision constant: Spark reads a bare ``19.0`` as a DECIMAL and rounds to 6 places."""
    return ibis.literal(value, type="float64")


def whole_seconds(timestamp: ir.TimestampValue) -> ir.IntegerValue:
    """Seconds since the epoch, floored: DuckDB keeps microseconds, Spark's unix_timestamp does not."""
    return timestamp.epoch_seconds().floor().cast("int64")


def json_int(column: ir.Value, key: str) -> ir.IntegerValue:
    """An integer field of a JSON ``meta`` column, on every engine.

    DuckDB keeps ``meta`` as JSON, Spark reads it back from Parquet as a string; a regular
    expression over the serialised object works on both (keys are plain identifiers here).
    """
    found = column.cast("string").re_extract(rf'"{key}"\s*:\s*(-?[0-9]+)', 1)
    return found.nullif("").cast("int64")


def people(inputs: Inputs) -> ir.Table:
    """identity id -> person id, for non-bot identities."""
    identities = inputs.tables["identities"]
    return identities.filter(~identities.is_bot).select(identity_id=identities.id, person_id=identities.person_id)


def shared_key(name: str, inputs: Inputs) -> str:
    """The key of a shared intermediate in ``Inputs.shared``: its name and everything but the grain it depends on."""
    window = inputs.window
    return f"{name}|{window.since}|{window.until}|{inputs.include_private}|{','.join(sorted(inputs.facilitators))}"


def contributions(inputs: Inputs, *, windowed: bool = True) -> ir.Table:
    """One row per member message: ids, person, time, words, and whether it opens its conversation.

    ``sent_at`` is the TIMESTAMPTZ of the store, ``sent_utc`` the same moment as a plain UTC
    timestamp (see contribution_history).

    ``text`` is there only when the runner does not share intermediates (``Inputs.shared``);
    an analysis the runner runs that needs a message's text looks it up in ``messages``.

    ``windowed=False`` keeps messages before the window, for measures that look back
    (returning members, lost regulars); messages after the window's end never count.
    The runner materialises the unwindowed rows once per run (``Inputs.shared``), so the joins
    and filters over every message run once, not once per analysis.
    """
    shared = inputs.shared.materialise
    history = _shared_history(inputs).drop("parent_person", "parent_sent_at") if shared else contribution_history(inputs)
    since = inputs.window.since
    if windowed and since is not None:
        history = history.filter(history.sent_at >= since)
    return history


def contribution_history(inputs: Inputs, *, with_text: bool = True) -> ir.Table:
    """The contributions up to the window's end, before as well as inside the window.

    ``with_text=False`` leaves the message text out (see _shared_history).
    """
    messages = inputs.tables["messages"]
    spaces = inputs.tables["spaces"]
    identities = inputs.tables["identities"]
    authors = identities.select(author_key=identities.id, person_id=identities.person_id, is_bot=identities.is_bot)
    visible = spaces.select(space_key=spaces.id, private=spaces.private)
    joined = messages.left_join(authors, messages.author_id == authors.author_key).inner_join(visible, messages.space_id == visible.space_key)
    keep = ~joined.kind.isin(NON_CONTRIBUTION_KINDS) & ~joined.is_bot.fill_null(False)
    if not inputs.include_private:
        keep &= ~joined.private
    if inputs.window.until is not None:
        keep &= joined.sent_at < inputs.window.until
    selected = joined.filter(keep)
    text = {"text": selected.text} if with_text else {}
    return selected.select(
        id=selected.id,
        conversation_id=selected.conversation_id,
        reply_to_id=selected.reply_to_id,
        space_id=selected.space_id,
        source_id=selected.source_id,
        person_id=selected.person_id,
        sent_at=selected.sent_at,
        # The same moment as a plain timestamp, for periods and days: the store's sessions are
        # UTC (store/database.py), so no day moves. DuckDB converts each TIMESTAMPTZ through
        # its calendar library (0.4 CPU-s per million rows); converted once in the shared rows,
        # the analyses that truncate times to days, weeks and months skip it.
        sent_utc=selected.sent_at.cast("timestamp"),
        kind=selected.kind,
        **text,
        # Whitespace-separated words (Unicode whitespace), the unit reading and writing speeds
        # are measured in: counted once when the message was stored (store/word_count.py).
        words=selected.word_count.cast("int64"),
        is_root=selected.id == selected.conversation_id,
    )


def contributions_with_parents(inputs: Inputs) -> ir.Table:
    """The windowed contributions plus ``parent_person``, as :func:`with_parent_person` adds it.

    A parent counts only if it is itself a contribution in the window: shared rows carry the
    parent's time, so a parent from before the window is blanked exactly as a join on the
    windowed rows would leave it unmatched.
    """
    if not inputs.shared.materialise:
        return with_parent_person(contributions(inputs))
    history = _shared_history(inputs)
    since = inputs.window.since
    if since is not None:
        history = history.filter(history.sent_at >= since)
        history = history.mutate(parent_person=ibis.ifelse(history.parent_sent_at >= since, history.parent_person, ibis.null("string")))
    return history.drop("parent_sent_at")


def _shared_history(inputs: Inputs) -> ir.Table:
    """contribution_history plus each parent's person and time: one self-join per run, not per query.

    Without the text: no shared analysis reads it except to tell questions from the
    conversations' opening messages, which conversation_facts looks up for those alone, and
    copying a million texts into the temporary table cost 0.7-2 CPU-s at 1M messages.
    """

    def build() -> ir.Table:
        history = contribution_history(inputs, with_text=False)
        parents = history.select(parent_key=history.id, parent_person=history.person_id, parent_sent_at=history.sent_at)
        return history.left_join(parents, history.reply_to_id == parents.parent_key).drop("parent_key")

    return inputs.shared.get(shared_key(CONTRIBUTIONS, inputs), build)


def with_parent_person(messages: ir.Table) -> ir.Table:
    """Adds ``parent_person``: who wrote the message this one replies to (NULL for roots)."""
    parents = messages.select(parent_key=messages.id, parent_person=messages.person_id)
    joined = messages.left_join(parents, messages.reply_to_id == parents.parent_key)
    return joined.drop("parent_key")


def long_rows(table: ir.Table, *, scope_kind: str, scope: ir.Value | str, metrics: list[str]) -> ir.Table:
    """Turns one column per metric into the long layout of RESULT_COLUMNS."""
    scope_value = ibis.literal(scope) if isinstance(scope, str) else scope
    wide = table.select(
        period_start=table.period.cast("timestamp"),
        scope_kind=ibis.literal(scope_kind),
        scope_id=scope_value.cast("string"),
        **{name: table[name].cast("float64") for name in metrics},
    )
    long = wide.pivot_longer(metrics, names_to="metric", values_to="value")
    return long.select(*RESULT_COLUMNS)


def union_all(tables: list[ir.Table]) -> ir.Table:
    first, *rest = tables
    return first.union(*rest, distinct=False) if rest else first
