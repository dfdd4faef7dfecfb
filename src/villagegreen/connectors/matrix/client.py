"""A small Matrix client-server API client for live sync (spec v1.x, ``/_matrix/client/v3``).

Only what sync needs: ``/account/whoami``, ``/joined_rooms``, ``/directory/room/{alias}``,
``/sync`` (``since``, ``timeout=0``, an inline filter) and ``/rooms/{id}/messages`` pages
(``dir=b`` from a ``prev_batch`` token back to the room's creation or a known event).

Errors: a rejected token (401, or 403 ``M_UNKNOWN_TOKEN``/``M_MISSING_TOKEN``) is a
:class:`~villagegreen.errors.ConfigError`; 429 waits ``retry_after_ms`` (body) or
``Retry-After`` (header) and retries; 5xx and network failures retry with exponential
backoff; when retries run out it is a :class:`~villagegreen.errors.TransientError`. The
access token travels only in the ``Authorization`` header and never appears in a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from villagegreen.errors import ConfigError, TransientError

API = "/_matrix/client/v3"
MAX_RETRIES = 5
# Never wait longer than this for one rate-limit pause, whatever the server asks.
MAX_WAIT_SECONDS = 60.0
_TOKEN_ERRORS = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"})


class MatrixClient:
    """Calls one homeserver as one account. ``transport`` lets tests inject responses."""

    def __init__(
        self,
        homeserver: str,
        token: str,
        *,
        label: str = "matrix",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = MAX_RETRIES,
        timeout: float = 30.0,
    ) -> None:
        self.label = label
        self._sleep = sleep
        self._max_retries = max_retries
        self._http = httpx.Client(
            base_url=homeserver.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=timeout,
        )

    def __enter__(self) -> MatrixClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

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
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.get(API + path, params=params)
            except httpx.TransportError as error:
                # The exception text names the URL (no token); keep only its class.
                self._retry_or_raise(attempt, f"network error ({type(error).__name__})", 2.0 ** (attempt - 1))
                continue
            if response.status_code == 200:
                body = _json(response)
                if body is None:
                    raise TransientError(f"{self.label}: {path.split('?')[0]} answered 200 with a body that is not a JSON object")
                return body
            body = _json(response) or {}
            code = str(body.get("errcode", ""))
            if response.status_code == 401 or code in _TOKEN_ERRORS:
                raise ConfigError(
                    f"{self.label}: the homeserver rejected the access token ({response.status_code} {code or 'unauthorised'}); "
                    "set a valid token in the environment variable named by token_env"
                )
            if response.status_code == 429:
                self._retry_or_raise(attempt, "rate limited (429)", _retry_after(response, body))
            elif response.status_code >= 500:
                self._retry_or_raise(attempt, f"server error {response.status_code}", 2.0 ** (attempt - 1))
            else:
                raise TransientError(f"{self.label}: {API}{_route(path)} failed: {response.status_code} {code}".rstrip())

    def _retry_or_raise(self, attempt: int, what: str, wait: float) -> None:
        if attempt > self._max_retries:
            raise TransientError(f"{self.label}: {what}, still failing after {self._max_retries} retries; run sync again later")
        self._sleep(min(wait, MAX_WAIT_SECONDS))


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(response: httpx.Response, body: Mapping[str, Any]) -> float:
    millis = body.get("retry_after_ms")
    if isinstance(millis, int | float) and not isinstance(millis, bool) and millis >= 0:
        return float(millis) / 1000
    header = response.headers.get("Retry-After", "")
    return float(header) if header.replace(".", "", 1).isdigit() else 1.0


def _route(path: str) -> str:
    # Room ids in paths are not secret, but keep messages short: the route's first segment.
    return "/" + path.strip("/").split("/")[0]
