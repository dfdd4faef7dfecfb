"""Slack message markup ("mrkdwn") to plain text.

Slack stores links and mentions as angle-bracket tokens and escapes only ``&``, ``<`` and
``>``. Analyses want what a reader saw, so ``<@U123>`` becomes ``@Display Name``,
``<#C123|general>`` becomes ``#general``, ``<https://x|label>`` becomes ``label (https://x)``
and the three entities are unescaped. Emphasis markers (``*bold*``, ``_italic_``) and emoji
codes are left as written: they are part of what was said.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NameLookup = Callable[[str], str | None]

# A token cannot contain a raw "<" or ">": Slack escapes those in text as &lt; and &gt;.
_TOKEN = re.compile(r"<([^<>]*)>")
_USER_TOKEN = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")
_BROADCASTS = {"here", "channel", "everyone", "group"}


def unescape(text: str) -> str:
    """Undo Slack's three escapes; ``&amp;`` last so ``&amp;lt;`` stays ``&lt;``."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentioned_users(text: str) -> list[str]:
    """User ids mentioned in ``text``, first mention first, each once."""
    return list(dict.fromkeys(_USER_TOKEN.findall(text)))


def to_plain(text: str, user_name: NameLookup, channel_name: NameLookup) -> str:
    """``text`` as a reader saw it; ``user_name`` and ``channel_name`` resolve native ids."""
    if "<" not in text and "&" not in text:
        return text
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        parts.append(unescape(text[position : match.start()]))
        parts.append(_render(match.group(1), user_name, channel_name))
        position = match.end()
    parts.append(unescape(text[position:]))
    return "".join(parts)


def _render(body: str, user_name: NameLookup, channel_name: NameLookup) -> str:
    target, _, label = body.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        user_id = target[1:]
        return "@" + (user_name(user_id) or label.lstrip("@") or user_id)
    if target.startswith("#"):
        channel_id = target[1:]
        return "#" + (label or channel_name(channel_id) or channel_id)
    if target.startswith("!"):
        # <!here>, <!subteam^S1|@team>, <!date^1392734382^{date}|Feb 18, 2014>: the label is
        # Slack's own fallback text; the broadcasts read as @here / @channel.
        command = target[1:].split("^", 1)[0]
        if command in _BROADCASTS:
            return "@" + ("channel" if command == "group" else command)
        return label or "@" + command
    url = unescape(target)
    shown = url.removeprefix("mailto:")
    if not label or label in (url, shown) or label == _bare(url):
        return shown
    return f"{label} ({url})"


def _bare(url: str) -> str:
    """``https://example.com/`` as people write it in a label: ``example.com``."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return url[len(scheme) :].rstrip("/")
    return url
