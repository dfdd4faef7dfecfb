"""Reading a Mattermost bulk export: JSON Lines, one object per line, ``{"type": ..., <type>: {...}}``.

The format is Mattermost's bulk import/export format
(https://docs.mattermost.com/onboard/bulk-loading-data-format.html; field names as in the
server's ``app/imports/import_types.go``). Lines come in a documented order: ``version``
first, then ``scheme``/``emoji``, ``team``, ``channel``, ``user``, ``post``,
``direct_channel``, ``direct_post``. The file is streamed line by line, so its size is not
limited by memory; the order is what lets a post's channel (and so its privacy) be known when
the post is reached.

Native ids: a bulk export has no post ids at all (Mattermost itself matches a post by
channel, message and ``create_at``). The message text cannot be part of an id, or an edited
post would become a new row on the next import, so ids are built from where and when:

- channel: ``<team>/<channel name>``; direct channel: ``dm:<sorted member usernames>``;
- post: ``<channel id>@<create_at>:<username>``, and ``#<n>`` for the n-th repeat of that key
  in the file (two posts by one person in one millisecond only come from scripts);
- reply: ``<post id>/<create_at>:<username>`` (``#<n>`` likewise);
- identity: the username (the export has no user ids).
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from collections.abc import Generator, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.mattermost import mapping as m
from villagegreen.connectors.tree import SourceTree, first_named
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Identity, Record, Skipped

SNIFF_BYTES = 4096
SNIFF_FILES = 3
PRIVATE_REASON = "private channel or direct message skipped (use --include-private)"
PRIVATE_POST_REASON = "post in a skipped private channel or direct message (use --include-private)"
UNKNOWN_CHANNEL_REASON = "post in a channel no channel line describes; not imported in case it is private (use --include-private)"
# Lines that describe the server, not the community's conversations.
IGNORED_TYPES = frozenset({"version", "scheme", "emoji", "role"})
_MALFORMED = (ItemError, KeyError, TypeError, AttributeError, ValueError)


def candidates(tree: SourceTree) -> list[str]:
    """``import.jsonl`` first, then other ``.jsonl`` files by depth; a lone file whatever its name."""
    if tree.kind == "file":
        return tree.names()
    return first_named(tree.by_depth(".jsonl"), lambda base: base == "import.jsonl")


def looks_like_bulk(head: bytes) -> bool:
    """The first line is ``{"type": "version", "version": <int>, ...}``."""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    if not first.startswith(b"{") or b'"version"' not in first:
        return False
    try:
        line = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(line, dict) and line.get("type") == "version" and type(line.get("version")) is int


def locate(tree: SourceTree) -> str | None:
    return next((name for name in candidates(tree)[:SNIFF_FILES] if looks_like_bulk(tree.head(name, SNIFF_BYTES))), None)


def lines(tree: SourceTree, name: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object or the exception that stopped it) for each non-blank line."""
    try:
        with tree.open(name) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    yield number, json.loads(raw)
                except (ValueError, UnicodeDecodeError) as error:
                    yield number, error
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"{tree.describe(name)}: cannot be read to the end ({error}); export it again") from error


def team_name(tree: SourceTree, name: str) -> str | None:
    """The first team's name: teams come before every post, so this reads only the head."""
    for _number, line in lines(tree, name):
        if isinstance(line, dict) and line.get("type") == "team":
            return m.text(m.as_dict(line.get("team")).get("name"))
        if isinstance(line, dict) and line.get("type") in ("post", "direct_post"):
            return None
    return None


