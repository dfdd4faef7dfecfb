"""Finding, loading and collecting Microsoft Graph JSON files of Teams messages.

Shapes read, alone or mixed in one folder or zip (every ``.json`` file is read):

- a message page: ``{"@odata.context", "@odata.nextLink", "value": [chatMessage]}`` from
  ``GET /teams/{id}/channels/{id}/messages``, ``.../messages/{id}/replies`` or
  ``GET /chats/{id}/messages``; replies may be inlined under their root as ``"replies":
  [...]`` (``$expand=replies``, and what export tools save);
- a bare JSON list of chatMessages;
- channel descriptions: ``GET /teams/{id}/channels`` (``{"value": [channel]}``) or one
  channel object, for channel names and ``membershipType``.

Files are parsed whole and messages held until all are read (a reply page may come before its
roots): memory grows with the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from villagegreen.connectors.json_documents import JsonFormat, json_candidates, load_json
from villagegreen.connectors.teams.mapping import container_of
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Skipped

SNIFF_BYTES = 8192
SNIFF_FILES = 3
HINT = "give Microsoft Graph chatMessage JSON (GET /teams/{team}/channels/{channel}/messages, with replies)"
JSON_FORMAT = JsonFormat(what="Graph JSON", hint=HINT, again="fetch it again")
_OPENING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*[\[{]")
_MESSAGE_TYPE = re.compile(rb'"messageType"\s*:\s*"')
_PLACE = re.compile(rb'"(?:channelIdentity|chatId|replyToId)"\s*:')




def looks_like_teams(head: bytes) -> bool:
    """JSON holding chatMessage keys: ``messageType``, ``createdDateTime`` and a place (channel, chat, reply)."""
    return _OPENING.match(head) is not None and _MESSAGE_TYPE.search(head) is not None and b'"createdDateTime"' in head and _PLACE.search(head) is not None


def locate(tree: SourceTree) -> str | None:
    return next((n for n in json_candidates(tree)[:SNIFF_FILES] if looks_like_teams(tree.head(n, SNIFF_BYTES))), None)


@dataclass(slots=True)
class Collected:
    # Messages by native id ("<channel or chat>/<id>"), with where each was found.
    messages: dict[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    channels: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    teams: list[str] = field(default_factory=list)
    chats: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def source_key(self) -> str:
        """The team of the first channel message; for chats only, the first chat."""
        if self.teams:
            return self.teams[0]
        return self.chats[0] if self.chats else "teams"




def _is_message(item: Mapping[str, Any]) -> bool:
    return "messageType" in item and ("channelIdentity" in item or "chatId" in item or "replyToId" in item)


def _is_channel(item: Mapping[str, Any]) -> bool:
    return "displayName" in item and "membershipType" in item and "messageType" not in item


def collect(tree: SourceTree) -> Collected:
    """Every message and channel description; a file of another shape is one fatal error."""
    collected = Collected()
    names = json_candidates(tree)
    if not names:
        raise InputError(f"{tree.path}: no JSON files found; {HINT}")
    for name in names:
        document = load_json(tree, name, JSON_FORMAT)
        where = tree.describe(name)
        items: object = document.get("value") if isinstance(document, Mapping) and "value" in document else document
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            raise InputError(f"{where}: not Graph chatMessage JSON (no value list); {HINT}")
        mapped = [i for i in items if isinstance(i, Mapping)]
        if items and not any(_is_message(i) or _is_channel(i) for i in mapped):
            raise InputError(f"{where}: not Graph chatMessage JSON (no messageType or channel entries); {HINT}")
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and _is_channel(item) and isinstance(item.get("id"), str):
                collected.channels[item["id"]] = item
            else:
                _add(collected, item, f"{where} #{index}", None)
    return collected


def _add(collected: Collected, item: object, where: str, parent: Mapping[str, Any] | None) -> None:
    if not isinstance(item, Mapping) or item.get("id") in (None, ""):
        collected.skipped.append(Skipped("message", "malformed message: not an object with an id", where))
        return
    message = item
    if parent is not None:
        # An inlined reply may omit its place and its root; it shares its parent's.
        if not (item.get("channelIdentity") or item.get("chatId")):
            message = {**message, "channelIdentity": parent.get("channelIdentity"), "chatId": parent.get("chatId")}
        if not item.get("replyToId"):
            message = {**message, "replyToId": parent.get("id")}
    try:
        container, team, is_chat = container_of(message)
    except ItemError as error:
        collected.skipped.append(Skipped("message", f"malformed message: {error}", f"{where} id={item.get('id')}"))
        return
    if team and team not in collected.teams:
        collected.teams.append(team)
    if is_chat and container not in collected.chats:
        collected.chats.append(container)
    replies = message.get("replies")
    stored = {k: v for k, v in message.items() if k not in ("replies", "replies@odata.context", "replies@odata.nextLink")}
    # A message fetched twice (a page and its replies page overlap): the later copy wins.
    collected.messages[f"{container}/{message['id']}"] = (stored, f"{where} id={message['id']}")
    for index, reply in enumerate(replies if isinstance(replies, list) else []):
        _add(collected, reply, f"{where} reply #{index}", message)
