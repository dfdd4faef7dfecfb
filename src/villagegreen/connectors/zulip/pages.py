"""Reading saved Zulip API responses: a folder (or zip, or one file) of ``GET /api/v1/messages`` pages.

Each page is the response body as Zulip returns it (https://zulip.com/api/get-messages)::

    {"result": "success", "msg": "", "anchor": 21, "found_newest": true, "found_oldest": false,
     "found_anchor": true, "history_limited": false, "messages": [{"id": 21, "sender_id": 8,
     "sender_full_name": "...", "sender_email": "...", "type": "stream", "stream_id": 3,
     "display_recipient": "design", "subject": "logo", "content": "<p>...</p>",
     "content_type": "text/html", "timestamp": 1700000000, "reactions": [...], ...}]}

``content`` is HTML unless the pages were fetched with ``apply_markdown=false``
(``content_type`` ``text/x-markdown``), in which case the Markdown is kept as the text.

Message objects do not say whether a channel is invite-only or whether a user is a bot, so two
optional companions are read from the same folder when present: a saved ``GET /api/v1/streams``
(or ``GET /api/v1/users/me/subscriptions``) response, giving each channel's ``invite_only``, and
a saved ``GET /api/v1/users`` response, giving ``is_bot`` and roles. A channel that no companion
describes is of unknown privacy and is treated as private.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.zulip import mapping as m
from villagegreen.connectors.zulip.documents import PAGES_HINT, SNIFF_BYTES, json_names, load, looks_like_page, looks_like_streams, looks_like_users
from villagegreen.connectors.zulip.export import ROOT_REALM_KEY, dm_space, stream_info, user_info
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Skipped

CHANNEL_TYPES = frozenset({"stream", "channel"})
DIRECT_TYPES = frozenset({"private", "direct"})
# Cross-realm system bots (Notification Bot, Welcome Bot) post from this realm.
SYSTEM_REALM = "zulipinternal"
PAGES_KEY = "zulip-api"


class PagesSource:
    """The posts of saved message pages (a :class:`~.reader.PostSource`)."""

    def __init__(self, tree: SourceTree, context: ReadContext | None = None) -> None:
        self.tree = tree
        self.context = context
        self.pages: list[str] = []
        self.streams: dict[int, Mapping[str, Any]] = {}
        self.members: dict[int, m.UserInfo] = {}
        # Names seen on messages and reactions, for accounts no users.json describes.
        self.seen: dict[int, m.UserInfo] = {}
        self.stream_names: dict[int, str] = {}
        self.companions: set[str] = set()
        for name in json_names(tree):
            head = tree.head(name, SNIFF_BYTES)
            if looks_like_page(head):
                self.pages.append(name)
            elif looks_like_streams(head):
                self._read_streams(name)
            elif looks_like_users(head):
                self._read_users(name)
        if not self.pages:
            # Forced with --platform, or heads are unusual: let the file's content say what is wrong.
            self.pages = [n for n in json_names(tree) if n not in self.companions]
        if not self.pages:
            raise InputError(f"{tree.path}: no saved Zulip message pages (JSON) found; {PAGES_HINT}")

    def _read_streams(self, name: str) -> None:
        document = load(self.tree, name, "save the body of GET /api/v1/streams as it is returned")
        rows = document.get("streams", document.get("subscriptions"))
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, Mapping) and isinstance(row.get("stream_id"), int):
                self.streams[row["stream_id"]] = row
        self.companions.add(name)

    def _read_users(self, name: str) -> None:
        document = load(self.tree, name, "save the body of GET /api/v1/users as it is returned")
        rows = document.get("members")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, Mapping) and isinstance(row.get("user_id"), int):
                self.members[row["user_id"]] = user_info(row)
        self.companions.add(name)

    def key(self) -> str:
        """The realm's subdomain, from the first page's ``sender_realm_str`` (system bots aside)."""
        document = load(self.tree, self.pages[0], PAGES_HINT)
        messages = document.get("messages")
        realms = Counter(
            msg.get("sender_realm_str")
            for msg in (messages if isinstance(messages, list) else [])
            if isinstance(msg, Mapping) and isinstance(msg.get("sender_realm_str"), str) and msg.get("sender_realm_str") != SYSTEM_REALM
        )
        if not realms:
            return PAGES_KEY
        realm = realms.most_common(1)[0][0]
        return str(realm) if realm else ROOT_REALM_KEY

    def posts(self, *, announce: bool) -> Iterator[m.Post | Skipped]:
        for name in self.pages:
            if announce and self.context is not None:
                self.context.on_file(name)
            where = self.tree.describe(name)
            document = load(self.tree, name, PAGES_HINT)
            if document.get("result") not in (None, "success"):
                raise InputError(f"{where}: a saved error response ({str(document.get('msg'))[:80]!r}), not messages; {PAGES_HINT}")
            messages = document.get("messages")
            if not isinstance(messages, list):
                raise InputError(f"{where}: no messages list, so not a saved Zulip GET /messages response; {PAGES_HINT}")
            for index, message in enumerate(messages):
                try:
                    yield self.post(message, remember=announce)
                except (ItemError, KeyError, TypeError, ValueError) as error:
                    reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                    message_id = message.get("id") if isinstance(message, Mapping) else None
                    yield Skipped("message", f"malformed message: {reason}", f"{where} #{index} id={message_id}")

    def post(self, message: Any, *, remember: bool = True) -> m.Post:
        if not isinstance(message, Mapping):
            raise ItemError("not a JSON object")
        post_id = m.message_id(message.get("id"))
        sender = m.message_id(message.get("sender_id"))
        kind = message.get("type")
        topic: str | None = None
        if kind in CHANNEL_TYPES:
            stream_id = m.message_id(message.get("stream_id"))
            space_key = str(stream_id)
            topic = str(message.get("subject") or "")
            if remember and isinstance(message.get("display_recipient"), str):
                self.stream_names[stream_id] = message["display_recipient"]
        elif kind in DIRECT_TYPES:
            people = [p for p in message.get("display_recipient") or [] if isinstance(p, Mapping) and isinstance(p.get("id"), int)]
            space_key = m.dm_key({sender} | {p["id"] for p in people})
            if remember:
                for person in people:
                    self._remember(person["id"], person.get("full_name"), person.get("email"))
        else:
            raise ItemError(f"type {str(kind)[:20]!r} is neither stream nor private")
        if remember:
            self._remember(sender, message.get("sender_full_name"), message.get("sender_email"), bot=message.get("sender_realm_str") == SYSTEM_REALM)
        # Servers before Zulip 3.0 name the reactor only in a nested "user" object.
        given = [r for r in message.get("reactions") or [] if isinstance(r, Mapping)]
        reactions = [r if "user_id" in r else {**r, "user_id": (r.get("user") or {}).get("id")} for r in given]
        if remember:
            for reaction in reactions:
                user = reaction.get("user")
                if isinstance(user, Mapping) and isinstance(reaction.get("user_id"), int) and reaction["user_id"] not in self.seen:
                    self._remember(reaction["user_id"], user.get("full_name"), user.get("email"))
        content = message.get("content")
        content = content if isinstance(content, str) else ""
        markdown = message.get("content_type") == "text/x-markdown"
        return m.Post(
            id=post_id,
            sender_id=sender,
            space_key=space_key,
            topic=topic,
            html=None if markdown else content,
            markdown=content if markdown else None,
            sent_at=m.epoch(message.get("timestamp"), "timestamp"),
            edited_at=m.optional_epoch(message.get("last_edit_timestamp")),
            moved=m.was_moved(message.get("edit_history")),
            reactions=m.reaction_infos(reactions, "user_id"),
            payload=message,
        )

    def _remember(self, user_id: int, name: object, email: object, *, bot: bool = False) -> None:
        if isinstance(name, str) and name:
            self.seen[user_id] = m.UserInfo(name=name, email=email if isinstance(email, str) and email else None, is_bot=bot)

    def space(self, post: m.Post) -> m.SpaceInfo:
        if post.space_key.startswith("dm:"):
            return dm_space(post.space_key, {**self.seen, **self.members})
        stream_id = int(post.space_key)
        row = self.streams.get(stream_id)
        if row is not None:
            return stream_info(row, stream_id)
        name = self.stream_names.get(stream_id, post.space_key)
        return m.SpaceInfo(post.space_key, name, "channel", True, {"privacy_unknown": True}, payload={"stream_id": stream_id, "name": name})

    def user(self, user_id: int) -> m.UserInfo | None:
        return self.members.get(user_id) or self.seen.get(user_id)

    def raw_payload(self, post: m.Post) -> Any:
        return post.payload
