"""``villagegreen embed / topics / goals / tone`` through ``main(argv)`` on the invented community."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.analyses.test_topics_community import build_items
from tests.cli_support import run_cli as run
from tests.fakes import JsonListConnector
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    items, _ = build_items()
    (folder / "c.jsonlist").write_text(json.dumps(items))
    with Store.open(folder / "store.duckdb") as store:
        import_path(store, folder / "c.jsonlist", connector_class=JsonListConnector)
    return folder / "store.duckdb"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("command", ["embed", "topics", "goals", "tone"])
def test_every_command_has_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Example: villagegreen " + command in " ".join(out.split())


def test_embed_twice_embeds_nothing_the_second_time(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    first = run_json(capsys, "embed", "--db", db)
    messages = len(build_items()[0])  # every invented message has text
    assert first["embedded"] + first["up_to_date"] == messages
    second = run_json(capsys, "embed", "--db", db)
    assert (second["embedded"], second["up_to_date"]) == (0, messages)


def test_topics_and_goals_and_tone_as_json(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    topics = run_json(capsys, "topics", "--db", db, "--k", "3")
    assert topics["conversations"] == 36 and len(topics["topics"]) == 3
    assert sum(t["conversations"] for t in topics["topics"]) == 36
    goals = run_json(capsys, "goals", "--db", db, "--programme", REPO / "examples" / "programme.yaml")
    # The example programme is about constructed languages: nothing here is about them.
    assert set(goals["gaps"]) == {g["goal"] for g in goals["goals"]} and goals["poll_suggestions"]
    tone = run_json(capsys, "tone", "--db", db)
    assert tone["conversations_read"] == 36


def test_human_output_and_one_line_errors(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "topics", "--db", db, "--k", "3")
    assert code == 0 and "3 topics in 36 conversations" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("goals:\n  - description: nameless\n")
    code, out, err = run(capsys, "goals", "--db", db, "--programme", bad)
    assert code == 2 and "'name' is missing" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "topics", "--db", db, "--model", "huge")
    assert code != 0 and "--model 'huge'" in err
