"""The editor's desk in the dashboard: the data behind /stories, /stories/{id}, its editor and
the "draft a story" page of a conversation (routes in routes_editorial.py).

Story text is Markdown (stories/render.py) rendered by markdown-it-py with raw HTML switched
off and images disabled, so a member's words can never become markup, script or an external
request; links keep markdown-it's own scheme check (no ``javascript:``). Stories of
conversations in private spaces are not shown, as on every dashboard page.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

from villagegreen.errors import InputError
from villagegreen.interfaces.web.figures import NotFound, iso
from villagegreen.store.database import Store
from villagegreen.stories.desk import STATES, StoryRecord, citable_messages, consent_problems, get_record, latest_story, list_stories
from villagegreen.stories.desk_edit import story_from_markdown
from villagegreen.stories.render import to_markdown

# What a facilitator may do next from each state (publishing is the publish command's, dry-run first).
ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "draft": (("in_review", "Send to review"), ("approved", "Approve")),
    "in_review": (("approved", "Approve"), ("draft", "Back to draft")),
    "approved": (("draft", "Reopen as draft"),),
    "published": (),
}
MAX_MARKDOWN_CHARS = 200_000


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def markdown_html(text: str) -> str:
    """Sanitised HTML of the Markdown ``text`` (see the module docstring), headings one level
    down: the page around it has the only ``h1``."""
    md = _markdown()
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    return str(md.renderer.render(tokens, md.options, {}))


def _public(store: Store, conversation_id: str) -> bool:
    rows = store.con.execute(
        "SELECT 1 FROM conversations c JOIN spaces sp ON sp.id = c.space_id WHERE c.id = ? AND NOT sp.private", [conversation_id]
    ).fetchall()
    return bool(rows)


def _record(record: StoryRecord) -> dict[str, Any]:
    return {**record.to_dict(), "updated_at": iso(record.updated_at)}


def stories_data(store: Store) -> dict[str, Any]:
    records = [r for r in list_stories(store) if _public(store, r.conversation_id)]
    groups = [{"state": state, "label": state.replace("_", " "), "stories": [_record(r) for r in records if r.state == state]} for state in STATES]
    return {"stories": len(records), "groups": groups}


def public_record(store: Store, story_id: int) -> StoryRecord:
    try:
        record = get_record(store, story_id)
    except InputError:
        raise NotFound(f"no story {story_id}") from None
    if not _public(store, record.conversation_id):
        raise NotFound(f"no story {story_id}")
    return record


def story_data(store: Store, story_id: int) -> dict[str, Any]:
    record = public_record(store, story_id)
    story = latest_story(store, story_id)
    versions = store.con.execute(
        "SELECT version, state, actor, note, created_at FROM story_versions WHERE story_id = ? ORDER BY version DESC", [story_id]
    ).fetchall()
    markdown = to_markdown(story)
    return {
        **_record(record),
        "markdown": markdown,
        "html": markdown_html(markdown.split("\n", 1)[1] if markdown.startswith("# ") else markdown),  # the page shows the title
        "history": [{"version": v, "state": s, "actor": a, "note": n, "created_at": iso(at)} for v, s, a, n, at in versions],
        "actions": [{"state": state, "label": label} for state, label in ACTIONS[record.state]],
        "approval_blocked_by": list(dict.fromkeys(consent_problems(store, story))),
        "editable": record.state != "published",
    }


def edit_data(store: Store, story_id: int, markdown: str | None = None, error: str | None = None) -> dict[str, Any]:
    """The editor: the current Markdown (or the text just submitted, with why it was refused)."""
    record = public_record(store, story_id)
    text = markdown if markdown is not None else to_markdown(latest_story(store, story_id))
    return {**_record(record), "markdown": text, "preview": preview_data(store, story_id, text), "error": error}


def preview_data(store: Store, story_id: int, markdown: str) -> dict[str, Any]:
    """The rendered Markdown and whether saving it would be accepted (and if not, why)."""
    public_record(store, story_id)
    if len(markdown) > MAX_MARKDOWN_CHARS:
        return {"html": "", "problem": f"the story is longer than {MAX_MARKDOWN_CHARS:,} characters", "approval_blocked_by": []}
    previous = latest_story(store, story_id)
    problem, blocked = None, []
    try:
        edited = story_from_markdown(markdown, previous, citable_messages(store, previous))
        blocked = list(dict.fromkeys(consent_problems(store, edited)))
    except InputError as refused:
        problem = str(refused)
    return {"html": markdown_html(markdown), "problem": problem, "approval_blocked_by": blocked}


def conversation_story_data(store: Store, conversation_id: str) -> dict[str, Any]:
    """A conversation and the stories already drafted from it (the page offering to draft one)."""
    rows = store.con.execute(
        "SELECT c.id, coalesce(nullif(trim(c.title), ''), left(root.text, 80), '(untitled)') FROM conversations c "
        "JOIN spaces sp ON sp.id = c.space_id LEFT JOIN messages root ON root.id = c.id WHERE c.id = ? AND NOT sp.private",
        [conversation_id],
    ).fetchall()  # fmt: skip
    if not rows:
        raise NotFound(f"no public conversation with id {conversation_id!r}")
    stories = [_record(r) for r in list_stories(store) if r.conversation_id == conversation_id]
    return {"conversation_id": rows[0][0], "title": rows[0][1], "stories": stories}
