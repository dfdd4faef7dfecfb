"""A small Matrix client-server API client for live sync (spec v1.x, ``/_matrix/client/v3``).

Only what sync needs: ``/account/whoami``, ``/joined_rooms``, ``/directory/room/{alias}``,
``/sync`` (``since``, ``timeout=0``, an inline filter) and ``/rooms/{id}/messages`` pages
(``dir=b`` from a ``prev_batch`` token back to the room's creation or a known event).

HTTP goes through the live connectors' shared :class:`~villagegreen.connectors.live.http.ApiClient`:
a rejected token (401, or 403 ``M_UNKNOWN_TOKEN``/``M_MISSING_TOKEN``) is a
:class:`~villagegreen.errors.ConfigError`; 429 waits ``retry_after_ms`` (body) or
``Retry-After`` (header) and retries; 5xx and network failures retry with exponential
backoff; when retries run out it is a :class:`~villagegreen.errors.TransientError`. The
access token travels only in the ``Authorization`` header and never appears in a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from villagegreen.connectors.live.http import MAX_RETRIES, ApiClient
from villagegreen.errors import ConfigError, TransientError

API = "/_matrix/client/v3"
_TOKEN_ERRORS = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"})


class MatrixClient:
    """Calls one homeserver as one account. ``transport`` lets tests inject responses."""

    def __init__(
        self,
        homeserver: str,
        token: str,
        *,
        label: str = "matrix",
        token_env: str = "",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        max_retries: int = MAX_RETRIES,
        timeout: float = 30.0,
    ) -> None:
        self.label = label
        self._api = ApiClient(
            homeserver,
            label=label,
            token_env=token_env,
            secret_headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            sleep=sleep,
            max_retries=max_retries,
            timeout=timeout,
            is_rejected=_rejected,
            retry_after=_retry_after,
        )

    def __enter__(self) -> MatrixClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()

    def whoami(self) -> str:
        user = self._get("/account/whoami").get("user_id")
        if not isinstance(user, str):
            raise TransientError(f"{self.label}: /account/whoami returned no user_id; is the URL a Matrix homeserver?")
        return user

    def joined_rooms(self) -> list[str]:
        rooms = self._get("/joined_rooms").get("joined_rooms")
        return [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []

    def resolve_alias(self, alias: str) -> str:
        room = self._get(f"/directory/room/{quote(alias, safe='')}").get("room_id")
        if not isinstance(room, str):
            raise ConfigError(f"{self.label}: room alias {alias} does not resolve to a room; check the rooms list")
        return room

    def sync(self, since: str | None, rooms: list[str], timeline_limit: int = 100) -> dict[str, Any]:
        """One ``/sync`` that returns at once; ``since=None`` is an initial sync."""
        room_filter: dict[str, Any] = {"timeline": {"limit": timeline_limit}, "rooms": rooms}
        sync_filter = {"room": room_filter, "presence": {"not_types": ["*"]}, "account_data": {"types": ["m.direct"]}}
        params = {"timeout": "0", "filter": json.dumps(sync_filter, separators=(",", ":"))}
        if since:
            params["since"] = since
        return self._get("/sync", params)

    def history(self, room_id: str, start: str | None, stop_at: set[str], page_size: int = 100) -> Iterator[Mapping[str, Any]]:
        """Events before the ``start`` token (``None``: the latest), newest first, until the room's
        beginning or an event in ``stop_at``."""
        token = start
        while True:
            params = {"dir": "b", "limit": str(page_size), **({"from": token} if token else {})}
            page = self._get(f"/rooms/{quote(room_id, safe='')}/messages", params)
            chunk = page.get("chunk")
            events = [e for e in chunk if isinstance(e, Mapping)] if isinstance(chunk, list) else []
            for event in events:
                if event.get("event_id") in stop_at:
                    return
                yield event
            for event in page.get("state") or []:
                if isinstance(event, Mapping):
                    yield event
            end = page.get("end")
            # No "end" (or an empty page) means the beginning of the room is reached.
            if not isinstance(end, str) or not events or end == token:
                return
            token = end

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        body = self._api.get(API + path, params)
        if not isinstance(body, dict):
            raise TransientError(f"{self.label}: {_route(path)} answered 200 with a body that is not a JSON object")
        return body


def _rejected(response: httpx.Response, body: Any) -> bool:
    code = body.get("errcode") if isinstance(body, dict) else None
    return response.status_code == 401 or code in _TOKEN_ERRORS


def _retry_after(_response: httpx.Response, body: Any) -> float | None:
    # Matrix puts the wait in the body (retry_after_ms); None falls back to Retry-After.
    millis = body.get("retry_after_ms") if isinstance(body, dict) else None
    if isinstance(millis, int | float) and not isinstance(millis, bool) and millis >= 0:
        return float(millis) / 1000
    return None


def _route(path: str) -> str:
    # Room ids in paths are not secret, but keep messages short: the route's first segment.
    return "/" + path.strip("/").split("/")[0]
