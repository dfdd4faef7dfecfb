"""What can be published: an approved story, a wrap-up note, a topic poll, a weekly digest.

Each becomes an :class:`Item` with its Markdown and HTML (the publishers render from those) and a
stable ``item_id``, the key that makes publishing idempotent:

- ``story``: the story id; only ``approved`` stories (or ``published`` ones, to a further target)
  are publishable: the editorial desk decides, not the publisher; consent is checked again;
- ``wrapup``: the conversation id; the note itself gives counts only and names nobody; it adds
  the takeaways of the conversation's approved story when it has one (approval checked consent);
- ``poll``: ``poll-`` and 12 hex digits of the SHA-256 of the question and options;
- ``digest``: the ISO week (``2026-W47``), from :mod:`villagegreen.stories.digest` when present.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from villagegreen.errors import InputError
from villagegreen.store.database import Store

if TYPE_CHECKING:
    from villagegreen.analyses.lifecycle_threads import Thread

ITEM_KINDS = ("story", "wrapup", "poll", "digest")
PUBLISHABLE = ("approved", "published")
WRAPUP_STATES = ("wrap_up", "close")
MAX_POLL_OPTIONS = 10  # Discourse's and Slack's practical limits are higher; ten fit every platform


@dataclass(frozen=True, slots=True)
class Poll:
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """The platform place of a conversation, so a wrap-up can reply in place.

    ``space_native_id``: the Matrix room id, Slack or Mattermost channel id, Zulip stream id;
    ``root_native_id``: the root message's native id (Slack: ``channel:ts``), None when not imported;
    ``topic_id``: the Discourse topic; ``topic``: the Zulip topic name; ``space_name``: its display name.
    """

    connector: str
    source_name: str
    space_native_id: str
    root_native_id: str | None
    topic_id: int | None = None
    space_name: str = ""
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    kind: str
    item_id: str
    title: str
    markdown: str
    html: str
    story_id: int | None = None
    poll: Poll | None = None
    origin: Origin | None = None  # where a wrap-up's conversation lives, so it can reply in place
    # The private space (channel, DM, invite-only room) the item's conversation comes from: a
    # publisher refuses it unless the facilitator explicitly includes private content.
    private_space: str | None = None

    def content_hash(self) -> str:
        """SHA-256 of what is published (title, bodies, poll), the same for every target."""
        poll = [self.poll.question, *self.poll.options] if self.poll else None
        content = json.dumps([self.kind, self.item_id, self.title, self.markdown, self.html, poll], ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()


def story_item(store: Store, story_id: int) -> Item:
    """The latest version of an approved story; any other state is one-line InputError."""
    from villagegreen.stories.desk import consent_problems, get_record, latest_story
    from villagegreen.stories.render import to_html, to_markdown

    record = get_record(store, story_id)
    if record.state not in PUBLISHABLE:
        raise InputError(f"story {story_id} is {record.state}, not approved; approve it first (villagegreen stories approve {story_id})")
    story = latest_story(store, story_id)
    # Consent may have changed since approval: check again at the moment of publishing.
    if problems := consent_problems(store, story):
        raise InputError(f"story {story_id} cannot be published now: {problems[0]}; re-draft it with `villagegreen story {story.conversation_id} --save`")
    return Item(
        "story", str(story_id), story.title, to_markdown(story), to_html(story), story_id=story_id,
        private_space=private_space_of(store, story.conversation_id),
    )  # fmt: skip


def private_space_of(store: Store, conversation_id: str) -> str | None:
    """The name of the private space holding ``conversation_id``, or None when it is public."""
    rows = store.con.execute(
        "SELECT sp.name FROM conversations c JOIN spaces sp ON sp.id = c.space_id WHERE c.id = ? AND sp.private", [conversation_id]
    ).fetchall()
    return str(rows[0][0]) if rows else None


def wrapup_item(store: Store, conversation_id: str, *, force: bool = False) -> Item:
    """A short note that ties a conversation off: why now, how big it was, what it concluded."""
    from villagegreen.analyses.lifecycle import assess
    from villagegreen.analyses.lifecycle_threads import load_thread

    thread = load_thread(store, conversation_id)
    if thread is None:
        raise InputError(f"no conversation {conversation_id!r} with member messages; `villagegreen threads ripe --json` lists them")
    ((newest,),) = store.con.execute("SELECT max(sent_at) FROM messages").fetchall()
    ripeness = assess(thread, newest)  # as `threads ripe` does: as of the store's newest message
    if ripeness.state not in WRAPUP_STATES and not force:
        raise InputError(f"conversation {conversation_id} is {ripeness.state} ({ripeness.reason}); wrap up only ripe ones, or pass --force")
    people = len({m.person_id or m.author for m in thread.messages})
    first, last = thread.messages[0].sent_at, thread.messages[-1].sent_at
    takeaways = _approved_takeaways(store, conversation_id)
    title = f"Wrapping up: {thread.title or 'a conversation in ' + thread.space_name}"
    facts = f"{len(thread.messages)} messages from {people} {'person' if people == 1 else 'people'}, {_day(first)} to {_day(last)}"
    md = [f"# {title}", "", f"This conversation in *{thread.space_name}* has run its course: {ripeness.reason}.", "", f"{facts}.", ""]
    htm = [f"<h1>{html.escape(title)}</h1>", f"<p>This conversation in <em>{html.escape(thread.space_name)}</em> has run its course: "
           f"{html.escape(ripeness.reason)}.</p>", f"<p>{html.escape(facts)}.</p>"]  # fmt: skip
    if takeaways:
        md += ["## What the group concluded", "", *(f"- {text} {refs}".rstrip() for text, refs, _ in takeaways), ""]
        htm.append("<h2>What the group concluded</h2><ul>" + "".join(f"<li>{html.escape(t)}{links}</li>" for t, _, links in takeaways) + "</ul>")
    closing = "Thank you to everyone who took part. Anything still open deserves a new thread of its own."
    md.append(closing)
    htm.append(f"<p>{closing}</p>")
    return Item(
        "wrapup", conversation_id, title, "\n".join(md) + "\n", "\n".join(htm) + "\n", origin=_origin(store, thread),
        private_space=private_space_of(store, conversation_id),
    )  # fmt: skip


def _origin(store: Store, thread: Thread) -> Origin:
    rows = store.con.execute("SELECT native_id FROM spaces WHERE id = ?", [thread.space_id]).fetchall()
    topic = str(thread.meta.get("topic_id", ""))
    root = thread.opener.native_id if thread.opener.id == thread.id else None  # None when the root was not imported
    zulip_topic = thread.meta.get("topic")
    return Origin(thread.connector, thread.source_name.lower(), str(rows[0][0]) if rows else "", root, int(topic) if topic.isdigit() else None,
                  space_name=thread.space_name, topic=zulip_topic if isinstance(zulip_topic, str) and zulip_topic else None)  # fmt: skip


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def _approved_takeaways(store: Store, conversation_id: str) -> list[tuple[str, str, str]]:
    """(text, Markdown refs, HTML refs) of the newest approved or published story's takeaways."""
    from villagegreen.stories.desk import consent_problems, latest_story

    rows = store.con.execute(
        "SELECT id FROM stories WHERE conversation_id = ? AND state IN ('approved', 'published') ORDER BY id DESC LIMIT 1", [conversation_id]
    ).fetchall()
    if not rows:
        return []
    story = latest_story(store, int(rows[0][0]))
    if consent_problems(store, story):
        return []  # someone refused quoting since approval: the note keeps to counts
    found = []
    for statement in story.takeaways:
        # Citations stay links, numbered by message id as in the story itself (stories/render.py).
        cites = [(c.message_id, c.permalink) for c in statement.citations]
        md = " ".join(f"[{m}]({url})" if url else f"[{m}]" for m, url in cites)
        links = " ".join(f'<a href="{html.escape(url)}">[{html.escape(m)}]</a>' if url else f"[{html.escape(m)}]" for m, url in cites)
        found.append((statement.text, md, f" {links}" if links else ""))
    return found


