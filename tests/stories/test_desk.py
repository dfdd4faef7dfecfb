"""The editor's desk: versions kept, states moved with who did it, approval re-checks consent,
and personal data redacted from drafts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from villagegreen.analyses.acts import ActLabel
from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage, load_thread
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.stories.desk import consent_problems, latest_story, list_stories, save_story, set_state
from villagegreen.stories.draft import build_story, draft_story
from villagegreen.stories.render import to_markdown

from .conftest import Dump, conversation_of


def test_versions_states_and_actors_are_kept(demo_store: Store) -> None:
    cid = conversation_of(demo_store, "1")
    story = draft_story(demo_store, cid)
    first = save_story(demo_store, story, actor="ana")
    again = save_story(demo_store, story, actor="ben")
    assert again.id == first.id and (first.versions, again.versions) == (1, 2)
    assert set_state(demo_store, first.id, "in_review", actor="chen").state == "in_review"
    approved = set_state(demo_store, first.id, "approved", actor="ana", note="checked")
    assert approved.state == "approved" and approved.versions == 4
    history = demo_store.con.execute(
        "SELECT version, state, actor FROM story_versions WHERE story_id = ? ORDER BY version", [first.id]).fetchall()  # fmt: skip
    assert history == [(1, "draft", "ana"), (2, "draft", "ben"), (3, "in_review", "chen"), (4, "approved", "ana")]
    with pytest.raises(InputError, match="cannot become approved"):
        set_state(demo_store, first.id, "approved")
    assert latest_story(demo_store, first.id) == story  # the stored JSON reads back to the same Story
    assert [r.id for r in list_stories(demo_store, "approved")] == [first.id]
    # A new draft of an approved story's conversation starts a new story; the approved one stays.
    assert save_story(demo_store, story).id != first.id


def test_approval_rechecks_consent_given_after_the_draft(demo_store: Store, dump: Dump) -> None:
    question, answer = next(
        (q, dump.posts[q["AcceptedAnswerId"]]) for q in dump.questions()
        if q.get("AcceptedAnswerId") in dump.posts and dump.posts[q["AcceptedAnswerId"]].get("OwnerUserId") not in (None, "-1", q.get("OwnerUserId"))
    )  # fmt: skip
    cid = conversation_of(demo_store, question["Id"])
    record = save_story(demo_store, draft_story(demo_store, cid))
    ((person,),) = demo_store.con.execute("SELECT person_id FROM identities WHERE native_id = ?", [answer["OwnerUserId"]]).fetchall()
    set_consent(demo_store, person, "quoting", "refused", actor="test")
    try:
        with pytest.raises(InputError, match="refused quoting"):
            set_state(demo_store, record.id, "approved")
        redrafted = save_story(demo_store, draft_story(demo_store, cid))
        assert redrafted.id == record.id
        assert consent_problems(demo_store, latest_story(demo_store, record.id)) == []
        assert set_state(demo_store, record.id, "approved").state == "approved"
    finally:
        demo_store.con.execute("DELETE FROM consent WHERE person_id = ?", [person])


def test_unknown_story_and_state_are_input_errors(demo_store: Store) -> None:
    with pytest.raises(InputError, match="no story 999"):
        set_state(demo_store, 999, "approved")
    with pytest.raises(InputError, match="unknown story state"):
        list_stories(demo_store, "done")


def _message(i: int, person: str, act: str, text: str) -> ThreadMessage:
    label = ActLabel(act, 1.0, "test", "")  # type: ignore[arg-type]
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i)
    return ThreadMessage(f"m{i}", str(i), None if i == 0 else "m0", person, person.title(), at, text, "message", label, i == 1, 0)


def test_emails_and_phone_numbers_are_redacted_from_drafts() -> None:
    thread = Thread("m0", "How do I reach support?", "s", "space", "discourse", "forum.example.org", {}, {}, (
        _message(0, "ana", "question", "How do I reach the support team for the build server?"),
        _message(1, "ben", "answer", "Write to help.desk@example.org or call +44 20 7946 0958 about the build server support."),
    ))  # fmt: skip
    rendered = to_markdown(build_story(thread, set()))
    assert "help.desk@example.org" not in rendered and "7946" not in rendered
    assert "[redacted]" in rendered


def test_erasure_style_scan_reaches_story_bodies(demo_store: Store) -> None:
    # Erasure rewrites every VARCHAR/JSON column it finds; the story tables must expose theirs.
    columns = demo_store.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_name IN ('stories', 'story_versions') "
        "AND data_type IN ('VARCHAR', 'JSON')").fetchall()  # fmt: skip
    assert ("story_versions", "body") in columns and ("stories", "title") in columns
    thread = load_thread(demo_store, conversation_of(demo_store, "1"))
    assert thread is not None
