"""Slack: ``chat.postMessage`` as the workspace's own app (bot token with ``chat:write``), or an
incoming webhook (``webhook_env`` names the variable holding its URL, which is itself the secret).

The text is mrkdwn (formats.py). A poll is Block Kit: a header, one section per option with a
number emoji, and a context line asking members to vote by reacting, because reactions are what
a later ``villagegreen sync`` reads back (buttons would need an interactivity endpoint).
Slack answers HTTP 200 with ``"ok": false`` for most errors: that is an error here too.
"""

from __future__ import annotations

from typing import Any

from villagegreen.errors import ConfigError, InputError
from villagegreen.publish.delivery import SECRET, Delivery, Http, Remote, answer, check_length, json_body
from villagegreen.publish.formats import markdown_to_mrkdwn, slack_escape
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

API = "https://slack.com/api"
MAX_TEXT = 40_000  # chat.postMessage truncates longer text (characters)
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten")
_AUTH_ERRORS = ("not_authed", "invalid_auth", "account_inactive", "token_revoked", "missing_scope", "not_in_channel", "channel_not_found")


def poll_blocks(item: Item) -> list[dict[str, Any]]:
    assert item.poll is not None
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": item.poll.question[:150]}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": f":{NUMBERS[n]}: {slack_escape(option)}"}} for n, option in enumerate(item.poll.options)]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Vote by reacting with the option's number."}]})
    return blocks


def prepare(item: Item, target: Target) -> Delivery:
    text = markdown_to_mrkdwn(item.markdown)
    check_length(text, MAX_TEXT, target.name)
    payload: dict[str, Any] = {"text": text, "mrkdwn": True, "unfurl_links": False}
    if item.poll is not None:
        payload["blocks"] = poll_blocks(item)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if target.get("webhook_env"):
        return Delivery(where=f"POST the incoming webhook URL in ${target.text('webhook_env')} (not shown)", body=json_body(payload), url=SECRET,
                        headers=headers)  # fmt: skip
    url = f"{target.get('url', API).rstrip('/')}/chat.postMessage"
    payload = {"channel": target.text("channel"), **payload}
    return Delivery(where=f"POST {url}", body=json_body(payload), url=url, headers={"Authorization": "Bearer {secret}", **headers})


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    what = f"target {target.name!r} (Slack)"
    if target.get("webhook_env"):
        http.send(delivery, target.secret("webhook_env"), what=what)
        return Remote(None, None)  # a webhook answers "ok" and nothing else
    response = http.send(delivery, target.secret(), what=what)
    reply = answer(response, what, "ok")
    if not reply.get("ok"):
        error = str(reply.get("error", "unknown_error"))
        if error in _AUTH_ERRORS:
            raise ConfigError(f"{what}: Slack said {error}; check the bot token, its chat:write scope and that the bot is in the channel")
        raise InputError(f"{what}: Slack said {error}; nothing was recorded")
    reply = answer(response, what, "channel", "ts")
    return Remote(f"{reply['channel']}/{reply['ts']}", None)