def poll_item(question: str, options: list[str]) -> Item:
    """A topic poll: 2 to :data:`MAX_POLL_OPTIONS` distinct, non-empty options."""
    question = " ".join(question.split())
    cleaned = list(dict.fromkeys(" ".join(o.split()) for o in options if o.strip()))
    if not question:
        raise InputError('the poll has no question; pass --question "What should we talk about next?"')
    if not 2 <= len(cleaned) <= MAX_POLL_OPTIONS:
        raise InputError(f"a poll needs 2 to {MAX_POLL_OPTIONS} different options, got {len(cleaned)}; pass --option more times or use --programme")
    poll = Poll(question, tuple(cleaned))
    digest = hashlib.sha256(json.dumps([poll.question, *poll.options], ensure_ascii=False).encode()).hexdigest()[:12]
    md = f"# {question}\n\n" + "".join(f"{n}. {o}\n" for n, o in enumerate(cleaned, 1))
    htm = f"<h1>{html.escape(question)}</h1><ol>" + "".join(f"<li>{html.escape(o)}</li>" for o in cleaned) + "</ol>\n"
    return Item("poll", f"poll-{digest}", question, md, htm, poll=poll)


def digest_item(store: Store, week: str) -> Item:
    """The week's digest from ``villagegreen.stories.digest.build_digest`` (a story-writer module)."""
    try:
        module = importlib.import_module("villagegreen.stories.digest")
    except ModuleNotFoundError:
        raise InputError("digests are not available in this version (villagegreen.stories.digest is missing)") from None
    digest = module.build_digest(store, week)
    return Item("digest", week, str(digest.title), str(digest.markdown()), str(digest.html()))
