"""The consent registry, and what merges and unmerges do to it. Names and addresses are invented."""

from __future__ import annotations

import pytest

from tests.store.test_people import build_garden
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.audit import entries
from villagegreen.store.consent import consent_status, list_consent, refused_people, set_consent
from villagegreen.store.people import merge, reject, unmerge


@pytest.fixture
def garden(store: Store) -> Store:
    build_garden(store)
    return store


def test_a_choice_is_recorded_read_back_and_logged_with_its_actor(garden: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "facilitator-from-env")
    assert consent_status(garden, "id-slack-bo", "analysis") is None  # nothing recorded is not consent
    set_consent(garden, "id-slack-bo", "analysis", "refused", note="asked in #general")
    set_consent(garden, "id-mail-bo", "quoting", "granted", actor="kim")
    assert consent_status(garden, "id-slack-bo", "analysis") == "refused"
    assert consent_status(garden, "id-slack-bo", "quoting") is None
    assert refused_people(garden, "analysis") == {"id-slack-bo"}
    assert refused_people(garden, "quoting") == set()
    log = entries(garden, action="consent")
    assert [(e.actor, e.person_id, e.details["purpose"], e.details["status"]) for e in log] == [
        ("facilitator-from-env", "id-slack-bo", "analysis", "refused"),
        ("kim", "id-mail-bo", "quoting", "granted"),
    ]
    set_consent(garden, "id-slack-bo", "analysis", "granted")  # a change of mind replaces the row, and is logged too
    assert consent_status(garden, "id-slack-bo", "analysis") == "granted"
    assert entries(garden, action="consent")[-1].details["previous"] == "refused"
    # Both are called "Bo Chen": listed by name, then person id.
    assert [(r.person_id, r.purpose, r.status) for r in list_consent(garden)] == [("id-mail-bo", "quoting", "granted"), ("id-slack-bo", "analysis", "granted")]


@pytest.mark.parametrize(
    ("person", "purpose", "status", "message"),
    [
        ("id-slack-bo", "marketing", "refused", "unknown consent purpose"),
        ("id-slack-bo", "analysis", "maybe", "granted or refused"),
        ("nobody", "analysis", "refused", "no such person"),
    ],
)
def test_bad_choices_are_refused_in_one_line(garden: Store, person: str, purpose: str, status: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        set_consent(garden, person, purpose, status)
    assert list_consent(garden) == []


@pytest.mark.parametrize("refusing_side", ["id-slack-ana", "id-mail-ana"])
def test_after_a_merge_the_strictest_choice_wins_whichever_side_it_was_on(garden: Store, refusing_side: str) -> None:
    granting_side = "id-mail-ana" if refusing_side == "id-slack-ana" else "id-slack-ana"
    set_consent(garden, refusing_side, "analysis", "refused")
    set_consent(garden, granting_side, "analysis", "granted")
    set_consent(garden, granting_side, "quoting", "granted")
    merge(garden, ["id-slack-ana", "id-mail-ana"], reason="same address", actor="kim")
    # The merged person keeps the slack id; the refusal follows them whichever account gave it.
    assert consent_status(garden, "id-slack-ana", "analysis") == "refused"
    assert consent_status(garden, "id-slack-ana", "quoting") == "granted"
    assert garden.con.execute("SELECT count(*) FROM consent WHERE person_id = 'id-mail-ana'").fetchall() == [(0,)]
    actions = [e.action for e in entries(garden)]
    assert actions[-1] == "merge" and "consent" in actions
    merge_entry = entries(garden, action="merge")[0]
    assert merge_entry.actor == "kim" and merge_entry.details["absorbed_people"] == ["id-mail-ana"]


def test_an_unmerge_leaves_the_merged_consent_on_both_people(garden: Store) -> None:
    set_consent(garden, "id-mail-ana", "routing", "refused")
    merge(garden, ["id-slack-ana", "id-mail-ana"], reason="same address")
    unmerge(garden, "id-mail-ana", reason="two different people after all", actor="kim")
    assert consent_status(garden, "id-slack-ana", "routing") == "refused"
    assert consent_status(garden, "id-mail-ana", "routing") == "refused"
    (logged,) = entries(garden, action="unmerge")
    assert logged.actor == "kim" and logged.details["restored_people"] == ["id-mail-ana"]


def test_a_rejection_is_audited(garden: Store) -> None:
    reject(garden, "id-slack-bo", "id-mail-bo", reason="namesakes", actor="kim")
    (logged,) = entries(garden, action="reject")
    assert (logged.person_id, logged.details["other_person_id"], logged.details["pairs_added"], logged.actor) == ("id-slack-bo", "id-mail-bo", 1, "kim")
