"""Helpers for the live-connector tests: a recorded-response server and the checks every connector shares.

``Recorded`` answers requests from a routing function the test writes over recorded bodies;
``queue`` holds one-off answers (a 429, a 500) served before the routed ones, and ``failing``
makes every request whose URL (path and query) contains one of its strings answer 500, to break a run part-way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from villagegreen.config import SourceConfig
from villagegreen.connectors.live.base import ClientOptions
from villagegreen.store import Store
from villagegreen.store.sync import sync_source
from villagegreen.store.sync_common import SyncReport


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Recorded:
    route: Callable[[httpx.Request], httpx.Response]
    auth: Callable[[httpx.Request], bool]
    requests: list[httpx.Request] = field(default_factory=list)
    queue: list[httpx.Response] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    sleeps: list[float] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queue:
            return self.queue.pop(0)
        if any(part in str(request.url) for part in self.failing):
            return httpx.Response(500, text="Internal Server Error")
        if not self.auth(request):
            return httpx.Response(401, json={"error": "unauthorised"})
        return self.route(request)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def sync(self, store: Store, source: SourceConfig) -> SyncReport:
        self.requests.clear()
        return sync_source(store, source, options=ClientOptions(transport=httpx.MockTransport(self.handle), sleep=self.sleeps.append))


def messages(store: Store) -> dict[str, tuple[str, str, str | None, str]]:
    """native_id -> (id, conversation_id, reply_to_id, text), failing if a native id is stored twice."""
    rows = store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text FROM messages").fetchall()
    assert len(rows) == len({row[0] for row in rows}), "a message is stored twice"
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def cursor(store: Store) -> list[tuple[str, str]]:
    return [(str(a), str(b)) for a, b in store.con.execute("SELECT source_id, cursor FROM sync_state").fetchall()]


def assert_token_nowhere(db: Path, token: str, *texts: str) -> None:
    """The token in no row of any table, not in the database file's bytes, nor in ``texts`` (reports, errors)."""
    with Store.open(db, read_only=True) as store:
        tables = [t for (t,) in store.con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        for table in tables:
            hits = store.con.execute(f'SELECT count(*) FROM "{table}" t WHERE strpos(CAST(t AS VARCHAR), ?) > 0', [token]).fetchone()
            assert hits == (0,), f"token found in {table}"
        # The scan only means something if the rows are there.
        assert store.con.execute("SELECT count(*) FROM raw_items").fetchone() != (0,)
    for path in db.parent.glob(db.name + "*"):
        assert token.encode() not in path.read_bytes(), path
    for text in texts:
        assert token not in text


def set_token(monkeypatch: pytest.MonkeyPatch, env: str, token: str) -> None:
    monkeypatch.setenv(env, token)
