"""Discourse: a new topic, or a reply in a topic (``POST /posts.json``, Markdown ``raw``).

Auth is the ``Api-Key`` and ``Api-Username`` headers (an admin-generated key, scoped to
``topics:write``). A wrap-up of a conversation imported from this forum (same host) replies in its topic;
``reply_to_topic`` in the target forces replies to one topic; otherwise a new topic is created
in ``category`` when given. A poll is Discourse's poll plugin markup (``[poll]...[/poll]``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from villagegreen.publish.delivery import Delivery, Http, Remote, answer, check_length, json_body
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

TITLE_LIMIT = 255
MAX_RAW = 32_000  # Discourse's max_post_length default (characters)  # Discourse's max_topic_title_length default


def raw(item: Item) -> str:
    if item.poll is None:
        return item.markdown
    options = "".join(f"* {option}\n" for option in item.poll.options)
    return f"{item.poll.question}\n\n[poll type=regular results=always public=false chartType=bar]\n# {item.poll.question}\n{options}[/poll]\n"


def prepare(item: Item, target: Target) -> Delivery:
    topic = target.get("reply_to_topic")
    host = (urlsplit(target.text("url")).hostname or "").lower()
    origin = item.origin
    if topic is None and origin is not None and origin.connector == "discourse" and origin.source_name == host and origin.topic_id:
        topic = origin.topic_id  # the conversation came from this very forum: reply in its topic
    payload: dict[str, Any] = {"raw": raw(item)}
    check_length(payload["raw"], MAX_RAW, target.name)
    if topic:
        payload["topic_id"] = int(topic)
    else:
        payload["title"] = item.title[:TITLE_LIMIT]
        if target.get("category") is not None:
            payload["category"] = int(target.get("category"))
    url = f"{target.text('url')}/posts.json"
    return Delivery(where=f"POST {url}" + (f"  (reply in topic {topic})" if topic else "  (new topic)"), body=json_body(payload), url=url,
                    headers={"Api-Key": "{secret}", "Api-Username": target.text("username"), "Content-Type": "application/json"})  # fmt: skip


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    what = f"target {target.name!r} (Discourse {target.text('url')})"
    post = answer(http.send(delivery, target.secret(), what=what), what, "id", "topic_id")
    url = f"{target.text('url')}/t/{post.get('topic_slug') or 'topic'}/{post['topic_id']}/{post.get('post_number', 1)}"
    return Remote(str(post["id"]), url)
