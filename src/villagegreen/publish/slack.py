"""Slack: ``chat.postMessage`` as the workspace's own app (bot token with ``chat:write``), or an
incoming webhook (``webhook_env`` names the variable holding its URL, which is itself the secret).

The text is mrkdwn (formats.py). A poll is Block Kit: a header, one section per option with a
number emoji, and a context line asking members to vote by reacting, because reactions are what
a later ``villagegreen sync`` reads back (buttons would need an interactivity endpoint).
Slack answers HTTP 200 with ``"ok": false`` for most errors: that is an error here too.

A wrap-up of a conversation from the target channel itself (the same channel id) is a reply in
its thread (``thread_ts`` = the root's ``ts``). After posting, ``chat.getPermalink`` gives the
link recorded in ``publications.remote_url``; if that call fails the post stands, with a note.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from villagegreen.errors import ConfigError, InputError, VillageGreenError
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


_TS = re.compile(r"^\d+\.\d+$")


def thread_ts(item: Item, channel: str) -> str | None:
    """The ``ts`` of the conversation's root when it lives in this very channel (by channel id)."""
    origin = item.origin
    if origin is None or origin.connector != "slack" or origin.space_native_id != channel or not origin.root_native_id:
        return None
    # The importers' message native id is "channel:ts" (connectors/slack/mapping.py).
    root_channel, _, ts = origin.root_native_id.rpartition(":")
    return ts if root_channel == channel and _TS.match(ts) else None


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
    channel = target.text("channel")
    payload = {"channel": channel, **payload}
    where = f"POST {url}"
    if ts := thread_ts(item, channel):
        payload["thread_ts"] = ts
        where += f"  (reply in the thread of {ts})"
    return Delivery(where=where, body=json_body(payload), url=url, headers={"Authorization": "Bearer {secret}", **headers})


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    what = f"target {target.name!r} (Slack)"
    if target.get("webhook_env"):
        http.send(delivery, target.secret("webhook_env"), what=what)
        return Remote(None, None)  # a webhook answers "ok" and nothing else
    token = target.secret()
    response = http.send(delivery, token, what=what)
    reply = answer(response, what, "ok")
    if not reply.get("ok"):
        error = str(reply.get("error", "unknown_error"))
        if error in _AUTH_ERRORS:
            raise ConfigError(f"{what}: Slack said {error}; check the bot token, its chat:write scope and that the bot is in the channel")
        raise InputError(f"{what}: Slack said {error}; nothing was recorded")
    reply = answer(response, what, "channel", "ts")
    channel, ts = str(reply["channel"]), str(reply["ts"])
    link, problem = permalink(target, http, token, channel, ts)
    return Remote(f"{channel}/{ts}", link, f"posted, but no link: {problem}" if problem else None)


def call(target: Target, http: Http, token: str, method: str, params: dict[str, str]) -> dict[str, Any]:
    """A read-only Web API method (GET with query parameters); ``"ok": false`` is an InputError."""
    url = f"{target.get('url', API).rstrip('/')}/{method}?{urlencode(params)}"
    what = f"target {target.name!r} (Slack {method})"
    reply = answer(http.send(Delivery(where=f"GET {url}", body="", method="GET", url=url, headers={"Authorization": "Bearer {secret}"}), token,
                             what=what), what, "ok")  # fmt: skip
    if not reply.get("ok"):
        raise InputError(f"{what}: Slack said {reply.get('error', 'unknown_error')}")
    return reply


def permalink(target: Target, http: Http, token: str, channel: str, ts: str) -> tuple[str | None, str | None]:
    """(link, None) from ``chat.getPermalink``, or (None, why not): the message is posted either way."""
    try:
        reply = call(target, http, token, "chat.getPermalink", {"channel": channel, "message_ts": ts})
    except VillageGreenError as error:
        return None, str(error)
    link = reply.get("permalink")
    return (link, None) if isinstance(link, str) and link.startswith("https://") else (None, "chat.getPermalink gave no permalink")
