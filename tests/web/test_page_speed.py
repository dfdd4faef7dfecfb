"""The dashboard's fast paths give the same answers as the slow ones they replace.

- /threads/ripe from one grouped query over the stored acts (analyses/lifecycle_signals.py)
  equals ``ripeness``, which reads every thread and labels its acts again, on real stores;
  a store without stored acts falls back to labelling and says so on the page.
- Open questions from one lean query equal health's definition (conversation_facts), and
  /spaces/{id}'s, found once for every space, equal the health report's own search for that
  one space.
- Pages built in the background at start-up are the ones visitors then get.
- A cached page's JSON body is exactly what JSONResponse makes of its data, and its HTML is
  kept per viewer (each viewer's CSRF token stays theirs).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from tests.web.conftest import client_for, writable_copy
from villagegreen.analyses.conversation_facts import conversation_facts
from villagegreen.analyses.experts_questions import open_questions
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.health_report import build_health_report
from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.analyses.lifecycle_signals import ripe_states
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.interfaces.web import create_app
from villagegreen.interfaces.web.page_routes import warm_pages
from villagegreen.interfaces.web.pages_spaces import unanswered_by_space
from villagegreen.store import Store


@pytest.mark.parametrize("fixture", ["demo_db", "hostile_db"])
def test_ripe_states_from_stored_acts_equal_the_thread_by_thread_assessment(fixture: str, request: pytest.FixtureRequest) -> None:
    db: Path = request.getfixturevalue(fixture)
    with Store.open(db, read_only=True) as store:
        slow = ripeness(store, embedder=None)
        fast = ripe_states(store, slow.as_of)
    assert fast is not None, "the fixture stores acts for every message"
    assert len(fast) == len(slow.threads) > 0
    expected = [(r.conversation_id, r.state, r.reason, r.title, r.space, r.signal("messages")) for r in slow.threads]
    assert [(s.conversation_id, s.state, s.reason, s.title, s.space, s.messages) for s in fast] == expected
    assert len({s.state for s in fast}) >= 2  # more than one rule decided something


def test_ripe_page_labels_on_the_fly_without_stored_acts_and_says_so(demo_db: Path, tmp_path: Path) -> None:
    db = writable_copy(demo_db, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM message_acts WHERE message_id IN (SELECT message_id FROM message_acts LIMIT 5)")
    with Store.open(db, read_only=True) as store:
        direct = ripeness(store, embedder=None)
        assert ripe_states(store, direct.as_of) is None
    client = client_for(db)
    data = client.get("/threads/ripe.json").json()
    assert data["counts"] == {state: direct.counts[state] for state in data["counts"]}
    assert len(data["notes"]) == 1 and "villagegreen acts --db" in data["notes"][0]
    assert "stores them" in client.get("/threads/ripe").text
    assert client_for(demo_db).get("/threads/ripe.json").json()["notes"] == []


def test_open_questions_of_every_space_equal_the_reports_search_per_space(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        spaces = [row[0] for row in store.con.execute("SELECT id FROM spaces WHERE NOT private").fetchall()]
        every = unanswered_by_space(store)
        per_space = {sid: build_health_report(store, Window(Health.default_grain), space=sid).unanswered for sid in spaces}
    assert any(per_space.values()), "the demo has unanswered questions"
    for sid in spaces:
        assert every.get(sid, []) == per_space[sid]
    page = client_for(demo_db).get(f"/spaces/{spaces[0]}.json").json()
    assert page["unanswered_questions"] == per_space[spaces[0]]


def test_cached_page_bodies_are_the_plain_renderings(demo_db: Path) -> None:
    first, second = client_for(demo_db), client_for(demo_db)
    twin = first.get("/overview.json")
    assert twin.headers["content-type"] == "application/json"
    assert first.get("/overview.json").content == twin.content
    assert twin.content == JSONResponse(twin.json()).body  # what the handler sent before pages were kept rendered
    tokens = []
    for client in (first, second, first):
        html = client.get("/settings/consent").text
        tokens.append(re.findall(r'name="csrf_token" value="([^"]+)"', html))
    assert tokens[0] and tokens[0] == tokens[2], "the same viewer gets the same page"
    assert not set(tokens[0]) & set(tokens[1]), "another viewer never sees the first one's token"


def test_a_cached_page_is_the_plain_rendering_with_each_viewers_own_token(demo_db: Path) -> None:
    """The HTML kept per page is rendered once with a placeholder; each response carries the
    viewer's token where a fresh rendering for that viewer would have it, and nothing else differs."""
    from villagegreen.interfaces.web.app import render

    app = create_app(demo_db, warm=False)
    rendered: list[tuple[str, str]] = []

    @app.get("/_plain/consent", include_in_schema=False)
    def plain(request: Request) -> Response:  # the page rendered from scratch for this request
        data = app.state.dashboard.gate.cached("/settings/consent?find=", lambda _store: None)  # the cached page object
        response = render(request, "consent.html", data.data, page="settings/consent")
        rendered.append((request.state.csrf_token, bytes(response.body).decode()))
        return response

    with TestClient(app, base_url="http://127.0.0.1") as first, TestClient(app, base_url="http://127.0.0.1") as second:
        for client in (first, second, first):
            kept = client.get("/settings/consent").text  # builds, then renders once, then serves kept bytes
            fresh = client.get("/_plain/consent").text
            token = rendered[-1][0]
            assert token in kept and kept.count(token) == fresh.count(token) >= 1, "the consent page has a form"
            assert kept == fresh
    tokens = [token for token, _ in rendered]
    assert tokens[0] == tokens[2] != tokens[1]
    # A client that keeps no cookies gets a new token each time, the same page otherwise.
    cookieless = [TestClient(app, base_url="http://127.0.0.1").get("/settings/consent").text for _ in range(2)]
    found = [re.findall(r'name="csrf_token" value="([^"]+)"', page) for page in cookieless]
    assert found[0] and found[1] and set(found[0]).isdisjoint(found[1])
    assert cookieless[0].replace(found[0][0], "T") == cookieless[1].replace(found[1][0], "T")
    kept_page = app.state.dashboard.gate.cached("/settings/consent?find=", lambda _store: None)
    assert len(kept_page._html) == 1, "one rendering for the one (loopback) user, whatever the tokens"


@pytest.mark.parametrize("fixture", ["demo_db", "hostile_db"])
def test_open_questions_equal_the_conversation_facts_definition(fixture: str, request: pytest.FixtureRequest) -> None:
    db: Path = request.getfixturevalue(fixture)
    with Store.open(db, read_only=True) as store:
        facts = conversation_facts(analysis_inputs(store, Window("all"), frozenset()))
        expected = facts.filter(facts.is_question & facts.first_other_at.isnull()).select("conversation_id", "opened_at", "opener").to_pyarrow().to_pylist()
        found = open_questions(store)
    assert expected, "the fixture has open questions"
    assert sorted((q.conversation_id, q.opened_at, q.asker) for q in found) == sorted((r["conversation_id"], r["opened_at"], r["opener"]) for r in expected)


def test_pages_are_built_in_the_background_at_start_up(demo_db: Path) -> None:
    app = create_app(demo_db, warm=False)
    warm_pages(app)
    gate = app.state.dashboard.gate
    built = {key for key, _ in gate._cache}
    assert {"/overview", "/spaces", "/threads/ripe", "/expertise?q=", "/people"} <= built
    # A visitor then gets the page that was built, not a second build.
    before = dict(gate._cache)
    assert client_for(demo_db).get("/threads/ripe.json").status_code == 200
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/threads/ripe.json").json() == before[("/threads/ripe", gate.fingerprint())].data
