"""``sync_live``: one run of a live connector (Discourse, Slack, Mattermost, Zulip, Teams), in one transaction.

The connector fetches what changed since the saved cursor into a staging folder laid out as its
platform's importer reads it (see :mod:`villagegreen.connectors.live.base`); nothing is written
while it fetches, so a failure part-way (a 500 after the retries, a network cut) leaves the
store and the cursor as they were and a re-run fetches the same things again. Then the
importer's connector reads the folder, and its records, the import run and the new cursor are
written in ONE transaction; writes are idempotent upserts keyed by the importer's ids.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from villagegreen.config import SourceConfig
from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.live.base import ClientOptions, LiveConnector, Staging, StoredRaw
from villagegreen.connectors.registry import get_connector
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import StoreError
from villagegreen.model import Skipped
from villagegreen.store.database import Store
from villagegreen.store.erasure import apply_block_list
from villagegreen.store.ingest import finalise_source, record_run, source_id_for
from villagegreen.store.report import ImportReport
from villagegreen.store.sync_common import SyncReport, crash_point, read_cursor, save_cursor, token_for
from villagegreen.store.writer import BatchWriter

LiveFactory = Callable[[SourceConfig, str, ClientOptions], LiveConnector]


def live_factory(platform: str) -> LiveFactory:
    # Imported on demand: each live module pulls in its platform's mapping code.
    if platform == "discourse":
        from villagegreen.connectors.discourse.live import DiscourseLive

        return DiscourseLive
    if platform == "slack":
        from villagegreen.connectors.slack.live import SlackLive

        return SlackLive
    if platform == "teams":
        from villagegreen.connectors.teams.live import TeamsLive

        return TeamsLive
    if platform == "zulip":
        from villagegreen.connectors.zulip.live import ZulipLive

        return ZulipLive
    from villagegreen.connectors.mattermost.live import MattermostLive

    return MattermostLive


def sync_live(store: Store, source: SourceConfig, options: ClientOptions | None = None) -> SyncReport:
    """Sync one non-Matrix source; raises a VillageGreenError (one line, never the token) on failure."""
    started = time.perf_counter()
    live = live_factory(source.platform)(source, token_for(source), options or ClientOptions())
    try:
        key = live.source_key()
        connector_cls = get_connector(live.platform)
        source_id = source_id_for(connector_cls.name, key)
        report = SyncReport(source=source.name, platform=source.platform, source_id=source_id, cursor_before=read_cursor(store, source_id))
        with tempfile.TemporaryDirectory(prefix="villagegreen-sync-") as folder:
            staging = Staging(Path(folder))
            fetched = live.fetch(report.cursor_before, staging, _stored_reader(store, source_id))
            report.cursor_after = fetched.cursor_after
            report.rooms = fetched.touched
            _write(store, source, key, live, staging, report)
    finally:
        live.close()
    report.seconds = time.perf_counter() - started
    return report


def _write(store: Store, source: SourceConfig, key: str, live: LiveConnector, staging: Staging, report: SyncReport) -> None:
    now = datetime.now(UTC)
    connector = get_connector(live.platform)()
    imported = ImportReport(source_id=report.source_id, source_name=key, connector=connector.name, location=live.location)
    context = ReadContext(source_id=report.source_id, source_name=key, include_private=source.include_private, fetched_at=now)
    try:
        with store.transaction():
            if staging.files:
                writer = BatchWriter(store.con, imported, on_progress=lambda _n: crash_point("sync-batch"))
                with SourceTree(staging.root) as tree:
                    for record in connector.read(tree, context):
                        if isinstance(record, Skipped):
                            imported.skip(record.kind, record.reason, record.where)
                        else:
                            writer.add(record)
                writer.flush()
                finalise_source(store.con, imported, now)
                apply_block_list(store, imported.source_id)
                record_run(store.con, imported, now)
            if report.cursor_after is not None:
                save_cursor(store.con, report.source_id, report.cursor_after, now)
            crash_point("sync-before-commit")
        crash_point("sync-after-commit")
    except duckdb.Error as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise StoreError(f"source {source.name}: writing the sync failed ({first_line}); the store and cursor are unchanged") from error
    report.new = imported.kind("messages").new
    report.updated = imported.kind("messages").updated
    report.imported = imported


def _stored_reader(store: Store, source_id: str) -> StoredRaw:
    def stored(kind: str, prefix: str) -> Iterator[tuple[str, Any]]:
        rows = store.con.execute(
            "SELECT native_id, payload FROM raw_items WHERE source_id = ? AND kind = ? AND starts_with(native_id, ?) ORDER BY native_id",
            [source_id, kind, prefix],
        ).fetchall()
        for native_id, payload in rows:
            yield str(native_id), json.loads(payload)

    return stored
