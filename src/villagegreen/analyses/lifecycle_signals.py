"""Every conversation's lifecycle state at once, from SQL aggregates and the stored acts.

:func:`villagegreen.analyses.lifecycle_report.ripeness` reads every message into Python, labels
its dialogue act again and assesses thread by thread: on a million messages that took 88 s, too
slow for the dashboard. Here one grouped query computes each conversation's
:class:`~villagegreen.analyses.lifecycle.ThreadFacts` (counts, gaps, newcomers) with the acts
already stored in ``message_acts`` (``villagegreen acts``), and the same
:func:`~villagegreen.analyses.lifecycle.decide` gives the state and reason. Without an embedder,
as the dashboard runs: novelty and drift are absent, so ``split`` never fires.

Exactness: message order and the member filter (no bots, no bookkeeping kinds) are those of
analyses/lifecycle_threads.py. Texts that may say "solved", metadata that may mark an accepted
answer and conversations that may be long to read are pre-selected in SQL and decided in Python
with the very same code (regular expressions in DuckDB were slower than that). One float may
differ: DuckDB's median of an even number of gaps may round its last bit differently from
``statistics.median``, which could only matter for a gap growth of exactly ``decay_ratio``. Acts are the stored labels: ``message_acts`` labels a
message in the context of every message (bots included) in time order, where
lifecycle_threads labels without bots and the opening post first, so a reply right after a bot
or before a late-stamped opening post may carry another act; tests/web/test_ripe_page.py
compares both on real data. When any member message lacks a current act,
:func:`ripe_states` returns None and the caller labels on the fly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from villagegreen.analyses.activity import READING_WPM
from villagegreen.analyses.acts import ACTS_VERSION
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.analyses.lifecycle import PRIORITY, State, ThreadFacts, Thresholds, decide, resolved_by_asker
from villagegreen.analyses.lifecycle_threads import _accepted_flag, _meta
from villagegreen.store.database import Store

# Timestamps come back as microseconds: DuckDB's conversion to aware datetimes cost 3 s per
# million rows, and this arithmetic is exact.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
# Every word of lifecycle._RESOLVED contains one of these: a cheap, case-insensitive pre-filter.
_MAY_SAY_SOLVED = "(?i)(work|did it|fixed it|solved)"

# Member messages in each conversation's order (opening post first, then time, then id).
_MEMBERS = f"""
CREATE TEMP TABLE _vg_members AS
SELECT m.id, m.conversation_id, m.sent_at, i.person_id, a.act,
       (strlen(coalesce(m.text, '')) + 1) // 2 AS most_words,
       row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.id = m.conversation_id DESC, m.sent_at, m.id) AS pos,
       count(*) OVER (PARTITION BY m.conversation_id) AS n,
       sp.name AS space_name