class BulkReader:
    """One streaming pass over one bulk export file."""

    def __init__(self, connector: Connector, tree: SourceTree, name: str, context: ReadContext) -> None:
        self.connector = connector
        self.tree = tree
        self.name = name
        self.context = context
        self.where = tree.describe(name)
        self.channels: dict[str, bool] = {}  # native id -> imported (False: skipped as private)
        self.users: dict[str, Identity] = {}
        self.mentioned: set[str] = set()
        self.ordinals: Counter[str] = Counter()

    def read(self) -> Iterator[Record]:
        self.context.on_file(self.name)
        seen_version = False
        for number, line in lines(self.tree, self.name):
            where = f"{self.where}:{number}"
            if not seen_version:
                if not isinstance(line, dict) or line.get("type") != "version":
                    raise InputError(
                        f"{self.where}: line {number} is not the version line a Mattermost bulk export starts with; export it again with mmctl export create"
                    )
                seen_version = True
                continue
            if isinstance(line, Exception):
                yield Skipped("line", "malformed JSON line (truncated or corrupt)", where)
                continue
            if not isinstance(line, dict) or not isinstance(line.get("type"), str):
                yield Skipped("line", "line without a type", where)
                continue
            kind = line["type"]
            if kind in IGNORED_TYPES:
                continue
            handler = {
                "team": self._team,
                "channel": self._channel,
                "user": self._user,
                "bot": self._user,
                "post": self._post,
                "direct_channel": self._direct_channel,
                "direct_post": self._direct_post,
            }.get(kind)
            payload = line.get(kind)
            if handler is None:
                yield Skipped("line", f"{kind[:40]} lines are not imported", where)
            elif not isinstance(payload, dict):
                yield Skipped("line", f"{kind} line without its {kind} object", where)
            else:
                try:
                    yield from list(handler(payload, where))
                except _MALFORMED as error:
                    reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                    yield Skipped("message" if "post" in kind else kind, f"malformed {kind}: {reason}", where)
        if not seen_version:
            raise InputError(f"{self.where}: the file is empty; export it again with mmctl export create")
        yield from self.users.values()
        for username in sorted(self.mentioned - self.users.keys()):
            yield m.unknown_identity(self.context, username, name=username)

    def _team(self, team: Mapping[str, Any], where: str) -> Iterator[Record]:
        name = m.text(team.get("name"))
        if name is None:
            raise ItemError("the team has no name")
        yield self.connector.raw(self.context, "team", name, team)

    def _channel(self, channel: Mapping[str, Any], where: str) -> Iterator[Record]:
        team, name = m.text(channel.get("team")), m.text(channel.get("name"))
        if team is None or name is None:
            raise ItemError("the channel has no team or name")
        native_id = f"{team}/{name}"
        kind = channel.get("type")
        if m.is_private_type(kind) and not self.context.include_private:
            self.channels[native_id] = False
            yield Skipped("space", PRIVATE_REASON, where)
            return
        self.channels[native_id] = True
        meta = {"team": team, "type": kind, "header": channel.get("header"), "purpose": channel.get("purpose")}
        yield self.connector.raw(self.context, "channel", native_id, channel)
        yield m.space_for(self.context, native_id, name=m.text(channel.get("display_name")) or name, channel_type=kind, meta=meta)

    def _user(self, user: Mapping[str, Any], where: str) -> Iterator[Record]:
        username = m.text(user.get("username"))
        if username is None:
            raise ItemError("the user has no username")
        if "owner" in user and "is_bot" not in user:  # a bot line: {username, display_name, owner}
            user = {**user, "is_bot": True, "nickname": user.get("display_name")}
        self.users[username] = m.identity_for(self.context, username, user)
        yield self.connector.raw(self.context, "user", username, user)

    def _post(self, post: Mapping[str, Any], where: str) -> Iterator[Record]:
        channel = f"{post.get('team')}/{post.get('channel')}"
        imported = self.channels.get(channel)
        if imported is None and not self.context.include_private:
            yield Skipped("message", UNKNOWN_CHANNEL_REASON, where)
            return
        if imported is False:
            yield Skipped("message", PRIVATE_POST_REASON, where)
            return
        if imported is None:  # included on request: the channel exists only through its posts
            self.channels[channel] = True
            yield m.space_for(self.context, channel, name=str(post.get("channel")), channel_type=None, meta={"described": False})
        yield from self._thread(post, channel)

    def _direct_channel(self, channel: Mapping[str, Any], where: str) -> Iterator[Record]:
        members = sorted(set(m.strings(channel.get("members"))))
        if not members:
            raise ItemError("the direct channel has no members")
        if not self.context.include_private:
            yield Skipped("space", PRIVATE_REASON, where)
            return
        yield from self._direct_space(members, channel)

    def _direct_post(self, post: Mapping[str, Any], where: str) -> Iterator[Record]:
        members = sorted(set(m.strings(post.get("channel_members"))))
        if not members:
            raise ItemError("the direct post has no channel_members")
        if not self.context.include_private:
            yield Skipped("message", PRIVATE_POST_REASON, where)
            return
        native_id = _dm_id(members)
        if native_id not in self.channels:
            yield from self._direct_space(members, {"members": members})
        yield from self._thread(post, native_id)

    def _direct_space(self, members: list[str], channel: Mapping[str, Any]) -> Iterator[Record]:
        native_id = _dm_id(members)
        self.channels[native_id] = True
        self.mentioned.update(members)
        kind = "D" if len(members) <= 2 else "G"
        label = "DM" if kind == "D" else "group DM"
        yield self.connector.raw(self.context, "direct_channel", native_id, channel)
        meta = {"members": len(members), "header": channel.get("header")}
        yield m.space_for(self.context, native_id, name=f"{label}: {', '.join(members)}", channel_type=kind, meta=meta)

    def _thread(self, post: Mapping[str, Any], channel: str) -> Iterator[Record]:
        """A post and its replies; a reply under a system post starts its own conversation."""
        space_id = self.context.id("space", channel)
        native_id = self._native(f"{channel}@{post.get('create_at')}:{post.get('user')}")
        root_is_event = yield from self._one(post, native_id, native_id, space_id)
        yield self.connector.raw(self.context, "post", native_id, post)
        for reply in m.dicts(post.get("replies")):
            reply_id = self._native(f"{native_id}/{reply.get('create_at')}:{reply.get('user')}")
            yield from self._one(reply, reply_id, reply_id if root_is_event else native_id, space_id, event_root=native_id if root_is_event else None)

    def _one(self, post: Mapping[str, Any], native_id: str, root: str, space_id: str, event_root: str | None = None) -> Generator[Record, None, bool]:
        """Records for one post or reply; returns whether it was a system post (an event)."""
        author = m.text(post.get("user"))
        if author is not None:
            self.mentioned.add(author)
        kind = m.event_kind(post.get("type"))
        if kind is not None:
            yield m.event_for(self.context, post, kind, native_id=native_id, space_id=space_id, actor=author)
            return True
        files = [{"name": PurePosixPath(path).name} for a in m.dicts(post.get("attachments")) if (path := m.text(a.get("path")))]
        message = m.message_for(self.context, post, native_id=native_id, root_native=root, space_id=space_id, author=author, files=files)
        if event_root is not None:
            message.meta["reply_to_event"] = self.context.id("event", event_root)
        if root == native_id:
            yield Conversation.opened_by(message)
        yield message
        for reaction in m.dicts(post.get("reactions")):
            reactor, emoji = m.text(reaction.get("user")), m.text(reaction.get("emoji_name"))
            if reactor and emoji:
                self.mentioned.add(reactor)
                created = reaction.get("create_at")
                yield m.reaction_for(self.context, message_native=native_id, message_id=message.id, reactor=reactor, emoji=emoji, created=created)
        return False

    def _native(self, key: str) -> str:
        repeat = self.ordinals[key]
        self.ordinals[key] += 1
        return key if repeat == 0 else f"{key}#{repeat}"


def _dm_id(members: list[str]) -> str:
    return "dm:" + ",".join(members)
