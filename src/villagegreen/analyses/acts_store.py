"""Labelling every message of a store with its dialogue act: table ``message_acts``.

Acts are per-message text rules (analyses/acts.py), so they run in Python over the messages,
conversation by conversation in time order (a reply's label depends on its parent's). The
result goes to its own table, one row per message with the rule and evidence, rather than to
``analysis_results``: it is a label, not a number per period, and the roles analysis joins it.

A run relabels only messages without a label of the current ``ACTS_VERSION`` (``force``
relabels all), so re-running after an import is cheap: with nothing to label it is one count in
SQL. Labels are written in batches of ``WRITE_BATCH``. The query also scans every text for the
lexicons in SQL (RE2), which lets the labeller skip most of its regular expressions, exactly
(see acts._lexicon). Measured on a 100k-message synthetic Slack store: 5.7 CPU-s instead of 7.4-8.6.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from villagegreen.analyses.acts import ACTS_VERSION, PRESCANNED, Act, ActLabel, MessageView, label_message
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

# Messages in conversation order with what the labeller may see: the root's author and title,
# and the parent's author (to tell the asker's follow-ups from others' replies).
_MESSAGES_SQL = f"""
SELECT m.id, m.conversation_id, m.reply_to_id, m.text, m.kind, m.author_id,
       root.author_id AS root_author, coalesce(c.title, '') AS title, parent.author_id AS parent_author,
       coalesce(regexp_matches(lower(m.text), ?), true) AS lexicons_possible
FROM messages m
LEFT JOIN messages root ON root.id = m.conversation_id
LEFT JOIN messages parent ON parent.id = m.reply_to_id
LEFT JOIN conversations c ON c.id = m.conversation_id
WHERE m.kind NOT IN ({", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)})
ORDER BY m.conversation_id, m.sent_at, m.id
"""
# Labels are written this many at a time: memory stays flat however large the store (a run cut
# short keeps what it wrote, and the next run labels only the rest).
WRITE_BATCH = 100_000
_COLUMNS = ("message_id", "act", "confidence", "rule", "evidence")
# Member messages without a label of the current version, and those with one.
_MISSING_SQL = f"""
SELECT count(*) FILTER (WHERE a.message_id IS NULL), count(a.message_id)
FROM messages m
LEFT JOIN (SELECT DISTINCT message_id FROM message_acts WHERE acts_version = ?) a ON a.message_id = m.id
WHERE m.kind NOT IN ({", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)})
"""


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    message_id: str
    conversation_id: str
    kind: str
    is_root: bool
    label: ActLabel


@dataclass(slots=True)
class ActsReport:
    """What a labelling run did: messages labelled and the count of each act and rule."""

    labelled: int = 0
    kept: int = 0
    acts: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"acts_version": ACTS_VERSION, "labelled": self.labelled, "already_labelled": self.kept, "acts": self.acts,
                "rules": self.rules, "seconds": round(self.seconds, 3)}  # fmt: skip


# The lexicons as one RE2 expression, for the scan in SQL (one pass: a third of three).
_PRESCAN_PARAMETERS = ["|".join(f"(?:{pattern.pattern})" for pattern in PRESCANNED.values())]


def label_rows(rows: Iterable[tuple[Any, ...]], *, use_platform_kind: bool = True) -> Iterator[LabelledMessage]:
    """Labels rows shaped like ``_MESSAGES_SQL`` (grouped by conversation, in time order).

    Rows may stop after ``parent_author``; the lexicon scan's flag follows it when present.
    """
    acts: dict[str, Act] = {}
    current = None
    for row in rows:
        message_id, conversation_id, reply_to_id, text, kind, author, root_author, title, parent_author = row[:9]
        lexicons_possible = row[9] if len(row) > 9 else None
        if conversation_id != current:
            acts.clear()  # parents are always in the same conversation
            current = conversation_id
        is_root = message_id == conversation_id
        parent = reply_to_id if reply_to_id is not None else (None if is_root else conversation_id)
        view = MessageView(
            text=text or "",
            is_root=is_root,
            title=title if is_root else "",
            by_root_author=author is not None and author == root_author,
            replies_to_own=author is not None and author == parent_author,
            replies_to_asker=parent_author is not None and parent_author == root_author,
            parent_act=acts.get(parent) if parent else None,
            parent_is_root=parent == conversation_id,
            root_act=acts.get(conversation_id),
            kind=kind,
            lexicons_possible=lexicons_possible,
        )
        label = label_message(view, use_platform_kind=use_platform_kind)
        acts[message_id] = label.act
        yield LabelledMessage(message_id, conversation_id, kind, is_root, label)


def labelled_messages(store: Store, *, use_platform_kind: bool = True) -> Iterator[LabelledMessage]:
    """Every member message of the store with its act, without writing anything."""
    # A connection of its own: label_store writes batches on the store's while this one reads,
    # and a query on a connection ends the result still being read there.
    reader = store.con.cursor()
    try:
        cursor = reader.execute(_MESSAGES_SQL, _PRESCAN_PARAMETERS)
        while batch := cursor.fetchmany(10_000):
            yield from label_rows(batch, use_platform_kind=use_platform_kind)
    finally:
        reader.close()


def label_store(store: Store, *, force: bool = False) -> ActsReport:
    """Writes ``message_acts`` for messages that lack a current label; returns counts."""
    started = time.perf_counter()
    report = ActsReport()
    if not force:
        # One anti-join answers "anything to do?": `analyze` asks it on every run of roles.
        ((missing, labelled),) = store.con.execute(_MISSING_SQL, [ACTS_VERSION]).fetchall()
        if not missing:
            report.kept = labelled
            report.seconds = time.perf_counter() - started
            return report
    current = set() if force else {row[0] for row in store.con.execute("SELECT message_id FROM message_acts WHERE acts_version = ?", [ACTS_VERSION]).fetchall()}
    columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for item in labelled_messages(store):
        if item.message_id in current:
            report.kept += 1
            continue
        label = item.label
        for name, value in zip(columns, (item.message_id, label.act, label.confidence, label.rule, label.evidence), strict=True):
            columns[name].append(value)
        report.acts[label.act] = report.acts.get(label.act, 0) + 1
        report.rules[label.rule] = report.rules.get(label.rule, 0) + 1
        if len(columns["message_id"]) == WRITE_BATCH:
            _write(store, pa.table(columns))
            report.labelled += WRITE_BATCH
            columns = {name: [] for name in _COLUMNS}
    if columns["message_id"]:
        _write(store, pa.table(columns))
        report.labelled += len(columns["message_id"])
    report.seconds = time.perf_counter() - started
    return report


def _write(store: Store, labels: pa.Table) -> None:
    con = store.con
    with store.transaction():
        con.register("_vg_acts", labels)
        try:
            # Deleting from the indexed table costs seconds per 100k rows even when none match (a
            # first run, or new messages): count first, which is a plain join.
            ((existing,),) = con.execute("SELECT count(*) FROM message_acts WHERE message_id IN (SELECT message_id FROM _vg_acts)").fetchall()
            if existing:
                con.execute("DELETE FROM message_acts WHERE message_id IN (SELECT message_id FROM _vg_acts)")
            con.execute(
                "INSERT INTO message_acts SELECT message_id, act, confidence, rule, evidence, ?, ? FROM _vg_acts",
                [ACTS_VERSION, datetime.now(UTC)],
            )
        finally:
            con.unregister("_vg_acts")


def act_counts(store: Store) -> dict[str, int]:
    return dict(store.con.execute("SELECT act, count(*) FROM message_acts GROUP BY act ORDER BY 2 DESC").fetchall())
