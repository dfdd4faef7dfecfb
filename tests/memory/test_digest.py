"""The weekly digest on the shipped real demo store: weeks, highlights counted against the dump's
XML, approved stories of the week only, unanswered questions within routing consent, output."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.memory.conftest import question_conversation, xml_rows
from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import main
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.stories.desk import edit_story, latest_story, save_story, set_state
from villagegreen.stories.digest import build_digest, current_week, parse_week
from villagegreen.stories.draft import draft_story
from villagegreen.stories.render import to_markdown

BUSY_WEEK = "2018-W06"  # the site's launch week: most of the demo's posts


def test_iso_weeks() -> None:
    assert parse_week("2026-W48") == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert parse_week("2021-W01")[0] == datetime(2021, 1, 4, tzinfo=UTC)  # 1 January 2021 was in 2020-W53
    for bad in ("2026-W54", "2026-48", "W48", "2026-W4"):
        with pytest.raises(InputError, match="not an ISO week"):
            parse_week(bad)
    assert current_week(datetime(2026, 11, 27, tzinfo=UTC)) == "2026-W48"


def _in_week(stamp: str, week: str) -> bool:
    year, number, _ = datetime.fromisoformat(stamp).isocalendar()
    return f"{year}-W{number:02d}" == week


def test_activity_highlights_match_the_dump(demo: Store) -> None:
    posts, comments = xml_rows("Posts.xml"), xml_rows("Comments.xml")
    expected = sum(_in_week(r["CreationDate"], BUSY_WEEK) for r in posts + comments)
    started = [p for p in posts if p.get("PostTypeId") == "1" and _in_week(p["CreationDate"], BUSY_WEEK)]
    digest = build_digest(demo, BUSY_WEEK)
    activity = next(h for h in digest.highlights if h["kind"] == "activity")
    assert activity["value"] == expected > 0
    assert activity["text"].startswith(f"{expected} messages from ")
    replies = next(h for h in digest.highlights if h["kind"] == "replies")
    assert replies["previous"] == len(started)


def test_a_quiet_week_says_so(demo: Store) -> None:
    digest = build_digest(demo, "2026-W48")
    assert [h["kind"] for h in digest.highlights] == ["activity"]
    assert digest.highlights[0]["text"].startswith("No messages this week (the newest is from ")


def test_only_stories_approved_this_week_appear(demo: Store) -> None:
    approved = save_story(demo, draft_story(demo, question_conversation(demo, "9")), actor="ana")
    story = latest_story(demo, approved.id)
    edit_story(demo, approved.id, to_markdown(story).replace(f"# {story.title}", "# Tags <b>merged</b>", 1))
    set_state(demo, approved.id, "approved", actor="ana")
    draft = save_story(demo, draft_story(demo, question_conversation(demo, "21")), actor="ana")
    digest = build_digest(demo, current_week())
    assert [s["id"] for s in digest.stories] == [approved.id]
    assert draft.id not in [s["id"] for s in digest.stories]
    assert digest.stories[0]["link"].startswith("https://conlang.stackexchange.com/")
    assert "Tags &lt;b&gt;merged&lt;/b&gt;" in digest.html() and "<b>" not in digest.html()
    assert "### Tags <b>merged</b>" in digest.markdown()
    assert build_digest(demo, "2026-W01").stories == []  # approved now, not then
    # A story already approved is not "ripe for wrap-up" any more.
    assert question_conversation(demo, "9") not in [r["conversation_id"] for r in digest.ripe]


def test_unanswered_questions_suggest_only_people_who_allow_routing(demo: Store) -> None:
    digest = build_digest(demo, "2026-W48")  # after the archive: every open question counts
    suggested = [name for q in digest.unanswered for name in q["suggested_experts"]]
    assert suggested, "the demo has an unanswered question (its 2019 moderation report) with people to suggest"
    name = suggested[0]
    ((person,),) = demo.con.execute("SELECT id FROM people WHERE display_name = ?", [name]).fetchall()
    set_consent(demo, person, "routing", "refused", actor="test")
    again = build_digest(demo, "2026-W48")
    assert name not in [n for q in again.unanswered for n in q["suggested_experts"]]
    assert [q["conversation_id"] for q in again.unanswered] == [q["conversation_id"] for q in digest.unanswered]


def test_outputs_and_cli(demo: Store, capsys: pytest.CaptureFixture[str]) -> None:
    digest = build_digest(demo, BUSY_WEEK)
    data = digest.to_dict()
    assert data["title"] == digest.title == "Community digest, week 2018-W06 (05 Feb to 11 Feb 2018)"
    assert json.loads(json.dumps(data)) == data
    assert "<script" not in digest.html() and "<style" not in digest.html()
    db = str(demo.path)
    demo.close()
    main(["digest", "--week", BUSY_WEEK, "--db", db, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["week"] == BUSY_WEEK
    with pytest.raises(SystemExit):
        main(["digest", "--week", "next week", "--db", db])
    err = capsys.readouterr().err
    assert "not an ISO week" in err and len(err.strip().splitlines()) == 1
