"""Discourse permalinks checked against the topic JSON, and the two commands end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.stories.draft import draft_story

from .conftest import DEMO

FORUM = Path(__file__).resolve().parents[1] / "data" / "discourse" / "forum" / "topics"


def test_discourse_permalinks_are_topic_slug_id_and_post_number(tmp_path: Path) -> None:
    topic = json.loads((FORUM / "welcome-and-first-steps.10.json").read_text())
    accepted = next(p for p in topic["post_stream"]["posts"] if p.get("accepted_answer"))
    with Store.open(tmp_path / "forum.duckdb") as store:
        import_path(store, FORUM)
        ((cid,),) = store.con.execute("SELECT id FROM conversations WHERE title = ?", [topic["title"]]).fetchall()
        story = draft_story(store, cid)
    expected = f"https://forum.example.org/t/{topic['slug']}/{topic['id']}/{accepted['post_number']}"
    assert next(c.permalink for s in story.takeaways for c in s.citations) == expected
    names = {c.name for c in story.contributors}
    assert (accepted.get("name") or accepted["username"]) in names
    assert not any(n.lower() == "system" for n in names)  # the platform's own account is not a contributor


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "villagegreen", *map(str, args)], capture_output=True, text=True, check=False)


def test_cli_threads_ripe_and_story(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    with Store.open(db) as store:
        import_path(store, DEMO)
    ripe = run("threads", "ripe", "--db", db, "--json", "--no-embeddings")
    assert ripe.returncode == 0, ripe.stderr
    report = json.loads(ripe.stdout)
    assert sum(report["counts"].values()) == len(report["threads"]) > 50
    first = report["threads"][0]
    assert first["state"] == "nudge"  # most urgent first
    story = run("story", first["conversation_id"], "--db", db, "--format", "json")
    assert story.returncode == 0, story.stderr
    assert json.loads(story.stdout)["conversation_id"] == first["conversation_id"]
    bad = run("story", "nope", "--db", db)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
