"""Spaces and conversations: per-space health, one space's conversations, one conversation's
reply tree.

Private spaces (channels, DMs) are never shown here: they are only imported on purpose, and a
dashboard viewer may not be entitled to them, so their pages answer "not found".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from villagegreen.analyses.experts_questions import open_questions
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.health_report import build_health_report
from villagegreen.analyses.lifecycle import assess
from villagegreen.analyses.lifecycle_threads import load_thread
from villagegreen.analyses.results import latest_run, metric_values, space_names
from villagegreen.errors import InputError
from villagegreen.interfaces.web.figures import NotAnalysed, NotFound, figure, iso
from villagegreen.store.database import Store

SPACE_FIGURES = (
    "conversations",
    "messages",
    "active_people",
    "reply_coverage_7d",
    "first_reply_median_hours",
    "solo_thread_rate",
    "unanswered_questions",
    "top10_share",
)
CONVERSATIONS_SHOWN = 100
UNANSWERED_SHOWN = 10  # as the health report's default
MAX_INDENT = 8  # deeper replies are drawn at this depth; the tree stays readable on a phone


def spaces_data(store: Store) -> dict[str, Any]:
    run = latest_run(store, Health.name, "all", Window("all").key)
    if run is None:
        raise NotAnalysed("no health results yet")
    health = metric_values(store, run, "space")
    rows = store.con.execute(
        """
        SELECT sp.id, so.name, sp.name, sp.kind, count(m.id), min(m.sent_at), max(m.sent_at)
        FROM spaces sp JOIN sources so ON so.id = sp.source_id LEFT JOIN messages m ON m.space_id = sp.id
        WHERE NOT sp.private
        GROUP BY ALL ORDER BY count(m.id) DESC, sp.name
        """
    ).fetchall()
    spaces = []
    for space_id, source, name, kind, messages, first, last in rows:
        metrics = health.get(space_id, {})
        spaces.append(
            {
                "id": space_id, "source": source, "name": name, "kind": kind, "messages": messages,
                "first_message_at": iso(first), "last_message_at": iso(last),
                "figures": [figure(m, metrics.get(m, {}).get(None)) for m in SPACE_FIGURES],
            }
        )  # fmt: skip
    return {"spaces": spaces, "columns": [figure(m, None) for m in SPACE_FIGURES]}


def space_data(store: Store, space_id: str, unanswered: Callable[[], dict[str, list[dict[str, Any]]]] | None = None) -> dict[str, Any]:
    """One space's page. ``unanswered`` gives :func:`unanswered_by_space` (the dashboard passes
    one cached for the store's state); without it, the health report finds them for this space."""
    found = store.con.execute(
        "SELECT sp.id, so.name, sp.name, sp.kind FROM spaces sp JOIN sources so ON so.id = sp.source_id WHERE sp.id = ? AND NOT sp.private", [space_id]
    ).fetchall()
    if not found:
        raise NotFound(f"no public space with id {space_id!r}")
    _, source, name, kind = found[0]
    try:
        # The report's own search for open questions scans the whole store for one space (3 s at
        # a million messages); the store-wide list, made once, answers every space.
        report = build_health_report(store, Window(Health.default_grain), space=space_id, unanswered_limit=0 if unanswered else UNANSWERED_SHOWN)
    except InputError as error:
        raise NotAnalysed(str(error)) from None
    if unanswered is not None:
        report.unanswered = unanswered().get(space_id, [])
    return {
        "id": space_id,
        "source": source,
        "name": name,
        "kind": kind,
        "figures": [figure(n, v) for n, v in report.figures.items()],
        "alerts": [{"severity": a["severity"], "kind": a["kind"], "message": a["message"]} for a in report.alerts],
        "unanswered_questions": report.unanswered,
        "conversations": recent_conversations(store, space_id),
    }


def unanswered_by_space(store: Store, limit: int = UNANSWERED_SHOWN) -> dict[str, list[dict[str, Any]]]:
    """space id -> its ``limit`` newest open questions (a question nobody else replied to), in the
    layout of the health report's ``unanswered``; one query for every space."""
    names = space_names(store)
    found: dict[str, list[dict[str, Any]]] = {}
    for q in sorted(open_questions(store), key=lambda q: (q.opened_at, q.conversation_id), reverse=True):
        shown = found.setdefault(q.space_id, [])
        if len(shown) < limit:
            # As the health report: chat platforms have no titles, so the opening words stand in for one.
            title = q.title or (q.text or "")[:80]
            shown.append(
                {"conversation_id": q.conversation_id, "space": names.get(q.space_id, q.space_id), "title": title, "opened_at": q.opened_at.isoformat()}
            )
    return found


