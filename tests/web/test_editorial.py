"""The editor's desk and search pages over HTTP (no browser): real demo data, CSRF on every
change, private spaces hidden, story text sanitised, and each page's .json twin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import SCRIPT_TEXT, SHOW_NAMES, client_for, writable_copy
from villagegreen.store.audit import default_actor


@pytest.fixture
def site(demo_db: Path, tmp_path: Path) -> tuple[TestClient, Path]:
    db = writable_copy(demo_db, tmp_path)
    return client_for(db), db


def _token(client: TestClient, path: str = "/stories") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    if found is None:  # a page without a form: the story editor always has one
        raise AssertionError(f"no CSRF token on {path}")
    return found.group(1)


def _wrap_up_conversation(client: TestClient) -> dict[str, Any]:
    groups = client.get("/threads/ripe.json").json()["groups"]
    threads: list[dict[str, Any]] = next(g for g in groups if g["state"] == "wrap_up")["threads"]
    assert threads, "the demo has conversations ripe for wrap-up"
    return threads[0]


def _draft(client: TestClient) -> int:
    conversation = _wrap_up_conversation(client)["id"]
    token = _token(client, f"/conversations/{conversation}/story")
    response = client.post(f"/conversations/{conversation}/story", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_draft_edit_review_approve_over_http(site: tuple[TestClient, Path]) -> None:
    client, db = site
    assert client.get("/stories.json").json()["stories"] == 0
    story_id = _draft(client)
    story = client.get(f"/stories/{story_id}.json").json()
    assert (story["state"], story["versions"], story["conversation_id"]) == ("draft", 1, _wrap_up_conversation(client)["id"])
    token = _token(client, f"/stories/{story_id}/edit")
    edited = story["markdown"].replace(f"# {story['title']}", "# Edited over HTTP", 1)
    response = client.post(f"/stories/{story_id}/edit", data={"markdown": edited, "note": "retitled", "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    for state in ("in_review", "approved"):
        response = client.post(f"/stories/{story_id}/state", data={"state": state, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
    after = client.get(f"/stories/{story_id}.json").json()
    assert (after["title"], after["state"], after["versions"]) == ("Edited over HTTP", "approved", 4)
    assert [v["state"] for v in after["history"]] == ["approved", "in_review", "draft", "draft"]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT version, state, actor, note FROM story_versions WHERE story_id = ? ORDER BY version", [story_id]).fetchall()
    # On an open loopback dashboard the actor is the local login name, marked as a dashboard change.
    assert rows[1] == (2, "draft", f"dashboard:{default_actor()}", "retitled") and rows[3][1] == "approved"
    page = client.get("/stories").text
    assert "Edited over HTTP" in page and 'data-state="approved"' in page


def test_every_change_needs_the_csrf_token(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    conversation = _wrap_up_conversation(client)["id"]
    assert client.post(f"/conversations/{conversation}/story", data={}).status_code == 403
    story_id = _draft(client)
    for path, fields in ((f"/stories/{story_id}/edit", {"markdown": "# x"}), (f"/stories/{story_id}/state", {"state": "approved"}),
                         (f"/stories/{story_id}/preview", {"markdown": "# x"})):  # fmt: skip
        assert client.post(path, data={**fields, "csrf_token": "forged"}).status_code == 403, path
    assert client.get(f"/stories/{story_id}.json").json()["versions"] == 1


def test_a_refused_edit_keeps_the_text_and_says_why(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    story_id = _draft(client)
    token = _token(client, f"/stories/{story_id}/edit")
    markdown = client.get(f"/stories/{story_id}.json").json()["markdown"].replace("## Context\n\n", "## Context\n\n- A claim with no source.\n", 1)
    response = client.post(f"/stories/{story_id}/edit", data={"markdown": markdown, "csrf_token": token})
    assert response.status_code == 400
    assert "a statement without a citation" in response.text and "A claim with no source." in response.text
    assert client.get(f"/stories/{story_id}.json").json()["versions"] == 1


def test_preview_is_sanitised_markdown(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    story_id = _draft(client)
    token = _token(client, f"/stories/{story_id}/edit")
    hostile = (
        "# <script>window.pwned=1</script>\n\n## Context\n\n- <img src=x onerror=alert(1)> ![x](http://198.51.100.7/x.png) [go](javascript:alert(1)) **bold**\n"
    )
    response = client.post(f"/stories/{story_id}/preview", data={"markdown": hostile, "csrf_token": token}, headers={"hx-request": "true"})
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "<strong>bold</strong>" in html
    assert "Saving this would be refused" in html  # the statement cites nothing


def test_private_conversations_and_their_stories_are_hidden(site: tuple[TestClient, Path]) -> None:
    client, db = site
    story_id = _draft(client)
    conversation = client.get(f"/stories/{story_id}.json").json()["conversation_id"]
    assert client.get("/search.json?q=language").json()["results"]
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE spaces SET private = true")
    assert client.get(f"/stories/{story_id}").status_code == 404
    assert client.get("/stories.json").json()["stories"] == 0
    assert client.get(f"/conversations/{conversation}/story").status_code == 404
    assert client.get("/search.json?q=language").json()["results"] == []


def test_search_page_and_twin(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    data = client.get("/search.json?q=klingon&k=3").json()
    assert data["query"] == "klingon" and 1 <= len(data["results"]) <= 3
    page = client.get("/search?q=klingon&k=3").text
    for result in data["results"]:
        assert f'href="/conversations/{result["conversation_id"]}"' in page
    assert client.get("/search.json").json()["results"] == []
    assert client.get("/search.json?q=x&k=many").status_code == 400


def test_hostile_messages_stay_text_in_stories_and_search(hostile_db: Path, tmp_path: Path) -> None:
    client = client_for(writable_copy(hostile_db, tmp_path), SHOW_NAMES)
    with duckdb.connect(str(hostile_db), read_only=True) as con:
        ((conversation,),) = con.execute("SELECT conversation_id FROM messages WHERE text = ?", [SCRIPT_TEXT]).fetchall()
    token = _token(client, f"/conversations/{conversation}/story")
    response = client.post(f"/conversations/{conversation}/story", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    for path in (response.headers["location"], response.headers["location"] + "/edit", "/search?q=pwned", "/stories"):
        html = client.get(path).text
        assert "<script>window.pwned" not in html and "<img src=x" not in html and "<svg onload" not in html, path
    story = client.get(response.headers["location"] + ".json").json()
    assert "window.pwned=3" in story["markdown"]  # kept as text, shown escaped
    assert "&lt;script&gt;window.pwned=3&lt;/script&gt;" in client.get(response.headers["location"]).text
