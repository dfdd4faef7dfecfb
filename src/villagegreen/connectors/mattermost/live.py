"""Live Mattermost sync over API v4, staged as the saved API responses the importer reads.

Calls (``Authorization: Bearer <personal access token or bot token>``): the channels
(``GET /channels/{id}`` for each configured id, else every channel of
``GET /users/me/teams`` through ``GET /users/me/teams/{team}/channels``), their posts
(``GET /channels/{id}/posts``: ``page``/``per_page`` on the first sync, then ``since`` =
the newest ``update_at`` seen, which returns every post created, edited or deleted since) and
each author once (``GET /users/{id}``; authors already stored are staged from the store).

The responses are staged as files (``channel-<id>.json``, ``posts-<id>-<n>.json``,
``users.json``) and read by :class:`~villagegreen.connectors.mattermost.api.ApiReader`, the
importer for saved API responses, so a synced post and an imported one are the same row.
Private channels (``P``), DMs (``D``) and group DMs (``G``) are read only with
``include_private``. Cursor (JSON): per channel, the newest ``update_at`` in milliseconds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from villagegreen.config import SourceConfig
from villagegreen.connectors.live.base import ClientOptions, Fetched, Staging, StoredRaw
from villagegreen.connectors.live.http import ApiClient
from villagegreen.errors import TransientError

PER_PAGE = 200
_PRIVATE_TYPES = frozenset({"P", "D", "G"})


class MattermostLive:
    platform = "mattermost"

    def __init__(self, source: SourceConfig, token: str, options: ClientOptions) -> None:
        self.source = source
        self.location = source.url.rstrip("/")
        self.client = ApiClient(
            f"{self.location}/api/v4",
            label=f"source {source.name}",
            token_env=source.token_env,
            secret_headers={"Authorization": f"Bearer {token}"},
            transport=options.transport,
            sleep=options.sleep,
        )
        self._channels: list[dict[str, Any]] | None = None

    def close(self) -> None:
        self.client.close()

    def source_key(self) -> str:
        """The configured key, else the team id most channels belong to (what the importer picks)."""
        if self.source.source_key:
            return self.source.source_key
        teams = Counter(str(c["team_id"]) for c in self.channels() if c.get("team_id"))
        if not teams:
            raise TransientError(f"{self.client.label}: no channel names a team; set source_key")
        return max(teams.items(), key=lambda item: (item[1], item[0]))[0]

    def channels(self) -> list[dict[str, Any]]:
        if self._channels is None:
            if self.source.channels:
                found = [self._object(f"/channels/{cid}") for cid in self.source.channels]
            else:
                found = []
                for team in self._list("/users/me/teams"):
                    found += self._list(f"/users/me/teams/{team['id']}/channels")
            self._channels = [c for c in found if self.source.include_private or c.get("type") not in _PRIVATE_TYPES]
        return self._channels

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        state: dict[str, int] = _load(cursor)
        authors: set[str] = set()
        touched = 0
        for channel in self.channels():
            cid = str(channel["id"])
            since = state.get(cid)
            pages = list(self._posts(cid, since))
            posts = [p for page in pages for p in page["posts"].values() if isinstance(p, dict)]
            if not posts:
                continue
            touched += 1
            staging.write(f"channel-{cid}.json", channel)
            for n, page in enumerate(pages):
                staging.write(f"posts-{cid}-{n}.json", page)
            newest = max(max(_ms(p, "update_at"), _ms(p, "create_at"), _ms(p, "delete_at")) for p in posts)
            state[cid] = max(newest, since or 0)
            authors |= {str(p["user_id"]) for p in posts if p.get("user_id")}
            authors |= {str(r["user_id"]) for p in posts for r in (p.get("metadata") or {}).get("reactions") or [] if isinstance(r, dict) and r.get("user_id")}
        if authors:
            staging.write("users.json", [self._user(uid, stored) for uid in sorted(authors)])
        return Fetched(cursor_after=json.dumps({"v": 1, "channels": state}, sort_keys=True, separators=(",", ":")), touched=touched)

    def _posts(self, cid: str, since: int | None) -> Iterator[dict[str, Any]]:
        if since is not None:
            page = self._object(f"/channels/{cid}/posts", {"since": str(since)})
            yield _checked(page, self.client.label)
            return
        for number in range(1_000_000):
            per_page = PER_PAGE  # read at call time, so tests can page small
            page = _checked(self._object(f"/channels/{cid}/posts", {"page": str(number), "per_page": str(per_page)}), self.client.label)
            if not page["order"]:
                return
            yield page
            if len(page["order"]) < per_page:
                return

    def _user(self, user_id: str, stored: StoredRaw) -> dict[str, Any]:
        for native, payload in stored("user", user_id):
            if native == user_id and isinstance(payload, dict):
                return payload
        return self._object(f"/users/{user_id}")

    def _object(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        body = self.client.get(path, params)
        if not isinstance(body, dict):
            raise TransientError(f"{self.client.label}: {path.split('/')[1]} answered with JSON that is not an object")
        return body

    def _list(self, path: str) -> list[dict[str, Any]]:
        body = self.client.get(path)
        if not isinstance(body, list):
            raise TransientError(f"{self.client.label}: {path} answered with JSON that is not a list")
        return [item for item in body if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _checked(page: dict[str, Any], label: str) -> dict[str, Any]:
    if not isinstance(page.get("order"), list) or not isinstance(page.get("posts"), dict):
        raise TransientError(f"{label}: a posts page has no order and posts; is url a Mattermost server?")
    return page


def _ms(post: dict[str, Any], key: str) -> int:
    value = post.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _load(cursor: str | None) -> dict[str, int]:
    try:
        loaded = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    channels = loaded.get("channels") if isinstance(loaded, dict) else None
    return {k: v for k, v in channels.items() if isinstance(v, int)} if isinstance(channels, dict) else {}
