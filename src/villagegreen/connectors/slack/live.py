"""Live Slack sync over the Web API, as the workspace's own internal app, staged as an export.

Calls (``Authorization: Bearer xoxb-...``): ``auth.test`` (the team id: the source key, as in
an export), ``users.list``, ``conversations.list`` (public channels; private channels, DMs and
group DMs only with ``include_private``), ``conversations.history`` (``oldest``, paged by
``cursor``) and ``conversations.replies`` for threads. Scopes: see
``docs/connectors/slack-app-manifest.yaml``.

What is fetched is staged as a workspace export (``users.json``, ``channels.json`` and the
other listings, ``<channel id>/<YYYY-MM-DD>.json``) and mapped by the export importer, so a
synced message and an exported one are the same row. A touched channel is staged whole (the
messages already stored, plus the new ones), because the importer threads a channel's
unthreaded messages over the whole channel.

Cursor (JSON): per channel, the newest ``ts`` seen and, for each thread root inside the
look-back window, ``"reply_count|latest_reply"``. Each sync re-reads history from
``thread_lookback_days`` before the newest ``ts``, and calls ``conversations.replies`` only for
a root whose reply count or latest reply changed. Limits: a reply to a thread whose root is
older than the window, and deletions, are not seen (re-import an export to catch up).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from villagegreen.config import SourceConfig
from villagegreen.connectors.live.base import ClientOptions, Fetched, Staging, StoredRaw
from villagegreen.connectors.live.http import ApiClient
from villagegreen.errors import ConfigError, TransientError

API = "https://slack.com/api"
PAGE = 200
_REJECTED = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})
_PUBLIC = "public_channel"
_ALL_TYPES = "public_channel,private_channel,mpim,im"


class SlackLive:
    platform = "slack"
    location = API

    def __init__(self, source: SourceConfig, token: str, options: ClientOptions, base_url: str = API) -> None:
        self.source = source
        self.client = ApiClient(
            base_url,
            label=f"source {source.name}",
            token_env=source.token_env,
            secret_headers={"Authorization": f"Bearer {token}"},
            transport=options.transport,
            is_rejected=_rejected,
            sleep=options.sleep,
        )
        self._team: str | None = None

    def close(self) -> None:
        self.client.close()

    def source_key(self) -> str:
        if self.source.source_key:
            return self.source.source_key
        if self._team is None:
            team = self._call("auth.test", {}).get("team_id")
            if not isinstance(team, str) or not team:
                raise TransientError(f"{self.client.label}: auth.test returned no team_id")
            self._team = team
        return self._team

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        state = _load(cursor)
        channels = self._channels()
        users = list(self._paged("users.list", {}, "members"))
        touched: list[dict[str, Any]] = []
        for channel in channels:
            cid = str(channel["id"])
            fresh, state[cid] = self._channel(cid, state.get(cid, {}))
            if not fresh:
                continue
            touched.append(channel)
            known = {native.partition(":")[2]: payload for native, payload in stored("message", f"{cid}:")}
            self._stage_days(staging, cid, {**known, **fresh})
        if touched:
            staging.write("users.json", users)
            listings: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for channel in touched:
                listings[_listing(channel)].append(channel)
            for filename, entries in listings.items():
                staging.write(filename, entries)
        return Fetched(cursor_after=json.dumps({"v": 1, "channels": state}, sort_keys=True, separators=(",", ":")), touched=len(touched))

    def _channels(self) -> list[dict[str, Any]]:
        types = _ALL_TYPES if self.source.include_private else _PUBLIC
        listed = [c for c in self._paged("conversations.list", {"types": types, "exclude_archived": "false"}, "channels") if isinstance(c.get("id"), str)]
        if not self.source.include_private:
            # Belt and braces: whatever the server returns, only public channels are read.
            listed = [c for c in listed if not (c.get("is_private") or c.get("is_im") or c.get("is_mpim"))]
        if not self.source.channels:
            return [c for c in listed if c.get("is_member", True) or c.get("is_im")]
        wanted = {name.lstrip("#") for name in self.source.channels}
        chosen = [c for c in listed if c["id"] in wanted or c.get("name") in wanted]
        missing = wanted - {c["id"] for c in chosen} - {str(c.get("name")) for c in chosen}
        if missing:
            raise ConfigError(f"{self.client.label}: channel(s) {', '.join(sorted(missing))} not found or not readable; check channels (and include_private)")
        return chosen

    def _channel(self, cid: str, state: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """New or changed messages of one channel (ts -> payload) and its next cursor state."""
        latest = state.get("latest")
        threads: dict[str, str] = state.get("threads") or {}
        params = {"channel": cid}
        window_start = float(latest) - self.source.thread_lookback_days * 86_400 if isinstance(latest, str) else None
        if window_start is not None:
            params["oldest"] = f"{max(window_start, 0):.6f}"
        fresh: dict[str, dict[str, Any]] = {}
        seen_threads: dict[str, str] = {}
        newest = latest
        for message in self._history(params):
            ts = str(message["ts"])
            newest = ts if newest is None or float(ts) > float(newest) else newest
            edited = message.get("edited")
            edited_ts = edited.get("ts") if isinstance(edited, dict) else None
            if latest is None or float(ts) > float(latest) or (isinstance(edited_ts, str) and float(edited_ts) > float(latest)):
                fresh[ts] = message
            if isinstance(message.get("reply_count"), int) and message["reply_count"] > 0 and message.get("thread_ts", ts) == ts:
                signature = f"{message['reply_count']}|{message.get('latest_reply', '')}"
                seen_threads[ts] = signature
                if threads.get(ts) != signature:
                    fresh[ts] = message
                    for reply in self._paged("conversations.replies", {"channel": cid, "ts": ts}, "messages"):
                        if isinstance(reply.get("ts"), str):
                            fresh.setdefault(reply["ts"], reply)
                            newest = reply["ts"] if newest is None or float(reply["ts"]) > float(newest) else newest
        return fresh, {"latest": newest, "threads": seen_threads} if newest else {}

    def _history(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        params = dict(params, limit=str(PAGE))
        while True:
            body = self._call("conversations.history", params)
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict) and isinstance(m.get("ts"), str)]
            yield from messages
            next_cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if next_cursor:
                params = dict(params, cursor=next_cursor)
            elif body.get("has_more") and messages:
                # Older responses page with has_more alone: ask for what is before the oldest seen.
                params = dict(params, latest=min((m["ts"] for m in messages), key=float))
            else:
                return

    def _paged(self, method: str, params: dict[str, str], key: str) -> Iterator[dict[str, Any]]:
        params = dict(params, limit=str(PAGE))
        while True:
            body = self._call(method, params)
            yield from (item for item in body.get(key) or [] if isinstance(item, dict))
            next_cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not next_cursor:
                return
            params = dict(params, cursor=next_cursor)

    def _call(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        body = self.client.get(f"/{method}", params)
        if not isinstance(body, dict):
            raise TransientError(f"{self.client.label}: {method} answered with JSON that is not an object")
        if body.get("ok") is False:
            error = str(body.get("error", "unknown_error"))
            if error == "missing_scope":
                raise ConfigError(
                    f"{self.client.label}: {method} needs the scope {body.get('needed', '?')}; add it to the app (docs/connectors/slack-app-manifest.yaml)"
                )
            if error in ("not_in_channel", "channel_not_found"):
                raise ConfigError(f"{self.client.label}: {method} failed with {error}; invite the app to the channel or fix channels")
            raise TransientError(f"{self.client.label}: {method} failed with {error}")
        return body

    def _stage_days(self, staging: Staging, cid: str, messages: dict[str, dict[str, Any]]) -> None:
        days: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ts, message in sorted(messages.items(), key=lambda item: float(item[0])):
            days[datetime.fromtimestamp(float(ts), UTC).date().isoformat()].append(message)
        for day, entries in days.items():
            staging.write(f"{cid}/{day}.json", entries)


def _listing(channel: dict[str, Any]) -> str:
    if channel.get("is_im"):
        return "dms.json"
    if channel.get("is_mpim"):
        return "mpims.json"
    return "groups.json" if channel.get("is_private") else "channels.json"


def _load(cursor: str | None) -> dict[str, dict[str, Any]]:
    if not cursor:
        return {}
    try:
        loaded = json.loads(cursor)
    except ValueError:
        return {}
    channels = loaded.get("channels") if isinstance(loaded, dict) else None
    return {k: v for k, v in channels.items() if isinstance(v, dict)} if isinstance(channels, dict) else {}


def _rejected(response: httpx.Response, body: Any) -> bool:
    # Slack answers 200 with {"ok": false, "error": "invalid_auth"} for a bad token.
    return response.status_code == 401 or (isinstance(body, dict) and body.get("ok") is False and body.get("error") in _REJECTED)
