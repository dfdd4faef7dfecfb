"""The editor's desk in Chromium, on a store imported from real data: find a conversation ripe
for wrap-up, draft its story, edit it with the live preview, approve it; then search the
memory. Screenshots (story page, editor, search) go to the folder test_browser.py uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import SCREENSHOTS, live_server, writable_copy

pytestmark = pytest.mark.slow


def test_ripe_conversation_to_approved_story_and_search(demo_db: Path, tmp_path: Path, page: Any) -> None:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    db = writable_copy(demo_db, tmp_path)
    with live_server(db) as base:
        # Find a ripe conversation and open it.
        page.goto(f"{base}/threads/ripe", wait_until="networkidle")
        link = page.locator("#state-wrap_up tr.ripe-row th a").first
        title = link.inner_text()
        link.click()
        page.wait_for_load_state("networkidle")
        assert page.locator("main h1").inner_text() == title
        conversation_url = page.url
        # Draft its story (the conversation page links to /conversations/{id}/story).
        page.goto(f"{conversation_url}/story", wait_until="networkidle")
        page.locator("#draft-story").click()
        page.wait_for_url("**/stories/*")
        assert page.locator("#story-state").inner_text() == "draft"
        page.screenshot(path=str(SCREENSHOTS / "story.png"), full_page=True)
        # Edit: the preview follows the Markdown as it is typed (htmx, no reload).
        page.get_by_role("link", name="Edit the Markdown").click()
        page.wait_for_load_state("networkidle")
        page.evaluate("window.__notReloaded = true")
        editor = page.locator("#story-markdown")
        markdown = editor.input_value()
        assert markdown.startswith("# ")
        edited = "# What the group learned\n" + markdown.split("\n", 1)[1]
        editor.fill(edited)
        page.locator("#story-preview h2", has_text="What the group learned").wait_for()
        assert page.locator("#preview-status").inner_text().startswith("Every statement is cited")
        editor.fill(edited.replace("## Context\n\n", "## Context\n\n- An unsourced claim.\n", 1))
        page.locator("#preview-status", has_text="would be refused").wait_for()
        assert page.evaluate("window.__notReloaded") is True
        page.screenshot(path=str(SCREENSHOTS / "story-editor.png"), full_page=True)
        editor.fill(edited)
        page.locator("#preview-status", has_text="Every statement is cited").wait_for()
        page.get_by_role("button", name="Save as a new version").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("main h1").inner_text() == "What the group learned"
        # Approve.
        page.get_by_role("button", name="Approve").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#story-state").inner_text() == "approved"
        assert page.locator("#story-versions tbody tr").count() == 3
        # Search the memory for the story's own title words: the approved story is found.
        page.goto(f"{base}/search", wait_until="networkidle")
        page.locator("#q").fill(title)
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state("networkidle")
        results = page.locator("ol.results li.result")
        assert results.count() >= 1
        assert page.locator("ol.results li.result", has_text="What the group learned").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)
        page.goto(f"{base}/stories", wait_until="networkidle")
        assert page.locator("#state-approved tr.story-row").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "stories.png"), full_page=True)
    assert problems == []
    outside = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], f"requests left 127.0.0.1: {outside}"
