"""Finding, loading and grouping Matrix JSON files by room.

Four shapes are read, alone or mixed in one folder or zip (every ``.json`` file is read):

- a ``GET /_matrix/client/v3/rooms/{roomId}/messages`` page: ``{"chunk": [...], "start",
  "end", "state": [...]}`` (a folder of pages of one or many rooms, in any order);
- a ``GET /_matrix/client/v3/sync`` response: ``rooms.join``/``rooms.leave`` →
  ``{roomId: {"timeline": {"events"}, "state": {"events"}, "summary"}}``, with ``m.direct``
  from ``account_data``;
- a ``GET /_matrix/client/v3/rooms/{roomId}/state`` response: a JSON list of state events;
- Element's "Export chat" JSON: ``{"room_name", "room_creator", "topic", "export_date",
  "exported_by", "messages": [...]}`` (alone, or as ``export.json`` in its zip).

Every file is parsed whole and all events are held until each room is mapped (rooms must be
seen whole to apply edits and redactions): memory grows with the input.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from villagegreen.connectors.json_documents import JsonFormat, json_candidates, load_json
from villagegreen.connectors.matrix.mapping import as_dict
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Skipped

SNIFF_BYTES = 8192
SNIFF_FILES = 3
HINT = "give /messages pages, a /sync response or Element's Export chat (format JSON)"
JSON_FORMAT = JsonFormat(what="Matrix JSON", hint=HINT, again="fetch or export it again")
_OPENING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*\{")
_SHAPE = re.compile(rb'"(?:chunk|room_name|next_batch|rooms)"\s*:')
_MATRIX_TYPE = re.compile(rb'"type"\s*:\s*"m\.')




def looks_like_matrix(head: bytes) -> bool:
    """A JSON object with a Matrix container key and events (``event_id``, ``origin_server_ts``, ``m.*`` types)."""
    return (
        _OPENING.match(head) is not None
        and _SHAPE.search(head) is not None
        and b'"origin_server_ts"' in head
        and b'"event_id"' in head
        and _MATRIX_TYPE.search(head) is not None
    )


def locate(tree: SourceTree) -> str | None:
    return next((n for n in json_candidates(tree)[:SNIFF_FILES] if looks_like_matrix(tree.head(n, SNIFF_BYTES))), None)


@dataclass(slots=True)
class RoomInput:
    """Everything the input holds about one room."""

    room_id: str
    # Timeline events by id, deduplicated across pages (a page boundary may repeat one).
    events: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # State from "state" sections and /state files: not timeline events, but they name the room.
    state: list[Mapping[str, Any]] = field(default_factory=list)
    export: dict[str, str] = field(default_factory=dict)
    direct: bool = False
    # Joined + invited members, known only from a /sync summary or a full /state list.
    member_count: int | None = None
    files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Collected:
    rooms: dict[str, RoomInput] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def room(self, room_id: str, name: str) -> RoomInput:
        found = self.rooms.setdefault(room_id, RoomInput(room_id))
        if name not in found.files:
            found.files.append(name)
        return found

    def source_key(self) -> str:
        """The room id for one room; for several, the server most of their ids name."""
        if len(self.rooms) == 1:
            return next(iter(self.rooms))
        servers = Counter(room_id.partition(":")[2] or room_id for room_id in sorted(self.rooms))
        return servers.most_common(1)[0][0] if servers else "matrix"




def collect(tree: SourceTree) -> Collected:
    """Every room's events from every JSON file; a file of another shape is one fatal error."""
    collected = Collected()
    names = json_candidates(tree)
    if not names:
        raise InputError(f"{tree.path}: no JSON files found; {HINT}")
    for name in names:
        document = load_json(tree, name, JSON_FORMAT)
        where = tree.describe(name)
        if isinstance(document, Mapping) and isinstance(document.get("chunk"), list):
            _add_events(collected, name, where, document["chunk"], document.get("state"))
        elif isinstance(document, Mapping) and isinstance(document.get("rooms"), Mapping):
            _add_sync(collected, name, where, document)
        elif isinstance(document, Mapping) and isinstance(document.get("messages"), list) and "room_name" in document:
            room = _add_events(collected, name, where, document["messages"], None, fallback=f"element-export:{document.get('room_name')}")
            if room is not None:
                room.export = {k: str(document[k]) for k in ("room_name", "room_creator", "topic", "export_date", "exported_by") if document.get(k)}
        elif isinstance(document, list) and document and all(isinstance(e, Mapping) and "state_key" in e for e in document):
            room = _add_events(collected, name, where, [], document)
            if room is not None:
                members = [as_dict(e.get("content")).get("membership") for e in document if e.get("type") == "m.room.member"]
                room.member_count = sum(m in ("join", "invite") for m in members)
        else:
            raise InputError(f"{where}: not Matrix client-server JSON (no chunk, rooms or Element export messages); {HINT}")
    return collected


def _add_events(collected: Collected, name: str, where: str, timeline: list[Any], state: object, fallback: str | None = None) -> RoomInput | None:
    state_events = [e for e in state if isinstance(e, Mapping)] if isinstance(state, list) else []
    # Pages and exports hold one room; events carry room_id, the fallback covers exports without it.
    room_id = next((e["room_id"] for e in [*timeline, *state_events] if isinstance(e, Mapping) and isinstance(e.get("room_id"), str)), fallback)
    if room_id is None:
        if timeline or state_events:
            collected.skipped.append(Skipped("file", "events without a room_id", where))
        return None
    room = collected.room(room_id, name)
    _add_timeline(collected, room, timeline, name, where)
    room.state.extend(state_events)
    return room


def _add_timeline(collected: Collected, room: RoomInput, timeline: list[Any], name: str, where: str) -> None:
    for index, event in enumerate(timeline):
        if not isinstance(event, Mapping) or not isinstance(event.get("event_id"), str) or not isinstance(event.get("type"), str):
            collected.skipped.append(Skipped("event", "malformed event: not an object with an event_id and a type", f"{where} #{index}"))
            continue
        if isinstance(event.get("room_id"), str) and event["room_id"] != room.room_id:
            collected.room(event["room_id"], name).events.setdefault(event["event_id"], event)
            continue
        room.events.setdefault(event["event_id"], event)


def _add_sync(collected: Collected, name: str, where: str, document: Mapping[str, Any]) -> None:
    direct: set[str] = set()
    for event in as_dict(document.get("account_data")).get("events") or []:
        if isinstance(event, Mapping) and event.get("type") == "m.direct":
            for listed in as_dict(event.get("content")).values():
                if isinstance(listed, list):
                    direct.update(r for r in listed if isinstance(r, str))
    rooms = as_dict(document.get("rooms"))
    for section in ("join", "leave"):
        for room_id, body in as_dict(rooms.get(section)).items():
            room = collected.room(str(room_id), name)
            room.direct = room.direct or room_id in direct
            timeline = as_dict(as_dict(body).get("timeline")).get("events")
            _add_timeline(collected, room, timeline if isinstance(timeline, list) else [], name, f"{where} {room_id}")
            state = as_dict(as_dict(body).get("state")).get("events")
            if isinstance(state, list):
                room.state.extend(e for e in state if isinstance(e, Mapping))
            summary = as_dict(as_dict(body).get("summary"))
            counts = [summary.get(k) for k in ("m.joined_member_count", "m.invited_member_count")]
            if any(isinstance(c, int) for c in counts):
                room.member_count = sum(c for c in counts if isinstance(c, int))
