"""Contribution records: only with consent, and the accepted answers match the dump itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml import ElementTree

from villagegreen.errors import InputError
from villagegreen.interfaces.cli import main
from villagegreen.interfaces.demo import demo_data_path
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.store.ingest import import_path
from villagegreen.stories.records import contribution_record


@pytest.fixture(scope="module")
def conlang(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    db = tmp_path_factory.mktemp("records") / "store.duckdb"
    with Store.open(db) as store:
        import_path(store, demo_data_path(), platform="stackexchange")
    yield db


def accepted_answers_by_user() -> Counter[str]:
    """From Posts.xml alone: answers accepted on someone else's question, per answer owner."""
    rows = ElementTree.parse(demo_data_path() / "Posts.xml").getroot()
    posts = {row.get("Id"): row for row in rows}
    counts: Counter[str] = Counter()
    for row in rows:
        accepted = posts.get(row.get("AcceptedAnswerId"))
        if accepted is not None and accepted.get("OwnerUserId") and accepted.get("OwnerUserId") != row.get("OwnerUserId"):
            counts[str(accepted.get("OwnerUserId"))] += 1
    return counts


def person_of(store: Store, user_id: str) -> str:
    ((person,),) = store.con.execute("SELECT person_id FROM identities WHERE native_id = ?", [user_id]).fetchall()
    return str(person)


def test_no_record_without_the_members_consent(conlang: Path) -> None:
    user, _ = accepted_answers_by_user().most_common(1)[0]
    with Store.open(conlang) as store:
        person = person_of(store, user)
        with pytest.raises(InputError, match="has not opted in"):
            contribution_record(store, person)
        set_consent(store, person, "records", "refused", actor="test")
        with pytest.raises(InputError, match="has not opted in"):
            contribution_record(store, person)


def test_accepted_answers_match_the_dump_and_link_to_the_site(conlang: Path) -> None:
    user, accepted = accepted_answers_by_user().most_common(1)[0]
    with Store.open(conlang) as store:
        person = person_of(store, user)
        set_consent(store, person, "records", "granted", actor="test")
        record = contribution_record(store, person)
    validated = [item for item in record.validated_answers if item["validation"] == "accepted"]
    assert len(validated) == accepted
    assert all(str(item["link"]).startswith("https://conlang.stackexchange.com/a/") for item in validated)
    assert all(item["others"] >= 1 for item in record.conversations_started)
    markdown = record.to_markdown()
    assert f"## Answers validated by the asker ({len(record.validated_answers)})" in markdown
    assert "rank" not in markdown.replace("no ranking", "")


def test_cli_writes_the_record_once_consent_is_granted(conlang: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    user, accepted = accepted_answers_by_user().most_common(1)[0]
    with Store.open(conlang) as store:
        person = person_of(store, user)
        set_consent(store, person, "records", "granted", actor="test")
    out = tmp_path / "record.json"
    main(["people", "record", person, "--db", str(conlang), "--format", "json", "--out", str(out)])
    assert "Show it to the member first" in capsys.readouterr().err
    data = __import__("json").loads(out.read_text())
    assert sum(1 for item in data["answers_validated_by_the_asker"] if item["validation"] == "accepted") == accepted
