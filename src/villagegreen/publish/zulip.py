"""Zulip: ``POST /api/v1/messages`` to a channel (stream) and topic, as a bot (HTTP basic auth:
the bot's e-mail and its API key). Zulip Markdown reads our Markdown as it is; a poll uses
Zulip's own poll widget (a message that starts ``/poll question`` with one option per line).
The topic is the target's ``topic``, else the item's title (Zulip caps topics at 60 characters).
A wrap-up of a conversation from the target's own channel (its name or stream id) goes into the
conversation's topic instead, so it lands in place.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from villagegreen.errors import InputError
from villagegreen.publish.delivery import Delivery, Http, Remote, answer, check_length
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

TOPIC_LIMIT = 60
MAX_MESSAGE = 10_000  # Zulip's default max_message_length (characters)


def content(item: Item) -> str:
    if item.poll is not None:
        return f"/poll {item.poll.question}\n" + "\n".join(item.poll.options)
    return item.markdown


def origin_topic(item: Item, channel: str) -> str | None:
    """The conversation's own topic when it lives in this channel (stream id, or name ignoring case)."""
    origin = item.origin
    if origin is None or origin.connector != "zulip" or not origin.topic:
        return None
    same = channel == origin.space_native_id or (bool(origin.space_name) and channel.casefold() == origin.space_name.casefold())
    return origin.topic if same else None


def prepare(item: Item, target: Target) -> Delivery:
    channel = target.text("channel")
    in_place = origin_topic(item, channel)
    topic = in_place or str(target.get("topic") or item.title)[:TOPIC_LIMIT]
    fields = {"type": "stream", "to": channel, "topic": topic, "content": content(item)}
    check_length(fields["content"], MAX_MESSAGE, target.name)
    url = f"{target.text('url')}/api/v1/messages"
    return Delivery(where=f"POST {url}" + ("  (in the conversation's own topic)" if in_place else ""), body=urlencode(fields), url=url,
                    headers={"Authorization": "Basic {secret}", "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    credentials = base64.b64encode(f"{target.text('email')}:{target.secret()}".encode()).decode()
    what = f"target {target.name!r} (Zulip {target.text('url')})"
    response = http.send(delivery, credentials, what=what)
    reply = answer(response, what, "result")
    if reply.get("result") != "success":
        raise InputError(f"target {target.name!r}: Zulip said {reply.get('msg') or reply.get('code')}; nothing was recorded")
    reply = answer(response, what, "id")
    return Remote(str(reply["id"]), f"{target.text('url')}/#narrow/near/{reply['id']}")