FROM messages m
LEFT JOIN identities i ON i.id = m.author_id
LEFT JOIN message_acts a ON a.message_id = m.id AND a.acts_version = ?
JOIN spaces sp ON sp.id = m.space_id
JOIN sources src ON src.id = m.source_id
WHERE m.kind NOT IN ({_KINDS}) AND NOT coalesce(i.is_bot, false)
"""
# Texts of the conversations that may take ``long_minutes`` to read: a text of b bytes has at
# most (b + 1) // 2 words, so a conversation whose bound is below the line is not long (by
# reading time), and only the others are counted word by word, with Python's str.split.
_MAYBE_LONG = """
SELECT g.conversation_id, m.text FROM _vg_members g JOIN messages m ON m.id = g.id
WHERE g.conversation_id IN (
    SELECT conversation_id FROM _vg_members GROUP BY conversation_id HAVING count(*) < ? AND sum(most_words) / ? >= ?
)
"""
_MISSING_ACTS = "SELECT count(*) FROM _vg_members WHERE act IS NULL"
# Per conversation: ThreadFacts' columns (accepted and the asker's "solved" come after).
_FACTS = """
WITH marked AS (
    SELECT g.*, o.person_id AS opener, o.act AS opener_act,
           epoch_us(g.sent_at) - epoch_us(lag(g.sent_at) OVER (PARTITION BY g.conversation_id ORDER BY g.pos)) AS gap_us,
           min(g.pos) OVER (PARTITION BY g.conversation_id, g.person_id) AS first_pos,
           greatest(1, (g.n - 1) // 3) AS cut
    FROM _vg_members g JOIN _vg_members o ON o.conversation_id = g.conversation_id AND o.pos = 1
), facts AS (
    SELECT conversation_id, any_value(n) AS n, sum(most_words) AS most_words, count(DISTINCT person_id) AS people,
           count(DISTINCT person_id) FILTER (WHERE pos > n - ? AND first_pos > n - ?) AS newcomers,
           epoch_us(max(sent_at) FILTER (WHERE pos = n)) AS last_us,
           median(gap_us / 1e6) FILTER (WHERE pos - 1 > n - 1 - cut)
             / greatest(median(gap_us / 1e6) FILTER (WHERE pos > 1 AND pos - 1 <= n - 1 - cut), 60.0) AS decay,
           any_value(opener_act) = 'question' AS is_question,
           count(*) FILTER (WHERE pos > 1 AND (opener IS NULL OR person_id IS DISTINCT FROM opener)) > 0 AS answered,
           count(*) FILTER (WHERE pos > 1 AND person_id IS NOT DISTINCT FROM opener AND act = 'appreciation') AS thanks,
           any_value(space_name) FILTER (WHERE pos = 1) AS space_name
    FROM marked GROUP BY conversation_id
)
SELECT f.*, coalesce(c.title, '') FROM facts f LEFT JOIN conversations c ON c.id = f.conversation_id
"""
# The asker's other follow-ups that may say "solved" (lifecycle._RESOLVED decides).
_ASKER_TEXTS = f"""
SELECT g.conversation_id, m.text FROM _vg_members g
JOIN _vg_members o ON o.conversation_id = g.conversation_id AND o.pos = 1
JOIN messages m ON m.id = g.id
WHERE g.pos > 1 AND g.person_id IS NOT DISTINCT FROM o.person_id AND g.act <> 'appreciation' AND regexp_matches(m.text, '{_MAY_SAY_SOLVED}')
"""
# Accepted answers: an ``accept`` reaction, or platform metadata (decided by lifecycle_threads' code).
_ACCEPT_VOTES = "SELECT conversation_id, pos, id FROM _vg_members WHERE id IN (SELECT message_id FROM reactions WHERE kind = 'accept')"
_ACCEPT_MARKS = """
SELECT g.conversation_id, g.pos, g.id, m.meta FROM _vg_members g JOIN messages m ON m.id = g.id
WHERE CAST(m.meta AS VARCHAR) LIKE '%accepted%'
"""


@dataclass(frozen=True, slots=True)
class ThreadState:
    """One conversation's state and reason; ``title`` is empty on platforms without titles."""

    conversation_id: str
    title: str
    space: str
    state: State
    reason: str
    messages: int


def ripe_states(store: Store, as_of: datetime, thresholds: Thresholds | None = None) -> list[ThreadState] | None:
    """The state of every conversation with member messages, as ``ripeness`` orders them (most
    urgent first, then longest, then by id); None when some member message has no stored act of
    the current ``ACTS_VERSION``."""
    t = thresholds or Thresholds()
    con = store.con
    con.execute(_MEMBERS, [ACTS_VERSION])
    try:
        ((missing,),) = con.execute(_MISSING_ACTS).fetchall()
        if missing:
            return None
        solved = Counter(cid for cid, text in con.execute(_ASKER_TEXTS).fetchall() if resolved_by_asker("", text or ""))
        accepted: dict[str, tuple[int, str]] = {}
        votes = [(cid, pos, mid, True) for cid, pos, mid in con.execute(_ACCEPT_VOTES).fetchall()]
        for cid, pos, message_id, mark in votes + con.execute(_ACCEPT_MARKS).fetchall():
            if (mark is True or _accepted_flag(_meta(mark))) and (cid not in accepted or pos < accepted[cid][0]):
                accepted[cid] = (pos, message_id)
        words: Counter[str] = Counter()
        for cid, text in con.execute(_MAYBE_LONG, [t.long_messages, READING_WPM, t.long_minutes]).fetchall():
            words[cid] += len((text or "").split())
        rows = con.execute(_FACTS, [t.recent, t.recent]).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _vg_members")
    found = []
    for cid, n, most_words, people, newcomers, last_us, decay, is_question, answered, thanks, space, title in rows:
        first_accepted = accepted.get(cid)
        # Counted when it could matter; otherwise the bound, which is below the long-thread line
        # (or the thread is long by its message count), so the state and reason are the same.
        facts = ThreadFacts(
            messages=n, words=words[cid] if cid in words else int(most_words), people=people, newcomers=newcomers if n > t.recent else None,
            last_at=_EPOCH + timedelta(microseconds=last_us),
            decay=decay if n - 1 >= 4 else None, is_question=bool(is_question), answered=bool(answered),
            accepted_id=None if first_accepted is None else first_accepted[1], asker_marks=thanks + solved[cid],
        )  # fmt: skip
        state, reason = decide(facts, as_of, t)
        found.append(ThreadState(cid, title, space, state, reason, n))
    found.sort(key=lambda s: (PRIORITY[s.state], -s.messages, s.conversation_id))
    return found
