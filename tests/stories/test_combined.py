"""Stories of several conversations on the real conlang.stackexchange.com dump (../shared/data),
checked against the dump's XML parsed here, independently of the connector."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA
from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import main
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.store.ingest import import_path
from villagegreen.stories.combined import draft_combined
from villagegreen.stories.desk import consent_problems, edit_story, latest_story, save_story, set_state
from villagegreen.stories.draft import draft_story
from villagegreen.stories.related import related_conversations
from villagegreen.stories.render import to_html, to_json, to_markdown
from villagegreen.stories.sentences import sentences

pytestmark = pytest.mark.realdata


class Xml:
    """Posts and comments of the dump: who wrote each, and which question it belongs to."""

    def __init__(self, folder: Path) -> None:
        def rows(name: str) -> list[dict[str, str]]:
            return [dict(r.attrib) for r in ET.parse(folder / name).getroot().iter("row")]

        self.posts = {p["Id"]: p for p in rows("Posts.xml")}
        self.users = {u["Id"]: u["DisplayName"] for u in rows("Users.xml")}
        self.comments = {c["Id"]: c for c in rows("Comments.xml")}

    def question_of(self, native_id: str) -> str:
        post = self.posts[self.comments[native_id[1:]]["PostId"]] if native_id.startswith("c") else self.posts[native_id]
        return post.get("ParentId") or post["Id"]

    def author(self, native_id: str) -> str | None:
        row = self.comments[native_id[1:]] if native_id.startswith("c") else self.posts[native_id]
        owner = row.get("UserId") or row.get("OwnerUserId")
        return self.users.get(owner or "", row.get("UserDisplayName") or row.get("OwnerDisplayName"))

    def answered(self, at_least: int) -> list[str]:
        """Questions with at least ``at_least`` answers by named users, oldest first."""
        counts: dict[str, int] = {}
        for p in self.posts.values():
            if p.get("PostTypeId") == "2" and p.get("OwnerUserId") not in (None, "-1"):
                counts[p["ParentId"]] = counts.get(p["ParentId"], 0) + 1
        return sorted((q for q, n in counts.items() if n >= at_least), key=int)


@pytest.fixture(scope="module")
def conlang_dir(shared_data: Path) -> Path:
    return shared_data / "stackexchange" / "conlang"


@pytest.fixture(scope="module")
def xml(conlang_dir: Path) -> Xml:
    return Xml(conlang_dir)


@pytest.fixture(scope="module")
def conlang_file(conlang_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("combined") / "conlang.duckdb"
    with Store.open(path) as store:
        import_path(store, conlang_dir, platform="stackexchange")
    return path


@pytest.fixture
def conlang(conlang_file: Path, tmp_path: Path) -> Iterator[Store]:
    copy = tmp_path / "conlang.duckdb"
    shutil.copyfile(conlang_file, copy)
    with Store.open(copy) as store:
        yield store


def conversation(store: Store, question: str) -> str:
    ((cid,),) = store.con.execute("SELECT id FROM messages WHERE kind = 'question' AND native_id = ?", [question]).fetchall()
    return str(cid)


def native(store: Store, message_id: str) -> str | None:
    rows = store.con.execute("SELECT native_id FROM messages WHERE id = ?", [message_id]).fetchall()
    return str(rows[0][0]) if rows else None


def test_story_of_two_cites_both_and_every_citation_by_its_author(conlang: Store, xml: Xml) -> None:
    first, second = xml.answered(2)[:2]
    story = draft_combined(conlang, [conversation(conlang, first), conversation(conlang, second)])
    cited_questions = set()
    for statement in story.statements():
        assert statement.citations, statement.text
        for citation in statement.citations:
            native_id = native(conlang, citation.message_id)
            assert native_id is not None, citation  # the cited message exists
            cited_questions.add(xml.question_of(native_id))
        if statement.speaker is not None:
            assert xml.author(native(conlang, statement.citations[0].message_id) or "") == statement.speaker
            assert statement.speaker in statement.text
    assert cited_questions == {first, second}  # both told, nothing else cited
    narrative_from = {xml.question_of(native(conlang, s.citations[0].message_id) or "") for s in story.narrative}
    assert narrative_from == {first, second}
    assert [c.id for c in story.conversations] == list(story.conversation_ids()) and len(story.conversations) == 2
    # Each conversation named in the context with the link of its question.
    links = {c.permalink for s in story.context for c in s.citations}
    assert {f"https://conlang.stackexchange.com/q/{q}" for q in (first, second)} <= links


def test_narrative_follows_time_and_contributors_are_the_union(conlang: Store, xml: Xml) -> None:
    first, second = xml.answered(2)[:2]
    ids = [conversation(conlang, first), conversation(conlang, second)]
    story = draft_combined(conlang, ids)
    times = [conlang.con.execute("SELECT sent_at FROM messages WHERE id = ?", [s.citations[0].message_id]).fetchall()[0][0] for s in story.narrative]
    assert times == sorted(times)
    # Every named author of either thread in the dump (posts and comments) is credited, with
    # their messages counted across both.
    expected: dict[str, int] = {}
    for native_id in [*xml.posts, *(f"c{c}" for c in xml.comments)]:
        if (native_id.startswith("c") or xml.posts[native_id].get("PostTypeId") in ("1", "2")) and xml.question_of(native_id) in (first, second):
            name = xml.author(native_id)
            if name:
                expected[name] = expected.get(name, 0) + 1
    credited = {c.name: c.messages for c in story.contributors}
    assert set(credited) <= set(expected)
    assert {n for n in expected if n != "Community"} <= set(credited)
    assert all(credited[n] == expected[n] for n in credited)
    singles = [draft_story(conlang, cid) for cid in ids]
    assert set(credited) == {c.name for s in singles for c in s.contributors}


def test_a_member_who_refused_quoting_is_never_named_or_quoted(conlang: Store, xml: Xml) -> None:
    first, second = xml.answered(2)[:2]
    answers = [p for p in xml.posts.values() if p.get("ParentId") == second and p.get("OwnerUserId") not in (None, "-1")]
    answer = max(answers, key=lambda p: len(xml.users[p["OwnerUserId"]]))
    name = xml.users[answer["OwnerUserId"]]
    ids = [conversation(conlang, first), conversation(conlang, second)]
    assert name in to_markdown(draft_combined(conlang, ids))  # else the check below passes vacuously
    ((person,),) = conlang.con.execute("SELECT person_id FROM identities WHERE native_id = ?", [answer["OwnerUserId"]]).fetchall()
    set_consent(conlang, person, "quoting", "refused", actor="test")
    story = draft_combined(conlang, ids)
    quoted = [s for s in sentences(answer["Body"]) if len(s.split()) >= 5]
    for rendered in (to_markdown(story), to_html(story), to_json(story)):
        assert name.lower() not in rendered.lower()
        assert not any(s[:60] in rendered for s in quoted)
    assert story.unnamed_contributors >= 1 and "a member" in to_markdown(story).lower()
    assert consent_problems(conlang, story) == []


def test_related_finds_conversations_of_the_same_space_with_a_reason(conlang: Store, xml: Xml) -> None:
    cid = conversation(conlang, xml.answered(2)[0])
    found = related_conversations(conlang, cid, 3)
    assert 1 <= len(found) <= 3
    ((space,),) = conlang.con.execute("SELECT space_id FROM conversations WHERE id = ?", [cid]).fetchall()
    for r in found:
        assert r.conversation_id != cid
        assert conlang.con.execute("SELECT space_id FROM conversations WHERE id = ?", [r.conversation_id]).fetchall() == [(space,)]
        assert "conlang.stackexchange.com" in r.reason
        # The shared words really are in both conversations' title or opening post.
        for word in r.shared_words:
            for other in (cid, r.conversation_id):
                ((text,),) = conlang.con.execute(
                    "SELECT lower(coalesce(c.title, '') || ' ' || m.text) FROM conversations c JOIN messages m ON m.id = c.id WHERE c.id = ?", [other]
                ).fetchall()
                assert word in text


def test_cli_related_story_says_why_and_saves(conlang: Store, capsys: pytest.CaptureFixture[str]) -> None:
    ((cid,),) = conlang.con.execute("SELECT id FROM messages WHERE kind = 'question' ORDER BY sent_at LIMIT 1").fetchall()
    db = str(conlang.path)
    conlang.close()
    main(["story", cid, "--related", "2", "--db", db, "--format", "json", "--save"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["conversation_id"] == cid and len(data["conversations"]) == 3
    assert all(c["reason"].startswith("related: #") for c in data["conversations"][1:])
    assert sum("related: #" in s["text"] for s in data["context"]) == 2
    assert "saved as story 1" in captured.err
    with Store.open(Path(db)) as store:
        assert latest_story(store, 1).conversation_ids() == tuple(c["id"] for c in data["conversations"])


def test_desk_accepts_citations_from_every_included_conversation_only(conlang: Store, xml: Xml) -> None:
    first, second, third = xml.answered(2)[:3]
    ids = [conversation(conlang, first), conversation(conlang, second)]
    record = save_story(conlang, draft_combined(conlang, ids), actor="test")
    assert record.conversation_id == ids[0]
    # Saving the same set again is a new version; the first conversation alone is another story.
    assert save_story(conlang, draft_combined(conlang, ids), actor="test").id == record.id
    assert save_story(conlang, draft_story(conlang, ids[0]), actor="test").id != record.id
    ((in_second,),) = conlang.con.execute("SELECT id FROM messages WHERE conversation_id = ? AND id <> ? LIMIT 1", [ids[1], ids[1]]).fetchall()
    ((in_third,),) = conlang.con.execute("SELECT id FROM messages WHERE conversation_id = ?  LIMIT 1", [conversation(conlang, third)]).fetchall()
    markdown = to_markdown(latest_story(conlang, record.id))
    edited = edit_story(conlang, record.id, markdown + f"\n## Key takeaways\n\n- An editor's note [{in_second}]\n", actor="test")
    assert any(c.message_id == in_second for s in latest_story(conlang, record.id).takeaways for c in s.citations)
    assert edited.record.versions == 3
    with pytest.raises(InputError, match="not a message of this story's conversation"):
        edit_story(conlang, record.id, markdown + f"\n## Key takeaways\n\n- Elsewhere [{in_third}]\n", actor="test")
    # Consent refused later by someone only in the second conversation blocks approval.
    ((person,),) = conlang.con.execute(
        "SELECT i.person_id FROM messages m JOIN identities i ON i.id = m.author_id WHERE m.id = ?", [ids[1]]).fetchall()  # fmt: skip
    set_consent(conlang, person, "quoting", "refused", actor="test")
    with pytest.raises(InputError, match=f"villagegreen story {ids[0]} {ids[1]} --save"):
        set_state(conlang, record.id, "approved", actor="test")


def test_errors_are_one_line(conlang: Store, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = (str(r[0]) for r in conlang.con.execute("SELECT id FROM messages WHERE kind = 'question' ORDER BY id LIMIT 2").fetchall())
    with pytest.raises(InputError, match="no conversation 'nope'"):
        draft_combined(conlang, [first, "nope"])
    import_path(conlang, TEST_DATA / "telegram" / "chat", platform="telegram")
    ((chat,),) = conlang.con.execute(
        "SELECT m.conversation_id FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.connector = 'telegram' LIMIT 1"
    ).fetchall()
    with pytest.raises(InputError, match="different sources"):
        draft_combined(conlang, [first, str(chat)])
    conlang.con.execute("UPDATE spaces SET private = true WHERE id = (SELECT space_id FROM conversations WHERE id = ?)", [first])
    with pytest.raises(InputError, match="--include-private"):
        draft_combined(conlang, [first, second])
    with pytest.raises(InputError, match="--include-private"):
        related_conversations(conlang, first, 2)
    assert len(draft_combined(conlang, [first, second], include_private=True).conversations) == 2
    assert draft_story(conlang, first).conversation_id == first  # one conversation named alone is drafted as before
    db = str(conlang.path)
    conlang.close()
    for args in (["story", first, "nope"], ["story", first, second], ["story", first, "--related", "0"], ["story", first, "--related", "11"]):
        with pytest.raises(SystemExit):
            main([*args, "--db", db])
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, (args, err)
