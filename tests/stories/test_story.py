"""Story drafts on the shipped conlang slice, checked against the Stack Exchange XML itself."""

from __future__ import annotations

import html
import json
import re

import pytest

from villagegreen.analyses.lifecycle_threads import load_thread
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.stories.draft import build_story, draft_story
from villagegreen.stories.render import to_html, to_json, to_markdown
from villagegreen.stories.sentences import sentences

from .conftest import Dump, conversation_of


def test_every_statement_cites_messages_of_its_conversation_by_their_speaker(demo_store: Store) -> None:
    # Conversations with at least one message by a member (the Community bot's posts are not stories).
    conversations = [row[0] for row in demo_store.con.execute(
        "SELECT DISTINCT m.conversation_id FROM messages m JOIN identities i ON i.id = m.author_id WHERE NOT i.is_bot").fetchall()]  # fmt: skip
    assert len(conversations) >= 50
    checked = 0
    for cid in conversations:
        story = draft_story(demo_store, cid)
        for statement in story.statements():
            assert statement.citations, statement.text
            for citation in statement.citations:
                found = demo_store.con.execute(
                    "SELECT m.conversation_id, coalesce(p.display_name, i.display_name) FROM messages m "
                    "LEFT JOIN identities i ON i.id = m.author_id LEFT JOIN people p ON p.id = i.person_id WHERE m.id = ?",
                    [citation.message_id],
                ).fetchall()
                assert found and found[0][0] == cid, (cid, citation)
            if statement.speaker is not None:  # the first cited message is the speaker's own
                first = statement.citations[0].message_id
                ((author,),) = demo_store.con.execute(
                    "SELECT p.display_name FROM messages m JOIN identities i ON i.id = m.author_id JOIN people p ON p.id = i.person_id "
                    "WHERE m.id = ?", [first]).fetchall()  # fmt: skip
                assert author == statement.speaker
                assert statement.text.startswith(author) or f"({author}," in statement.text
            checked += 1
    assert checked > 100


def test_asker_and_accepted_answerer_are_credited(demo_store: Store, dump: Dump) -> None:
    accepted = [q for q in dump.questions() if q.get("AcceptedAnswerId") in dump.posts]
    assert len(accepted) >= 5
    for question in accepted:
        story = draft_story(demo_store, conversation_of(demo_store, question["Id"]))
        credited = {c.name for c in story.contributors}
        asker, answerer = dump.author(question), dump.author(dump.posts[question["AcceptedAnswerId"]])
        if asker and question.get("OwnerUserId") != "-1":
            assert asker in credited
        if answerer and dump.posts[question["AcceptedAnswerId"]].get("OwnerUserId") != "-1":
            assert answerer in credited
            assert any("accepted answer" in s.text for s in story.takeaways)
        answer_id = question["AcceptedAnswerId"]
        cited = [c.permalink for s in story.takeaways for c in s.citations]
        assert f"https://conlang.stackexchange.com/a/{answer_id}" in cited


def test_refused_quoting_person_is_neither_named_nor_quoted(demo_store: Store, dump: Dump, tmp_path_factory: pytest.TempPathFactory) -> None:
    # The accepted answerer with the most distinctive name (long, so a substring match means a leak).
    candidates = [dump.posts[q["AcceptedAnswerId"]] for q in dump.questions() if q.get("AcceptedAnswerId") in dump.posts]
    named = [(dump.author(a) or "", a) for a in candidates if a.get("OwnerUserId") not in (None, "-1")]
    name, answer = max(named, key=lambda pair: len(pair[0]))
    ((person,),) = demo_store.con.execute(
        "SELECT i.person_id FROM identities i WHERE i.native_id = ?", [answer["OwnerUserId"]]).fetchall()  # fmt: skip
    question = dump.posts[answer["ParentId"]]
    cid = conversation_of(demo_store, question["Id"])
    thread = load_thread(demo_store, cid)
    assert thread is not None
    before = to_markdown(build_story(thread, set()))
    assert name in before  # the check below could otherwise pass vacuously
    set_consent(demo_store, person, "quoting", "refused", actor="test")
    try:
        story = draft_story(demo_store, cid)
    finally:
        demo_store.con.execute("DELETE FROM consent WHERE person_id = ?", [person])
    own = [m for m in thread.messages if m.person_id == person]
    assert own
    for rendered in (to_markdown(story), html.unescape(to_html(story)), json.dumps(json.loads(to_json(story)), ensure_ascii=False)):
        assert name.lower() not in rendered.lower()
        for message in own:
            for sentence in sentences(message.text):
                if len(sentence.split()) >= 5:
                    assert sentence[:60] not in rendered
    assert story.unnamed_contributors == 1
    assert any(s.text.startswith("A member") for s in story.narrative)


def test_html_is_escaped(demo_store: Store) -> None:
    thread = load_thread(demo_store, conversation_of(demo_store, "1"))
    assert thread is not None
    story = build_story(thread, set())
    rendered = to_html(story)
    assert "<script" not in rendered
    texts = re.sub(r"<[^>]+>", "", rendered)
    assert "<" not in texts and ">" not in texts


def test_unknown_conversation_is_one_line_input_error(demo_store: Store) -> None:
    with pytest.raises(InputError, match="no conversation"):
        draft_story(demo_store, "nope")
