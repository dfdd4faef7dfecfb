"""Every page and its .json twin against a real store (the shipped Conlang Stack Exchange dump).

Expected numbers are counted independently from the dump's XML files, not copied from the app.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_DATA
from tests.web.conftest import client_for
from villagegreen.analyses.runner import ANALYSES, run_analyses
from villagegreen.config import Config
from villagegreen.interfaces.demo import demo_data_path
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

PAGES = ("/overview", "/spaces", "/people", "/settings")


def _rows(name: str) -> list[dict[str, str]]:
    return [row.attrib for row in ET.parse(demo_data_path() / name).getroot()]


def _dump_facts() -> dict[str, object]:
    posts = _rows("Posts.xml")
    kept = {p["Id"] for p in posts if p["PostTypeId"] in ("1", "2")}
    comments = [c for c in _rows("Comments.xml") if c["PostId"] in kept]
    questions = [p for p in posts if p["PostTypeId"] == "1"]
    answers = Counter(p["ParentId"] for p in posts if p["PostTypeId"] == "2")
    busiest = max(questions, key=lambda q: answers[q["Id"]])
    thread_posts = {busiest["Id"]} | {p["Id"] for p in posts if p.get("ParentId") == busiest["Id"]}
    return {
        "messages": len(kept) + len(comments),
        "conversations": len(questions),
        "busiest_title": busiest["Title"],
        "busiest_answers": answers[busiest["Id"]],
        "busiest_messages": len(thread_posts) + sum(1 for c in comments if c["PostId"] in thread_posts),
    }


FACTS = _dump_facts()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_its_json_twin_render(demo_db: Path, path: str) -> None:
    client = client_for(demo_db)
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    assert "<main>" in page.text and "Traceback" not in page.text
    twin = client.get(f"{path}.json")
    assert twin.status_code == 200
    assert twin.headers["content-type"] == "application/json"
    assert isinstance(twin.json(), dict) and twin.json()


def test_overview_counts_match_the_dump(demo_db: Path) -> None:
    data = client_for(demo_db).get("/overview.json").json()
    assert data["totals"]["messages"] == FACTS["messages"]
    assert data["totals"]["conversations"] == FACTS["conversations"]
    assert data["totals"]["sources"] == 1
    assert len(data["monthly"]) >= 12  # the dump spans 2018 to 2020
    assert [m["month"] for m in data["monthly"]] == sorted(m["month"] for m in data["monthly"])
    for chart in data["charts"].values():
        assert chart["data"]["values"], "a chart without data"


def test_overview_page_shows_what_its_twin_returns(demo_db: Path) -> None:
    client = client_for(demo_db)
    data = client.get("/overview.json").json()
    html = client.get("/overview").text
    for fig in data["figures"]:
        assert fig["label"] in html and fig["display"] in html
        assert fig["direction"] in html
    directions = {f["metric"]: f["good"] for f in data["figures"]}
    assert directions["reply_coverage_7d"] == "higher" and directions["first_reply_median_hours"] == "lower"
    for question in data["unanswered_questions"]:
        assert f"/conversations/{question['conversation_id']}" in html
    assert 'data-spec="chart-activity"' in html and 'id="chart-participation"' in html


def test_spaces_and_space_page(demo_db: Path) -> None:
    client = client_for(demo_db)
    spaces = client.get("/spaces.json").json()["spaces"]
    assert len(spaces) == 1 and spaces[0]["messages"] == FACTS["messages"]
    assert f"/spaces/{spaces[0]['id']}" in client.get("/spaces").text
    space = client.get(f"/spaces/{spaces[0]['id']}.json").json()
    assert len(space["conversations"]) == FACTS["conversations"]
    assert {f["metric"] for f in space["figures"]} >= {"reply_coverage_7d", "conversations"}
    assert client.get(f"/spaces/{spaces[0]['id']}").status_code == 200


def test_conversation_reply_tree(demo_db: Path) -> None:
    client = client_for(demo_db)
    space_id = client.get("/spaces.json").json()["spaces"][0]["id"]
    listed = client.get(f"/spaces/{space_id}.json").json()["conversations"]
    (chosen,) = [c for c in listed if c["title"] == FACTS["busiest_title"]]
    data = client.get(f"/conversations/{chosen['id']}.json").json()
    messages = data["messages"]
    assert len(messages) == FACTS["busiest_messages"]
    assert sum(1 for m in messages if m["kind"] == "answer" and m["depth"] == 1) == FACTS["busiest_answers"]
    position = {m["id"]: i for i, m in enumerate(messages)}
    by_id = {m["id"]: m for m in messages}
    for m in messages:
        if m["reply_to_id"] in by_id:  # a reply comes after its parent, one level deeper
            assert position[m["reply_to_id"]] < position[m["id"]]
            assert m["depth"] == by_id[m["reply_to_id"]]["depth"] + 1
    html = client.get(f"/conversations/{chosen['id']}").text
    assert html.count('class="message indent-') == len(messages)


def test_conversation_shows_its_acts_and_the_state_the_ripe_page_gives_it(demo_db: Path) -> None:
    client = client_for(demo_db)
    ripe = client.get("/threads/ripe.json").json()
    state_of = {t["id"]: g["state"] for g in ripe["groups"] for t in g["threads"]}
    conversation_id = next(iter(state_of))
    data = client.get(f"/conversations/{conversation_id}.json").json()
    assert data["lifecycle"]["state"] == state_of[conversation_id] and data["lifecycle"]["signals"]
    with duckdb.connect(str(demo_db), read_only=True) as con:
        acts = dict(con.execute(
            "SELECT a.message_id, a.act FROM message_acts a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ?", [conversation_id]
        ).fetchall())  # fmt: skip
    assert acts and {m["id"]: m["act"]["act"] for m in data["messages"] if m["act"]} == acts
    html = client.get(f"/conversations/{conversation_id}").text
    assert html.count('class="badge act"') == len(acts) and f'href="/conversations/{conversation_id}/story"' in html


def test_unknown_and_private_items_are_not_found(demo_db: Path, tmp_path: Path) -> None:
    client = client_for(demo_db)
    assert client.get("/conversations/nope.json").status_code == 404
    assert client.get("/spaces/nope").status_code == 404
    space_id = client.get("/spaces.json").json()["spaces"][0]["id"]
    conversation_id = client.get(f"/spaces/{space_id}.json").json()["conversations"][0]["id"]
    copy = tmp_path / "private.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE spaces SET private = true")
    private = client_for(copy)
    assert private.get("/spaces.json").json()["spaces"] == []
    assert private.get(f"/spaces/{space_id}.json").status_code == 404
    assert private.get(f"/conversations/{conversation_id}").status_code == 404


def test_not_analysed_store_says_so_and_offers_the_command(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    Store.open(db).close()
    client = client_for(db)
    for path in ("/overview", "/spaces", "/people"):
        page = client.get(path)
        assert page.status_code == 200
        assert f"villagegreen analyze --db {db}" in page.text
        twin = client.get(f"{path}.json")
        assert twin.status_code == 409 and twin.json()["command"] == f"villagegreen analyze --db {db}"
    assert client.get("/settings.json").json()["analysis_runs"] == []
    # Once imported and analysed, the same app shows the results: nothing stale is kept.
    with Store.open(db) as store:
        import_path(store, TEST_DATA / "telegram" / "chat", platform="telegram")
        run_analyses(store, Config())
    assert client.get("/overview.json").status_code == 200
    assert len(client.get("/settings.json").json()["analysis_runs"]) == 2 * len(ANALYSES)  # each at its own grain and over the whole window


def test_missing_store_is_a_clear_503(tmp_path: Path) -> None:
    client = client_for(tmp_path / "absent.duckdb")
    response = client.get("/overview.json")
    assert response.status_code == 503
    assert "villagegreen import" in response.json()["message"]


def test_people_page_is_consent_aware(demo_db: Path) -> None:
    data = client_for(demo_db).get("/people.json").json()
    activity = data["activity"]
    # No consent recorded in the demo and the default policy aggregates: nobody named.
    assert activity["people"] == []
    assert activity["groups"] and all(g["people"] >= activity["k_anonymity"] for g in activity["groups"])
    with duckdb.connect(str(demo_db), read_only=True) as con:
        # Activity counts everyone who wrote or reacted.
        ((active,),) = con.execute(
            "SELECT count(DISTINCT i.person_id) FROM identities i WHERE i.id IN (SELECT author_id FROM messages UNION SELECT identity_id FROM reactions)"
        ).fetchall()
    assert sum(g["people"] for g in activity["groups"]) <= active


def test_openapi_is_local_and_describes_every_twin(demo_db: Path) -> None:
    client = client_for(demo_db)
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {f"{p}.json" for p in PAGES} <= paths
    assert {"/spaces/{space_id}.json", "/conversations/{conversation_id}.json", "/people/merge-decisions"} <= paths
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_pages_reference_no_external_origin(demo_db: Path) -> None:
    client = client_for(demo_db)
    space_id = client.get("/spaces.json").json()["spaces"][0]["id"]
    for path in (*PAGES, f"/spaces/{space_id}"):
        html = client.get(path).text
        external = re.findall(r'(?:src|href|action)\s*=\s*["\']?\s*(?:https?:)?//', html)
        assert external == [], f"{path} links outside: {external}"
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset
