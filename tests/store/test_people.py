"""Merging, unmerging, rejecting, listing and auditing people. Names and addresses are invented."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.merge_suggestions import suggestions_from_store
from villagegreen.store.people import audit, list_people, merge, merge_log, people_totals, reject, unmerge

T0 = datetime(2026, 3, 1, tzinfo=UTC)

# (source, identity id, display name, handle, email, bot, messages)
GARDEN = [
    ("slack", "id-slack-ana", "Ana López", "ana", "ana.lopez@corp.example", False, 3),
    ("slack", "id-slack-bo", "Bo Chen", "bochen", None, False, 2),
    ("slack", "id-slack-bot", "Garden Bot", "gardenbot", None, True, 1),
    ("mail", "id-mail-ana", "Ana Lopez", None, "ana.lopez@corp.example", False, 2),
    ("mail", "id-mail-bo", "Bo Chen", None, "chen.bo@uni.example", False, 1),
    ("mail", "id-mail-quiet", "Quiet Reader", None, "quiet@uni.example", False, 0),
    ("forum", "id-forum-ana", "A. López", "alopez", None, False, 1),
    ("forum", "id-forum-bo", "Bo Chen", "bochen", None, False, 0),
]
UNATTRIBUTED = {"forum": 1}  # messages with no author (a deleted account)


def build_garden(store: Store) -> None:
    """Three invented sources, written as the import writer writes them: each identity its own person."""
    con = store.con
    for source in ("slack", "mail", "forum"):
        con.execute("INSERT INTO sources VALUES (?, ?, ?, NULL, ?, ?)", [source, source, f"{source}-garden", T0, T0])
        con.execute("INSERT INTO spaces VALUES (?, ?, ?, ?, 'channel', false, NULL)", [f"sp-{source}", source, "general", "general"])
    n = 0
    for source, identity_id, name, handle, email, bot, messages in GARDEN:
        con.execute("INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)", [identity_id, source, identity_id, name, handle, email, bot, identity_id])
        con.execute("INSERT INTO people VALUES (?, ?, ?)", [identity_id, name, T0])
        for _ in range(messages):
            n += 1
            _add_message(store, f"m{n}", source, identity_id)
    for source, count in UNATTRIBUTED.items():
        for _ in range(count):
            n += 1
            _add_message(store, f"m{n}", source, None)


def _add_message(store: Store, message_id: str, source: str, author: str | None) -> None:
    store.con.execute(
        "INSERT INTO messages VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 'hello', 'message', NULL, 1)",
        [message_id, source, message_id, message_id, f"sp-{source}", author, T0],
    )


@pytest.fixture
def garden(store: Store) -> Store:
    build_garden(store)
    return store


def snapshot(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (
        store.con.execute("SELECT id, person_id FROM identities ORDER BY id").fetchall(),
        store.con.execute("SELECT id, display_name, created_at FROM people ORDER BY id").fetchall(),
    )


def person_of(store: Store, identity_id: str) -> str:
    return str(store.con.execute("SELECT person_id FROM identities WHERE id = ?", [identity_id]).fetchall()[0][0])


def test_merge_joins_people_and_logs_what_moved(garden: Store) -> None:
    record = merge(garden, ["id-slack-ana", "id-mail-ana", "id-forum-ana"], reason="same person, three platforms", actor="facilitator")
    assert {person_of(garden, i) for i in ("id-slack-ana", "id-mail-ana", "id-forum-ana")} == {"id-slack-ana"}
    assert sorted(record.identity_ids) == ["id-forum-ana", "id-mail-ana"]
    assert record.previous_person_ids == record.identity_ids  # each was its own person before
    ((remaining,),) = garden.con.execute("SELECT count(*) FROM people WHERE id IN ('id-mail-ana', 'id-forum-ana')").fetchall()
    assert remaining == 0
    (logged,) = merge_log(garden)
    assert (logged.kind, logged.actor, logged.reason, logged.target_person_id) == ("merge", "facilitator", "same person, three platforms", "id-slack-ana")
    assert logged.score == 1.0  # the slack and mail accounts share an address
    ana = next(p for p in list_people(garden, merged_only=True))
    assert ana.messages == 3 + 2 + 1 and {i.source for i in ana.identities} == {"slack-garden", "mail-garden", "forum-garden"}


@pytest.mark.parametrize(
    ("refs", "reason", "message"),
    [
        (["id-slack-ana", "id-mail-ana"], "  ", "needs a reason"),
        (["id-slack-ana", "id-slack-ana"], "why", "already one person"),
        (["id-slack-ana", "nobody-at-all"], "why", "no person or identity"),
        (["id-slack-ana", "id-slack-b"], "why", "2 people match"),  # prefix of two identities
    ],
)
def test_bad_merges_are_refused_and_change_nothing(garden: Store, refs: list[str], reason: str, message: str) -> None:
    before = snapshot(garden)
    with pytest.raises(InputError, match=message):
        merge(garden, refs, reason=reason)
    assert snapshot(garden) == before and merge_log(garden) == []


def test_a_unique_prefix_is_enough(garden: Store) -> None:
    merge(garden, ["id-slack-an", "id-mail-a"], reason="prefixes")
    assert person_of(garden, "id-mail-ana") == "id-slack-ana"


def test_a_merge_no_rule_supports_keeps_no_score_but_its_reason(garden: Store) -> None:
    record = merge(garden, ["id-mail-quiet", "id-slack-bo"], reason="told me in person")
    assert record.score is None and merge_log(garden)[0].reason == "told me in person"


def test_unmerge_walks_a_chain_of_merges_back_exactly(garden: Store) -> None:
    before = snapshot(garden)
    merge(garden, ["id-slack-ana", "id-mail-ana"], reason="same email")
    merge(garden, ["id-forum-ana", "id-slack-ana"], reason="same name")  # the earlier person is absorbed
    assert {person_of(garden, i) for i in ("id-slack-ana", "id-mail-ana", "id-forum-ana")} == {"id-forum-ana"}
    undo = unmerge(garden, "id-mail-ana")
    assert undo.kind == "unmerge" and undo.undoes == 2
    assert person_of(garden, "id-mail-ana") == "id-slack-ana" and person_of(garden, "id-forum-ana") == "id-forum-ana"
    unmerge(garden, "id-mail-ana")
    assert snapshot(garden) == before
    with pytest.raises(InputError, match="no merge in force"):
        unmerge(garden, "id-mail-ana")
    assert [r.kind for r in merge_log(garden)] == ["merge", "merge", "unmerge", "unmerge"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from([row[1] for row in GARDEN]), min_size=2, max_size=4), max_size=5))
def test_any_merges_undone_newest_first_restore_the_store(groups: list[list[str]]) -> None:
    with Store.open(Path(":memory:")) as store:
        build_garden(store)
        before = snapshot(store)
        done = []
        for group in groups:
            try:
                done.append(merge(store, group, reason="property"))
            except InputError:
                continue  # already one person
        for record in reversed(done):
            undo = unmerge(store, record.identity_ids[0])
            assert undo.undoes == record.id
        assert snapshot(store) == before


def test_a_rejected_pair_is_not_suggested_again(garden: Store) -> None:
    def suggested() -> set[frozenset[str]]:
        return {frozenset(s.identity_ids) for s in suggestions_from_store(garden).suggestions}

    assert frozenset({"id-slack-bo", "id-forum-bo"}) in suggested()
    assert reject(garden, "id-slack-bo", "id-forum-bo", reason="two gardeners called Bo") == 1
    assert frozenset({"id-slack-bo", "id-forum-bo"}) not in suggested()
    assert frozenset({"id-slack-bo", "id-mail-bo"}) in suggested()
    with pytest.raises(InputError, match="needs a reason"):
        reject(garden, "id-slack-bo", "id-mail-bo", reason="")


def test_suggestions_on_the_garden_explain_each_pair(garden: Store) -> None:
    report = suggestions_from_store(garden)
    by_pair = {frozenset(s.identity_ids): s for s in report.suggestions}
    assert by_pair[frozenset({"id-slack-ana", "id-mail-ana"})].tier.value == "certain"
    assert by_pair[frozenset({"id-slack-bo", "id-forum-bo"})].tier.value == "strong"  # same username, two sources
    assert not any("id-slack-bot" in s.identity_ids for s in report.suggestions)
    assert all(re.search(r"\w", s.reason) for s in report.suggestions)


def test_audit_counts_per_source_before_and_after_a_merge(garden: Store) -> None:
    def expected(source: str) -> dict[str, int]:
        rows = [r for r in GARDEN if r[0] == source]
        return {
            "identities": len(rows),
            "bots": sum(r[5] for r in rows),
            "posting": sum(1 for r in rows if r[6]),
            "messages": sum(r[6] for r in rows) + UNATTRIBUTED.get(source, 0),
            "messages_without_author": UNATTRIBUTED.get(source, 0),
        }

    rows = {r.source: r.to_dict() for r in audit(garden)}
    for source in ("slack", "mail", "forum"):
        row = rows[f"{source}-garden"]
        assert {k: row[k] for k in expected(source)} == expected(source)
        assert row["people"] == row["identities"] and row["merged_identities"] == row["shared_people"] == 0
    merge(garden, ["id-slack-bo", "id-mail-bo", "id-forum-bo"], reason="same person")
    rows = {r.source: r.to_dict() for r in audit(garden)}
    assert rows["slack-garden"]["shared_people"] == rows["mail-garden"]["shared_people"] == 1
    assert rows["mail-garden"]["merged_identities"] == 1 and rows["mail-garden"]["people"] == 3
    assert people_totals(garden) == {"identities": len(GARDEN), "people": len(GARDEN) - 2, "identities_moved_by_merges": 2}


@pytest.mark.realdata
def test_audit_of_r_package_devel_matches_counts_taken_from_the_archive(shared_data: Path, tmp_path: Path) -> None:
    from tests.store.test_merge_suggestions import _ANGLE_FROM, _PIPERMAIL_FROM, _SEPARATOR, _SHAPE, mbox_headers

    folder = shared_data / "mail" / "r-package-devel"
    message_ids: set[str] = set()
    senders: set[str] = set()
    for path in sorted(folder.glob("*.txt")):
        for headers in mbox_headers(path):
            message_ids.add(str(headers.get("Message-ID", "")).strip())
            sender = " ".join(str(headers.get("From", "")).split())
            match = _PIPERMAIL_FROM.match(sender) or _ANGLE_FROM.match(sender)
            assert match is not None, sender
            senders.add(_SEPARATOR.sub("@", match.group("addr")).lower().replace(" ", "").translate(_SHAPE))
    with Store.open(tmp_path / "rpd.duckdb") as store:
        import_path(store, folder)
        (row,) = audit(store)
    # The archive's own numbers: one message per distinct Message-ID, one poster per address.
    assert row.messages == len(message_ids)
    assert row.identities == row.posting == row.people == len(senders)
    assert row.bots == row.merged_identities == row.messages_without_author == 0
