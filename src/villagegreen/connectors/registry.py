"""Which connectors exist: the built-ins plus third-party plugins.

A plugin registers a :class:`~villagegreen.connectors.base.Connector` subclass under the
entry-point group ``villagegreen.connectors``::

    [project.entry-points."villagegreen.connectors"]
    myplatform = "mypackage.connector:MyConnector"

Built-ins are listed by import path and loaded on first use, so ``villagegreen --help`` does
not pay for importing every platform.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from villagegreen.connectors.base import Connector
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import ConfigError, UnknownFormatError

ENTRY_POINT_GROUP = "villagegreen.connectors"

BUILTIN_CONNECTORS: dict[str, str] = {
    "slack": "villagegreen.connectors.slack.connector:SlackExportConnector",
    "discourse": "villagegreen.connectors.discourse.connector:DiscourseConnector",
    "stackexchange": "villagegreen.connectors.stackexchange.connector:StackExchangeConnector",
    "mail": "villagegreen.connectors.mail.connector:MailConnector",
    "whatsapp": "villagegreen.connectors.whatsapp.connector:WhatsAppConnector",
    "discord": "villagegreen.connectors.discord.connector:DiscordConnector",
    "telegram": "villagegreen.connectors.telegram.connector:TelegramConnector",
    "mattermost": "villagegreen.connectors.mattermost.connector:MattermostConnector",
    "zulip": "villagegreen.connectors.zulip.connector:ZulipConnector",
    "matrix": "villagegreen.connectors.matrix.connector:MatrixConnector",
    "teams": "villagegreen.connectors.teams.connector:TeamsConnector",
}


def _load(target: str) -> type[Connector]:
    module_name, _, attribute = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
        raise ConfigError(f"{target} is not a Connector subclass; fix the plugin's entry point")
    return loaded


@cache
def registered_connectors() -> dict[str, type[Connector]]:
    """Every connector by name; plugins cannot shadow a built-in."""
    found = {name: _load(target) for name, target in BUILTIN_CONNECTORS.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in found:
            found[entry.name] = _load(entry.value)
    return found


def get_connector(name: str) -> type[Connector]:
    connectors = registered_connectors()
    if name not in connectors:
        raise ConfigError(f"unknown platform {name!r}; choose one of: {', '.join(sorted(connectors))}")
    return connectors[name]


def detect(tree: SourceTree) -> type[Connector]:
    """The connector whose format ``tree`` is in, or a clear error naming what is supported."""
    candidates = sorted(registered_connectors().values(), key=lambda cls: (cls.priority, cls.name))
    for connector in candidates:
        if connector.sniff(tree):
            return connector
    raise UnknownFormatError(
        f"{tree.path}: not a format Village Green recognises (platforms: {', '.join(sorted(registered_connectors()))}); "
        "pass --platform NAME if you know what it is, or see `villagegreen platforms` for the formats each reads"
    )