def recent_conversations(store: Store, space_id: str, limit: int = CONVERSATIONS_SHOWN) -> list[dict[str, Any]]:
    """Newest activity first; chat platforms have no titles, so the opening words stand in."""
    rows = store.con.execute(
        """
        SELECT c.id, coalesce(nullif(c.title, ''), left(root.text, 80)), c.started_at, count(m.id), count(DISTINCT m.author_id), max(m.sent_at)
        FROM conversations c
        LEFT JOIN messages m ON m.conversation_id = c.id
        LEFT JOIN messages root ON root.id = c.id
        WHERE c.space_id = ?
        GROUP BY c.id, c.title, root.text, c.started_at
        ORDER BY max(m.sent_at) DESC NULLS LAST, c.id LIMIT ?
        """,
        [space_id, limit],
    ).fetchall()
    return [
        {"id": cid, "title": title or "(untitled)", "started_at": iso(started), "messages": n, "people": people, "last_message_at": iso(last)}
        for cid, title, started, n, people, last in rows
    ]


def conversation_data(store: Store, conversation_id: str) -> dict[str, Any]:
    found = store.con.execute(
        """
        SELECT c.id, c.title, c.started_at, sp.id, so.name || ' / ' || sp.name
        FROM conversations c JOIN spaces sp ON sp.id = c.space_id JOIN sources so ON so.id = sp.source_id
        WHERE c.id = ? AND NOT sp.private
        """,
        [conversation_id],
    ).fetchall()
    if not found:
        raise NotFound(f"no public conversation with id {conversation_id!r}")
    cid, title, started, space_id, space = found[0]
    rows = store.con.execute(
        """
        SELECT m.id, m.reply_to_id, m.sent_at, m.kind, m.text, i.display_name, i.is_bot, a.act, a.rule, a.evidence
        FROM messages m LEFT JOIN identities i ON i.id = m.author_id LEFT JOIN message_acts a ON a.message_id = m.id
        WHERE m.conversation_id = ? ORDER BY m.sent_at, m.id
        """,
        [cid],
    ).fetchall()
    messages = [
        {
            "id": mid, "reply_to_id": parent, "sent_at": iso(sent), "kind": kind, "text": text, "author": author or "(unknown)", "is_bot": bool(bot),
            "act": None if act is None else {"act": act, "rule": rule, "evidence": evidence},
        }
        for mid, parent, sent, kind, text, author, bot, act, rule, evidence in rows
    ]  # fmt: skip
    return {
        "id": cid,
        "title": title or (messages[0]["text"][:80] if messages else "(untitled)"),
        "started_at": iso(started),
        "space_id": space_id,
        "space": space,
        "messages": reply_tree(messages),
        "acts_labelled": any(m["act"] for m in messages),
        "acts_command": f"villagegreen acts --db {store.path}",
        "lifecycle": _lifecycle(store, cid),
    }


def _lifecycle(store: Store, conversation_id: str) -> dict[str, Any] | None:
    """The conversation's lifecycle state, action, reason and signals, as of the newest message in
    the store (as `threads ripe` and the Ripe threads page); without embeddings, so no novelty or
    drift. None when the conversation has no member messages."""
    thread = load_thread(store, conversation_id)
    if thread is None:
        return None
    ((newest,),) = store.con.execute("SELECT max(sent_at) FROM messages").fetchall()
    found = assess(thread, newest)
    return {
        "as_of": iso(newest), "state": found.state, "label": found.state.replace("_", " "), "action": found.action, "reason": found.reason,
        "signals": [{"name": s.name, "value": s.value, "explanation": s.explanation} for s in found.signals],
    }  # fmt: skip


def reply_tree(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages in depth-first reply order, each with its ``depth`` (0 for roots).

    Iterative, so a reply chain thousands deep cannot exhaust the stack; a reply whose parent is
    missing (deleted, not imported) or that forms a cycle is shown as a root.
    """
    by_id = {m["id"]: m for m in messages}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        parent = message["reply_to_id"]
        children[parent if parent in by_id and parent != message["id"] else None].append(message)
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()
    roots = list(children[None])

    def walk(root: dict[str, Any]) -> None:
        stack = [(root, 0)]
        while stack:
            message, depth = stack.pop()
            if message["id"] in seen:
                continue
            seen.add(message["id"])
            ordered.append({**message, "depth": depth, "indent": min(depth, MAX_INDENT)})
            stack.extend((child, depth + 1) for child in reversed(children.get(message["id"], [])))

    for root in roots:
        walk(root)
    for message in messages:  # cycles: no member of a cycle is reachable from a root
        if message["id"] not in seen:
            walk(message)
    return ordered
