"""``villagegreen sync`` against a real Synapse on 127.0.0.1 (see tests/sync/synapse.py).

Each test posts into its own room and syncs into its own store; what the store must hold is
worked out from what the test posted (event ids returned by Synapse), not from the sync.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.cli_support import run_cli as run
from tests.sync.synapse import Poster, Synapse, synapse_python
from villagegreen.store import Store
from villagegreen.store import sync as sync_module
from villagegreen.store.ingest import CRASH_AT_ENV, import_path

TOKEN_ENV = "VG_TEST_MATRIX_TOKEN"


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(synapse_python(), tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class People:
    alice: Poster
    bob: Poster
    carol: Poster


@pytest.fixture(scope="module")
def people(synapse: Synapse) -> People:
    return People(*(Poster(synapse, synapse.register(name)) for name in ("alice", "bob", "carol")))


@dataclass
class Room:
    room_id: str
    # Event ids of messages that must be in the store, and the ones that must not.
    kept: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    facts: dict[str, str] = field(default_factory=dict)


def new_room(people: People, name: str) -> Room:
    """A public room of three with a reply, a thread, an edit and a redaction."""
    room = Room(people.alice.create_room(name))
    people.bob.join(room.room_id)
    people.carol.join(room.room_id)
    a, b, c = people.alice, people.bob, people.carol
    first = a.say(room.room_id, "Welcome, what are you working on?")
    reply = b.reply(room.room_id, first, "A garden planner.")
    root = c.say(room.room_id, "Anyone know about soil testing?")
    in_thread = a.in_thread(room.room_id, root, "Yes: start with pH strips.")
    in_thread_2 = b.in_thread(room.room_id, root, "And send one sample to a lab.", latest=in_thread)
    typo = a.say(room.room_id, "Meeting on Tusday")
    a.edit(room.room_id, typo, "Meeting on Tuesday")
    oops = b.say(room.room_id, "secret phone number 555-0100")
    b.redact(room.room_id, oops)
    room.kept = {first, reply, root, in_thread, in_thread_2, typo}
    room.gone = {oops}
    room.facts = {"first": first, "reply": reply, "root": root, "in_thread": in_thread, "in_thread_2": in_thread_2, "typo": typo}
    return room


def write_config(tmp_path: Path, synapse: Synapse, room_id: str, extra: str = "") -> Path:
    path = tmp_path / "villagegreen.toml"
    path.write_text(
        f'[[sources]]\nname = "garden"\nplatform = "matrix"\nhomeserver = "{synapse.url}"\ntoken_env = "{TOKEN_ENV}"\nrooms = ["{room_id}"]\n{extra}'
    )
    return path


def sync(capsys: pytest.CaptureFixture[str], db: Path, config: Path) -> dict[str, object]:
    code, out, err = run(capsys, "sync", "--db", db, "--config", config, "--json")
    assert code == 0, err
    (report,) = json.loads(out)
    assert isinstance(report, dict)
    return report


def stored(db: Path, room_id: str) -> dict[str, tuple[str, str, str | None, str]]:
    """native_id -> (row id, conversation id, reply_to id, text) for the room's messages."""
    with Store.open(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT m.native_id, m.id, m.conversation_id, m.reply_to_id, m.text FROM messages m JOIN spaces s ON s.id = m.space_id WHERE s.native_id = ?",
            [room_id],
        ).fetchall()
    natives = [row[0] for row in rows]
    assert len(natives) == len(set(natives)), "a message is stored twice"
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch, people: People) -> str:
    monkeypatch.setenv(TOKEN_ENV, people.alice.account.token)
    return people.alice.account.token


def test_first_sync_maps_threads_replies_edits_and_redactions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], synapse: Synapse, people: People, token: str
) -> None:
    room = new_room(people, "first sync")
    db = tmp_path / "vg.duckdb"
    code, out, err = run(capsys, "sync", "--db", db, "--config", write_config(tmp_path, synapse, room.room_id), "--json")
    assert code == 0, err
    assert token not in out + err
    (report,) = json.loads(out)
    rows = stored(tmp_path / "vg.duckdb", room.room_id)
    assert set(rows) == room.kept and report["new"] == len(room.kept)
    f = room.facts
    root_id = rows[f["root"]][0]
    # Both thread messages are in the root's conversation and answer the root (the reply is a fallback).
    assert rows[f["in_thread"]][1] == root_id and rows[f["in_thread_2"]][1] == root_id
    assert rows[f["in_thread"]][2] == root_id and rows[f["in_thread_2"]][2] == root_id
    assert rows[f["reply"]][2] == rows[f["first"]][0] and rows[f["reply"]][1] == rows[f["first"]][1]
    assert rows[f["typo"]][3] == "Meeting on Tuesday"
    with Store.open(tmp_path / "vg.duckdb", read_only=True) as store:
        leaked = store.con.execute("SELECT count(*) FROM raw_items WHERE payload LIKE '%555-0100%'").fetchone()
        cursor = store.con.execute("SELECT cursor FROM sync_state").fetchall()
    assert leaked == (0,) and [(report["cursor_after"],)] == cursor
    assert_token_nowhere(db, token)


