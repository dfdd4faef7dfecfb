"""``DiscordConnector``: detection, the guild as source key, and reading of DCE JSON exports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.discord import mapping as m
from villagegreen.connectors.discord.csv_export import CsvExportReader, csv_names, looks_like_dce_csv
from villagegreen.connectors.discord.export import SNIFF_BYTES, SNIFF_FILES, ExportReader, json_names, load, looks_like_dce
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Record

DM_SOURCE_KEY = "discord-dm"

# The guild and channel objects open every DCE file, so their ids and types are in the head;
# reading them there saves parsing a whole (possibly large) file twice.
_GUILD = re.compile(rb'"guild"\s*:\s*\{\s*"id"\s*:\s*"([^"]*)"\s*,\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_CHANNEL_TYPE = re.compile(rb'"channel"\s*:\s*\{\s*"id"\s*:\s*"[^"]*"\s*,\s*"type"\s*:\s*"(\w+)"')


class DiscordConnector(Connector):
    name: ClassVar[str] = "discord"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = "DiscordChatExporter JSON or CSV: one channel's file, or a folder or zip of them (CSV threads are inferred; HTML is not read)"
    # The head check ("guild" as the first key, "channel" near it) is specific to DCE.
    priority: ClassVar[int] = 30

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return _has_json(tree) or _has_csv(tree)

    def source_key(self, tree: SourceTree) -> str:
        """The guild id of the first server channel; DMs alone (no guild) share ``discord-dm``.

        A CSV export names no guild: the guild name from DCE's file names, else the input's
        folder (or file) name, is the key; pass ``--source`` to keep it stable across renames.
        """
        if not _has_json(tree) and _has_csv(tree):
            return CsvExportReader.source_key(tree)
        for name in json_names(tree):
            head = tree.head(name, SNIFF_BYTES)
            if not looks_like_dce(head):
                continue
            guild, channel = _GUILD.search(head), _CHANNEL_TYPE.search(head)
            found = _from_head(guild, channel)
            # Not in the head, or not valid UTF-8 there (found by the fuzzer): the full parse reads
            # the file, or says in one line what is wrong with it.
            guild_data, channel_data = found if found is not None else _parsed(tree, name)
            if channel_data is not None and not m.is_private(guild_data, channel_data):
                return str(guild_data["id"]) if guild_data else DM_SOURCE_KEY
        return DM_SOURCE_KEY

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        if not _has_json(tree) and _has_csv(tree):
            return CsvExportReader(self, tree, context).read()
        return ExportReader(self, tree, context).read()


def _from_head(guild: re.Match[bytes] | None, channel: re.Match[bytes] | None) -> tuple[dict[str, str], dict[str, str]] | None:
    """The guild and channel type matched in a file's head, or None when either is missing or not UTF-8."""
    if guild is None or channel is None:
        return None
    try:
        return {"id": guild.group(1).decode(), "name": guild.group(2).decode(errors="replace")}, {"type": channel.group(1).decode()}
    except UnicodeDecodeError:
        return None


def _has_json(tree: SourceTree) -> bool:
    return any(looks_like_dce(tree.head(name, SNIFF_BYTES)) for name in json_names(tree)[:SNIFF_FILES])


def _has_csv(tree: SourceTree) -> bool:
    return any(looks_like_dce_csv(tree.head(name, 512)) for name in csv_names(tree)[:SNIFF_FILES])


def _parsed(tree: SourceTree, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The guild and channel objects by a full parse, for files a reformatter rewrote."""
    try:
        data = load(tree, name)
    except InputError:
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("channel"), dict):
        return None, None
    guild = data.get("guild")
    return (guild if isinstance(guild, dict) else None), data["channel"]
