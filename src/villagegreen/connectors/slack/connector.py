"""``SlackExportConnector``: a Slack workspace export (zip or folder) to canonical records.

What it yields, in order: the spaces (public channels; private channels, DMs and group DMs only
with ``include_private``), then for each space its messages, conversations, reactions and
events day by day, then every identity. Private spaces that are not imported are reported as
skipped, one note per space and one per day file, and their day files are never opened.
Unthreaded channel messages are grouped into conversations by :mod:`.threading`.
A folder of day files that no listing names is skipped too: it might be a DM or a private
channel whose listing is missing, and guessing wrong would leak it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, cast

from villagegreen.connectors.base import Connector, PartedRead, ReadContext, read_in_order
from villagegreen.connectors.slack import flat_json
from villagegreen.connectors.slack.directory import Directory, Learnt, majority_team
from villagegreen.connectors.slack.export import PlannedSpace, SlackExport, find_root, looks_like_export
from villagegreen.connectors.slack.mapping import (
    added_bot_name,
    author_native_id,
    event_kind,
    map_event,
    map_message,
    map_reactions,
    map_space,
    parse_ts,
)
from villagegreen.connectors.slack.raw_json import compact
from villagegreen.connectors.slack.space_state import SpaceState
from villagegreen.connectors.slack.threading import thread_space
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import ItemError
from villagegreen.model import Conversation, RawItem, Record, Skipped

PRIVATE_REASON = "private channel/DM skipped (use --include-private)"
PRIVATE_DAY_REASON = "day file of a skipped private channel/DM, not read (use --include-private)"
UNLISTED_REASON = "folder of day files not listed in channels.json, groups.json, dms.json or mpims.json; not imported in case it is private"
NO_FOLDER_REASON = "listed, but the export has no day files for it (imported as an empty space)"


class SlackExportConnector(Connector):
    name: ClassVar[str] = "slack"
    version: ClassVar[str] = "0.1.0"
    formats: ClassVar[str] = "Slack workspace export, zip or folder (channels.json, users.json, <channel>/<YYYY-MM-DD>.json); slackdump export too"
    priority: ClassVar[int] = 40

    def __init__(self) -> None:
        self._cached: tuple[SourceTree, SlackExport] | None = None

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return looks_like_export(tree) or looks_like_flat(tree)

    def source_key(self, tree: SourceTree) -> str:
        """The team id (``T...``): from users.json, else the listings or messages, else the file name."""
        if _is_flat(tree):
            return flat_json.source_key(tree)
        export = self._export(tree)
        team = majority_team(export.users) or export.first_team(export.plan())
        if team:
            return team
        return tree.path.stem if tree.kind != "folder" else tree.path.resolve().name

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        if _is_flat(tree):
            return flat_json.read(self, tree, context)
        return read_in_order(_SpacesRead(self, self._export(tree), context))

    def read_parts(self, tree: SourceTree, context: ReadContext) -> PartedRead | None:
        """An export's spaces are independent parts; haskell-jp's flat pages are read in one go."""
        return None if _is_flat(tree) else _SpacesRead(self, self._export(tree), context)

    def read_space(self, export: SlackExport, space: PlannedSpace, people: Directory, context: ReadContext) -> Iterator[Record]:
        state = SpaceState(space, context)
        channel_id = space.native_id
        for name in export.day_files[space.folder or ""]:
            context.on_file(f"{space.name}/{name.rpartition('/')[2]}")
            try:
                entries = export.read_day(name)
            except ItemError as error:
                yield Skipped("day file", str(error), export.tree.describe(name))
                continue
            # Replies sort after their roots, so an event root is known before its replies.
            for entry in sorted(entries, key=_ts_order):
                ts = entry.get("ts") if isinstance(entry, dict) else None
                if not isinstance(ts, str) or not ts:
                    yield Skipped("message", "entry without a ts", export.tree.describe(name))
                    continue
                native_id = f"{channel_id}:{ts}"  # message_native_id, inlined: once per message
                try:
                    sent_at = parse_ts(ts, native_id)
                except ItemError as error:
                    yield Skipped("message", "ts is not a Slack timestamp", f"{export.tree.describe(name)} ({error})")
                    continue
                yield self._raw_message(context, native_id, entry)
                yield from self._map_entry(entry, native_id, sent_at, state, people, context)

    def _raw_message(self, context: ReadContext, native_id: str, entry: dict[str, Any]) -> RawItem:
        # What Connector.raw makes, serialised by orjson: once per message, so it is hot.
        return self.raw_json(context, "message", native_id, compact(entry))

    def _map_entry(self, entry: dict[str, Any], native_id: str, sent_at: datetime, state: SpaceState, people: Directory, context: ReadContext) -> list[Record]:
        """The records of one message entry: an event, or a message with its conversation and reactions."""
        ts: str = entry["ts"]
        author = author_native_id(entry, people)
        kind = event_kind(entry)
        if kind is not None:
            state.event_roots[ts] = sent_at
            if bot := added_bot_name(entry):
                people.name_bot(*bot)
            return [
                map_event(entry, kind, space_id=state.space_id, channel_id=state.channel_id, occurred_at=sent_at, actor=author, people=people, context=context)
            ]
        records: list[Record] = []
        message_id = state.message_ids[ts] = context.id("message", native_id)
        thread_ts = entry.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts and thread_ts != ts:
            conversation_id = state.message_id(thread_ts)
            reply_to_id: str | None = conversation_id
            if thread_ts in state.event_roots:
                reply_to_id = None
                if thread_ts not in state.event_conversations:
                    state.event_conversations.add(thread_ts)
                    records.append(Conversation(conversation_id, context.source_id, state.space_id, None, state.event_roots[thread_ts], {"root": "event"}))
        else:
            conversation_id, reply_to_id = message_id, None
            records.append(Conversation(message_id, context.source_id, state.space_id, None, sent_at))
        records.append(
            map_message(
                entry,
                message_id=message_id,
                native_id=native_id,
                space_id=state.space_id,
                conversation_id=conversation_id,
                reply_to_id=reply_to_id,
                author=author,
                sent_at=sent_at,
                people=people,
                context=context,
                identity_ids=state.identity_ids,
            )
        )
        if "reactions" in entry:
            records.extend(map_reactions(entry, message_id, native_id, people, context, state.identity_ids))
        return records

    def _export(self, tree: SourceTree) -> SlackExport:
        # source_key and read both need the listings; parse users.json once per import.
        if self._cached is None or self._cached[0] is not tree:
            self._cached = (tree, SlackExport(tree))
        return self._cached[1]


class _SpacesRead:
    """An export read as a head (listings, spaces), one part per space with day files, a tail (identities).

    Each space is mapped and threaded with its own copy of the directory as the head left it,
    so a space never depends on which spaces were read before it (see :class:`PartedRead`).
    """

    def __init__(self, connector: SlackExportConnector, export: SlackExport, context: ReadContext) -> None:
        self.connector, self.export, self.context = connector, export, context
        self.planned = export.plan()
        imported = [space for space in self.planned if context.include_private or not space.private]
        self.people = Directory(export.users, {space.native_id: space.name for space in imported if space.listing.kind == "channel"})
        self.with_days = [space for space in imported if space.folder is not None]
        self._copies: dict[int, Directory] = {}

    @property
    def labels(self) -> list[str]:
        return [space.name for space in self.with_days]

    def head(self) -> Iterator[Record]:
        export, people, context, connector = self.export, self.people, self.context, self.connector
        for filename, count in export.malformed.items():
            for _ in range(count):
                yield Skipped("listing entry", "entry without an id", f"{export.root}{filename}")
        for user in export.users:
            yield connector.raw(context, "user", user["id"], user)
        for space in self.planned:
            if space.private and not context.include_private:
                yield Skipped("space", PRIVATE_REASON, space.name)
                for name in export.day_files.get(space.folder or "", []):
                    yield Skipped("day file", PRIVATE_DAY_REASON, name)
                continue
            yield connector.raw(context, space.listing.raw_kind, space.native_id, space.entry)
            yield map_space(space.entry, space.listing.kind, space.private, _space_name(space, people), context)
            if space.folder is None:
                yield Skipped("space folder", NO_FOLDER_REASON, space.name)
        for folder in export.unlisted_folders(self.planned):
            yield Skipped("space", UNLISTED_REASON, folder)

    def part(self, index: int) -> Iterator[Record]:
        people = self._copies[index] = self.people.copy()
        return thread_space(self.connector.read_space(self.export, self.with_days[index], people, self.context), people, self.context)

    def part_learnt(self, index: int) -> Learnt:
        return self._copies.pop(index).learnt()

    def absorb(self, index: int, learnt: object) -> None:
        self.people.absorb(cast(Learnt, learnt))

    def tail(self) -> Iterator[Record]:
        return self.people.identities(self.context)


def looks_like_flat(tree: SourceTree) -> bool:
    """haskell-jp's slack-log pages (see ``flat_json``), only where no export listing is present."""
    return find_root(tree) is None and flat_json.looks_like_flat(tree)


def _is_flat(tree: SourceTree) -> bool:
    return find_root(tree) is None and flat_json.find_flat(tree) is not None


def _space_name(space: PlannedSpace, people: Directory) -> str:
    """DMs and group DMs are named after their members; channels after themselves."""
    members = space.entry.get("members")
    if space.listing.kind in ("dm", "group_dm") and isinstance(members, list) and members:
        names = ", ".join(people.name(str(member)) or str(member) for member in members)
        return f"{'DM' if space.listing.kind == 'dm' else 'group DM'}: {names}"
    return space.name


def _ts_order(entry: object) -> float:
    if isinstance(entry, dict):
        try:
            return float(entry.get("ts") or 0)
        except (TypeError, ValueError):
            return 0.0
    return 0.0
