"""Live Microsoft Teams sync over Microsoft Graph v1.0, staged as the message pages the importer reads.

Sign-in: with ``tenant_id`` and ``client_id`` configured, the app's client secret (in
``token_env``) is exchanged for a token (client-credentials flow,
``POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token``, scope
``https://graph.microsoft.com/.default``); without them ``token_env`` holds a Graph access
token. Application permissions: ``Channel.ReadBasic.All`` and ``ChannelMessage.Read.All``.

Calls: ``GET /teams/{team}/channels`` (standard channels; private and shared ones only with
``include_private``), then per channel the delta query
``GET /teams/{team}/channels/{channel}/messages/delta`` (root messages, pages through
``@odata.nextLink``, ending with an ``@odata.deltaLink``) and, for each root it returns,
``GET .../messages/{id}/replies`` (paged). Roots are staged with their replies inlined
(``replies``, as ``$expand=replies`` gives them) and read by the importer
(:mod:`villagegreen.connectors.teams.export`), so a synced message and an imported one are the
same row. Cursor (JSON): the ``@odata.deltaLink`` per channel; the next run follows it and
gets only roots created or changed since.

Limits: Graph's channel delta covers about the last eight months on the first run; a reply is
seen when its root comes back from the delta query (Graph reports a root as changed when a
reply is added to it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from villagegreen.config import SourceConfig
from villagegreen.connectors.live.base import ClientOptions, Fetched, Staging, StoredRaw
from villagegreen.connectors.live.http import ApiClient
from villagegreen.errors import TransientError

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
MAX_PAGES = 100_000
_REJECTED_SIGN_IN = frozenset({"invalid_client", "unauthorized_client", "invalid_request"})


class TeamsLive:
    platform = "teams"
    location = GRAPH

    def __init__(self, source: SourceConfig, token: str, options: ClientOptions, graph: str = GRAPH, login: str = LOGIN) -> None:
        self.source = source
        self._options = options
        label = f"source {source.name}"
        access = self._sign_in(token, login, label) if source.tenant_id else token
        self.client = ApiClient(
            graph,
            label=label,
            token_env=source.token_env,
            secret_headers={"Authorization": f"Bearer {access}"},
            secrets=(token,),
            transport=options.transport,
            sleep=options.sleep,
        )

    def close(self) -> None:
        self.client.close()

    def source_key(self) -> str:
        # The importer keys a Teams source by the teamId its channel messages carry.
        return self.source.source_key or self.source.team_id

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        state = _load(cursor)
        team = self.source.team_id
        channels = self._channels()
        touched: list[dict[str, Any]] = []
        for channel in channels:
            cid = str(channel["id"])
            roots, state[cid] = self._delta(state.get(cid) or f"/teams/{team}/channels/{cid}/messages/delta")
            if not roots:
                continue
            for root in roots:
                root["replies"] = list(self._paged(f"/teams/{team}/channels/{cid}/messages/{root['id']}/replies"))
            touched.append(channel)
            staging.write(f"messages-{len(touched):04}.json", {"value": roots})
        if touched:
            staging.write("channels.json", {"value": touched})
        return Fetched(cursor_after=json.dumps({"v": 1, "delta": state}, sort_keys=True, separators=(",", ":")), touched=len(touched))

    def _channels(self) -> list[dict[str, Any]]:
        listed = [c for c in self._paged(f"/teams/{self.source.team_id}/channels") if isinstance(c.get("id"), str)]
        readable = [c for c in listed if self.source.include_private or c.get("membershipType", "standard") == "standard"]
        if not self.source.channels:
            return readable
        wanted = set(self.source.channels)
        return [c for c in readable if c["id"] in wanted or c.get("displayName") in wanted]

    def _delta(self, link: str) -> tuple[list[dict[str, Any]], str]:
        roots: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self._object(link)
            roots += [m for m in page.get("value") or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
            if isinstance(page.get("@odata.nextLink"), str):
                link = page["@odata.nextLink"]
            elif isinstance(page.get("@odata.deltaLink"), str):
                return roots, page["@odata.deltaLink"]
            else:
                break
        raise TransientError(f"{self.client.label}: the delta query ended without an @odata.deltaLink; run sync again")

    def _paged(self, link: str) -> Iterator[dict[str, Any]]:
        for _ in range(MAX_PAGES):
            page = self._object(link)
            yield from (item for item in page.get("value") or [] if isinstance(item, dict))
            if not isinstance(page.get("@odata.nextLink"), str):
                return
            link = page["@odata.nextLink"]

    def _object(self, link: str) -> dict[str, Any]:
        body = self.client.get(link)
        if not isinstance(body, dict):
            raise TransientError(f"{self.client.label}: Graph answered with JSON that is not an object")
        return body

    def _sign_in(self, secret: str, login: str, label: str) -> str:
        form = {
            "client_id": self.source.client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        }
        with ApiClient(
            login, label=label, token_env=self.source.token_env, secrets=(secret,), transport=self._options.transport,
            sleep=self._options.sleep, is_rejected=_rejected_sign_in,
        ) as client:  # fmt: skip
            body = client.request("POST", f"/{self.source.tenant_id}/oauth2/v2.0/token", data=form)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError(f"{label}: the sign-in answered without an access_token")
        return token


def _rejected_sign_in(response: httpx.Response, body: Any) -> bool:
    return response.status_code == 401 or (response.status_code == 400 and isinstance(body, dict) and body.get("error") in _REJECTED_SIGN_IN)


def _load(cursor: str | None) -> dict[str, str]:
    try:
        loaded = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    delta = loaded.get("delta") if isinstance(loaded, dict) else None
    return {k: v for k, v in delta.items() if isinstance(v, str)} if isinstance(delta, dict) else {}
