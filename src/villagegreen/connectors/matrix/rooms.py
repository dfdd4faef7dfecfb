"""A room's current state (name, topic, join rule, members) and whether it is private.

State comes from state events wherever the input holds them: the timeline, a page's
``state`` section, a /sync room's ``state.events``, a /state file. The latest event of each
``(type, state_key)`` wins, by ``origin_server_ts``.

Privacy, when the input says too little, errs towards private: a room is **public** only when
its latest ``m.room.join_rules`` says ``"public"`` and it is not a direct chat. It is a direct
chat when the exporting account's ``m.direct`` lists it, when a membership says
``is_direct``, or when an authoritative member count (a /sync ``summary``, or a full /state
list) is two or fewer. An input without a join rule (an Element export or /messages pages
that do not reach back to the room's creation) is therefore private until included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.matrix.files import RoomInput
from villagegreen.connectors.matrix.mapping import as_dict
from villagegreen.model import Space

DM_REASONS = frozenset({"direct chat", "two members or fewer"})


@dataclass(slots=True)
class RoomState:
    room_id: str
    name: str | None = None
    topic: str | None = None
    alias: str | None = None
    join_rule: str | None = None
    creator: str | None = None
    is_direct: bool = False
    # Each user's latest display name (people rename; the last one is who they are now).
    display_names: dict[str, str] = field(default_factory=dict)


def _ts(event: Mapping[str, Any]) -> int:
    value = event.get("origin_server_ts")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def resolve_state(room_id: str, events: Iterable[Mapping[str, Any]]) -> RoomState:
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    state = RoomState(room_id)
    for event in sorted((e for e in events if isinstance(e.get("state_key"), str)), key=_ts):
        latest[(str(event.get("type")), event["state_key"])] = event
        content = as_dict(event.get("content"))
        if event.get("type") == "m.room.member":
            if content.get("is_direct") is True:
                state.is_direct = True
            if isinstance(content.get("displayname"), str) and content["displayname"]:
                state.display_names[event["state_key"]] = content["displayname"]

    def value(kind: str, key: str) -> str | None:
        found = as_dict(latest.get((kind, ""), {}).get("content")).get(key)
        return found if isinstance(found, str) and found else None

    state.name = value("m.room.name", "name")
    state.topic = value("m.room.topic", "topic")
    state.alias = value("m.room.canonical_alias", "alias")
    state.join_rule = value("m.room.join_rules", "join_rule")
    creation = latest.get(("m.room.create", ""))
    if creation is not None:
        # Room versions before 11 name the creator in content; from 11 on it is the sender.
        creator = as_dict(creation.get("content")).get("creator") or creation.get("sender")
        state.creator = creator if isinstance(creator, str) else None
    return state


def privacy(room: RoomInput, state: RoomState) -> tuple[bool, str]:
    """(private, why) as the module docstring decides it."""
    if room.direct or state.is_direct:
        return True, "direct chat"
    if room.member_count is not None and room.member_count <= 2:
        return True, "two members or fewer"
    if state.join_rule is None:
        return True, "join rule unknown"
    if state.join_rule != "public":
        return True, f"join rule {state.join_rule}"
    return False, "join rule public"


def space_for(context: ReadContext, room: RoomInput, state: RoomState) -> Space:
    private, why = privacy(room, state)
    name = state.name or room.export.get("room_name") or state.alias or room.room_id
    meta: dict[str, Any] = {"privacy": why}
    for key, found in (("topic", state.topic or room.export.get("topic")), ("alias", state.alias), ("join_rule", state.join_rule), ("creator", state.creator)):
        if found:
            meta[key] = found
    for key in ("room_creator", "export_date", "exported_by"):
        if room.export.get(key):
            meta[key] = room.export[key]
    return Space(
        id=context.id("space", room.room_id),
        source_id=context.source_id,
        native_id=room.room_id,
        name=name,
        kind="dm" if why in DM_REASONS else "channel",
        private=private,
        meta=meta,
    )
