"""``people forget``: erasure from every table, integrity afterwards, and the re-import block list.

The small garden below is invented; the real-data test uses the Stack Exchange conlang dump.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from villagegreen.store import Store
from villagegreen.store import ingest as ingest_module
from villagegreen.store.audit import entries
from villagegreen.store.consent import set_consent
from villagegreen.store.erasure import apply_block_list, forget_person
from villagegreen.store.ingest import import_path

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WREN = {"person": "id-wren-slack", "identities": ("id-wren-slack", "id-wren-mail", "id-wren-forum")}
WREN_STRINGS = ("Wren Halloway", "wren.h@garden.example", "wren.h at garden.example", "U0WREN01", "wren", *WREN["identities"])


def build(store: Store) -> None:
    con = store.con
    for source in ("slack", "mail", "forum"):
        con.execute("INSERT INTO sources VALUES (?, ?, ?, NULL, ?, ?)", [source, source, f"{source}-garden", T0, T0])
        con.execute("INSERT INTO spaces VALUES (?, ?, 'general', 'general', 'channel', false, NULL)", [f"sp-{source}", source])
    identities = [
        ("id-wren-slack", "slack", "U0WREN01", "Wren Halloway", "wren", "wren.h@garden.example"),
        ("id-wren-mail", "mail", "wren.h@garden.example", "Wren Halloway", None, "wren.h@garden.example"),
        ("id-wren-forum", "forum", "77", "Wren Halloway", None, None),
        ("id-toby-slack", "slack", "U0TOBY02", "Tobias Quell", "toby", None),
        ("id-toby-forum", "forum", "78", "Tobias Quell", None, None),
    ]
    for identity_id, source, native, name, handle, email in identities:
        con.execute("INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?, false, NULL, ?)", [identity_id, source, native, name, handle, email, identity_id])
        con.execute("INSERT INTO people VALUES (?, ?, ?)", [identity_id, name, T0])
    # Wren's mail and forum accounts were merged into the slack one, as `people merge` would.
    con.execute("UPDATE identities SET person_id = 'id-wren-slack' WHERE id IN ('id-wren-mail', 'id-wren-forum')")
    con.execute("DELETE FROM people WHERE id IN ('id-wren-mail', 'id-wren-forum')")
    con.execute(
        "INSERT INTO people_merges VALUES (1, 'merge', ?, 'kim', 'same person', 1.0, 'id-wren-slack', ?, ?, ?, NULL)",
        [T0, ["id-wren-mail", "id-wren-forum"], ["id-wren-mail", "id-wren-forum"], json.dumps([{"id": "id-wren-mail", "display_name": "Wren Halloway"}])],
    )
    con.execute("INSERT INTO people_merge_rejections VALUES ('id-toby-slack', 'id-wren-slack', ?, 'kim', 'namesakes?')", [T0])
    messages = [  # id, source, conversation, reply_to, author, text
        ("c1", "slack", "c1", None, "id-wren-slack", "How do I prune roses?"),
        ("c1r1", "slack", "c1", "c1", "id-toby-slack", "Ask Wren Halloway (wren.h@garden.example) or <@U0WREN01>; @wren knows"),
        ("c1r2", "slack", "c1", "c1r1", "id-wren-slack", "thanks"),
        ("c1r3", "slack", "c1", "c1r2", "id-toby-slack", "welcome, a wrench helps"),
        ("c2", "slack", "c2", None, "id-wren-slack", "anyone here?"),
        ("c3", "slack", "c3", None, "id-toby-slack", "compost tips"),
        ("c3r1", "slack", "c3", "c3", "id-wren-slack", "turn it weekly"),
        ("m1", "mail", "m1", None, "id-wren-mail", "hello list"),
        ("f1", "forum", "f1", None, "id-toby-forum", "forum post"),
    ]
    for message_id, source, conversation, reply_to, author, text in messages:
        con.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'message', NULL, ?)",
            [message_id, source, message_id, conversation, reply_to, f"sp-{source}", author, T0, text, len(text.split())],
        )
    for conversation, source, title in (
        ("c1", "slack", "Wren asks about roses"),
        ("c2", "slack", None),
        ("c3", "slack", "compost"),
        ("m1", "mail", None),
        ("f1", "forum", "post"),
    ):
        con.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, NULL)", [conversation, source, f"sp-{source}", title, T0])
    raw = [  # native id, source, payload
        ("U0WREN01", "slack", {"id": "U0WREN01", "name": "wren", "real_name": "Wren Halloway"}),
        ("c1r1", "slack", {"user": "U0TOBY02", "text": "Ask Wren Halloway (wren.h@garden.example) or <@U0WREN01>", "reply_users": ["U0WREN01"]}),
        ("c3r1", "slack", {"user": "U0WREN01", "text": "turn it weekly"}),
        ("m1", "mail", {"message": "From: wren.h at garden.example (Wren Halloway)\nhello list"}),
        ("v1", "forum", {"UserId": "77", "PostId": "5", "VoteTypeId": "2"}),
        ("f1", "forum", {"OwnerUserId": "78", "LastEditorUserId": "77", "Score": 77, "Body": "forum post"}),
    ]
    for native, source, payload in raw:
        con.execute("INSERT INTO raw_items VALUES (?, ?, ?, '1', 'item', ?, ?, ?)", [f"raw-{native}", source, source, native, json.dumps(payload), T0])
    con.execute("INSERT INTO reactions VALUES ('r1', 'slack', 'c3', 'id-wren-slack', 'thumbsup', 1, NULL)")
    con.execute("INSERT INTO reactions VALUES ('r2', 'slack', 'c2', 'id-toby-slack', 'wave', 1, NULL)")
    con.execute("INSERT INTO reactions VALUES ('r3', 'slack', 'c1', 'id-toby-slack', 'eyes', 1, NULL)")
    con.execute("INSERT INTO events VALUES ('e1', 'slack', 'sp-slack', 'id-wren-slack', 'join', ?, '{\"name\": \"Wren Halloway\"}')", [T0])
    con.execute("INSERT INTO analysis_results VALUES ('run', NULL, 'person', 'id-wren-slack', 'messages', 5)")
    con.execute("INSERT INTO analysis_results VALUES ('run', NULL, 'space', 'sp-slack', 'messages', 7)")
    con.execute("INSERT INTO analysis_findings VALUES ('run', 'hint', 'space', 'sp-slack', 'info', 'Wren Halloway answers most questions', '{}')")
    set_consent(store, "id-wren-slack", "analysis", "refused", note="Wren Halloway asked by mail")


def text_cells(store: Store) -> list[tuple[str, str, str]]:
    """Every VARCHAR/JSON/list cell of every table as text: (table, column, value)."""
    cells = []
    columns = store.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' AND data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]')"
    ).fetchall()
    for table, column in columns:
        for (value,) in store.con.execute(f'SELECT "{column}"::VARCHAR FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall():
            cells.append((table, column, value))
    return cells


def mentions(store: Store, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in needles) + r")(?!\w)", re.IGNORECASE)
    return [(table, column, needle.group(0)) for table, column, value in text_cells(store) if (needle := pattern.search(value))]


def integrity_problems(store: Store) -> dict[str, int]:
    checks = {
        "message without conversation": "SELECT count(*) FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)",
        "reply to a missing message": "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND reply_to_id NOT IN (SELECT id FROM messages)",
        "author without identity": "SELECT count(*) FROM messages WHERE author_id IS NOT NULL AND author_id NOT IN (SELECT id FROM identities)",
        "reaction on a missing message": "SELECT count(*) FROM reactions WHERE message_id NOT IN (SELECT id FROM messages)",
        "identity without person": "SELECT count(*) FROM identities WHERE person_id NOT IN (SELECT id FROM people)",
        "conversation without messages": "SELECT count(*) FROM conversations WHERE id NOT IN (SELECT conversation_id FROM messages)",
    }
    found = {name: int(store.con.execute(sql).fetchall()[0][0]) for name, sql in checks.items()}
    return {name: n for name, n in found.items() if n}


def test_forget_removes_every_trace_and_keeps_the_threads_of_others_valid(store: Store) -> None:
    build(store)
    assert mentions(store, WREN_STRINGS)  # the scan does see them before
    report = forget_person(store, "id-wren-slack", actor="kim")
    assert mentions(store, WREN_STRINGS) == []
    assert integrity_problems(store) == {}
    # c1 (root) and c1r2 are answered by Toby: kept as empty, authorless placeholders.
    rows = store.con.execute("SELECT id, text, author_id, kind FROM messages ORDER BY id").fetchall()
    assert rows == [
        ("c1", "", None, "erased"), ("c1r1", "Ask [erased] ([erased]) or <@[erased]>; @[erased] knows", "id-toby-slack", "message"),
        ("c1r2", "", None, "erased"), ("c1r3", "welcome, a wrench helps", "id-toby-slack", "message"),
        ("c3", "compost tips", "id-toby-slack", "message"), ("f1", "forum post", "id-toby-forum", "message"),
    ]  # fmt: skip
    assert store.con.execute("SELECT id, title FROM conversations ORDER BY id").fetchall() == [("c1", None), ("c3", "compost"), ("f1", "post")]
    assert store.con.execute("SELECT id FROM reactions").fetchall() == [("r3",)]
    assert store.con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    assert store.con.execute("SELECT scope_kind FROM analysis_results").fetchall() == [("space",)]
    assert (
        store.con.execute(
            "SELECT count(*) FROM consent UNION ALL SELECT count(*) FROM people_merges UNION ALL SELECT count(*) FROM people_merge_rejections"
        ).fetchall()
        == [(0,)] * 3
    )
    # Raw items: Wren's account, message, mail and vote go; Toby's stay, redacted; the editor id under a user key is nulled, the score 77 stays.
    raw = dict(store.con.execute("SELECT native_id, payload FROM raw_items").fetchall())
    assert sorted(raw) == ["c1r1", "f1"]
    assert json.loads(raw["f1"]) == {"OwnerUserId": "78", "LastEditorUserId": None, "Score": 77, "Body": "forum post"}
    assert report.deleted == {
        "messages": 3, "conversations": 2, "reactions": 2, "events": 1, "raw_items": 4, "analysis_results": 1, "consent": 1,
        "people_merges": 1, "people_merge_rejections": 1, "identities": 3, "people": 1,
    }  # fmt: skip
    assert report.tombstoned_messages == 2
    assert store.con.execute("SELECT count(*) FROM erased_identities").fetchall() == [(3,)]
    tombstone = entries(store, action="erase")[-1]
    assert tombstone.person_id is None and tombstone.actor == "kim" and tombstone.details["deleted"]["messages"] == 3
    assert all(e.person_id is None for e in entries(store))


def test_the_block_list_erases_a_returning_account_again(store: Store) -> None:
    build(store)
    forget_person(store, "id-wren-slack")
    # What a re-import of the slack export writes: the account, its person, a message mentioning the name.
    store.con.execute("INSERT INTO identities VALUES ('id-wren-slack', 'slack', 'U0WREN01', 'Wren Halloway', 'wren', NULL, false, NULL, 'id-wren-slack')")
    store.con.execute("INSERT INTO people VALUES ('id-wren-slack', 'Wren Halloway', ?)", [T0])
    store.con.execute("INSERT INTO messages VALUES ('c4', 'slack', 'c4', 'c4', NULL, 'sp-slack', 'id-wren-slack', ?, 'back again', 'message', NULL, 2)", [T0])
    store.con.execute("INSERT INTO conversations VALUES ('c4', 'slack', 'sp-slack', 'back again', ?, NULL)", [T0])
    assert apply_block_list(store, source_id="mail").people == 0  # another source: nothing to do
    with store.transaction():
        report = apply_block_list(store, source_id="slack")
    assert report.people == 1 and report.deleted["messages"] == 1
    assert mentions(store, WREN_STRINGS) == [] and integrity_problems(store) == {}


# --- real data -------------------------------------------------------------------------------


def _chosen_person(store: Store) -> str:
    """The person with most messages among those whose messages others replied to."""
    ((person,),) = store.con.execute(
        """
        SELECT i.person_id FROM messages m JOIN identities i ON i.id = m.author_id
        WHERE EXISTS (SELECT 1 FROM messages r WHERE r.reply_to_id = m.id AND r.author_id IS DISTINCT FROM m.author_id)
        GROUP BY i.person_id ORDER BY count(*) DESC, i.person_id LIMIT 1
        """
    ).fetchall()
    return str(person)


def _needles(store: Store, person: str) -> tuple[str, ...]:
    rows = store.con.execute("SELECT id, native_id, display_name, handle, email FROM identities WHERE person_id = ?", [person]).fetchall()
    values = {person}
    for identity_id, native_id, name, handle, email in rows:
        values |= {identity_id, name, *(v for v in (handle, email) if v)}
        if not native_id.isdigit():  # a numeric id like "12" also occurs as an ordinary number
            values.add(native_id)
    return tuple(values)


@pytest.mark.realdata
def test_forgetting_someone_in_a_real_dump_leaves_no_trace(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "stackexchange" / "conlang"
    with Store.open(tmp_path / "conlang.duckdb") as store:
        import_path(store, folder)
        person = _chosen_person(store)
        needles = _needles(store, person)
        native_ids = {n for (n,) in store.con.execute("SELECT native_id FROM identities WHERE person_id = ?", [person]).fetchall()}
        ((messages,),) = store.con.execute("SELECT count(*) FROM messages m JOIN identities i ON i.id = m.author_id WHERE i.person_id = ?", [person]).fetchall()
        ((total_before,),) = store.con.execute("SELECT count(*) FROM messages").fetchall()
        assert messages > 10 and mentions(store, needles)
        report = forget_person(store, person)
        assert mentions(store, needles) == []
        assert integrity_problems(store) == {}
        # Their numeric user id is gone from every user field of every raw payload (Stack Exchange XML rows).
        for (payload,) in store.con.execute("SELECT payload FROM raw_items").fetchall():
            row = json.loads(payload)
            assert not any(k.endswith("UserId") and v in native_ids for k, v in row.items()), row
        ((total_after,),) = store.con.execute("SELECT count(*) FROM messages").fetchall()
        assert total_before - total_after == report.deleted["messages"] == messages - report.tombstoned_messages
        # A re-import brings the rows back, and the block list erases them again.
        import_path(store, folder)
        if "apply_block_list" not in inspect.getsource(ingest_module):
            with store.transaction():
                apply_block_list(store)
        assert mentions(store, needles) == [] and integrity_problems(store) == {}
        assert store.con.execute("SELECT count(*) FROM messages").fetchall() == [(total_after,)]
