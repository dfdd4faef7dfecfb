"""``villagegreen people ...`` through ``main(argv)``: suggestions, merge, unmerge, reject, list, log, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import run_cli as run
from tests.store.test_people import GARDEN, build_garden
from villagegreen.store import Store

PEOPLE_COMMANDS = ("suggestions", "merge", "unmerge", "reject", "list", "log", "audit")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "garden.duckdb"
    with Store.open(path) as store:
        build_garden(store)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("command", PEOPLE_COMMANDS)
def test_every_people_command_has_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _err = run(capsys, "people", command, "--help")
    assert code == 0 and "Example: villagegreen people " + command in " ".join(out.split())


def test_suggest_merge_list_log_and_unmerge(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    report = run_json(capsys, "people", "suggestions", "--db", db)
    certain = [s for s in report["suggestions"] if s["tier"] == "certain"]
    assert [set(s["identity_ids"]) for s in certain] == [{"id-slack-ana", "id-mail-ana"}]
    assert certain[0]["score"] == 1.0 and "ana.lopez@corp.example" in certain[0]["reason"]
    strong_only = run_json(capsys, "people", "suggestions", "--min-score", "0.8", "--db", db)
    assert strong_only["suggestions"] and all(s["score"] >= 0.8 for s in strong_only["suggestions"])

    merged = run_json(capsys, "people", "merge", "id-slack-ana", "id-mail-ana", "--reason", "same email", "--actor", "fac", "--db", db)
    assert merged["identity_ids"] == ["id-mail-ana"] and merged["actor"] == "fac"
    people = run_json(capsys, "people", "list", "--merged", "--db", db)
    assert [(p["id"], p["messages"], len(p["identities"])) for p in people] == [("id-slack-ana", 5, 2)]
    assert len(run_json(capsys, "people", "list", "--db", db)) == len(GARDEN) - 1

    undone = run_json(capsys, "people", "unmerge", "id-mail-ana", "--db", db)
    assert undone["undoes"] == merged["id"]
    log = run_json(capsys, "people", "log", "--db", db)
    assert [(r["kind"], r["reason"]) for r in log] == [("merge", "same email"), ("unmerge", f"undo merge #{merged['id']}")]
    code, out, _err = run(capsys, "people", "log", "--db", db)
    assert code == 0 and "same email" in out


def test_merge_without_a_reason_is_refused(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _out, err = run(capsys, "people", "merge", "id-slack-ana", "id-mail-ana", "--db", db)
    # Typer reports the missing option (exit 2 once main() also catches typer's vendored click errors).
    assert code != 0 and "reason" in err
    code, _out, err = run(capsys, "people", "merge", "id-slack-ana", "id-mail-ana", "--reason", " ", "--db", db)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and err.startswith("error: a merge needs a reason")


def test_unknown_ids_are_one_clear_line(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _out, err = run(capsys, "people", "unmerge", "no-such-person", "--db", db)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "villagegreen people list" in err


def test_reject_hides_a_suggestion(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    pair = {"id-slack-bo", "id-forum-bo"}
    assert pair in [set(s["identity_ids"]) for s in run_json(capsys, "people", "suggestions", "--db", db)["suggestions"]]
    code, out, _err = run(capsys, "people", "reject", "id-slack-bo", "id-forum-bo", "--reason", "two people called Bo", "--db", db)
    assert code == 0 and "1 identity pair" in out
    assert pair not in [set(s["identity_ids"]) for s in run_json(capsys, "people", "suggestions", "--db", db)["suggestions"]]


def test_human_output_shows_reasons_and_names_with_brackets(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _err = run(capsys, "people", "suggestions", "--db", db)
    assert code == 0 and "same email address ana.lopez@corp.example" in out and "[same_email 1.00]" in out
    assert "suggestions (1 certain," in out


def test_audit_json_counts_per_source(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    result = run_json(capsys, "people", "audit", "--db", db)
    by_source = {r["source"]: r for r in result["sources"]}
    assert {s: r["identities"] for s, r in by_source.items()} == {"slack-garden": 3, "mail-garden": 3, "forum-garden": 2}
    assert by_source["slack-garden"]["bots"] == 1 and by_source["mail-garden"]["posting"] == 2
    assert result["totals"] == {"identities": len(GARDEN), "people": len(GARDEN), "identities_moved_by_merges": 0}
    code, out, _err = run(capsys, "people", "audit", "--db", db)
    assert code == 0 and "slack-garden" in out
