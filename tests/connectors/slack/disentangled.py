"""The Slack threading rule checked from the store: disentangle() run here on the same lines.

Thread membership is read from the recorded links (a reply's conversation is its thread root,
not inferred); every other message is in its channel's stream, and a thread root with
replies is pinned as a root (a self link), as docs/connectors/slack.md says. The function
asserts that each stream message has the conversation and parent disentangle() gives it.
"""

from __future__ import annotations

from collections import defaultdict

from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.store import Store


def stream_roots(store: Store) -> set[str]:
    """The conversation roots of all channel streams (asserting every stream message's placement)."""
    rows = store.con.execute(
        "SELECT m.id, m.space_id, m.sent_at, m.text, i.display_name, m.conversation_id, m.reply_to_id, (m.meta->>'reply_inferred') IS NOT NULL "
        "FROM messages m LEFT JOIN identities i ON i.id = m.author_id ORDER BY m.sent_at"
    ).fetchall()
    in_threads = {row[0] for row in rows if not row[7] and row[5] != row[0]}
    with_replies = {row[5] for row in rows if row[0] in in_threads}
    streams: dict[str, list[ChatLine]] = defaultdict(list)
    for ident, space, sent_at, text, name, *_ in rows:
        if ident not in in_threads:
            streams[space].append(ChatLine(ident, name or "", sent_at, text, reply_to=ident if ident in with_replies else None))
    roots: set[str] = set()
    placed = {row[0]: (row[5], row[6], row[7]) for row in rows}
    for lines in streams.values():
        parents = disentangle(lines)
        found = conversation_roots(parents)
        for line in lines:
            parent = parents[line.id]
            expected = (found[line.id], None if parent == line.id else parent, parent != line.id)
            assert placed[line.id] == expected, line.text[:60]
        roots |= set(found.values())
    return roots
