"""``people consent``, ``people forget``, ``audit``, ``privacy`` and ``export --pseudonymise`` through ``main``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.interfaces.test_cli_people import run, run_json
from tests.store.test_people import GARDEN, build_garden
from villagegreen.store import Store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "garden.duckdb"
    with Store.open(path) as store:
        build_garden(store)
    return path


def test_consent_is_recorded_listed_and_audited(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "people", "consent", "id-slack-bo", "--purpose", "analysis", "--refuse", "--note", "by mail", "--actor", "kim", "--db", db)
    assert code == 0, err
    assert "analysis refused" in out
    listed = run_json(capsys, "people", "consent", "--list", "--db", db)
    assert [(r["person_id"], r["purpose"], r["status"], r["actor"], r["note"]) for r in listed] == [("id-slack-bo", "analysis", "refused", "kim", "by mail")]
    (entry,) = run_json(capsys, "audit", "--db", db)
    assert (entry["action"], entry["actor"], entry["person_id"]) == ("consent", "kim", "id-slack-bo")


@pytest.mark.parametrize(
    "argv",
    [
        ("people", "consent", "id-slack-bo", "--purpose", "analysis"),  # neither --grant nor --refuse
        ("people", "consent", "id-slack-bo", "--purpose", "analysis", "--grant", "--refuse"),
        ("people", "consent", "id-slack-bo", "--purpose", "gossip", "--grant"),
    ],
)
def test_bad_consent_commands_fail_in_one_line(db: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, _, err = run(capsys, *argv, "--db", db)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_forget_asks_first_and_reports_counts(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, _ = run(capsys, "people", "forget", "id-slack-ana", "--db", db)
    assert code != 0
    with Store.open(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM identities WHERE id = 'id-slack-ana'").fetchall() == [(1,)]
    report = run_json(capsys, "people", "forget", "id-slack-ana", "--yes", "--db", db)
    expected_messages = next(row[6] for row in GARDEN if row[1] == "id-slack-ana")
    assert report["deleted"]["messages"] == expected_messages and report["deleted"]["identities"] == 1
    (entry,) = run_json(capsys, "audit", "--action", "erase", "--db", db)
    assert entry["person_id"] is None and entry["details"]["deleted"]["messages"] == expected_messages


def test_privacy_prints_the_page_and_writes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "privacy")
    assert code == 0 and out.startswith("# What Village Green keeps and computes about members")
    data = run_json(capsys, "privacy")
    assert {a["name"] for a in data["analyses"]} >= {"activity", "health"} and "analysis" in data["consent_purposes"]
    code, _, _ = run(capsys, "privacy", "--out", tmp_path / "privacy.md")
    assert code == 0 and (tmp_path / "privacy.md").read_text(encoding="utf-8").strip() == out.strip()


def test_export_pseudonymise_keeps_names_out(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VILLAGEGREEN_PSEUDONYM_SALT", raising=False)
    out = tmp_path / "corpus"
    code, _, err = run(capsys, "export", out, "--format", "convokit", "--pseudonymise", "--salt", "s3cret", "--db", db)
    assert code == 0, err
    speakers = json.loads((out / "speakers.json").read_text(encoding="utf-8"))
    names = {row[2] for row in GARDEN}
    assert all(s == "unknown" or s.startswith("person-") for s in speakers)
    assert not any(name in (out / "speakers.json").read_text(encoding="utf-8") for name in names)
