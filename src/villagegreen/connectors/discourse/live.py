"""Live Discourse sync over the REST API, staged as the topic files the importer reads.

Calls (all GET, JSON): ``/latest.json?page=N`` (topics, most recently bumped first after the
pinned ones), ``/t/{id}.json`` (a topic with its first ~20 posts and ``post_stream.stream``,
the ids of all of them) and ``/t/{id}/posts.json?post_ids[]=...`` for the rest, 20 at a time.
``/categories.json`` (optional: names the category spaces). Credentials: an API key in the ``Api-Key`` header and the account in ``Api-Username`` (an admin
creates the key: Admin, API, New key, "Granular" with topics:read, or read-only global).

Cursor: the newest ``bumped_at`` seen (ISO 8601, UTC). A topic bumped after it is fetched
whole and saved as ``<slug>.<id>.json``, so the importer's
:class:`~villagegreen.connectors.discourse.export.TopicReader` maps it exactly as it maps an
exported topic (same ids, same conversation, same reply links). Listing pages are read until a
page's unpinned topics are all older than the cursor.

Limits: an edit does not bump a topic, so edits are picked up only when the topic is bumped
again; deleted posts stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from villagegreen.config import SourceConfig
from villagegreen.connectors.discourse.mapping import parse_time
from villagegreen.connectors.live.base import ClientOptions, Fetched, Staging, StoredRaw
from villagegreen.connectors.live.http import ApiClient
from villagegreen.errors import ItemError, TransientError

POSTS_PER_REQUEST = 20
# A forum's whole listing is at most this many pages of 30 (a safety stop, not a real limit).
MAX_LISTING_PAGES = 10_000


class DiscourseLive:
    platform = "discourse"

    def __init__(self, source: SourceConfig, token: str, options: ClientOptions) -> None:
        self.source = source
        self.location = source.url.rstrip("/")
        self.client = ApiClient(
            source.url,
            label=f"source {source.name}",
            token_env=source.token_env,
            secret_headers={"Api-Key": token},
            headers={"Api-Username": source.api_username, "Accept": "application/json"},
            transport=options.transport,
            is_rejected=_rejected,
            retry_after=_wait_seconds,
            sleep=options.sleep,
        )

    def close(self) -> None:
        self.client.close()

    def source_key(self) -> str:
        return self.source.source_key or (urlsplit(self.source.url).hostname or self.source.url)

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        since = _time(cursor) if cursor else None
        newest = since
        changed: list[dict[str, Any]] = []
        for topic in self._listing(since):
            bumped = _bumped(topic)
            if bumped is None:
                continue
            newest = bumped if newest is None or bumped > newest else newest
            if since is None or bumped > since:
                changed.append(topic)
        if changed and (categories := self.client.get("/categories.json", optional=True)) is not None:
            # The importer names category spaces from a categories.json beside the topics.
            staging.write("categories.json", categories)
        for summary in changed:
            topic = self._topic(summary["id"])
            slug = str(topic.get("slug") or summary.get("slug") or "topic")
            staging.write(f"{slug}.{summary['id']}.json", topic)
        return Fetched(cursor_after=newest.isoformat() if newest else (cursor or ""), touched=len(changed))

    def _listing(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        for page in range(MAX_LISTING_PAGES):
            body = self.client.get("/latest.json", {"page": str(page)})
            listing = body.get("topic_list") if isinstance(body, dict) else None
            topics = listing.get("topics") if isinstance(listing, dict) else None
            if not isinstance(listing, dict) or not isinstance(topics, list):
                raise TransientError(f"{self.client.label}: /latest.json has no topic_list.topics; is url a Discourse forum?")
            topics = [t for t in topics if isinstance(t, dict) and isinstance(t.get("id"), int)]
            yield from topics
            unpinned = [t for t in topics if not t.get("pinned")]
            older = since is not None and unpinned and all((b := _bumped(t)) is None or b <= since for t in unpinned)
            if not topics or older or not listing.get("more_topics_url"):
                return

    def _topic(self, topic_id: int) -> dict[str, Any]:
        topic = self.client.get(f"/t/{topic_id}.json")
        stream = topic.get("post_stream") if isinstance(topic, dict) else None
        if not isinstance(stream, dict) or not isinstance(stream.get("posts"), list):
            raise TransientError(f"{self.client.label}: /t/{topic_id}.json has no post_stream.posts; the topic may be private or gone")
        posts: list[Any] = list(stream["posts"])
        have = {p.get("id") for p in posts if isinstance(p, dict)}
        missing = [str(i) for i in stream.get("stream") or [] if i not in have]
        for start in range(0, len(missing), POSTS_PER_REQUEST):
            page = self.client.get(f"/t/{topic_id}/posts.json", {"post_ids[]": missing[start : start + POSTS_PER_REQUEST]})
            more = page.get("post_stream", {}).get("posts") if isinstance(page, dict) else None
            for post in more if isinstance(more, list) else []:
                if isinstance(post, dict) and post.get("id") not in have:
                    have.add(post.get("id"))
                    posts.append(post)
        # The importer reads a topic whose post_stream holds every post, as a print=true export does.
        return {**topic, "post_stream": {**stream, "posts": posts}}


def _bumped(topic: dict[str, Any]) -> datetime | None:
    """When the topic last changed as the listing tells: the later of ``bumped_at`` and
    ``last_posted_at`` (either may be null), else ``created_at``."""
    found = [when for key in ("bumped_at", "last_posted_at") if (when := _parsed(topic.get(key)))]
    return max(found) if found else _parsed(topic.get("created_at"))


def _parsed(value: Any) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except (ItemError, ValueError):
        return None


def _time(cursor: str) -> datetime:
    return datetime.fromisoformat(cursor)


def _rejected(response: httpx.Response, body: Any) -> bool:
    # A bad key is 403 with error_type "invalid_access" on most versions, 401 on some.
    return response.status_code == 401 or (response.status_code == 403 and isinstance(body, dict) and body.get("error_type") == "invalid_access")


def _wait_seconds(response: httpx.Response, body: Any) -> float | None:
    # Discourse's 429 body: {"extras": {"wait_seconds": N}}, besides the Retry-After header.
    extras = body.get("extras") if isinstance(body, dict) else None
    wait = extras.get("wait_seconds") if isinstance(extras, dict) else None
    return float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) and "Retry-After" not in response.headers else None
