"""Roles, Expertise, Topics and the consent registry, page and .json twin, on the real demo store
(the shipped Conlang Stack Exchange dump, imported and analysed by conftest's ``demo_db``).

Expected figures are recomputed with SQL over the store's own tables (messages, identities,
analysis_results, topics), or read from the programme YAML, not copied from the app.
"""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.web.conftest import SCRIPT_NAME, SHOW_NAMES, client_for, writable_copy
from villagegreen.analyses.embeddings import get_embedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.topics import find_topics
from villagegreen.config import Config
from villagegreen.interfaces.web import create_app
from villagegreen.store import Store
from villagegreen.store.consent import set_consent

PROGRAMME = Path(__file__).resolve().parents[2] / "examples" / "programme.yaml"
INSIGHT_PAGES = ("/roles", "/expertise", "/topics", "/settings/consent")
QUESTION = "How should I design the phonology and vowels of my conlang?"


@pytest.fixture(scope="session")
def insights_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store plus an emergent-topics run (static embedder, as `villagegreen topics`)."""
    db = tmp_path_factory.mktemp("insights") / "insights.duckdb"
    shutil.copyfile(demo_db, db)
    with Store.open(db) as store:
        find_topics(store, get_embedder("static"), Window("month"))
    return db


def _sql(db: Path, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [tuple(row) for row in con.execute(query, params or []).fetchall()]


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text)
    assert match is not None, path
    return match.group(1)


@pytest.mark.parametrize("path", INSIGHT_PAGES)
def test_every_insight_page_and_twin_answer_and_are_described(insights_db: Path, path: str) -> None:
    client = client_for(insights_db, SHOW_NAMES)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<h1>") == 1
    twin = client.get(f"{path}.json")
    assert twin.status_code == 200 and twin.headers["content-type"] == "application/json"
    assert f"{path}.json" in client.get("/openapi.json").json()["paths"]


def test_roles_counts_match_the_stored_evidence(insights_db: Path) -> None:
    data = client_for(insights_db).get("/roles.json").json()
    # Active people per month, straight from the roles run's rows: wrote or read something.
    (run_id,) = _sql(insights_db, "SELECT id FROM analysis_runs WHERE analysis = 'roles' AND grain = 'month' ORDER BY finished_at DESC LIMIT 1")[0]
    active = _sql(
        insights_db,
        "SELECT strftime(period_start, '%Y-%m-%d'), scope_id FROM analysis_results WHERE run_id = ? AND scope_kind = 'person' "
        "AND metric IN ('messages', 'reads') AND value > 0 GROUP BY ALL",
        [run_id],
    )
    per_month = Counter(month for month, _ in active)
    assert {month: sum(roles.values()) for month, roles in data["distribution"].items()} == dict(per_month)
    # Flex: one move per pair of consecutive active months of each person.
    months_per_person = Counter(person for _, person in active)
    assert sum(f["count"] for f in data["flex"]) == sum(n - 1 for n in months_per_person.values()) == data["flex_totals"]["moves"]
    # Default policy, nobody consented: nobody named, everybody counted.
    assert data["people"] == [] and data["not_named"] == len(months_per_person) and data["opted_out"] == 0
    assert sum(link["value"] for link in data["sankey"]["links"]) == data["flex_totals"]["moves"]
    flows = data["charts"]["flows"]["layer"][0]["data"]["values"]
    assert sum(link["moves"] for link in flows) == data["flex_totals"]["moves"]


def test_roles_people_evidence_matches_their_messages(insights_db: Path) -> None:
    data = client_for(insights_db, SHOW_NAMES).get("/roles.json").json()
    top = data["people"][0]
    (messages,) = _sql(
        insights_db,
        "SELECT count(*) FROM messages m JOIN identities i ON i.id = m.author_id JOIN spaces s ON s.id = m.space_id "
        "WHERE i.person_id = ? AND NOT s.private AND NOT i.is_bot AND m.kind NOT IN ('moderator_action', 'small_action', 'whisper', 'system', 'erased')",
        [top["person_id"]],
    )[0]
    assert top["overall"]["evidence"]["messages"] == messages > 0
    assert sum(p["evidence"].get("messages", 0) for p in top["periods"]) == messages
    html = client_for(insights_db, SHOW_NAMES).get("/roles").text
    assert top["name"] in html and 'data-spec="chart-flows"' in html and 'id="chart-matrix"' in html


def test_roles_follow_the_consent_registry(insights_db: Path, tmp_path: Path) -> None:
    db = writable_copy(insights_db, tmp_path)
    named = client_for(db, SHOW_NAMES).get("/roles.json").json()["people"]
    refused, granted = named[0]["person_id"], named[1]["person_id"]
    with Store.open(db) as store:
        set_consent(store, refused, "analysis", "refused", actor="test")
        set_consent(store, granted, "analysis", "granted", actor="test")
    shown = client_for(db, SHOW_NAMES).get("/roles.json").json()
    assert refused not in {p["person_id"] for p in shown["people"]} and shown["opted_out"] == 1
    private = client_for(db, Config()).get("/roles.json").json()  # default policy: only consent names
    assert [(p["person_id"], p["consent"]) for p in private["people"]] == [(granted, "granted")]
    assert refused not in client_for(db, Config()).get("/roles").text


def test_roles_not_run_says_which_command(insights_db: Path, tmp_path: Path) -> None:
    db = writable_copy(insights_db, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM analysis_runs WHERE analysis = 'roles'")
    answer = client_for(db).get("/roles.json")
    assert answer.status_code == 409 and answer.json()["command"] == f"villagegreen people roles --db {db}"
    assert f"villagegreen people roles --db {db}" in client_for(db).get("/roles").text


def test_expertise_suggestions_rest_on_real_past_answers(insights_db: Path) -> None:
    client = client_for(insights_db, SHOW_NAMES)
    data = client.get("/expertise.json", params={"q": QUESTION}).json()
    assert data["question"] == QUESTION and data["suggestions"]
    html = client.get("/expertise", params={"q": QUESTION}).text
    for suggestion in data["suggestions"]:
        assert suggestion["reasons"]
        for reason in suggestion["reasons"]:
            # Each reason is an answer this person wrote, in that conversation, to someone else's question.
            ((author, conversation, asker),) = _sql(
                insights_db,
                "SELECT i.person_id, m.conversation_id, ri.person_id FROM messages m JOIN identities i ON i.id = m.author_id "
                "JOIN messages r ON r.id = m.conversation_id JOIN identities ri ON ri.id = r.author_id WHERE m.id = ?",
                [reason["message_id"]],
            )
            assert (author, conversation) == (suggestion["person_id"], reason["conversation_id"]) and asker != author
            assert f'href="/conversations/{reason["conversation_id"]}"' in html
    (answerers,) = _sql(
        insights_db,
        "SELECT count(DISTINCT i.person_id) FROM message_acts a JOIN messages m ON m.id = a.message_id JOIN identities i ON i.id = m.author_id "
        "JOIN messages r ON r.id = m.conversation_id JOIN identities ri ON ri.id = r.author_id JOIN spaces s ON s.id = m.space_id "
        "WHERE a.act = 'answer' AND ri.person_id <> i.person_id AND NOT s.private AND NOT i.is_bot",
    )[0]
    assert data["candidates"] == answerers


def test_unanswered_questions_and_load_are_recounted(insights_db: Path) -> None:
    data = client_for(insights_db, SHOW_NAMES).get("/expertise.json").json()
    assert data["suggestions"] == [] and data["question"] == ""
    for question in data["unanswered"]:
        # Nobody but the asker wrote in an unanswered question's conversation.
        (others,) = _sql(
            insights_db,
            "SELECT count(*) FROM messages m JOIN identities i ON i.id = m.author_id JOIN messages r ON r.id = m.conversation_id "
            "JOIN identities ri ON ri.id = r.author_id WHERE m.conversation_id = ? AND i.person_id <> ri.person_id "
            "AND m.kind NOT IN ('moderator_action', 'small_action', 'whisper', 'system', 'erased')",
            [question["conversation_id"]],
        )[0]
        assert others == 0, question
    ((newest,),) = _sql(insights_db, "SELECT max(sent_at) FROM messages")
    # Answers to someone else's question in the 30 days before the newest message, for everyone.
    recent = dict(
        _sql(
            insights_db,
            "SELECT i.person_id, count(*) FROM message_acts a JOIN messages m ON m.id = a.message_id JOIN identities i ON i.id = m.author_id "
            "JOIN messages r ON r.id = m.conversation_id JOIN identities ri ON ri.id = r.author_id JOIN spaces s ON s.id = m.space_id "
            "WHERE a.act = 'answer' AND ri.person_id <> i.person_id AND NOT s.private AND m.sent_at >= ? GROUP BY ALL",
            [newest - timedelta(days=30)],
        )
    )
    assert {p["person_id"]: p["answers_last_30_days"] for p in data["load"] if p["answers_last_30_days"]} == recent
    # The demo's only open question is older than 90 days (and nothing was routed): nobody carries load for it.
    (opened,) = _sql(insights_db, "SELECT max(sent_at) FROM messages WHERE conversation_id = ?", [data["unanswered"][0]["conversation_id"]])[0]
    if opened < newest - timedelta(days=90):
        assert all(p["open_questions_suggested"] == 0 and p["open_questions_routed"] == 0 for p in data["load"])


def test_expert_load_table_shows_a_routed_question(insights_db: Path, tmp_path: Path) -> None:
    """With someone carrying load, the page renders the load row (it used to fail on a missing key)."""
    db = writable_copy(insights_db, tmp_path)
    question = client_for(db).get("/expertise.json").json()["unanswered"][0]
    ((person, name),) = _sql(db, "SELECT id, display_name FROM people ORDER BY id LIMIT 1")
    with Store.open(db) as store:
        store.con.execute("INSERT INTO routing_log VALUES (1, ?, 'routed by the test', ?, 1, 0.5, now(), 'test')", [question["conversation_id"], person])
    client = client_for(db, SHOW_NAMES)
    load = {p["person_id"]: p for p in client.get("/expertise.json").json()["load"]}
    assert load[person]["open_questions_routed"] == 1 and "open_questions_suggested" in load[person] and load[person]["unavailable"] is None
    page = client.get("/expertise")
    assert page.status_code == 200
    row = re.search(r'<table class="figures" id="expert-load">.*?</table>', page.text, re.S)
    assert row is not None and html.escape(name) in row.group(0)


def test_expertise_leaves_out_people_who_refused_routing(insights_db: Path, tmp_path: Path) -> None:
    db = writable_copy(insights_db, tmp_path)
    first = client_for(db).get("/expertise.json", params={"q": QUESTION}).json()
    top = first["suggestions"][0]["person_id"]
    with Store.open(db) as store:
        set_consent(store, top, "routing", "refused", actor="test")
    after = client_for(db).get("/expertise.json", params={"q": QUESTION}).json()
    assert top not in {s["person_id"] for s in after["suggestions"]} and after["excluded_by_consent"] == 1
    assert top not in {p["person_id"] for p in after["load"]}


def test_topics_cover_every_public_conversation(insights_db: Path) -> None:
    data = client_for(insights_db).get("/topics.json").json()
    (conversations,) = _sql(
        insights_db,
        "SELECT count(DISTINCT m.conversation_id) FROM messages m JOIN spaces s ON s.id = m.space_id LEFT JOIN identities i ON i.id = m.author_id "
        "WHERE NOT s.private AND NOT coalesce(i.is_bot, false) AND m.kind NOT IN ('moderator_action', 'small_action', 'whisper', 'system', 'erased')",
    )[0]
    assert data["conversations"] == sum(t["conversations"] for t in data["topics"]) == conversations
    chart = data["charts"]["monthly"]["data"]["values"]
    assert sum(v["conversations"] for v in chart) == conversations
    assert all(t["examples"] for t in data["topics"])
    assert data["programme"]["status"] == "no_programme" and "VILLAGEGREEN_PROGRAMME" in data["programme"]["message"]


def test_topics_against_the_programme(insights_db: Path) -> None:
    declared = yaml.safe_load(PROGRAMME.read_text(encoding="utf-8"))
    client = TestClient(create_app(insights_db, programme=PROGRAMME), base_url="http://127.0.0.1")
    programme = client.get("/topics.json").json()["programme"]
    assert programme["status"] == "ok" and programme["programme"] == declared["name"]
    assert [g["goal"] for g in programme["goals"]] == [g["name"] for g in declared["goals"]]
    assert [k["id"] for k in programme["key_messages"]] == [k["id"] for k in declared["key_messages"]]
    assert programme["gaps"] == [g["goal"] for g in programme["goals"] if g["conversations"] == 0]
    html = client.get("/topics").text
    assert all(g["name"] in html for g in declared["goals"]) and 'id="key-messages"' in html


def test_topics_not_run_says_which_command(demo_db: Path, tmp_path: Path) -> None:
    db = writable_copy(demo_db, tmp_path)  # the demo finds topics: forget them to see the page without
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM conversation_topics; DELETE FROM topics; DELETE FROM analysis_runs WHERE analysis = 'topics'")
    answer = client_for(db).get("/topics.json")
    assert answer.status_code == 409 and answer.json()["command"] == f"villagegreen topics --db {db}"


def test_consent_form_writes_the_registry_and_the_audit_log(insights_db: Path, tmp_path: Path) -> None:
    db = writable_copy(insights_db, tmp_path)
    client = client_for(db)
    ((person, name),) = _sql(db, "SELECT id, display_name FROM people ORDER BY id LIMIT 1")
    found = client.get("/settings/consent.json", params={"find": person[:10]}).json()["found"]
    assert [p["person_id"] for p in found] == [person]
    form = {"person": person, "purpose": "quoting", "status": "refused", "note": "asked in person", "csrf_token": _csrf(client, "/settings/consent")}
    assert client.post("/settings/consent", data={**form, "csrf_token": "0" * 64}).status_code == 403
    done = client.post("/settings/consent", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/settings/consent"
    assert _sql(db, "SELECT person_id, purpose, status, note FROM consent") == [(person, "quoting", "refused", "asked in person")]
    ((actor, details),) = _sql(db, "SELECT actor, details FROM audit_log WHERE action = 'consent'")
    assert actor.startswith("dashboard:") and '"status": "refused"' in details
    registry = client.get("/settings/consent.json").json()["registry"]
    assert [(r["person_id"], r["display_name"], r["status"]) for r in registry] == [(person, name, "refused")]
    bad = client.post("/settings/consent", data={**form, "purpose": "gossip"}, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "unknown consent purpose" in bad.json()["message"]


def test_expertise_without_dialogue_acts_says_which_command(insights_db: Path, tmp_path: Path) -> None:
    db = writable_copy(insights_db, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM message_acts")
    answer = client_for(db).get("/expertise.json")
    assert answer.status_code == 409 and answer.json()["command"] == f"villagegreen acts --db {db}"


def test_script_payloads_are_escaped_on_insight_pages(hostile_db: Path) -> None:
    client = client_for(hostile_db, SHOW_NAMES)
    payload = "<script>window.pwned=9</script>"
    pages = ["/roles", f"/expertise?q={payload}", f"/settings/consent?find={payload}", "/settings/consent?find=Mallory"]
    found = {p["name"] for p in client.get("/settings/consent.json", params={"find": "Mallory"}).json()["found"]}
    assert SCRIPT_NAME in found  # the hostile author is on the page, as text
    for path in pages:
        html = client.get(path).text
        assert "<script>window.pwned" not in html and "<img src=x" not in html, path
    assert "&lt;script&gt;window.pwned=9&lt;/script&gt;" in client.get(f"/expertise?q={payload}").text