def assert_token_nowhere(db: Path, token: str) -> None:
    """The token in no column of any table (each row cast to text), nor anywhere in the file's bytes."""
    with Store.open(db, read_only=True) as store:
        tables = [t for (t,) in store.con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        for table in tables:
            hits = store.con.execute(f'SELECT count(*) FROM "{table}" t WHERE strpos(CAST(t AS VARCHAR), ?) > 0', [token]).fetchone()
            assert hits == (0,), f"token found in {table}"
        # The scan can only fail if it sees the rows: the store must hold the synced text.
        assert store.con.execute("SELECT count(*) FROM raw_items t WHERE strpos(CAST(t AS VARCHAR), 'pH strips') > 0").fetchone() != (0,)
    assert token.encode() not in db.read_bytes()


def test_incremental_sync_adds_exactly_the_new_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synapse: Synapse, people: People, token: str
) -> None:
    # Small pages so that the second sync comes back "limited" and must page back with /messages.
    monkeypatch.setattr(sync_module, "TIMELINE_LIMIT", 4)
    monkeypatch.setattr(sync_module, "HISTORY_PAGE", 3)
    room = new_room(people, "incremental")
    added = new_room(people, "added later")
    db, config = tmp_path / "vg.duckdb", write_config(tmp_path, synapse, room.room_id)
    first = sync(capsys, db, config)
    later = {people.carol.say(room.room_id, f"update {n}") for n in range(9)}
    people.alice.redact(room.room_id, room.facts["first"])
    people.alice.edit(room.room_id, room.facts["typo"], "Meeting on Wednesday")
    # A room added to the config after the first sync, with no news since: its whole history comes.
    write_config(tmp_path, synapse, f'{room.room_id}", "{added.room_id}')
    second = sync(capsys, db, config)
    rows = stored(db, room.room_id)
    expected = (room.kept | later) - {room.facts["first"]}
    assert set(rows) == expected and set(stored(db, added.room_id)) == added.kept
    assert second["new"] == len(later) + len(added.kept) and second["redacted"] == 1 and second["updated"] == 1
    assert second["cursor_before"] == first["cursor_after"] != second["cursor_after"]
    assert rows[room.facts["typo"]][3] == "Meeting on Wednesday"
    again = sync(capsys, db, config)
    assert again["new"] == 0 and again["updated"] == 0 and set(stored(db, room.room_id)) == expected


