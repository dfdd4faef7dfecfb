"""Reading a Zulip organisation export (``./manage.py export`` or the Export organisation page).

The export is a folder of JSON dumps of Zulip's tables (zerver/lib/export.py):

- ``realm.json``: ``zerver_realm``, ``zerver_userprofile`` (plus ``zerver_userprofile_mirrordummy``
  for deactivated or non-exported accounts and ``zerver_userprofile_crossrealm`` for system
  bots), ``zerver_stream``, ``zerver_recipient`` (type 1 a person, 2 a channel, 3 a group of
  people), ``zerver_subscription`` and, since Zulip 1.7, ``zerver_reaction``;
- ``messages-000001.json``, ...: ``zerver_message`` rows of up to 1000 messages each, sorted by
  id (``sender``, ``recipient``, ``subject`` = topic, ``content`` = Markdown,
  ``rendered_content`` = HTML, ``date_sent``, called ``pub_date`` before Zulip 2.2, epoch
  seconds as a float), and ``zerver_usermessage``. A ``zerver_reaction`` table found in a
  messages file is read as well.

``realm.json`` is parsed whole (it holds no messages); message files are parsed one at a time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.zulip import mapping as m
from villagegreen.connectors.zulip.documents import EXPORT_HINT, REALM_FILE, load, message_files_in
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Skipped

PERSONAL, STREAM, GROUP = 1, 2, 3
# System bots that live in another realm and appear only by email.
_SYSTEM_BOTS = {"notification-bot": "Notification Bot", "welcome-bot": "Welcome Bot", "emailgateway": "Email Gateway"}


def _rows(document: Mapping[str, Any], table: str) -> list[Mapping[str, Any]]:
    value = document.get(table)
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def user_info(row: Mapping[str, Any]) -> m.UserInfo:
    """An account from a ``zerver_userprofile`` row or a ``GET /users`` member (same field names)."""
    meta: dict[str, Any] = {}
    if isinstance(row.get("role"), int):
        meta["role"] = row["role"]
    if row.get("is_active") is False:
        meta["deactivated"] = True
    email = row.get("delivery_email") or row.get("email")
    return m.UserInfo(name=str(row.get("full_name") or ""), email=str(email) if email else None, is_bot=bool(row.get("is_bot")), meta=meta)


def stream_info(row: Mapping[str, Any], stream_id: int) -> m.SpaceInfo:
    """A channel from a ``zerver_stream`` row or a ``GET /streams`` entry (same field names)."""
    meta: dict[str, Any] = {}
    if row.get("description"):
        meta["description"] = row["description"]
    if row.get("is_web_public"):
        meta["web_public"] = True
    if row.get("deactivated") or row.get("is_archived"):
        meta["archived"] = True
    private = bool(row.get("invite_only"))
    return m.SpaceInfo(str(stream_id), str(row.get("name") or stream_id), "channel", private, meta, payload=dict(row))


def realm_key(realm: Mapping[str, Any]) -> str:
    """The realm's subdomain (``string_id``); the root-domain realm's is empty."""
    realms = _rows(realm, "zerver_realm")
    string_id = realms[0].get("string_id") if realms else None
    return str(string_id) if string_id else ROOT_REALM_KEY


ROOT_REALM_KEY = "zulip-root-realm"


class ExportSource:
    """The posts, channels and people of one export (a :class:`~.reader.PostSource`)."""

    def __init__(self, tree: SourceTree, folder: str, context: ReadContext | None = None) -> None:
        self.tree = tree
        self.context = context
        self.realm = load(tree, folder + REALM_FILE, EXPORT_HINT)
        if not isinstance(self.realm.get("zerver_recipient"), list) or not isinstance(self.realm.get("zerver_userprofile"), list):
            raise InputError(f"{tree.describe(folder + REALM_FILE)}: not a Zulip export (no zerver_recipient or zerver_userprofile table); {EXPORT_HINT}")
        self.files = message_files_in(tree.names(), folder)
        self.users: dict[int, m.UserInfo] = {}
        for table in ("zerver_userprofile", "zerver_userprofile_mirrordummy"):
            for row in _rows(self.realm, table):
                if isinstance(row.get("id"), int):
                    self.users[row["id"]] = user_info(row)
        for row in _rows(self.realm, "zerver_userprofile_crossrealm"):
            if isinstance(row.get("id"), int):
                local = str(row.get("email") or "").partition("@")[0]
                self.users.setdefault(row["id"], m.UserInfo(name=_SYSTEM_BOTS.get(local, local), email=row.get("email"), is_bot=True))
        self.recipients = {row["id"]: (row.get("type"), row.get("type_id")) for row in _rows(self.realm, "zerver_recipient") if isinstance(row.get("id"), int)}
        self.streams = {row["id"]: row for row in _rows(self.realm, "zerver_stream") if isinstance(row.get("id"), int)}
        groups = {rid for rid, (kind, _) in self.recipients.items() if kind == GROUP}
        self.members: dict[int, set[int]] = defaultdict(set)
        for row in _rows(self.realm, "zerver_subscription"):
            if row.get("recipient") in groups and isinstance(row.get("user_profile"), int):
                self.members[row["recipient"]].add(row["user_profile"])
        self.reactions = self._reactions(self.realm)

    @property
    def key(self) -> str:
        return realm_key(self.realm)

    @staticmethod
    def _reactions(document: Mapping[str, Any]) -> dict[int, list[Mapping[str, Any]]]:
        found: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for row in _rows(document, "zerver_reaction"):
            if isinstance(row.get("message"), int):
                found[row["message"]].append(row)
        return found

    def posts(self, *, announce: bool) -> Iterator[m.Post | Skipped]:
        for name in self.files:
            if announce and self.context is not None:
                self.context.on_file(name)
            document = load(self.tree, name, EXPORT_HINT)
            rows = document.get("zerver_message")
            if not isinstance(rows, list):
                raise InputError(f"{self.tree.describe(name)}: no zerver_message table, so not a Zulip export messages file; {EXPORT_HINT}")
            extra = self._reactions(document)
            for index, row in enumerate(rows):
                try:
                    yield self.post(row, extra)
                except (ItemError, KeyError, TypeError, ValueError) as error:
                    reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                    row_id = row.get("id") if isinstance(row, Mapping) else None
                    yield Skipped("message", f"malformed message: {reason}", f"{self.tree.describe(name)} #{index} id={row_id}")

    def post(self, row: Any, extra: Mapping[int, list[Mapping[str, Any]]]) -> m.Post:
        if not isinstance(row, Mapping):
            raise ItemError("not a JSON object")
        post_id = m.message_id(row.get("id"))
        sender = m.message_id(row.get("sender"))
        recipient = self.recipients.get(row.get("recipient"))
        if recipient is None:
            raise ItemError(f"recipient {str(row.get('recipient'))[:20]} is not in realm.json")
        kind, type_id = recipient
        topic: str | None = None
        if kind == STREAM:
            space_key = str(type_id)
            topic = str(row.get("subject") or "")
        elif kind == PERSONAL and isinstance(type_id, int):
            space_key = m.dm_key({sender, type_id})
        elif kind == GROUP:
            members = self.members.get(row["recipient"]) or set()
            space_key = m.dm_key(members | {sender})
        else:
            raise ItemError(f"recipient type {str(kind)[:20]} is unknown")
        sent = row["date_sent"] if "date_sent" in row else row.get("pub_date")
        html, markdown = row.get("rendered_content"), row.get("content")
        return m.Post(
            id=post_id,
            sender_id=sender,
            space_key=space_key,
            topic=topic,
            html=html if isinstance(html, str) else None,
            markdown=markdown if isinstance(markdown, str) else None,
            # Whole seconds, as the API gives them, so an export and API pages give identical rows.
            sent_at=m.epoch(_whole(sent), "date_sent"),
            edited_at=m.optional_epoch(_whole(row.get("last_edit_time"))),
            moved=m.was_moved(_history(row.get("edit_history"))),
            resolve_notice=row.get("type") == m.RESOLVE_NOTICE_TYPE,
            reactions=m.reaction_infos([*self.reactions.get(post_id, []), *extra.get(post_id, [])], "user_profile"),
            payload=row,
        )

    def space(self, post: m.Post) -> m.SpaceInfo:
        if post.space_key.startswith("dm:"):
            return dm_space(post.space_key, self.users)
        stream_id = int(post.space_key)
        row = self.streams.get(stream_id)
        if row is None:
            raise ItemError(f"channel {stream_id} is not in realm.json")
        return stream_info(row, stream_id)

    def user(self, user_id: int) -> m.UserInfo | None:
        return self.users.get(user_id)

    def raw_payload(self, post: m.Post) -> Any:
        return post.payload


def dm_space(key: str, users: Mapping[int, m.UserInfo]) -> m.SpaceInfo:
    """A direct-message conversation, named after the people in it."""
    ids = [int(part) for part in key[3:].split(",") if part]
    names = [users[u].name if u in users and users[u].name else f"user {u}" for u in ids]
    return m.SpaceInfo(key, ", ".join(names), "group_dm" if len(ids) > 2 else "dm", True, {}, payload={"user_ids": ids})


def _history(value: object) -> object:
    # The export keeps edit_history as the JSON text stored in the database.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value == value and abs(value) < 1e15 else value
