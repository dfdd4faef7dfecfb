"""The dashboard in a real browser: Debian's Chromium driven by Playwright, the server on
127.0.0.1, the store imported from the shipped Conlang Stack Exchange dump (real data).

Screenshots of every page are written to out/screenshots/ (or $VILLAGEGREEN_SCREENSHOTS) for
CI to keep as artefacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
import pytest

from tests.web.conftest import GROUP_NAME, IMG_NAME, IMG_TEXT, SCREENSHOTS, SCRIPT_NAME, SCRIPT_TEXT, SHOW_NAMES, TWIN_NAME, live_server, writable_copy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_site(demo_db: Path) -> Iterator[str]:
    with live_server(demo_db) as url:
        yield url


def _tour(base: str) -> list[tuple[str, str]]:
    """Every page, with a real space and its busiest conversation."""
    space_id = httpx.get(f"{base}/spaces.json").json()["spaces"][0]["id"]
    conversations = httpx.get(f"{base}/spaces/{space_id}.json").json()["conversations"]
    busiest = max(conversations, key=lambda c: c["messages"])
    return [
        ("overview", "/overview"), ("spaces", "/spaces"), ("space", f"/spaces/{space_id}"),
        ("conversation", f'/conversations/{busiest["id"]}'), ("people", "/people"), ("settings", "/settings"),
    ]  # fmt: skip


def test_every_page_renders_with_no_error_and_no_external_request(demo_site: str, page: Any) -> None:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in _tour(demo_site):
        response = page.goto(demo_site + path, wait_until="networkidle")
        assert response is not None and response.status == 200, path
        assert page.locator("main h1").count() == 1, path
        if name == "overview":
            page.wait_for_selector(".chart[data-drawn='true'] svg >> nth=1")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert problems == []
    assert requests, "no request recorded"
    outside = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_charts_draw_one_point_per_value(demo_site: str, page: Any) -> None:
    charts = httpx.get(f"{demo_site}/overview.json").json()["charts"]
    page.goto(f"{demo_site}/overview")
    page.wait_for_selector(".chart[data-drawn='true'] svg >> nth=1")
    for key in ("activity", "participation"):
        chart = page.locator(f'.chart[data-spec="chart-{key}"]')
        assert chart.get_attribute("data-drawn") == "true"
        points = chart.locator("svg g.mark-symbol.role-mark path").count()
        assert points == len(charts[key]["data"]["values"]) > 0


def test_merge_decision_is_an_htmx_swap_that_reaches_the_store(hostile_db: Path, tmp_path: Path, page: Any) -> None:
    db = writable_copy(hostile_db, tmp_path)
    with live_server(db) as base:
        page.goto(f"{base}/people")
        page.evaluate("window.__notReloaded = true")
        row = page.locator("#merge-suggestions tbody tr", has_text=f"{TWIN_NAME} + {TWIN_NAME}")
        assert row.count() == 1
        row.get_by_role("button", name="Reject").click()
        decided = page.locator("#merge-suggestions tr.decided.rejected")
        decided.wait_for()
        assert decided.inner_text().startswith("Rejected: recorded as different people")
        assert page.evaluate("window.__notReloaded") is True  # swapped in place, not a new page
        assert page.locator("#merge-suggestions tbody tr", has_text=f"{TWIN_NAME} + {TWIN_NAME}").count() == 0
    with duckdb.connect(str(db), read_only=True) as con:
        ((rejections,),) = con.execute("SELECT count(*) FROM people_merge_rejections").fetchall()
    assert rejections == 1


def test_script_payloads_show_as_text_and_never_run(hostile_db: Path, page: Any) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # alert(), confirm(): a payload ran
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    with live_server(hostile_db, SHOW_NAMES) as base:
        spaces = httpx.get(f"{base}/spaces.json").json()["spaces"]
        (space,) = [s for s in spaces if s["name"] == GROUP_NAME]
        conversations = httpx.get(f"{base}/spaces/{space['id']}.json").json()["conversations"]
        (conversation,) = [c for c in conversations if c["title"].startswith("Look: <script>")]
        for path in ("/overview", "/spaces", f"/spaces/{space['id']}", f"/conversations/{conversation['id']}", "/people"):
            page.goto(base + path, wait_until="networkidle")
            assert page.evaluate("typeof window.pwned") == "undefined", path
            assert page.title() != "pwned"
            assert page.locator("main img").count() == 0, path
            assert page.locator('main [onerror], main [onload], main script:not([type="application/json"])').count() == 0, path
            if path.startswith("/conversations/"):
                texts = page.locator("li.message .text").all_inner_texts()
                assert SCRIPT_TEXT in texts and IMG_TEXT in texts
                authors = page.locator("li.message .author").all_inner_texts()
                assert SCRIPT_NAME in authors and IMG_NAME in authors
            if path == "/people":
                suggestions = page.locator("#merge-suggestions").inner_text()
                assert f"{SCRIPT_NAME} + {SCRIPT_NAME}" in suggestions
            if path == "/spaces":
                assert GROUP_NAME in page.locator("main").inner_text()
    assert dialogs == []


def test_csp_header_is_sent_and_enforced(demo_site: str, page: Any) -> None:
    response = page.goto(f"{demo_site}/overview")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # Even if some text slipped through unescaped, an inline script would be blocked.
    violations = page.evaluate(
        """() => new Promise(resolve => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", e => seen.push(e.violatedDirective));
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = 1";
            document.body.appendChild(s);
            setTimeout(() => resolve(seen), 300);
        })"""
    )
    assert page.evaluate("typeof window.inlineRan") == "undefined"
    assert any(v.startswith("script-src") for v in violations)
