"""Editing a story: Markdown back into a Story, citations kept and checked, a new version each
time, state rules, and approval re-checking consent and personal data on the edited text."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.memory.conftest import question_conversation, xml_rows
from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import main
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.stories.desk import edit_story, latest_story, save_story, set_state
from villagegreen.stories.desk_edit import CITATION
from villagegreen.stories.draft import draft_story
from villagegreen.stories.render import to_markdown


def _story(store: Store, post_id: str = "9") -> int:
    return save_story(store, draft_story(store, question_conversation(store, post_id)), actor="ana").id


def test_the_rendered_markdown_reads_back_to_the_same_story(demo: Store) -> None:
    story_id = _story(demo)
    story = latest_story(demo, story_id)
    with pytest.raises(InputError, match="changes nothing"):
        edit_story(demo, story_id, to_markdown(story))


def test_an_edit_is_a_new_version_that_keeps_citations_and_speakers(demo: Store) -> None:
    story_id = _story(demo)
    before = latest_story(demo, story_id)
    markdown = to_markdown(before).replace(f"# {before.title}", "# What the group decided about the Klingon tags", 1)
    result = edit_story(demo, story_id, markdown, actor="ben", note="clearer title")
    assert (result.record.versions, result.record.state, result.record.title) == (2, "draft", "What the group decided about the Klingon tags")
    after = latest_story(demo, story_id)
    assert [s.citations for s in after.statements()] == [s.citations for s in before.statements()]
    assert [s.speaker for s in after.statements()] == [s.speaker for s in before.statements()]
    assert after.contributors == before.contributors
    row = demo.con.execute("SELECT state, actor, note FROM story_versions WHERE story_id = ? AND version = 2", [story_id]).fetchone()
    assert row == ("draft", "ben", "clearer title")


def test_every_statement_must_cite_a_message_of_the_conversation(demo: Store) -> None:
    story_id = _story(demo)
    markdown = to_markdown(latest_story(demo, story_id))
    cited = CITATION.search(markdown)
    assert cited is not None
    with pytest.raises(InputError, match=r"line \d+: a statement without a citation"):
        edit_story(demo, story_id, markdown.replace("## Context\n\n", "## Context\n\n- An uncited claim.\n", 1))
    with pytest.raises(InputError, match=r"\[0123456789abcdef01234567\] is not a message of this story"):
        edit_story(demo, story_id, markdown.replace(f"[{cited.group(1)}]", "[0123456789abcdef01234567]", 1))
    elsewhere = question_conversation(demo, "21")  # a real message, but of another conversation
    with pytest.raises(InputError, match="is not a message of this story"):
        edit_story(demo, story_id, markdown.replace(f"[{cited.group(1)}]", f"[{elsewhere}]", 1))
    with pytest.raises(InputError, match="unknown section"):
        edit_story(demo, story_id, markdown.replace("## Context", "## Background", 1))


def test_a_new_citation_gets_its_link_from_the_store(demo: Store) -> None:
    story_id = _story(demo)
    story = latest_story(demo, story_id)
    answer = next(p for p in xml_rows("Posts.xml") if p.get("ParentId") == "9")
    ((answer_id,),) = demo.con.execute("SELECT id FROM messages WHERE native_id = ? AND kind = 'answer'", [answer["Id"]]).fetchall()
    markdown = to_markdown(story).replace("## Context\n\n", f"## Context\n\n- One answer proposed a merge [{answer_id}](https://evil.example/x).\n", 1)
    edit_story(demo, story_id, markdown)
    added = latest_story(demo, story_id).context[0]
    assert added.text == "One answer proposed a merge."
    assert [(c.message_id, c.permalink) for c in added.citations] == [(answer_id, f"https://conlang.stackexchange.com/a/{answer['Id']}")]


def test_contributors_can_be_removed_not_added(demo: Store) -> None:
    story_id = _story(demo)
    story = latest_story(demo, story_id)
    assert len(story.contributors) >= 2
    markdown = to_markdown(story)
    dropped = story.contributors[0].name
    lines = [line for line in markdown.splitlines() if not line.startswith(f"- {dropped}: ")]
    edit_story(demo, story_id, "\n".join(lines))
    assert [c.name for c in latest_story(demo, story_id).contributors] == [c.name for c in story.contributors[1:]]
    with pytest.raises(InputError, match="not credited in this story"):
        edit_story(demo, story_id, markdown.replace("## Contributors\n\n", "## Contributors\n\n- Somebody Else: 3 messages\n", 1))


def test_editing_moves_an_approved_story_back_to_draft_and_never_a_published_one(demo: Store) -> None:
    story_id = _story(demo)
    story = latest_story(demo, story_id)
    set_state(demo, story_id, "approved", actor="ana")
    result = edit_story(demo, story_id, to_markdown(story).replace(f"# {story.title}", "# Retitled", 1))
    assert result.record.state == "draft"
    set_state(demo, story_id, "in_review")
    assert edit_story(demo, story_id, to_markdown(story)).record.state == "in_review"
    set_state(demo, story_id, "approved")
    set_state(demo, story_id, "published")
    with pytest.raises(InputError, match="published"):
        edit_story(demo, story_id, to_markdown(story))


def test_approval_rechecks_personal_data_and_refused_names_in_the_edit(demo: Store) -> None:
    story_id = _story(demo)
    story = latest_story(demo, story_id)
    markdown = to_markdown(story)
    first = story.statements()[0]
    with_email = markdown.replace(first.text, first.text + " Write to ana.lopez@example.org.", 1)
    result = edit_story(demo, story_id, with_email)
    assert result.problems == ("it contains an e-mail address or phone number",)
    with pytest.raises(InputError, match="e-mail address or phone number"):
        set_state(demo, story_id, "approved")
    # A member who refused quoting, named by the editor: refused too.
    person, name = demo.con.execute(
        "SELECT i.person_id, p.display_name FROM messages m JOIN identities i ON i.id = m.author_id JOIN people p ON p.id = i.person_id "
        "WHERE m.conversation_id = ? AND length(p.display_name) >= 3 LIMIT 1",
        [story.conversation_id],
    ).fetchone()  # type: ignore[misc]
    set_consent(demo, person, "quoting", "refused", actor="test")
    named = markdown.replace(first.text, f"As {name} put it, this matters.", 1)
    named = "\n".join(line for line in named.splitlines() if not line.startswith(f"- {name}: "))
    assert "refused quoting" in " ".join(edit_story(demo, story_id, named).problems)
    with pytest.raises(InputError, match="refused quoting"):
        set_state(demo, story_id, "approved")


def _editor_script(folder: Path, body: str) -> str:
    script = folder / "editor.sh"
    script.write_text(f"#!/bin/sh\nsed -i '{body}' \"$1\"\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_cli_edit_with_a_file_with_the_editor_and_without_one(
    demo: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    story_id = _story(demo)
    markdown = to_markdown(latest_story(demo, story_id))
    db = str(demo.path)
    demo.close()
    edited = tmp_path / "story.md"
    edited.write_text("# From a file\n" + markdown.split("\n", 1)[1], encoding="utf-8")
    main(["stories", "edit", str(story_id), "--db", db, "--file", str(edited), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert (data["title"], data["versions"], data["approval_blocked_by"]) == ("From a file", 2, [])
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", _editor_script(tmp_path, "s/^# .*/# From the editor/"))
    main(["stories", "edit", str(story_id), "--db", db])
    assert "version 3" in capsys.readouterr().out
    monkeypatch.delenv("EDITOR")
    with pytest.raises(SystemExit) as exited:
        main(["stories", "edit", str(story_id), "--db", db])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "set $EDITOR" in err and len(err.strip().splitlines()) == 1
