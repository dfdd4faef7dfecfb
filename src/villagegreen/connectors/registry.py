"""Which connectors exist: the built-ins plus third-party plugins.

A plugin registers a :class:`~villagegreen.connectors.base.Connector` subclass under the
entry-point group ``villagegreen.connectors``::

    [project.entry-points."villagegreen.connectors"]
    myplatform = "mypackage.connector:MyConnector"

Built-ins are listed by import path and loaded on first use, so ``villagegreen --help`` does
not pay for importing every platform, and detection imports only the connectors whose file
names the input has (:data:`SNIFF_SUFFIXES`).
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


# For a folder or a zip, each built-in's sniff can only accept when some file name ends with one
# of these suffixes (compared in lower case; read off each sniff's own name filters). Detection
# checks the listing first and imports only the connectors that may accept, so importing a mail
# archive does not import ten chat connectors. A lone file is not filtered by name (several formats
# accept a single file whatever its name), only by an mbox envelope on its first line. An empty tuple: always sniffed.
SNIFF_SUFFIXES: dict[str, tuple[str, ...]] = {
    "slack": (".json",),  # listings (channels.json ...), day files and flat page files
    "discourse": (".json",),  # /t/<slug>/<id>.json
    "stackexchange": (".xml",),  # Posts.xml
    "mail": (),  # .mbox, .txt(.gz), files without a suffix ...: cheap, and sniffed last anyway
    "whatsapp": (".txt",),
    "discord": (".json", ".csv"),
    "telegram": (".json",),
    "mattermost": (".json", ".jsonl"),  # API pages, bulk export lines
    "zulip": (".json",),  # realm.json + messages-*.json, or API pages
    "matrix": (".json",),
    "teams": (".json",),
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
    return {**{name: _builtin(name) for name in BUILTIN_CONNECTORS}, **_plugins()}


@cache
def _builtin(name: str) -> type[Connector]:
    return _load(BUILTIN_CONNECTORS[name])


@cache
def _plugins() -> dict[str, type[Connector]]:
    found: dict[str, type[Connector]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in BUILTIN_CONNECTORS and entry.name not in found:
            found[entry.name] = _load(entry.value)
    return found


def _may_accept(tree: SourceTree) -> list[str]:
    """The built-ins whose sniff could accept ``tree``, judged by its file names (or a lone file's first line)."""
    if tree.kind == "file":
        return ["mail"] if _opens_with_mbox_envelope(tree) else list(BUILTIN_CONNECTORS)
    bases = (name.rpartition("/")[2] for name in tree.names())
    present = {base[base.rfind(".") :].lower() for base in bases if "." in base}
    return [name for name in BUILTIN_CONNECTORS if not SNIFF_SUFFIXES.get(name) or present.intersection(SNIFF_SUFFIXES[name])]


def _opens_with_mbox_envelope(tree: SourceTree) -> bool:
    """True for a lone file whose first line is an mbox envelope (``From sender date``).

    Among the built-ins only mail can accept such a file: every other one needs JSON, XML, CSV or
    a dated chat line first. Detecting that first spares a mail archive importing ten other
    connectors: 0.10 of 0.15 CPU-s of detection on a 10k-message mbox (3 runs each).
    """
    from villagegreen.connectors.mail.mbox import head, starts_like_mbox

    return starts_like_mbox(head(tree, tree.names()[0], 1024))


def get_connector(name: str) -> type[Connector]:
    connectors = registered_connectors()
    if name not in connectors:
        raise ConfigError(f"unknown platform {name!r}; choose one of: {', '.join(sorted(connectors))}")
    return connectors[name]


def detect(tree: SourceTree) -> type[Connector]:
    """The connector whose format ``tree`` is in, or a clear error naming what is supported."""
    # Connectors ruled out by the listing would have refused, so skipping them (and their
    # imports) cannot change which connector wins.
    possible = [_builtin(name) for name in _may_accept(tree)] + list(_plugins().values())
    candidates = sorted(possible, key=lambda cls: (cls.priority, cls.name))
    for connector in candidates:
        if connector.sniff(tree):
            return connector
    raise UnknownFormatError(
        f"{tree.path}: not a format Village Green recognises (platforms: {', '.join(sorted(registered_connectors()))}); "
        "pass --platform NAME if you know what it is, or see `villagegreen platforms` for the formats each reads"
    )
