"""Ripe for wrap-up: every public conversation's lifecycle state, suggested action and reason,
grouped by state in the order a facilitator acts (see analyses/lifecycle_report.py).

Computed without an embedder, so the page needs no model: the novelty and drift signals are
absent, so ``split`` (which needs drift) stays empty here; ``villagegreen threads ripe``
computes it. Conversations in private spaces are left out, as on every dashboard page.

The states come from one grouped query over the dialogue acts stored by ``villagegreen acts``
(analyses/lifecycle_signals.py: about 5 s cold on a million messages instead of 88 s). A store
whose messages are not all labelled is assessed thread by thread with acts labelled on the fly
(the same states, much slower), and the page says so and names the command.
"""

from __future__ import annotations

from typing import Any

from villagegreen.analyses.lifecycle import ACTIONS, State
from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.analyses.lifecycle_signals import ThreadState, ripe_states
from villagegreen.interfaces.web.figures import NotAnalysed, iso
from villagegreen.store.database import Store

# The order a facilitator acts in (as the report sorts): unanswered people first.
ACTS_COMMAND = "villagegreen acts --db {db}"
STATE_ORDER: tuple[State, ...] = ("nudge", "wrap_up", "split", "close", "keep_going")
ROWS_PER_STATE = 200  # the JSON of `villagegreen threads ripe --json` has them all
TITLE_CHARS = 80


def ripe_threads_data(store: Store) -> dict[str, Any]:
    """Groups ``{"state", "label", "action", "count", "not_shown", "threads": [...]}`` in
    :data:`STATE_ORDER`; each thread has ``id``, ``title``, ``space``, ``space_id``, ``reason``."""
    ((as_of,),) = store.con.execute("SELECT max(sent_at) FROM messages").fetchall()
    if as_of is None:
        raise NotAnalysed("the store has no messages; import some first (villagegreen import PATH)")
    states = ripe_states(store, as_of)
    notes = []
    if states is None:  # some messages lack a stored act: label them here, as `threads ripe` does
        report = ripeness(store, as_of=as_of, embedder=None)
        states = [ThreadState(r.conversation_id, r.title, r.space, r.state, r.reason, int(r.signal("messages") or 0)) for r in report.threads]
        command = ACTS_COMMAND.format(db=store.path)
        notes.append(f"some messages have no stored dialogue act, so this page labelled them while it was built; `{command}` stores them and makes it fast")
    public = _public_conversations(store)
    rows: dict[str, list[dict[str, Any]]] = {state: [] for state in STATE_ORDER}
    for r in states:
        if r.conversation_id not in public:
            continue
        space_id, fallback_title = public[r.conversation_id]
        rows[r.state].append(
            {"id": r.conversation_id, "title": r.title or fallback_title or "(untitled)", "space": r.space, "space_id": space_id, "reason": r.reason}
        )
    groups = [
        {
            "state": state, "label": state.replace("_", " "), "action": ACTIONS[state], "count": len(rows[state]),
            "not_shown": max(0, len(rows[state]) - ROWS_PER_STATE), "threads": rows[state][:ROWS_PER_STATE],
        }
        for state in STATE_ORDER
    ]  # fmt: skip
    return {
        "as_of": iso(as_of),
        "conversations": sum(g["count"] for g in groups),
        "counts": {g["state"]: g["count"] for g in groups},
        "groups": groups,
        "notes": notes,
        "not_yet": ["novelty and drift (they need embeddings: `villagegreen threads ripe` computes them, and with them split)"],
    }


def _public_conversations(store: Store) -> dict[str, tuple[str, str | None]]:
    """Conversation id -> (space id, opening words); chat platforms have no titles."""
    rows = store.con.execute(
        f"""
        SELECT c.id, c.space_id, left(root.text, {TITLE_CHARS})
        FROM conversations c JOIN spaces sp ON sp.id = c.space_id LEFT JOIN messages root ON root.id = c.id
        WHERE NOT sp.private
        """
    ).fetchall()
    return {cid: (space_id, opening) for cid, space_id, opening in rows}
