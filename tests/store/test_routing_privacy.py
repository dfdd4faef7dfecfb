"""Expert-routing rows (availability, routing log) follow a person through merge and erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.store.test_privacy_erasure import build
from villagegreen.store import Store
from villagegreen.store.erasure import forget_person
from villagegreen.store.people import merge

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _person(store: Store, identity: str) -> str:
    ((person,),) = store.con.execute("SELECT person_id FROM identities WHERE id = ?", [identity]).fetchall()
    return str(person)


def _route(store: Store, row_id: int, person: str) -> None:
    store.con.execute("INSERT INTO routing_log VALUES (?, NULL, 'how to prune?', ?, 1, 0.5, ?, 'kim')", [row_id, person, NOW])


def _availability(store: Store, person: str, cap: int) -> None:
    store.con.execute("INSERT INTO availability VALUES (?, false, NULL, ?, NULL, 'kim', ?)", [person, cap, NOW])


def test_forget_deletes_their_availability_and_routing_rows_only(store: Store) -> None:
    build(store)
    wren, toby = _person(store, "id-wren-slack"), _person(store, "id-toby-slack")
    _route(store, 1, wren)
    _route(store, 2, toby)
    _availability(store, wren, 2)
    _availability(store, toby, 3)
    forget_person(store, "id-wren-slack", actor="kim")
    assert store.con.execute("SELECT person_id FROM routing_log").fetchall() == [(toby,)]
    assert store.con.execute("SELECT person_id, max_open_questions FROM availability").fetchall() == [(toby, 3)]


def test_merge_moves_routed_questions_and_keeps_one_availability(store: Store) -> None:
    build(store)
    slack, forum = _person(store, "id-toby-slack"), _person(store, "id-toby-forum")
    assert slack != forum
    _route(store, 1, slack)
    _route(store, 2, forum)
    _availability(store, forum, 4)  # only the absorbed person has a setting: it moves to the target
    merge(store, [slack, forum], reason="same gardener", actor="kim")
    assert store.con.execute("SELECT DISTINCT person_id FROM routing_log").fetchall() == [(slack,)]
    assert store.con.execute("SELECT person_id, max_open_questions FROM availability").fetchall() == [(slack, 4)]