def test_resume_after_restart_in_a_fresh_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], synapse: Synapse, people: People, token: str) -> None:
    room = new_room(people, "restart")
    db, config = tmp_path / "vg.duckdb", write_config(tmp_path, synapse, room.room_id)
    sync(capsys, db, config)
    before_restart = {people.bob.say(room.room_id, f"before restart {n}") for n in range(3)}
    synapse.stop()
    synapse.start()
    after_restart = {people.carol.say(room.room_id, f"after restart {n}") for n in range(3)}
    env = dict(os.environ, **{TOKEN_ENV: token})
    done = subprocess.run(
        [sys.executable, "-m", "villagegreen", "sync", "--db", str(db), "--config", str(config), "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    (report,) = json.loads(done.stdout)
    assert report["new"] == len(before_restart | after_restart)
    assert set(stored(db, room.room_id)) == room.kept | before_restart | after_restart


def test_a_bad_token_is_one_clear_line_and_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synapse: Synapse, people: People
) -> None:
    bad = "syt_planted_wrong_token_0123456789"
    monkeypatch.setenv(TOKEN_ENV, bad)
    db = tmp_path / "vg.duckdb"
    code, out, err = run(capsys, "sync", "--db", db, "--config", write_config(tmp_path, synapse, "!nowhere:localhost"))
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "rejected the credentials" in err and bad not in err
    monkeypatch.delenv(TOKEN_ENV)
    code, _out, err = run(capsys, "sync", "--db", db, "--config", write_config(tmp_path, synapse, "!nowhere:localhost"))
    assert code != 0 and f"{TOKEN_ENV} is not set" in err


def test_a_synced_message_and_an_imported_one_are_the_same_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], synapse: Synapse, people: People, token: str
) -> None:
    room = new_room(people, "import then sync")
    pages = tmp_path / "pages"
    pages.mkdir()
    start: str | None = None
    for n in range(50):  # /messages pages back to the room's creation, as someone would save them
        params = {"dir": "b", "limit": "5", **({"from": start} if start else {})}
        page = httpx.get(f"{synapse.url}/_matrix/client/v3/rooms/{room.room_id}/messages", params=params,
                         headers={"Authorization": f"Bearer {token}"}).raise_for_status().json()  # fmt: skip
        (pages / f"page{n:02}.json").write_text(json.dumps(page))
        start = page.get("end")
        if not start or not page["chunk"]:
            break
    db = tmp_path / "vg.duckdb"
    with Store.open(db) as store:
        imported = import_path(store, pages, platform="matrix", source_name="localhost")
    assert imported.kind("messages").new == len(room.kept)
    report = sync(capsys, db, write_config(tmp_path, synapse, room.room_id, 'source_key = "localhost"\n'))
    assert report["new"] == 0 and report["updated"] == 0
    assert set(stored(db, room.room_id)) == room.kept


def sync_in_child(db: Path, config: Path, token: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{TOKEN_ENV: token})
    env.pop(CRASH_AT_ENV, None)
    if crash_at:
        env[CRASH_AT_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "villagegreen", "sync", "--db", str(db), "--config", str(config), "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("point", ["sync-batch", "sync-before-commit", "sync-after-commit"])
def test_sigkill_mid_sync_then_rerun_no_duplicates_nothing_missed(point: str, tmp_path: Path, synapse: Synapse, people: People, token: str) -> None:
    room = new_room(people, f"killed at {point}")
    db, config = tmp_path / "vg.duckdb", write_config(tmp_path, synapse, room.room_id)
    first = sync_in_child(db, config, token)
    assert first.returncode == 0, first.stderr
    (first_report,) = json.loads(first.stdout)
    later = {people.carol.say(room.room_id, f"while the sync dies {n}") for n in range(4)}
    killed = sync_in_child(db, config, token, crash_at=point)
    assert killed.returncode == -9, (killed.returncode, killed.stderr)
    with Store.open(db, read_only=True) as store:
        cursor_after_kill = store.con.execute("SELECT cursor FROM sync_state").fetchall()
    if point == "sync-after-commit":
        # Killed after COMMIT: the new messages and the new cursor are both there.
        assert set(stored(db, room.room_id)) == room.kept | later and cursor_after_kill != [(first_report["cursor_after"],)]
    else:
        # Killed inside the transaction: nothing of it survives, the cursor is the old one.
        assert set(stored(db, room.room_id)) == room.kept and cursor_after_kill == [(first_report["cursor_after"],)]
    more = {people.bob.say(room.room_id, f"after the crash {n}") for n in range(2)}
    rerun = sync_in_child(db, config, token)
    assert rerun.returncode == 0, rerun.stderr
    (report,) = json.loads(rerun.stdout)
    # Synapse caches a /sync answer per since-token for two minutes (sync_response_cache_duration),
    # so a re-run with the killed run's cursor may get that run's answer, without the messages
    # posted since; its next_batch is from then too, so the next run brings them. Nothing is lost.
    assert room.kept | later <= set(stored(db, room.room_id))  # stored() fails on any duplicate
    with Store.open(db, read_only=True) as store:
        assert store.con.execute("SELECT cursor FROM sync_state").fetchall() == [(report["cursor_after"],)]
    again = sync_in_child(db, config, token)
    (second,) = json.loads(again.stdout)
    assert set(stored(db, room.room_id)) == room.kept | later | more and second["cursor_before"] == report["cursor_after"]
    assert report["new"] + second["new"] == len(more) + (0 if point == "sync-after-commit" else len(later))
    third = sync_in_child(db, config, token)
    (quiet,) = json.loads(third.stdout)
    assert (quiet["new"], quiet["updated"], quiet["cursor_before"]) == (0, 0, second["cursor_after"])


def test_startup_is_quick(synapse: Synapse) -> None:
    assert synapse.startup_seconds and min(synapse.startup_seconds) < 30, synapse.startup_seconds
