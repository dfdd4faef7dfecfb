"""Items: wrap-up notes (counted against the Stack Exchange dump itself), polls, the digest."""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.errors import InputError
from villagegreen.publish.items import digest_item, poll_item, wrapup_item
from villagegreen.publish.service import publish
from villagegreen.publish.targets import Target
from villagegreen.store import Store

from .conftest import DEMO, Desk


def _dump_counts(question_id: str) -> tuple[int, int]:
    """Messages and distinct authors of a question's thread, from Posts.xml and Comments.xml."""
    posts = [dict(r.attrib) for r in ET.parse(DEMO / "Posts.xml").getroot().iter("row")]
    comments = [dict(r.attrib) for r in ET.parse(DEMO / "Comments.xml").getroot().iter("row")]
    thread = [p for p in posts if question_id in (p["Id"], p.get("ParentId"))]
    ids = {p["Id"] for p in thread}
    notes = [c for c in comments if c["PostId"] in ids]
    authors = {p.get("OwnerUserId") or p.get("OwnerDisplayName") for p in thread} | {c.get("UserId") or c.get("UserDisplayName") for c in notes}
    return len(thread) + len(notes), len(authors)


def test_wrapup_counts_and_approved_takeaways(opened: Store, desk: Desk) -> None:
    item = wrapup_item(opened, desk.conversation)
    messages, people = _dump_counts("1")
    assert f"{messages} messages from {people} people" in item.markdown
    ((body,),) = opened.con.execute("SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [desk.approved]).fetchall()
    assert "## What the group concluded" in item.markdown and "What the group concluded" in item.html
    import json

    takeaways = json.loads(body)["takeaways"]
    assert takeaways and all(t["text"] in item.markdown for t in takeaways)
    assert item.item_id == desk.conversation and item.kind == "wrapup"


def test_wrapup_refuses_a_live_conversation_unless_forced(opened: Store) -> None:
    live = next(r for r in ripeness(opened).threads if r.state == "keep_going")
    with pytest.raises(InputError, match=f"conversation {live.conversation_id} is keep_going"):
        wrapup_item(opened, live.conversation_id)
    assert wrapup_item(opened, live.conversation_id, force=True).item_id == live.conversation_id
    with pytest.raises(InputError, match="no conversation 'nope'"):
        wrapup_item(opened, "nope")


def test_poll_options_are_checked_and_the_id_is_stable() -> None:
    first = poll_item("What next?", ["Word order", " Word  order ", "Scripts"])
    assert first.poll is not None and first.poll.options == ("Word order", "Scripts")
    assert poll_item("What  next?", ["Word order", "Scripts"]).item_id == first.item_id
    assert poll_item("What next?", ["Scripts", "Word order"]).item_id != first.item_id
    with pytest.raises(InputError, match="2 to 10 different options, got 1"):
        poll_item("What next?", ["a", "a"])
    with pytest.raises(InputError, match="no question"):
        poll_item(" ", ["a", "b"])


def test_wrapup_to_a_site_then_not_again(opened: Store, desk: Desk, tmp_path: object) -> None:
    target = Target("site", "site", {"path": str(Path(str(tmp_path)) / "site")})
    first = publish(opened, wrapup_item(opened, desk.conversation), target)
    second = publish(opened, wrapup_item(opened, desk.conversation), target)
    assert (first.status, second.status) == ("published", "already published")
    assert (Path(str(tmp_path)) / "site" / "wrapup" / f"{desk.conversation}.md").is_file()
    # A wrap-up does not move the story's state: only publishing the story does.
    assert opened.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("approved",)]


def test_digest_without_the_digest_module_is_one_line(opened: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "villagegreen.stories.digest", None)  # as if the module were not installed
    with pytest.raises(InputError, match="digests are not available"):
        digest_item(opened, "2026-W47")


@pytest.mark.skipif(importlib.util.find_spec("villagegreen.stories.digest") is None, reason="the digest module is not there yet")
def test_digest_of_this_week_lists_the_story_approved_this_week(opened: Store, desk: Desk, tmp_path: object) -> None:
    from pathlib import Path

    ((approved_at,),) = opened.con.execute("SELECT created_at FROM story_versions WHERE story_id = ? AND state = 'approved'", [desk.approved]).fetchall()
    year, week, _ = approved_at.isocalendar()
    item = digest_item(opened, f"{year}-W{week:02d}")
    ((title,),) = opened.con.execute("SELECT title FROM stories WHERE id = ?", [desk.approved]).fetchall()
    assert item.kind == "digest" and item.item_id == f"{year}-W{week:02d}" and title in item.markdown
    target = Target("site", "site", {"path": str(Path(str(tmp_path)) / "site")})
    assert [publish(opened, item, target).status for _ in range(2)] == ["published", "already published"]
    assert title in (Path(str(tmp_path)) / "site" / "digest" / f"{year}-w{week:02d}.md").read_text()


def test_consent_refused_after_approval_stops_the_story_and_its_quotes(opened: Store, desk: Desk) -> None:
    from villagegreen.publish.items import story_item
    from villagegreen.store.consent import set_consent

    posts = {r.attrib["Id"]: dict(r.attrib) for r in ET.parse(DEMO / "Posts.xml").getroot().iter("row")}
    # The best-scored answer by a registered user: the story quotes it among its takeaways.
    best = max((p for p in posts.values() if p.get("ParentId") == "1" and p.get("OwnerUserId")), key=lambda p: int(p["Score"]))
    answerer = best["OwnerUserId"]
    ((person,),) = opened.con.execute("SELECT person_id FROM identities WHERE native_id = ?", [answerer]).fetchall()
    assert "## What the group concluded" in wrapup_item(opened, desk.conversation).markdown
    set_consent(opened, person, "quoting", "refused", actor="test")
    with pytest.raises(InputError, match=f"story {desk.approved} cannot be published now: it (names|quotes) a member who refused quoting"):
        story_item(opened, desk.approved)
    assert "What the group concluded" not in wrapup_item(opened, desk.conversation).markdown


def test_story_and_wrapup_from_a_private_space_are_refused_unless_included(opened: Store, desk: Desk, tmp_path: object) -> None:
    from villagegreen.publish.items import story_item

    target = Target("site", "site", {"path": str(Path(str(tmp_path)) / "site")})
    opened.con.execute("UPDATE spaces SET private = true WHERE id = (SELECT space_id FROM conversations WHERE id = ?)", [desk.conversation])
    for item in (story_item(opened, desk.approved), wrapup_item(opened, desk.conversation)):
        with pytest.raises(InputError, match="comes from the private space .*--include-private"):
            publish(opened, item, target)
        assert publish(opened, item, target, dry_run=True, include_private=True).status == "dry run"
    assert opened.con.execute("SELECT count(*) FROM publications").fetchone() == (0,)
    assert not (Path(str(tmp_path)) / "site").exists()
