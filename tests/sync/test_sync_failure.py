"""A sync that fails part-way writes nothing and keeps the cursor (responses injected, no server).

The /sync and /messages shapes follow the client-server spec; the content is invented.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.cli_support import run_cli
from villagegreen.config import SourceConfig
from villagegreen.connectors.matrix.client import MatrixClient
from villagegreen.errors import TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import source_id_for
from villagegreen.store.sync import sync_source

ROOM = "!r:example.org"
EVENT = {
    "type": "m.room.message",
    "event_id": "$new",
    "sender": "@a:example.org",
    "origin_server_ts": 1_700_000_000_000,
    "content": {"msgtype": "m.text", "body": "hi"},
}


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/account/whoami"):
        return httpx.Response(200, json={"user_id": "@a:example.org"})
    if path.endswith("/sync"):
        timeline = {"events": [EVENT], "limited": True, "prev_batch": "p1"}
        return httpx.Response(200, json={"next_batch": "s2", "rooms": {"join": {ROOM: {"timeline": timeline}}}})
    return httpx.Response(500, json={"errcode": "M_UNKNOWN"})  # /messages: the server breaks mid-run


def test_a_failure_part_way_keeps_the_cursor_and_writes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T", "syt_x")
    source = SourceConfig(name="s", platform="matrix", homeserver="https://example.org", token_env="T", rooms=(ROOM,))
    source_id = source_id_for("matrix", "example.org")  # the account's server: the default key
    store.con.execute("INSERT INTO sync_state VALUES (?, 'sync', 's1', now())", [source_id])

    def factory(config: SourceConfig, token: str) -> MatrixClient:
        return MatrixClient(config.homeserver, token, transport=httpx.MockTransport(handler), sleep=lambda _s: None)

    with pytest.raises(TransientError, match="server error 500"):
        sync_source(store, source, client_factory=factory)
    assert store.con.execute("SELECT source_id, cursor FROM sync_state").fetchall() == [(source_id, "s1")]
    assert store.con.execute("SELECT count(*) FROM messages").fetchone() == (0,)


def test_sync_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run_cli(capsys, "sync", "--help")
    assert code == 0 and "Example: villagegreen sync" in " ".join(out.split())


def test_sync_without_sources_says_how_to_add_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.toml").write_text("")
    code, out, err = run_cli(capsys, "sync", "--db", str(tmp_path / "vg.duckdb"), "--config", str(tmp_path / "empty.toml"))
    assert code != 0 and out == "" and "no [[sources]]" in err and len(err.strip().splitlines()) == 1
