"""Roles, Expertise, Topics, the consent registry and signing in, in Debian's Chromium.

The store is the real demo (conftest's ``demo_db``) with a topics run (``insights_db``).
Every page must draw its charts with zero console errors and zero requests beyond 127.0.0.1;
screenshots go to the folder the other browser tests use (out/screenshots/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest

from tests.web.conftest import SCREENSHOTS, SHOW_NAMES, live_server, writable_copy
from tests.web.test_insights import PROGRAMME, QUESTION, insights_db  # noqa: F401 - the fixture
from villagegreen.interfaces.web import accounts
from villagegreen.interfaces.web.pages_topics import PROGRAMME_ENV
from villagegreen.store import Store

pytestmark = pytest.mark.slow
PAGES = {"roles": "/roles", "expertise": "/expertise", "topics": "/topics", "consent": "/settings/consent"}
CHARTS = {"roles": 3, "topics": 1}


def _watch(page: Any) -> tuple[list[str], list[str]]:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return requests, problems


def test_insight_pages_draw_with_no_error_and_no_external_request(insights_db: Path, page: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv(PROGRAMME_ENV, str(PROGRAMME))  # the Topics page shows goals and key messages too
    requests, problems = _watch(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(insights_db, SHOW_NAMES) as base:
        for name, path in PAGES.items():
            response = page.goto(base + path, wait_until="networkidle")
            assert response is not None and response.status == 200, path
            assert page.locator("main h1").count() == 1, path
            charts = CHARTS.get(name, 0)
            if charts:
                page.wait_for_selector(f".chart[data-drawn='true'] svg >> nth={charts - 1}")
                assert page.locator(".chart[data-drawn='failed']").count() == 0, path
            if name == "topics":
                assert page.locator("#goals tbody tr").count() > 0 and page.locator("#key-messages tbody tr").count() > 0
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert problems == []
    assert requests
    outside = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_who_could_answer_flow(insights_db: Path, page: Any) -> None:  # noqa: F811
    requests, problems = _watch(page)
    with live_server(insights_db, SHOW_NAMES) as base:
        page.goto(f"{base}/expertise")
        page.get_by_label("Question").fill(QUESTION)
        page.get_by_role("button", name="Find people").click()
        page.wait_for_selector("#suggestions ol.experts > li")
        assert page.locator("#suggestions .expert-name").count() >= 1
        page.screenshot(path=str(SCREENSHOTS / "expertise-question.png"), full_page=True)
        reason = page.locator("#suggestions ul.reasons a").first
        title = reason.inner_text()
        reason.click()
        page.wait_for_url("**/conversations/*")
        assert title in page.locator("main").inner_text()
    assert problems == []
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests)


def test_sign_in_then_record_consent_as_facilitator(insights_db: Path, tmp_path: Path, page: Any) -> None:  # noqa: F811
    db = writable_copy(insights_db, tmp_path)
    with Store.open(db) as store:
        accounts.add_user(store, "fay", "facilitator", "browser password 1", actor="test")
        ((person,),) = store.con.execute("SELECT id FROM people ORDER BY id LIMIT 1").fetchall()
    requests, problems = _watch(page)
    with live_server(db) as base:
        page.goto(f"{base}/settings/consent")
        assert urlsplit(page.url).path == "/login"  # users exist: signing in comes first
        page.get_by_label("User name").fill("fay")
        page.get_by_label("Password").fill("wrong password here")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#login-failed")
        page.get_by_label("User name").fill("fay")
        page.get_by_label("Password").fill("browser password 1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/overview")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies[accounts.SESSION_COOKIE]["httpOnly"] and cookies[accounts.SESSION_COOKIE]["sameSite"] == "Strict"
        page.goto(f"{base}/settings/consent?find={person[:12]}")
        page.get_by_label("Person id").fill(person)
        page.locator('#consent-form select[name="purpose"]').select_option("routing")
        page.locator('#consent-form select[name="status"]').select_option("refused")
        page.get_by_role("button", name="Record").click()
        page.wait_for_selector(f"#consent-registry code:text('{person}')")
        page.screenshot(path=str(SCREENSHOTS / "consent-recorded.png"), full_page=True)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT person_id, purpose, status, actor FROM consent").fetchall() == [(person, "routing", "refused", "dashboard:fay")]
    # The one wrong password is answered 401, which Chromium reports for the document it loads; nothing else.
    assert problems == ["console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests)
