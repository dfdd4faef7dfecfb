"""Zulip: ``POST /api/v1/messages`` to a channel (stream) and topic, as a bot (HTTP basic auth:
the bot's e-mail and its API key). Zulip Markdown reads our Markdown as it is; a poll uses
Zulip's own poll widget (a message that starts ``/poll question`` with one option per line).
The topic is the target's ``topic``, else the item's title (Zulip caps topics at 60 characters).
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


def prepare(item: Item, target: Target) -> Delivery:
    fields = {"type": "stream", "to": target.text("channel"), "topic": str(target.get("topic") or item.title)[:TOPIC_LIMIT], "content": content(item)}
    check_length(fields["content"], MAX_MESSAGE, target.name)
    url = f"{target.text('url')}/api/v1/messages"
    return Delivery(where=f"POST {url}", body=urlencode(fields), url=url,
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
