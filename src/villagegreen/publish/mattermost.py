"""Mattermost: ``POST /api/v4/posts`` to a channel id, with a bot's or a personal access token.

Mattermost renders Markdown as it is. It has no native poll without a plugin, so a poll is the
question and numbered options, asking members to vote with the number's reaction (which a later
sync reads back). Posts longer than 16,383 characters are refused by the server. A wrap-up of a
conversation from the target channel itself (same channel id) is a reply in its thread (``root_id``).
"""

from __future__ import annotations

from typing import Any

from villagegreen.publish.delivery import Delivery, Http, Remote, answer, check_length, json_body
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

MAX_MESSAGE = 16_383  # the server's default MaxPostSize (characters)
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten")


def message(item: Item) -> str:
    if item.poll is None:
        return item.markdown
    options = "\n".join(f":{NUMBERS[n]}: {option}" for n, option in enumerate(item.poll.options))
    return f"#### {item.poll.question}\n\n{options}\n\nVote by reacting with the option's number.\n"


def root_id(item: Item, channel_id: str) -> str | None:
    """The conversation's root post id when it lives in this very channel."""
    origin = item.origin
    if origin is None or origin.connector != "mattermost" or origin.space_native_id != channel_id:
        return None
    return origin.root_native_id or None


def prepare(item: Item, target: Target) -> Delivery:
    url = f"{target.text('url')}/api/v4/posts"
    channel_id = target.text("channel_id")
    payload: dict[str, Any] = {"channel_id": channel_id, "message": message(item)}
    check_length(payload["message"], MAX_MESSAGE, target.name)
    if root := root_id(item, channel_id):
        payload["root_id"] = root
    return Delivery(where=f"POST {url}" + (f"  (reply in the thread of {root})" if root else ""), body=json_body(payload), url=url,
                    headers={"Authorization": "Bearer {secret}", "Content-Type": "application/json"})  # fmt: skip


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    what = f"target {target.name!r} (Mattermost {target.text('url')})"
    post = answer(http.send(delivery, target.secret(), what=what), what, "id")
    return Remote(str(post["id"]), f"{target.text('url')}/_redirect/pl/{post['id']}")
