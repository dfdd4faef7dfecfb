"""Mattermost: ``POST /api/v4/posts`` to a channel id, with a bot's or a personal access token.

Mattermost renders Markdown as it is. It has no native poll without a plugin, so a poll is the
question and numbered options, asking members to vote with the number's reaction (which a later
sync reads back). Posts longer than 16,383 characters are refused by the server.
"""

from __future__ import annotations

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


def prepare(item: Item, target: Target) -> Delivery:
    url = f"{target.text('url')}/api/v4/posts"
    payload = {"channel_id": target.text("channel_id"), "message": message(item)}
    check_length(payload["message"], MAX_MESSAGE, target.name)
    return Delivery(where=f"POST {url}", body=json_body(payload), url=url,
                    headers={"Authorization": "Bearer {secret}", "Content-Type": "application/json"})  # fmt: skip


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    what = f"target {target.name!r} (Mattermost {target.text('url')})"
    post = answer(http.send(delivery, target.secret(), what=what), what, "id")
    return Remote(str(post["id"]), f"{target.text('url')}/_redirect/pl/{post['id']}")
