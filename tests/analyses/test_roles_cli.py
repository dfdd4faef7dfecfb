"""The roles and experts commands as a user runs them: real processes on a real store file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analyses.test_roles import build_community
from villagegreen.store import Store


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "villagegreen", *map(str, args)], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "store.duckdb"
    with Store.open(path) as store:
        build_community(store)
    return path


def test_acts_then_people_roles_json(db: Path) -> None:
    acts = run("acts", "--db", db, "--json")
    assert acts.returncode == 0, acts.stderr
    assert json.loads(acts.stdout)["labelled"] == 10
    roles = run("people", "roles", "--db", db, "--json")
    assert roles.returncode == 0, roles.stderr
    report = json.loads(roles.stdout)
    assert report["people"] == []  # nobody recorded consent and the default policy aggregates
    assert {(f["from"], f["to"]): f["count"] for f in report["flex"]} == {("learner", "expert"): 1, ("expert", "learner"): 1}
    assert report["not_named"] == 4


def test_experts_and_unanswered(db: Path) -> None:
    result = run("experts", "How do I configure the build flags?", "-k", "2", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    suggestions = json.loads(result.stdout)["suggestions"]
    assert suggestions[0]["name"] == "Bo" and suggestions[0]["reasons"][0]["message_id"] == "a1"
    listed = run("questions", "unanswered", "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["questions"] == []  # both questions were answered


def test_bad_period_is_a_one_line_error(db: Path) -> None:
    result = run("people", "roles", "--period", "year", "--db", db)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--period" in lines[0]
