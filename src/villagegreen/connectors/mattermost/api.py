"""Reading saved Mattermost API v4 responses: a folder (or zip, or one file) of JSON files.

What the folder may hold, each file being one response body saved as it came (any name
ending in ``.json``):

- posts pages, ``GET /api/v4/channels/{channel_id}/posts?page=N``: ``{"order": [ids],
  "posts": {id: post}}``. Pages may overlap; a post found twice is read once (the copy with
  the latest ``update_at`` wins);
- channels, ``GET /api/v4/channels/{channel_id}`` (an object) or a list of them: names and,
  above all, privacy (``type`` ``O`` public; ``P``, ``D``, ``G`` private);
- users, ``GET /api/v4/users/{user_id}`` (an object) or a list (``POST /api/v4/users/ids``).

Posts of a channel that no channel file describes are not imported unless private content is
included, because nothing says that channel is public. Saved error bodies (``{"id",
"message", "status_code"}``) and other JSON are reported as skipped files. Every file is
parsed whole: pages are small (at most 200 posts each).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.mattermost import mapping as m
from villagegreen.connectors.tree import SourceTree, first_named
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Record, Skipped

SNIFF_BYTES = 4096
SNIFF_FILES = 3
PRIVATE_REASON = "private channel skipped (use --include-private)"
UNDESCRIBED_REASON = (
    "posts of a channel no saved channel response describes; not imported in case it is private "
    "(save GET /api/v4/channels/{id} beside them, or use --include-private)"
)
# The first key is "order" with a 26-character Mattermost id (or an empty page that goes on to
# "posts"), or "posts" keyed by such ids: specific enough not to claim other JSON.
_PAGE_HEAD = re.compile(
    rb'^(?:\xef\xbb\xbf)?\s*\{\s*(?:"order"\s*:\s*\[\s*(?:"[a-z0-9]{26}"|\]\s*,\s*"posts"\s*:)|"posts"\s*:\s*\{\s*(?:"[a-z0-9]{26}"\s*:\s*\{|\}\s*,\s*"order"\s*:))'
)
_CHANNEL_TYPES = frozenset({"O", "P", "D", "G"})
_MALFORMED = (ItemError, KeyError, TypeError, AttributeError, ValueError)


def candidates(tree: SourceTree) -> list[str]:
    """JSON files, those named like posts pages first; a lone file whatever its name."""
    if tree.kind == "file":
        return tree.names()
    return first_named(tree.by_depth(".json"), lambda base: "post" in base)


def looks_like_page(head: bytes) -> bool:
    return _PAGE_HEAD.match(head) is not None


def locate(tree: SourceTree) -> str | None:
    return next((name for name in candidates(tree)[:SNIFF_FILES] if looks_like_page(tree.head(name, SNIFF_BYTES))), None)


@dataclass(slots=True)
class SavedResponses:
    """Every file of the input, sorted into what it is."""

    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    pages: int = 0

    def team(self) -> str | None:
        teams = Counter(t for c in self.channels.values() if (t := m.text(c.get("team_id"))))
        return max(teams.items(), key=lambda item: (item[1], item[0]))[0] if teams else None


def load(tree: SourceTree) -> SavedResponses:
    """Parse and sort every JSON file; an input holding no posts page at all is an InputError."""
    saved = SavedResponses()
    for name in candidates(tree):
        where = tree.describe(name)
        try:
            document = json.loads(tree.read_bytes(name))
        except (ValueError, UnicodeDecodeError):
            saved.skipped.append(Skipped("file", "not valid JSON (truncated or corrupt)", where))
            continue
        _sort(document, saved, where)
    if saved.pages == 0:
        raise InputError(f"{tree.path}: no Mattermost API posts page (order and posts) found; save GET /api/v4/channels/{{id}}/posts responses as .json files")
    return saved


def _sort(document: Any, saved: SavedResponses, where: str) -> None:
    if isinstance(document, dict) and isinstance(document.get("order"), list) and isinstance(document.get("posts"), dict):
        saved.pages += 1
        for post_id, post in document["posts"].items():
            if not isinstance(post, dict) or m.text(post.get("id")) != post_id or not m.text(post.get("channel_id")):
                saved.skipped.append(Skipped("message", "malformed post: no id or channel_id", f"{where} {str(post_id)[:40]}"))
                continue
            kept = saved.posts.get(post_id)
            if kept is None or _ms(post, "update_at") >= _ms(kept, "update_at"):
                saved.posts[post_id] = post
        return
    items = document if isinstance(document, list) else [document]
    known = 0
    for item in items:
        if not isinstance(item, dict) or not m.text(item.get("id")):
            continue
        if m.text(item.get("username")):
            saved.users[item["id"]] = item
            known += 1
        elif item.get("type") in _CHANNEL_TYPES and "team_id" in item:
            saved.channels[item["id"]] = item
            known += 1
    if known:
        return
    if isinstance(document, dict) and "status_code" in document and "message" in document:
        saved.skipped.append(Skipped("file", f"a saved API error ({document.get('status_code')}), not data", where))
    else:
        saved.skipped.append(Skipped("file", "not a Mattermost posts page, channel or user", where))


def _ms(post: Mapping[str, Any], key: str) -> int:
    value = post.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ApiReader:
    """One pass over the posts of saved API responses, channel by channel, oldest first."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext, saved: SavedResponses) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.saved = saved
        self.authors: set[str] = set()

    def read(self) -> Iterator[Record]:
        saved, context = self.saved, self.context
        yield from saved.skipped
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for post in sorted(saved.posts.values(), key=lambda p: (_ms(p, "create_at"), p["id"])):
            by_channel.setdefault(post["channel_id"], []).append(post)
        for channel_id in sorted(saved.channels.keys() | by_channel.keys()):
            channel = saved.channels.get(channel_id)
            posts = by_channel.get(channel_id, [])
            where = f"{self.tree.path} channel {channel_id}"
            if channel is not None and m.is_private_type(channel.get("type")) and not context.include_private:
                yield Skipped("space", PRIVATE_REASON, where)
                continue
            if channel is None and not context.include_private:
                yield Skipped("space", UNDESCRIBED_REASON, where)
                continue
            yield from self._space(channel_id, channel)
            yield from self._posts(channel_id, posts)
        for user_id, user in saved.users.items():
            yield self.connector.raw(context, "user", user_id, user)
            yield m.identity_for(context, user_id, user)
        for author in sorted(self.authors - saved.users.keys()):
            yield m.unknown_identity(context, author)

    def _space(self, channel_id: str, channel: dict[str, Any] | None) -> Iterator[Record]:
        if channel is None:
            # Included on request; privacy unknown, so marked private to be safe when publishing.
            yield m.space_for(self.context, channel_id, name=channel_id, channel_type=None, meta={"described": False})
            return
        meta = {
            "team_id": channel.get("team_id"),
            "type": channel.get("type"),
            "header": channel.get("header"),
            "purpose": channel.get("purpose"),
            "handle": channel.get("name"),
            "created_at": m.optional_ms(channel.get("create_at")),
            "deleted_at": m.optional_ms(channel.get("delete_at")),
        }
        yield self.connector.raw(self.context, "channel", channel_id, channel)
        name = m.text(channel.get("display_name")) or m.text(channel.get("name")) or channel_id
        yield m.space_for(self.context, channel_id, name=name, channel_type=channel.get("type"), meta=meta)

    def _posts(self, channel_id: str, posts: list[dict[str, Any]]) -> Iterator[Record]:
        space_id = self.context.id("space", channel_id)
        events = {post["id"] for post in posts if m.event_kind(post.get("type"))}
        for post in posts:
            try:
                yield from list(self._post(post, space_id, events))
            except _MALFORMED as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message", f"malformed post: {reason}", f"{self.tree.path} post {post['id']}")

    def _post(self, post: dict[str, Any], space_id: str, events: set[str]) -> Iterator[Record]:
        context, native_id = self.context, post["id"]
        author = m.text(post.get("user_id"))
        if author:
            self.authors.add(author)
        yield self.connector.raw(context, "post", native_id, post)
        kind = m.event_kind(post.get("type"))
        if kind is not None:
            yield m.event_for(context, post, kind, native_id=native_id, space_id=space_id, actor=author)
            return
        root = m.text(post.get("root_id"))
        # A reply under a system post starts its own conversation (events are not messages).
        root_native = native_id if root is None or root in events else root
        metadata = m.as_dict(post.get("metadata"))
        files = [{k: v for k, v in (("name", f.get("name")), ("type", f.get("mime_type"))) if v} for f in m.dicts(metadata.get("files"))]
        message = m.message_for(context, post, native_id=native_id, root_native=root_native, space_id=space_id, author=author, files=files)
        if root is not None and root in events:
            message.meta["reply_to_event"] = context.id("event", root)
        if root_native == native_id:
            yield Conversation.opened_by(message)
        yield message
        for reaction in m.dicts(metadata.get("reactions")):
            reactor, emoji = m.text(reaction.get("user_id")), m.text(reaction.get("emoji_name"))
            if reactor and emoji:
                self.authors.add(reactor)
                yield m.reaction_for(context, message_native=native_id, message_id=message.id, reactor=reactor, emoji=emoji, created=reaction.get("create_at"))
