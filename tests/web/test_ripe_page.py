"""The "Ripe for wrap-up" page (/threads/ripe) and its .json twin against real stores.

The counts are checked against ``ripeness`` called directly and against the number of questions
counted from the demo dump's XML (every Stack Exchange question by a person is one conversation).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb

from tests.web.conftest import GROUP_NAME, IMG_TEXT, SCRIPT_TEXT, client_for
from villagegreen.analyses.lifecycle import STATES
from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.interfaces.demo import demo_data_path
from villagegreen.interfaces.web.pages_threads import STATE_ORDER
from villagegreen.store import Store


def _escaped(raw: str) -> str:
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        raw = raw.replace(char, entity)
    return raw


def _dump_questions() -> int:
    """Questions by people: the Community user (-1) is a bot, and the lifecycle skips bot messages."""
    posts = ET.parse(demo_data_path() / "Posts.xml").getroot()
    return sum(1 for p in posts if p.attrib["PostTypeId"] == "1" and p.attrib.get("OwnerUserId") != "-1")


def test_page_and_twin_render(demo_db: Path) -> None:
    client = client_for(demo_db)
    page = client.get("/threads/ripe")
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    assert "<main>" in page.text and "Traceback" not in page.text
    assert 'href="/threads/ripe" aria-current="page"' in page.text
    twin = client.get("/threads/ripe.json")
    assert twin.status_code == 200 and twin.headers["content-type"] == "application/json"
    data = twin.json()
    assert [g["state"] for g in data["groups"]] == list(STATE_ORDER)
    assert set(STATE_ORDER) == set(STATES)
    # One table row per conversation shown, each in the section of its state.
    shown = sum(len(g["threads"]) for g in data["groups"])
    assert page.text.count('class="ripe-row"') == shown > 0
    for group in data["groups"]:
        assert f'id="state-{group["state"]}"' in page.text
        assert page.text.count(f'data-state="{group["state"]}"') == len(group["threads"])


def test_twin_counts_equal_the_lifecycle_function(demo_db: Path) -> None:
    data = client_for(demo_db).get("/threads/ripe.json").json()
    with Store.open(demo_db, read_only=True) as store:
        direct = ripeness(store, embedder=None)
    assert data["counts"] == {state: direct.counts[state] for state in STATE_ORDER}
    assert {g["state"]: g["count"] for g in data["groups"]} == data["counts"]
    assert data["conversations"] == len(direct.threads) == _dump_questions()
    expected = {r.conversation_id: (r.state, r.reason) for r in direct.threads}
    for group in data["groups"]:
        for thread in group["threads"]:
            assert expected[thread["id"]] == (group["state"], thread["reason"])


def test_rows_link_to_existing_conversation_pages(demo_db: Path) -> None:
    client = client_for(demo_db)
    html = client.get("/threads/ripe").text
    links = re.findall(r'<a href="(/conversations/[^"]+)">', html)
    data = client.get("/threads/ripe.json").json()
    assert len(links) == sum(len(g["threads"]) for g in data["groups"])
    first_of_each = [g["threads"][0] for g in data["groups"] if g["threads"]]
    for thread in first_of_each:
        conversation = client.get(f"/conversations/{thread['id']}.json")
        assert conversation.status_code == 200 and conversation.json()["id"] == thread["id"]
    for link in links[:3]:  # the page's own (url-encoded) links resolve too
        assert client.get(link).status_code == 200, link


def test_nav_links_to_the_page(demo_db: Path) -> None:
    html = client_for(demo_db).get("/overview").text
    assert '<a href="/threads/ripe">Ripe threads</a>' in html


def test_user_content_is_escaped(hostile_db: Path) -> None:
    client = client_for(hostile_db)
    html = client.get("/threads/ripe").text
    assert "<script>window.pwned" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert _escaped(SCRIPT_TEXT) in html  # a chat conversation's title: its opening words
    assert _escaped(GROUP_NAME) in html  # the space name
    titles = {t["title"] for g in client.get("/threads/ripe.json").json()["groups"] for t in g["threads"]}
    assert SCRIPT_TEXT in titles and IMG_TEXT not in titles  # IMG_TEXT is a reply, never a title


def test_private_spaces_are_left_out(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "private.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE spaces SET private = true")
    data = client_for(copy).get("/threads/ripe.json").json()
    assert data["conversations"] == 0 and all(g["threads"] == [] for g in data["groups"])


def test_empty_store_says_not_computed_yet(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    Store.open(db).close()
    client = client_for(db)
    page = client.get("/threads/ripe")
    assert page.status_code == 200 and "Nothing to show yet" in page.text and "import some first" in page.text
    twin = client.get("/threads/ripe.json")
    assert twin.status_code == 409 and twin.json()["status"] == "not_analysed"
