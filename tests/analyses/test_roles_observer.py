"""Observers: people who read without writing appear in the roles report once the store holds
per-person read events (``events.kind = 'read'``, e.g. Matrix ``m.read`` receipts).

No archive in ../shared/data has them, so the events are written by hand: eve never writes and
has three read events in January; ann writes and also reads (her role stays the writing one).
"""

from __future__ import annotations

from datetime import timedelta

from tests.analyses.test_roles import JAN, build_community
from villagegreen.analyses.framework import Window
from villagegreen.analyses.roles_profiles import roles_report, run_roles
from villagegreen.config import Config, PrivacyConfig
from villagegreen.store import Store


def test_a_person_who_only_reads_is_an_observer_and_a_writer_keeps_their_role(store: Store) -> None:
    build_community(store)
    store.con.execute("INSERT INTO people (id, display_name, created_at) VALUES ('p-eve', 'Eve', ?)", [JAN])
    store.con.execute(
        "INSERT INTO identities (id, source_id, native_id, display_name, is_bot, person_id) VALUES ('i-eve', 'src', 'eve', 'Eve', false, 'p-eve')"
    )
    reads = [("i-eve", JAN + timedelta(hours=h)) for h in (1, 2, 3)] + [("i-ann", JAN + timedelta(hours=4))]
    for n, (identity, at) in enumerate(reads):
        store.con.execute(
            "INSERT INTO events (id, source_id, space_id, identity_id, kind, occurred_at, meta) VALUES (?, 'src', 'general', ?, 'read', ?, '{}')",
            [f"r{n}", identity, at],
        )
    run_roles(store, Config())
    report = roles_report(store, PrivacyConfig(unrecorded="show"), Window("month"))
    people = {p["person_id"]: p for p in report.people}
    eve = people["p-eve"]
    (january,) = eve["periods"]
    assert january["dominant"] == "observer"
    assert january["evidence"]["reads"] == 3
    ann_january = next(p for p in people["p-ann"]["periods"] if p["period"].startswith(JAN.strftime("%Y-%m")))
    assert ann_january["evidence"]["reads"] == 1
    assert ann_january["dominant"] != "observer"


def test_no_read_events_means_no_observers(store: Store) -> None:
    build_community(store)
    run_roles(store, Config())
    report = roles_report(store, PrivacyConfig(unrecorded="show"), Window("month"))
    assert report.people  # people are shown, none of them as an observer
    assert all(period["dominant"] != "observer" for person in report.people for period in person["periods"])
