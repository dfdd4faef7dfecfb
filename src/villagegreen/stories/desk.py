"""The editor's desk: stories saved with their editorial state and every version kept.

States: ``draft`` -> ``in_review`` -> ``approved`` -> ``published`` (publishing itself is not
built yet). Saving a draft of a conversation whose story is still a draft or in review adds a
version to it; otherwise it starts a new story. Every state change is a new version row with
who made it, so the history is never overwritten.

Approval checks consent at the moment of approval (consent may have changed since the draft):
nobody in the story's conversation(s) who now refuses ``quoting`` may be named or quoted in the body, and
the body must hold no e-mail address or phone number. The check reads the latest version, so
an edited text is checked like a drafted one.

An edit (:func:`edit_story`, ``villagegreen stories edit``) is Markdown read back into a Story
by stories/desk_edit.py, which defines how citations survive an edit. It is a new version:
a draft stays a draft, a story in review stays in review, an approved story goes back to draft
(its approval was for the old text), and a published story is not edited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from villagegreen.analyses.lifecycle_threads import load_thread
from villagegreen.errors import InputError
from villagegreen.store.audit import default_actor
from villagegreen.store.consent import refused_people
from villagegreen.store.database import Store
from villagegreen.stories.desk_edit import story_from_markdown
from villagegreen.stories.model import Story, story_from_dict
from villagegreen.stories.permalinks import permalink
from villagegreen.stories.render import to_json
from villagegreen.stories.sentences import has_personal_data, sentences

STATES = ("draft", "in_review", "approved", "published")
# Which state may follow which: review can send a story back; an approved one can be reopened.
_NEXT = {"draft": {"in_review", "approved"}, "in_review": {"draft", "approved"}, "approved": {"draft", "published"}, "published": set()}


@dataclass(frozen=True, slots=True)
class StoryRecord:
    id: int
    conversation_id: str
    title: str
    state: str
    versions: int
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "conversation_id": self.conversation_id, "title": self.title, "state": self.state,
                "versions": self.versions, "updated_at": self.updated_at.isoformat()}  # fmt: skip


def save_story(store: Store, story: Story, *, actor: str | None = None, note: str | None = None) -> StoryRecord:
    """A new version of the open story (draft or in review) of the same conversation(s), or a new story.

    ``stories.conversation_id`` holds a story's primary conversation; a story of several keeps
    the others in its body (``Story.conversations``), so the open story matched is the one whose
    latest version names the same set.
    """
    now = datetime.now(UTC)
    with store.transaction():
        open_story = _open_story(store, story)
        if open_story is not None:
            story_id = open_story
            store.con.execute("UPDATE stories SET title = ?, state = 'draft', updated_at = ? WHERE id = ?", [story.title, now, story_id])
        else:
            ((story_id,),) = store.con.execute("SELECT coalesce(max(id), 0) + 1 FROM stories").fetchall()
            store.con.execute("INSERT INTO stories VALUES (?, ?, ?, 'draft', ?, ?)", [story_id, story.conversation_id, story.title, now, now])
        _add_version(store, story_id, "draft", to_json(story), actor, note or "drafted", now)
    return get_record(store, story_id)


def _open_story(store: Store, story: Story) -> int | None:
    rows = store.con.execute(
        "SELECT id FROM stories WHERE conversation_id = ? AND state IN ('draft', 'in_review') ORDER BY id DESC", [story.conversation_id]
    ).fetchall()
    wanted = set(story.conversation_ids())
    for (story_id,) in rows:
        if set(latest_story(store, int(story_id)).conversation_ids()) == wanted:
            return int(story_id)
    return None


def _add_version(store: Store, story_id: int, state: str, body: str, actor: str | None, note: str | None, at: datetime) -> None:
    ((version,),) = store.con.execute("SELECT coalesce(max(version), 0) + 1 FROM story_versions WHERE story_id = ?", [story_id]).fetchall()
    store.con.execute("INSERT INTO story_versions VALUES (?, ?, ?, ?, ?, ?, ?)", [story_id, version, state, body, actor or default_actor(), note, at])


def get_record(store: Store, story_id: int) -> StoryRecord:
    rows = store.con.execute(
        "SELECT s.id, s.conversation_id, s.title, s.state, count(v.version), s.updated_at FROM stories s "
        "JOIN story_versions v ON v.story_id = s.id WHERE s.id = ? GROUP BY ALL", [story_id]).fetchall()  # fmt: skip
    if not rows:
        raise InputError(f"no story {story_id}; `villagegreen stories list` shows them")
    return StoryRecord(*rows[0])


def list_stories(store: Store, state: str | None = None) -> list[StoryRecord]:
    if state is not None and state not in STATES:
        raise InputError(f"unknown story state {state!r}; choose one of: {', '.join(STATES)}")
    ids = store.con.execute("SELECT id FROM stories WHERE ? IS NULL OR state = ? ORDER BY updated_at DESC, id DESC", [state, state]).fetchall()
    return [get_record(store, int(row[0])) for row in ids]


def latest_story(store: Store, story_id: int) -> Story:
    get_record(store, story_id)
    ((body,),) = store.con.execute(
        "SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [story_id]).fetchall()  # fmt: skip
    return story_from_dict(json.loads(body))


def set_state(store: Store, story_id: int, state: str, *, actor: str | None = None, note: str | None = None) -> StoryRecord:
    """Move a story to ``state`` (a new version row records who and why); approval checks consent."""
    record = get_record(store, story_id)
    if state not in _NEXT.get(record.state, set()):
        raise InputError(f"story {story_id} is {record.state}; it cannot become {state} (allowed: {', '.join(sorted(_NEXT[record.state])) or 'none'})")
    story = latest_story(store, story_id)
    if state == "approved":
        problems = consent_problems(store, story)
        if problems:
            raise InputError(
                f"story {story_id} cannot be approved: {problems[0]}; edit it (`villagegreen stories edit {story_id}`) "
                f"or re-draft it (`villagegreen story {' '.join(story.conversation_ids())} --save`)"
            )
    now = datetime.now(UTC)
    with store.transaction():
        store.con.execute("UPDATE stories SET state = ?, updated_at = ? WHERE id = ?", [state, now, story_id])
        _add_version(store, story_id, state, to_json(story), actor, note or state, now)
    return get_record(store, story_id)


def consent_problems(store: Store, story: Story) -> list[str]:
    """Why the body may not be approved: a refused person named or quoted, or personal data."""
    # The JSON escapes quotes and backslashes: quotes are also looked for in the plain text.
    plain = "\n".join([story.title, *(s.text for s in story.statements()), *(c.name for c in story.contributors), *story.notes])
    body = to_json(story) + "\n" + plain
    lowered = body.lower()
    problems = []
    refused = refused_people(store, "quoting")
    rows = store.con.execute(
        "SELECT DISTINCT i.person_id, coalesce(p.display_name, i.display_name), m.text FROM messages m JOIN identities i ON i.id = m.author_id "
        "LEFT JOIN people p ON p.id = i.person_id WHERE list_contains(?, m.conversation_id)", [list(story.conversation_ids())]).fetchall()  # fmt: skip
    for person, name, text in rows:
        if person not in refused:
            continue
        if name and len(name) >= 3 and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", lowered):
            problems.append("it names a member who refused quoting")
        if any(len(s.split()) >= 5 and s[:60] in body for s in sentences(text or "")):
            problems.append("it quotes a member who refused quoting")
    if has_personal_data(body):
        problems.append("it contains an e-mail address or phone number")
    return problems


@dataclass(frozen=True, slots=True)
class EditResult:
    """The story after an edit, and what would still stop its approval (empty when nothing)."""

    record: StoryRecord
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "approval_blocked_by": list(self.problems)}


def citable_messages(store: Store, story: Story) -> dict[str, str | None]:
    """Member messages the story may cite (id -> permalink): those of its conversation(s) and of
    any other conversation it already cites."""
    cited = [c.message_id for s in story.statements() for c in s.citations]
    rows = store.con.execute("SELECT DISTINCT conversation_id FROM messages WHERE list_contains(?, id)", [cited]).fetchall()
    conversations = dict.fromkeys([*story.conversation_ids(), *sorted(str(row[0]) for row in rows)])
    citable: dict[str, str | None] = {}
    for conversation in conversations:
        thread = load_thread(store, conversation)
        if thread is not None:
            citable.update({m.id: permalink(thread, m) for m in thread.messages if m.text.strip()})
    return citable


def edit_story(store: Store, story_id: int, markdown: str, *, actor: str | None = None, note: str | None = None) -> EditResult:
    """Save ``markdown`` (rules in stories/desk_edit.py) as the story's next version."""
    record = get_record(store, story_id)
    if record.state == "published":
        raise InputError(f"story {story_id} is published; published stories are not edited (draft the conversation again for a new one)")
    previous = latest_story(store, story_id)
    story = story_from_markdown(markdown, previous, citable_messages(store, previous))
    if story == previous:
        raise InputError(f"the edit changes nothing in story {story_id}; nothing saved")
    state = "draft" if record.state == "approved" else record.state
    now = datetime.now(UTC)
    with store.transaction():
        store.con.execute("UPDATE stories SET title = ?, state = ?, updated_at = ? WHERE id = ?", [story.title, state, now, story_id])
        _add_version(store, story_id, state, to_json(story), actor, note or "edited", now)
    return EditResult(get_record(store, story_id), tuple(dict.fromkeys(consent_problems(store, story))))
