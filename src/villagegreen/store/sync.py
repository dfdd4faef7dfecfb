"""``sync_source``: fetch what is new from a live source; here Matrix, other platforms in :mod:`.sync_live`.

One run: read the cursor (``sync_state``, stream ``"sync"``), call ``/sync`` since it (an
initial sync without one), and for each room whose timeline was cut (``limited``), or on the
first run, page back with ``/messages`` until an event already stored or the room's beginning.
Each touched room is then mapped whole by the importer's own
:class:`~villagegreen.connectors.matrix.export.RoomReader`, over the events already stored
(``raw_items``) plus the new ones, because a new edit or redaction changes an older message.
Records, redaction deletions and the new cursor are written in ONE transaction, so a failure
part-way leaves the cursor at the last committed point and a re-run fetches the same events
again (writes are idempotent upserts). Ids are the importer's: with the same ``source_key``
a synced message and an imported one are the same row.

Cost: each touched room is re-mapped from all its stored events (memory grows with the room).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

from villagegreen.config import SourceConfig
from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.live.base import ClientOptions
from villagegreen.connectors.matrix.client import MatrixClient
from villagegreen.connectors.matrix.connector import MatrixConnector
from villagegreen.connectors.matrix.export import RoomReader
from villagegreen.connectors.matrix.files import RoomInput
from villagegreen.connectors.matrix.mapping import as_dict
from villagegreen.errors import StoreError
from villagegreen.model import Identity, Skipped
from villagegreen.store.database import Store
from villagegreen.store.erasure import apply_block_list
from villagegreen.store.ingest import finalise_source, record_run, source_id_for
from villagegreen.store.report import ImportReport
from villagegreen.store.sync_common import SyncReport, crash_point, read_cursor, save_cursor, token_for
from villagegreen.store.sync_live import sync_live
from villagegreen.store.writer import BatchWriter

# Events per room in one /sync and per /messages page; a room with more new events than the
# timeline limit comes back "limited" and is paged back with /messages.
TIMELINE_LIMIT = 100
HISTORY_PAGE = 100


def sync_source(
    store: Store,
    source: SourceConfig,
    *,
    client_factory: Callable[[SourceConfig, str], MatrixClient] | None = None,
    options: ClientOptions | None = None,
) -> SyncReport:
    """Sync one source; raises a VillageGreenError (one line, never the token) on failure.

    ``client_factory`` (Matrix) and ``options`` (the other platforms) let tests inject responses.
    """
    if source.platform != "matrix":
        return sync_live(store, source, options)
    if client_factory is None and options is not None:
        transport, sleep = options.transport, options.sleep
        client_factory = lambda s, token: MatrixClient(s.homeserver, token, label=f"source {s.name}", token_env=s.token_env, transport=transport, sleep=sleep)  # noqa: E731
    return _sync_matrix(store, source, client_factory)


def _sync_matrix(store: Store, source: SourceConfig, client_factory: Callable[[SourceConfig, str], MatrixClient] | None) -> SyncReport:
    started = time.perf_counter()
    factory = client_factory or (lambda s, token: MatrixClient(s.homeserver, token, label=f"source {s.name}", token_env=s.token_env))
    with factory(source, token_for(source)) as client:
        user = client.whoami()
        key = source.source_key or user.partition(":")[2] or user
        source_id = source_id_for(MatrixConnector.name, key)
        report = SyncReport(source=source.name, platform=source.platform, source_id=source_id, cursor_before=read_cursor(store, source_id))
        wanted = [client.resolve_alias(r) if r.startswith("#") else r for r in source.rooms] or client.joined_rooms()
        response = client.sync(report.cursor_before, wanted, TIMELINE_LIMIT)
        fresh = _fresh_events(client, store, source_id, response, set(wanted), first=report.cursor_before is None)
        next_batch = response.get("next_batch")
        if not isinstance(next_batch, str):
            raise StoreError(f"source {source.name}: /sync returned no next_batch; nothing was written")
        report.cursor_after = next_batch
        _write(store, source, key, source_id, fresh, _direct_rooms(response), report)
    report.seconds = time.perf_counter() - started
    return report


def _fresh_events(
    client: MatrixClient, store: Store, source_id: str, response: Mapping[str, Any], wanted: set[str], *, first: bool
) -> dict[str, list[Mapping[str, Any]]]:
    """New events per room: the /sync timeline and state, plus history paged back where needed."""
    fresh: dict[str, list[Mapping[str, Any]]] = {}
    joined = as_dict(as_dict(response.get("rooms")).get("join"))
    for room_id, body in sorted(joined.items()):
        if room_id not in wanted or not isinstance(body, Mapping):
            continue
        timeline = as_dict(body.get("timeline"))
        events = [e for e in (timeline.get("events") or []) if isinstance(e, Mapping)]
        events += [e for e in (as_dict(body.get("state")).get("events") or []) if isinstance(e, Mapping)]
        prev = timeline.get("prev_batch")
        known = set() if first else _stored_event_ids(store, source_id, room_id)
        # Page back when the timeline was cut, and for a room with nothing stored yet (the first
        # sync, or a room added to the config since): to the last stored event or the beginning.
        if isinstance(prev, str) and (timeline.get("limited") or not known):
            events += list(client.history(room_id, prev, known, HISTORY_PAGE))
        if events:
            # /sync events omit room_id; adding it makes the raw payload a /messages-shaped event.
            fresh[room_id] = [dict(e, room_id=room_id) for e in events if isinstance(e.get("event_id"), str)]
    for room_id in sorted(wanted - set(fresh)):
        # A room added to the config after the first sync, with nothing new: page back from now.
        if not first and not _stored_event_ids(store, source_id, room_id):
            events = list(client.history(room_id, None, set(), HISTORY_PAGE))
            fresh[room_id] = [dict(e, room_id=room_id) for e in events if isinstance(e.get("event_id"), str)]
    return fresh


def _write(
    store: Store, source: SourceConfig, key: str, source_id: str, fresh: dict[str, list[Mapping[str, Any]]],
    direct: set[str], report: SyncReport,
) -> None:  # fmt: skip
    now = datetime.now(UTC)
    imported = ImportReport(source_id=source_id, source_name=key, connector=MatrixConnector.name, location=source.homeserver)
    context = ReadContext(source_id=source_id, source_name=key, include_private=source.include_private, fetched_at=now)
    connector = MatrixConnector()
    people: dict[str, Identity] = {}
    try:
        with store.transaction():
            writer = BatchWriter(store.con, imported, on_progress=lambda _n: crash_point("sync-batch"))
            for room_id, events in fresh.items():
                room = _room_input(store, source_id, room_id, events, direct)
                reader = RoomReader(connector, context, room, people)
                for record in reader.read():
                    if isinstance(record, Skipped):
                        imported.skip(record.kind, record.reason, record.where)
                    else:
                        writer.add(record)
                report.redacted += _forget_redacted(store.con, context, reader.redacted)
            for person in people.values():
                writer.add(person)
            writer.flush()
            finalise_source(store.con, imported, now)
            apply_block_list(store, imported.source_id)
            record_run(store.con, imported, now)
            if report.cursor_after:
                save_cursor(store.con, source_id, report.cursor_after, now)
            crash_point("sync-before-commit")
        crash_point("sync-after-commit")
    except duckdb.Error as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise StoreError(f"source {source.name}: writing the sync failed ({first_line}); the store and cursor are unchanged") from error
    report.rooms = len(fresh)
    report.new = imported.kind("messages").new
    report.updated = imported.kind("messages").updated
    report.imported = imported


def _room_input(store: Store, source_id: str, room_id: str, fresh: list[Mapping[str, Any]], direct: set[str]) -> RoomInput:
    room = RoomInput(room_id, direct=room_id in direct)
    for (payload,) in store.con.execute(
        "SELECT payload FROM raw_items WHERE source_id = ? AND kind = 'event' AND json_extract_string(payload, '$.room_id') = ?",
        [source_id, room_id],
    ).fetchall():
        event = json.loads(payload)
        room.events[event["event_id"]] = event
    for event in fresh:
        room.events[str(event["event_id"])] = event
    room.member_count = _member_count(room.events.values())
    return room


def _member_count(events: Any) -> int | None:
    """Joined + invited members from the latest membership of each user (what /sync's summary says)."""
    latest: dict[str, tuple[int, str]] = {}
    for event in events:
        if event.get("type") == "m.room.member" and isinstance(event.get("state_key"), str):
            ts = event.get("origin_server_ts") if isinstance(event.get("origin_server_ts"), int) else 0
            membership = str((event.get("content") or {}).get("membership"))
            if event["state_key"] not in latest or latest[event["state_key"]][0] <= ts:
                latest[event["state_key"]] = (ts, membership)
    return sum(m in ("join", "invite") for _ts, m in latest.values()) if latest else None


def _forget_redacted(con: duckdb.DuckDBPyConnection, context: ReadContext, redacted: set[str]) -> int:
    """Remove rows (and raw payloads) of events redacted since they were stored; returns messages removed."""
    if not redacted:
        return 0
    messages = [context.id("message", e) for e in redacted]
    ((removed,),) = con.execute("SELECT count(*) FROM messages WHERE id IN (SELECT unnest(?))", [messages]).fetchall()
    con.execute("DELETE FROM reactions WHERE message_id IN (SELECT unnest(?))", [messages])
    con.execute("DELETE FROM reactions WHERE id IN (SELECT unnest(?))", [[context.id("reaction", e) for e in redacted]])
    con.execute("DELETE FROM messages WHERE id IN (SELECT unnest(?))", [messages])
    con.execute("DELETE FROM raw_items WHERE id IN (SELECT unnest(?))", [[context.id("raw:event", e) for e in redacted]])
    return int(removed)


def _stored_event_ids(store: Store, source_id: str, room_id: str) -> set[str]:
    rows = store.con.execute(
        "SELECT native_id FROM raw_items WHERE source_id = ? AND kind = 'event' AND json_extract_string(payload, '$.room_id') = ?",
        [source_id, room_id],
    ).fetchall()
    return {str(row[0]) for row in rows}


def _direct_rooms(response: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for event in as_dict(response.get("account_data")).get("events") or []:
        if isinstance(event, Mapping) and event.get("type") == "m.direct" and isinstance(event.get("content"), Mapping):
            for rooms in event["content"].values():
                if isinstance(rooms, list):
                    found.update(r for r in rooms if isinstance(r, str))
    return found
