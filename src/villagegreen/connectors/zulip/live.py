"""Live Zulip sync over the REST API (``/api/v1``), staged as the saved API pages the importer reads.

Calls (HTTP Basic: the bot's email and API key): ``GET /messages`` with ``anchor``,
``num_before=0``, ``num_after`` and ``include_anchor=false`` (https://zulip.com/api/get-messages),
narrowed to public channels (``streams:public``) unless ``include_private``, or to each
configured channel (``channel:<name>``); ``GET /streams`` and ``GET /users`` as the companions
that say which channels are invite-only and who is a bot.

The bodies are staged as files and read by the importer's page reader
(:mod:`villagegreen.connectors.zulip.pages`), so a synced message and an imported page's are
the same row. Cursor (JSON): per narrow (``*`` or a channel name), the newest message id seen;
the next run asks for what comes after it, page by page, until ``found_newest``.

Limits: an edit to a message already synced is not seen (the cursor is a message id); the
source key defaults to the realm the newest messages come from (``sender_realm_str``, system
bots aside), which is what the importer derives from pages of the same realm.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from villagegreen.config import SourceConfig
from villagegreen.connectors.live.base import ClientOptions, Fetched, Staging, StoredRaw
from villagegreen.connectors.live.http import ApiClient
from villagegreen.connectors.zulip.pages import PAGES_KEY, SYSTEM_REALM
from villagegreen.errors import TransientError

PAGE = 1000
ALL = "*"


class ZulipLive:
    platform = "zulip"

    def __init__(self, source: SourceConfig, token: str, options: ClientOptions) -> None:
        self.source = source
        self.location = source.url.rstrip("/")
        basic = base64.b64encode(f"{source.email}:{token}".encode()).decode("ascii")
        self.client = ApiClient(
            f"{self.location}/api/v1",
            label=f"source {source.name}",
            token_env=source.token_env,
            secret_headers={"Authorization": f"Basic {basic}"},
            secrets=(token,),
            transport=options.transport,
            sleep=options.sleep,
        )

    def close(self) -> None:
        self.client.close()

    def source_key(self) -> str:
        if self.source.source_key:
            return self.source.source_key
        newest = self._messages({"anchor": "newest", "num_before": "100", "num_after": "0", "narrow": self._narrow(ALL)})
        realms = Counter(r for m in newest.get("messages") or [] if isinstance(m, dict) and (r := m.get("sender_realm_str")) and r != SYSTEM_REALM)
        return max(realms.items(), key=lambda item: (item[1], item[0]))[0] if realms else PAGES_KEY

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        state = _load(cursor)
        touched = 0
        for narrow in self.source.channels or (ALL,):
            pages = 0
            for page in self._pages(narrow, state.get(narrow)):
                ids = [m["id"] for m in page["messages"]]
                staging.write(f"messages-{_safe(narrow)}-{pages:04}.json", page)
                state[narrow] = max([*ids, state.get(narrow) or 0])
                pages += 1
            touched += pages > 0
        if touched:
            staging.write("streams.json", self._object("/streams"))
            staging.write("users.json", self._object("/users"))
        return Fetched(cursor_after=json.dumps({"v": 1, "after": state}, sort_keys=True, separators=(",", ":")), touched=touched)

    def _pages(self, narrow: str, after: int | None) -> Iterator[dict[str, Any]]:
        anchor = str(after) if after is not None else "oldest"
        while True:
            params = {"anchor": anchor, "num_before": "0", "num_after": str(PAGE), "narrow": self._narrow(narrow)}
            if anchor != "oldest":
                params["include_anchor"] = "false"
            page = self._messages(params)
            # Servers before include_anchor return the anchor again; it was staged last time.
            fresh = [m for m in page["messages"] if isinstance(m, dict) and isinstance(m.get("id"), int) and str(m["id"]) != anchor]
            if fresh:
                yield {**page, "messages": fresh}
            if page.get("found_newest") or not fresh:
                return
            anchor = str(max(m["id"] for m in fresh))

    def _narrow(self, narrow: str) -> str:
        if narrow != ALL:
            terms = [{"operator": "channel", "operand": narrow}]
        elif self.source.include_private:
            terms = []
        else:
            # The legacy spelling of channels:public, understood by every server version.
            terms = [{"operator": "streams", "operand": "public"}]
        return json.dumps(terms, separators=(",", ":"))

    def _messages(self, params: dict[str, str]) -> dict[str, Any]:
        page = self._object("/messages", params)
        if not isinstance(page.get("messages"), list):
            raise TransientError(f"{self.client.label}: /messages answered without a messages list; is url a Zulip server?")
        return page

    def _object(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        body = self.client.get(path, params)
        if not isinstance(body, dict) or body.get("result") == "error":
            code = body.get("code", "error") if isinstance(body, dict) else "not an object"
            raise TransientError(f"{self.client.label}: {path} failed ({code})")
        return body


def _safe(narrow: str) -> str:
    return "all" if narrow == ALL else "".join(c if c.isalnum() else "_" for c in narrow)


def _load(cursor: str | None) -> dict[str, int]:
    try:
        loaded = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    after = loaded.get("after") if isinstance(loaded, dict) else None
    return {k: v for k, v in after.items() if isinstance(v, int)} if isinstance(after, dict) else {}
